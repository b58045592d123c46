"""When the board tests (tests/board: the firmware image in the emulator)
cannot run, no run passes as if they had: under PICOW_BOARD_TESTS=required
(.ci/run) every one of them fails with the reason; otherwise each is skipped
with it and the run's last line says that they did not run and why, as
build/board-tests-not-run.txt does for make test's very end.

Each case runs pytest on the whole of tests/board with one piece missing
(the boot ROM, node) so that every test stops at its first fixture: nothing
is built or booted."""

import os
import re
import subprocess
import sys

import pytest

from serverproc import ROOT

NOT_RUN = ROOT / "build" / "board-tests-not-run.txt"
NO_BOOTROM = {"RP2040_BOOTROM": "/nonexistent/rp2040-bootrom-b1.mjs"}
# node is found on PATH; the venv's python is named by its full path
NO_NODE = {"PATH": os.path.dirname(sys.executable), "RP2040_BOOTROM": "/nonexistent/never-reached"}


@pytest.fixture
def board_tests():
    """board_tests(env) -> (exit code, output) of pytest tests/board; the
    record of the board tests' last run (make test prints it) left as it was."""
    before = NOT_RUN.read_bytes() if NOT_RUN.exists() else None

    def run(missing, required):
        env = dict(os.environ, **missing)
        env.pop("PICOW_BOARD_TESTS", None)
        if required:
            env["PICOW_BOARD_TESTS"] = "required"
        out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/board"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        return out.returncode, out.stdout + out.stderr

    yield run
    if before is None:
        NOT_RUN.unlink(missing_ok=True)
    else:
        NOT_RUN.write_bytes(before)


def counts(output):
    """{"passed": n, "failed": n, "skipped": n, "error": n} from pytest's last line."""
    last = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)", last)}


@pytest.mark.parametrize("missing, reason", [
    (NO_BOOTROM, "RP2040_BOOTROM=/nonexistent/rp2040-bootrom-b1.mjs is not a file"),
    (NO_NODE, "node is not installed"),
], ids=["no-boot-rom", "no-node"])
def test_under_required_every_board_test_fails_with_the_reason(board_tests, missing, reason):
    code, output = board_tests(missing, required=True)
    n = counts(output)
    assert code == 1 and n.get("error", 0) + n.get("failed", 0) > 10, output[-3000:]
    assert "passed" not in n and "skipped" not in n, output[-3000:]
    failures = re.findall(r"^(?:ERROR|FAILED) tests/board/\S+", output, re.M)
    assert len(failures) == n.get("error", 0) + n.get("failed", 0), output[-3000:]
    must_run = "the board tests must run here (PICOW_BOARD_TESTS=required), but: " + reason
    # Each failure's own section gives the reason (the summary lines may give
    # it too, whole where pytest does not shorten them: under CI=true).
    sections = [line for line in output.splitlines() if must_run in line and not re.match(r"(ERROR|FAILED) ", line)]
    assert len(sections) == len(failures), output[-3000:]
    assert "NOT TESTED" not in output and not NOT_RUN.exists()


def test_otherwise_they_are_skipped_and_the_last_line_says_so_and_why(board_tests):
    code, output = board_tests(NO_BOOTROM, required=False)
    n = counts(output)
    assert code == 0 and n["skipped"] > 10 and "failed" not in n, output[-3000:]
    lines = output.strip().splitlines()
    why = "RP2040_BOOTROM=/nonexistent/rp2040-bootrom-b1.mjs is not a file"
    said = ("NOT TESTED: %d of %d board tests (tests/board, the firmware image in the emulator) did not run: %s"
            % (n["skipped"], n["skipped"], why))
    assert lines[-2] == said, lines[-5:]  # the last line before pytest's count
    assert NOT_RUN.read_text() == said + "\n"  # what make test prints at its end
