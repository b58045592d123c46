"""Runs the MicroPython-side unit checks (tests/mp/test_*.py) on the unix port,
one pytest test per MicroPython test function, with the Pico W's heap."""

import ast
import os
import subprocess

import pytest

from serverproc import PICO_HEAP, ROOT, micropython

MP_DIR = ROOT / "tests" / "mp"


def _collect():
    cases = []
    for path in sorted(MP_DIR.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                cases.append(pytest.param(path.stem, node.name, id="%s::%s" % (path.stem, node.name)))
    return cases


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
