"""Runs the MicroPython-side unit checks (tests/mp/test_*.py) on the unix port,
one pytest test per MicroPython test function, with the Pico W's heap.

Those of modules that open no socket are marked socket_free: make test-unit
(the release workflow's test pass) runs them alone; the Pico W test image
freezes some of them to run them on the rp2 port (tests/board/manifest.py)."""

import ast
import os
import re
import subprocess

import pytest

from serverproc import PICO_HEAP, ROOT, micropython

MP_DIR = ROOT / "tests" / "mp"
_SOCKETS = re.compile(r"\bsocket\b|start_server|open_connection")


def socket_free_modules():
    return sorted(p.stem for p in MP_DIR.glob("test_*.py") if not _SOCKETS.search(p.read_text()))


def _collect():
    cases = []
    free = socket_free_modules()
    for path in sorted(MP_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        marks = [pytest.mark.socket_free] if path.stem in free else []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                cases.append(pytest.param(path.stem, node.name, id="%s::%s" % (path.stem, node.name), marks=marks))
    return cases


def test_the_modules_the_board_runs_are_socket_free():
    # (the rp2 port cannot loop a socket back to itself; the board leaves
    # out some socket-free ones too, those that need a filesystem)
    manifest = (ROOT / "tests" / "board" / "manifest.py").read_text()
    frozen = set(re.findall(r'"(test_\w+)"', manifest))
    assert frozen and frozen <= set(socket_free_modules()), frozen - set(socket_free_modules())


@pytest.mark.parametrize("module,name", _collect())
def test_micropython(module, name):
    # Relative paths, as on the board ("lib/..."): MicroPython keeps each
    # module's file name as an interned string, so an absolute path would make
    # the heap these tests see depend on where the repository was cloned.
    env = dict(os.environ, MICROPYPATH=".frozen:../../lib:.:../..")  # (../..: config.py)
    run = subprocess.run([micropython(), "-X", "heapsize=" + PICO_HEAP, "runner.py", module, name],
                         cwd=MP_DIR, env=env, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 0 and ("PASS " + name) in run.stdout, output
