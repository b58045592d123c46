"""What make bench measures, built: lib/ as .mpy, Microdot 2.7.0 from PyPI,
and the 32-bit unix port with everything it runs compiled by its own
mpy-cross."""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

from .common import APPS, BENCH, ROOT, say

MICRODOT = "microdot==2.7.0"
# MicroPython v1.28.0's unix port built 32-bit (tools/firmware.py unix32) and its tools.
UNIX32 = ROOT / "build" / "mp" / "unix32"
MP32 = UNIX32 / "micropython"
MP32_FROZEN = UNIX32 / "micropython-frozen"  # firmware/manifest.py frozen in
MPY_CROSS32 = UNIX32 / "mpy-cross"
LIB32 = BENCH / "lib32"  # lib/ compiled by MPY_CROSS32
MICRODOT32 = BENCH / "microdot32"
APPS32 = BENCH / "apps32"  # the bench apps compiled by MPY_CROSS32, run with -m
STUBS32 = BENCH / "stubs32"  # tests/stubs/network.py alone: wifi and portal import it
BENCH_APPS32 = ("ours", "ours_core", "microdot_app", "benchpage", "module_heap", "pkgstub")


def build_ours():
    """lib/ to .mpy in build/lib and www/ to build/www (tools/build.py);
    returns the build module, whose mpy-cross compiles the rest."""
    tools = str(ROOT / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import build

    build.main()
    return build


def _compile(build, py, target, source_name):
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = build.mpy_cross_command() + ["-s", source_name, "-o", str(target), str(py)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit("error: mpy-cross could not compile %s:\n%s" % (py, run.stdout + run.stderr))


def prepare_microdot(build, out=BENCH / "lib"):
    """Microdot 2.7.0 from PyPI (pip download into build/bench/), compiled to
    .mpy into OUT/microdot with the mpy-cross that builds lib/ (MPY_CROSS):
    every module of the package, microdot.websocket among them."""
    name, version = MICRODOT.split("==")
    wheels = sorted(BENCH.glob("%s-%s-*.whl" % (name, version)))
    if not wheels:
        BENCH.mkdir(parents=True, exist_ok=True)
        say("downloading %s from PyPI into build/bench/" % MICRODOT)
        run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                              "--only-binary=:all:", MICRODOT, "-d", str(BENCH)],
                             capture_output=True, text=True)
        wheels = sorted(BENCH.glob("%s-%s-*.whl" % (name, version)))
        if run.returncode != 0 or not wheels:
            raise SystemExit("error: could not download %s from PyPI:\n%s"
                             % (MICRODOT, (run.stdout + run.stderr).strip()))
    wheel = wheels[0]
    src = BENCH / "src"
    for d in (src, out):
        if d.exists():
            shutil.rmtree(d)
    with zipfile.ZipFile(wheel) as z:
        members = [m for m in z.namelist() if m.startswith("microdot/") and m.endswith(".py")]
        z.extractall(src, members)
    init = (src / "microdot" / "__init__.py").read_text()
    if "__version__ = '%s'" % version not in init:
        raise SystemExit("error: %s is not Microdot %s" % (wheel.name, version))
    if not (src / "microdot" / "websocket.py").exists():  # part "websocket" measures it
        raise SystemExit("error: %s has no microdot/websocket.py" % wheel.name)
    for py in sorted((src / "microdot").glob("*.py")):
        _compile(build, py, out / "microdot" / (py.stem + ".mpy"), "microdot/" + py.name)
    return {"version": version, "wheel": wheel.name,
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}


@contextlib.contextmanager
def _mpy_cross(path):
    """tools/build.py compiles with this mpy-cross meanwhile."""
    old = os.environ.get("MPY_CROSS")
    os.environ["MPY_CROSS"] = str(path)
    try:
        yield
    finally:
        if old is None:
            del os.environ["MPY_CROSS"]
        else:
            os.environ["MPY_CROSS"] = old


def _empty(d):
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)


def prepare_unix32(build):
    """The 32-bit unix port (built from MICROPY_SRC by tools/firmware.py when
    missing; the frozen one is brought up to date with lib/ each time: make is
    incremental) and everything it runs compiled by the same source's
    mpy-cross. Returns Microdot's details."""
    src = os.environ.get("MICROPY_SRC")
    if not src:  # the Makefile's default: the offline bundle beside this checkout
        shared = ROOT.parent / "shared" / "micropython"
        src = str(shared) if shared.is_dir() else ""
    cmd = [sys.executable, str(ROOT / "tools" / "firmware.py"), "--src", src]
    if not MP32.exists():
        subprocess.run(cmd + ["unix32"], check=True)
    subprocess.run(cmd + ["unix32-frozen"], check=True)
    with _mpy_cross(MPY_CROSS32):
        build.build_lib(out=LIB32)
        info = prepare_microdot(build, MICRODOT32)
        _empty(APPS32)
        _empty(STUBS32)
        for name in BENCH_APPS32:
            _compile(build, APPS / (name + ".py"), APPS32 / (name + ".mpy"), name + ".py")
        _compile(build, ROOT / "tests" / "stubs" / "network.py", STUBS32 / "network.mpy", "network.py")
    return info
