"""Fixtures of the emulator tests: the firmware images (built when missing or
older than their sources; MicroPython's make is incremental, so that is cheap
once the tree exists) and a way to boot one in rp2040js.

Skipped, with the reason, where the emulator cannot run (no node, no
rp2040js, no boot ROM: tools/bootrom.py finds or fetches it; no root or
/dev/net/tun for the network namespace) or an image cannot be built here (no
arm toolchain): pytest's summary lists each skip, and its last line says
that the board tests did not run and why, also written to
build/board-tests-not-run.txt for make test to repeat at the very end. With
PICOW_BOARD_TESTS=required (CI sets it) a skip is a failure instead, with the
reason: the board's own stack is the judge, and a run that did not ask it
must not pass."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest

from emulator import Board

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "build" / "firmware"
SHARED_MP = ROOT.parent / "shared" / "micropython"
RP2040JS = ROOT / "tools" / "emulator" / "node_modules" / "rp2040js"
NOT_RUN = ROOT / "build" / "board-tests-not-run.txt"  # make test prints it last
sys.path.insert(0, str(ROOT / "tools"))
import bootrom  # noqa: E402

# What each image is built from: an image older than any of these is stale.
_APP_SOURCES = ("lib", "config.py", "boot.py", "main.py", "www/static", "firmware")
_TEST_SOURCES = _APP_SOURCES + ("tests/board/main.py", "tests/board/slipnet.py", "tests/board/heaproute.py",
                                "tests/apps/ws_echo.py", "tests/board/manifest.py", "tests/mp")


REQUIRED = os.environ.get("PICOW_BOARD_TESTS") == "required"
_seen = set()  # the board tests run or skipped
_skipped = {}  # reason: how many board tests it skipped


def pytest_collection_modifyitems(config, items):
    # An image is built in the setup of the first test that needs it: minutes,
    # and more on a busy machine (the suite's 300 s per test ran out in a
    # clean-clone .ci/run beside a CPU hog and a second run). The build has a
    # bound of its own (_ensure_image); the suite's timeout bounds each test.
    here = pathlib.Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(float(config.getini("timeout")), func_only=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    _seen.add(item.nodeid)
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if REQUIRED:
            report.outcome = "failed"
            report.longrepr = "the board tests must run here (PICOW_BOARD_TESTS=required), but: %s" % reason
        else:
            _skipped[reason] = _skipped.get(reason, 0) + 1


def _not_run_line():
    """One line: how many board tests did not run, and why; None if all ran."""
    if not _skipped:
        return None
    why = "; ".join("%s (%d)" % kv for kv in _skipped.items()) if len(_skipped) > 1 else next(iter(_skipped))
    return ("NOT TESTED: %d of %d board tests (tests/board, the firmware image in the emulator) did not run: %s"
            % (sum(_skipped.values()), len(_seen), why))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: after the list of skips, the run's last words
def pytest_terminal_summary(terminalreporter):
    yield
    line = _not_run_line()
    if line:
        terminalreporter.write_line(line, yellow=True, bold=True)


def pytest_sessionfinish(session):
    line = _not_run_line()
    if line:
        NOT_RUN.parent.mkdir(parents=True, exist_ok=True)
        NOT_RUN.write_text(line + "\n")
    elif _seen:
        NOT_RUN.unlink(missing_ok=True)


_bootrom = {}  # the boot ROM, or why there is none: looked for (and fetched) once a session


def _emulator():
    """The boot ROM's path once node, rp2040js and the boot ROM are here;
    else the test is skipped with what is missing."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the emulator (rp2040js) runs under node")
    if not RP2040JS.is_dir():
        pytest.skip("rp2040js is missing: run `npm ci` in tools/emulator")
    if not _bootrom:
        try:
            _bootrom["path"] = bootrom.find()
        except bootrom.Missing as e:
            _bootrom["missing"] = str(e)
    if "missing" in _bootrom:
        pytest.skip(_bootrom["missing"])
    return _bootrom["path"]


@pytest.fixture
def emulator():
    """The boot ROM's path, for a test that boots an image of its own (else
    the image fixtures below check the emulator first)."""
    return _emulator()


def _version():
    import firmware

    return firmware.app_version()


def _newest(paths):
    newest = 0.0
    for name in paths:
        p = ROOT / name
        files = p.rglob("*") if p.is_dir() else [p]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def _ensure_image(image_name, path, sources):
    _emulator()
    if path.exists() and path.stat().st_mtime >= _newest(sources):
        return path
    if shutil.which("arm-none-eabi-gcc") is None and os.geteuid() != 0:
        pytest.skip("%s is missing or stale and the arm toolchain is not installed to build it" % path.name)
    env = dict(os.environ)
    if "MICROPY_SRC" not in env and SHARED_MP.is_dir():
        env["MICROPY_SRC"] = str(SHARED_MP.resolve())
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "firmware.py"), image_name],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, "building %s failed:\n%s%s" % (image_name, run.stdout[-3000:], run.stderr[-3000:])
    os.utime(path)  # up to date now, even where the build left the same bytes in place
    return path


@pytest.fixture(scope="session")
def release_image():
    """build/firmware/picow-server-VERSION-pico_w.uf2, what Pico W users flash."""
    import firmware

    return _ensure_image("release", FIRMWARE / (firmware.release_name("RPI_PICO_W") + ".uf2"), _APP_SOURCES)


@pytest.fixture(scope="session")
def test_image():
    """build/firmware/test/picow-server-slip.uf2: the release image with a
    SLIP link and the socket-free tests of tests/mp frozen in."""
    return _ensure_image("test-ours", FIRMWARE / "test" / "picow-server-slip.uf2", _TEST_SOURCES)


@pytest.fixture
def ours(test_image):
    """Our test image booted and serving on a SLIP link: (board, link)."""
    import crowd

    with crowd.booted(test_image) as (board, link):
        yield board, link
        assert board.watchdog_resets == 0, "the watchdog reset the board: its loop was stuck"


@pytest.fixture(scope="session")
def stock_image():
    """build/firmware/test/picow-stock-slip.uf2: the same, on MicroPython's
    modlwip and lwIP as they are (no firmware/patches/lwip)."""
    return _ensure_image("test-stock", FIRMWARE / "test" / "picow-stock-slip.uf2", _TEST_SOURCES)


@pytest.fixture
def boot():
    """boot(image) -> a started Board with an empty filesystem (each run.mjs
    starts from the image's flash alone); stopped when the test ends."""
    started = []

    def start(image):
        # UART0 always gets a socket of ours: run.mjs probes fd 3, which node
        # itself may hold, when no --uart-fd is given.
        mine, theirs = socket.socketpair()
        board = Board(image, uart=theirs, bootrom=_emulator())
        started.append((board, mine))
        return board.start()

    yield start
    for board, mine in started:
        board.stop()
        mine.close()
