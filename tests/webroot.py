"""A built web root for the tests: www/ with NAME.gz beside each file, as
`make build` puts it on the board (build/www)."""

import gzip
import shutil
import sys

from serverproc import ROOT

WWW = ROOT / "www"


def build_web_root(out):
    """www/ copied to `out` with a gzip copy beside each file: the project's
    own build step (tools/build.py, what `make build` runs) when it is there,
    else the same with Python's gzip. Returns `out`."""
    tools = str(ROOT / "tools")
    sys.path.insert(0, tools)
    try:
        import build  # tools/build.py

        build.build_www(ROOT, out)
    except (ImportError, AttributeError):
        shutil.copytree(WWW, out)
        for path in list(out.rglob("*")):
            if path.is_file():
                path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))
    finally:
        sys.path.remove(tools)
    return out
