"""What every part of make bench shares: where things are, the page and the
requests measured, and how it speaks."""

import ast
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
APPS = ROOT / "tools" / "bench_apps"  # the MicroPython side: the servers and probes
BENCH = ROOT / "build" / "bench"  # everything make bench builds, downloads and logs
WWW = ROOT / "build" / "www"  # the web assets, as tools/build.py leaves them
PATHS = ("/", "/api/status")
CONNECTIONS = (1, 4)


def _assignment(path, name):
    """The literal value of `name = ...` at the top of a Python file, or None."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    return None


# The 73-byte page every server answers at /, read from the bench apps' own module.
PAGE = _assignment(APPS / "benchpage.py", "PAGE")
if PAGE is None:
    raise SystemExit("error: no PAGE in tools/bench_apps/benchpage.py")


def config_default(name):
    """A setting's value as the firmware runs with it: config.py's, else the
    server core's default (config.py imports lib/httpd/defaults.py)."""
    for source in (ROOT / "config.py", ROOT / "lib" / "httpd" / "defaults.py"):
        value = _assignment(source, name)
        if value is not None:
            return value
    return None


def fresh_dir(name):
    """An empty working directory for one process: the board's flash, where
    the firmware keeps its files (crash.txt ...), as on a new board; the web
    assets are build/www (PICO_WWW_ROOT)."""
    d = BENCH / "run" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def say(*args):
    print(*args, flush=True)
