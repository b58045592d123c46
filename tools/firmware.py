"""Build the firmware images: MicroPython v1.28.0 for the Pico W (RPI_PICO_W)
or the Pico 2 W (RPI_PICO2_W) with this firmware frozen in (make firmware),
and the test images the emulator tests boot (make test-board).

    python3 tools/firmware.py [--board BOARD] [IMAGE ...]   default: release

Images (build/firmware/):

    release      picow-server-VERSION-pico_w.uf2 (+ .elf), or -pico2_w for
                 --board RPI_PICO2_W: what users flash. Our lwIP patches
                 (firmware/patches/lwip/: extmod/modlwip.c and the rp2 port's
                 lwipopts.h, which both boards share, so they change the same
                 on both), the whole application frozen in, and the image's
                 identity (firmware/patches/identity/: picotool info names
                 the program, its version, the board and MicroPython's).
    (The test images are for the Pico W only: the emulator is an RP2040.)
    test-ours    test/picow-server-slip.uf2: the release image plus a SLIP
                 link on UART0 (firmware/patches/slip/, tests/board/slipnet.py)
                 so that tests reach the board's own lwIP from the host.
    test-stock   test/picow-stock-slip.uf2: MicroPython's lwIP and modlwip as
                 they are (only SLIP added): the path of a user who runs our
                 .mpy files on stock firmware.

Unix builds (build/mp/unix32/), to measure heap as on the board's 32-bit
word size (make test, make bench): MicroPython's own unix port of the same
v1.28.0 source built 32-bit (MICROPY_FORCE_32BIT=1, static; Debian's
gcc-multilib), and its mpy-cross, whose .mpy files that interpreter loads:

    unix32         build/mp/unix32/micropython and build/mp/unix32/mpy-cross
    unix32-frozen  build/mp/unix32/micropython-frozen: the same port with
                   firmware/manifest.py frozen in (the unix variant's own
                   modules, asyncio, in place of the board's), as the Pico W
                   image freezes it

Where MicroPython comes from (MICROPY_SRC, or --src):
  - a directory holding micropython-1.28.0.tar.gz (and picotool-2.1.1.tar.gz),
    like ../shared/micropython/ in CI; or the tarball itself; or an extracted
    tree (a directory with py/ and ports/rp2/);
  - nothing: online, a shallow git clone of the v1.28.0 tag (checked to be
    commit e0e9fbb17e) and the rp2 port's submodules, as MicroPython's own
    docs build it (pico-sdk then fetches picotool itself).

The pristine tree is extracted once (build/mp/src); each patch set gets a
hard-linked copy of it with its patches applied (build/mp/<patch set>),
rebuilt only when the patches change. picotool is built once from source.
MicroPython's own make is incremental: a second run with nothing changed
compiles nothing (and `make firmware` does not even call this script then).
The arm toolchain and cmake are installed from Debian when missing (as root).
"""

import argparse
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
MP_WORK = BUILD / "mp"
OUT = BUILD / "firmware"
GEN = OUT / "gen"  # generated frozen modules (the web assets)
MP_VERSION = "1.28.0"
MP_TAG = "v1.28.0"
MP_HASH = "e0e9fbb17e"
MP_DIR = "micropython-" + MP_VERSION
PICOTOOL_DIR = "picotool-2.1.1"
MP_GIT = "https://github.com/micropython/micropython.git"
PROGRAM = "picow-server"
# The boards: MicroPython's name -> (the image's file name suffix, the board's
# name). Both have the CYW43439 radio; the Pico 2 W's RP2350 is built in Arm
# mode (MicroPython's default for the board).
BOARDS = {
    "RPI_PICO_W": ("pico_w", "Raspberry Pi Pico W"),
    "RPI_PICO2_W": ("pico2_w", "Raspberry Pi Pico 2 W"),
}
BOARD = "RPI_PICO_W"

# The Debian packages the rp2 build needs: command -> package.
TOOLCHAIN = (
    ("arm-none-eabi-gcc", "gcc-arm-none-eabi"),
    ("cmake", "cmake"),
)
TOOLCHAIN_LIBS = ("libnewlib-arm-none-eabi", "libstdc++-arm-none-eabi-newlib")
UNIX32 = MP_WORK / "unix32"
UNIX_VARIANT = "standard"
# The shared bundle's recipe: libffi, berkeley-db and an SSL library are not in it.
UNIX_OPTIONS = ("MICROPY_FORCE_32BIT=1", "MICROPY_PY_FFI=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_SSL=0",
                "LDFLAGS_EXTRA=-static")


class Image:
    def __init__(self, name, output, patch_sets, manifest, cmake_args=(), board=BOARD):
        self.name = name
        self.output = output  # path under OUT, without extension
        self.patch_sets = patch_sets  # folders of firmware/patches, applied in order
        self.manifest = manifest
        self.cmake_args = cmake_args
        self.board = board


def app_version():
    m = re.search(r'^VERSION = "([^"]+)"', (ROOT / "lib" / "app" / "__init__.py").read_text(), re.M)
    return m.group(1)


def release_name(board=BOARD, version=None):
    """picow-server-VERSION-pico_w (no extension): the file users download."""
    return "%s-%s-%s" % (PROGRAM, version or app_version(), BOARDS[board][0])


def images(board=BOARD):
    slip = ("-DMICROPY_PY_LWIP_SLIP=1",)
    return {
        "release": Image("release", release_name(board), ("identity", "lwip"),
                         ROOT / "firmware" / "manifest.py", board=board),
        "test-ours": Image("test-ours", "test/picow-server-slip", ("identity", "lwip", "slip"),
                           ROOT / "tests" / "board" / "manifest.py", slip),
        "test-stock": Image("test-stock", "test/picow-stock-slip", ("identity", "slip"),
                            ROOT / "tests" / "board" / "manifest.py", slip),
    }


def say(msg):
    print("firmware: " + msg, flush=True)


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# -- toolchain ---------------------------------------------------------------------


def ensure_toolchain():
    need = [pkg for cmd, pkg in TOOLCHAIN if shutil.which(cmd) is None]
    if not need and _has_newlib():
        return
    need += list(TOOLCHAIN_LIBS)
    _apt_install(need, "building the firmware needs the arm-none-eabi toolchain and cmake")


def ensure_multilib():
    """gcc's 32-bit x86 libraries, for the unix port built 32-bit."""
    if _has_multilib():
        return
    _apt_install(["gcc-multilib"], "building the 32-bit unix port needs gcc's 32-bit libraries")


def _has_multilib():
    cc = shutil.which("gcc")
    if cc is None:
        return False
    out = subprocess.run([cc, "-m32", "-print-file-name=libgcc.a"], capture_output=True, text=True)
    return out.returncode == 0 and pathlib.Path(out.stdout.strip()).is_file() \
        and pathlib.Path("/usr/include/x86_64-linux-gnu/asm").exists() \
        and pathlib.Path("/usr/lib32/crt1.o").exists()


def _apt_install(need, why):
    # As root; or in CI (CI=true) through sudo without a password, as on
    # GitHub's runners (the release workflow). Elsewhere the user decides.
    sudo = []
    if os.geteuid() != 0 and os.environ.get("CI") == "true" and shutil.which("sudo") \
            and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        sudo = ["sudo", "-n", "DEBIAN_FRONTEND=noninteractive"]
    if (os.geteuid() != 0 and not sudo) or shutil.which("apt-get") is None:
        raise SystemExit("error: %s. Install them (Debian/Ubuntu: sudo apt-get install %s) and run again."
                         % (why, " ".join(need)))
    say("installing %s (Debian)" % " ".join(need))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(sudo + ["apt-get", "update", "-qq"], env=env)
    run(sudo + ["apt-get", "install", "-y", "-qq"] + need, env=env, stdout=subprocess.DEVNULL)


def _has_newlib():
    # The Cortex-M0+ (thumb v6-m) C and C++ libraries, as Debian installs them.
    lib = pathlib.Path("/usr/lib/arm-none-eabi/newlib/thumb/v6-m/nofp")
    return (lib / "libc.a").exists() and (lib / "libstdc++.a").exists()


# -- sources -----------------------------------------------------------------------


def fetch_sources(src):
    """The pristine MicroPython tree (and picotool's source, when offline)."""
    dest = MP_WORK / "src"
    tree = dest / MP_DIR
    stamp = dest / ".done"
    origin = str(pathlib.Path(src).resolve()) if src else MP_GIT
    if stamp.exists() and stamp.read_text() == origin:
        return tree, _picotool_source(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if not src:
        say("no MICROPY_SRC: cloning %s %s with the rp2 submodules (online)" % (MP_GIT, MP_TAG))
        try:
            run(["git", "clone", "-q", "--depth", "1", "--branch", MP_TAG, MP_GIT, str(tree)])
            head = run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
            if not head.startswith(MP_HASH):  # a tag can be moved: the release builds from this commit only
                shutil.rmtree(dest, ignore_errors=True)
                raise SystemExit("error: MicroPython's tag %s is commit %s, not %s" % (MP_TAG, head.strip(), MP_HASH))
            for board in BOARDS:  # each board's submodules (the same ones today)
                run(["make", "-C", str(tree / "ports" / "rp2"), "BOARD=" + board, "submodules"])
        except (OSError, subprocess.CalledProcessError):
            shutil.rmtree(dest, ignore_errors=True)
            raise SystemExit("error: could not clone MicroPython %s (no internet here?). Set MICROPY_SRC to "
                             "its sources: a directory holding %s.tar.gz, the tarball, or a tree."
                             % (MP_TAG, MP_DIR))
    else:
        path = pathlib.Path(src).resolve()
        if path.is_dir() and (path / "py").is_dir() and (path / "ports" / "rp2").is_dir():
            say("using the MicroPython tree %s" % path)
            shutil.copytree(path, tree, symlinks=True)
        else:
            tarball = path / ("%s.tar.gz" % MP_DIR) if path.is_dir() else path
            if not tarball.is_file():
                raise SystemExit("error: MICROPY_SRC=%s holds neither %s.tar.gz nor a MicroPython tree"
                                 % (src, MP_DIR))
            say("extracting %s" % tarball)
            _extract(tarball, dest)
            picotool = tarball.parent / ("%s.tar.gz" % PICOTOOL_DIR)
            if picotool.is_file():
                _extract(picotool, dest)
        if not (tree / "ports" / "rp2").is_dir():
            raise SystemExit("error: %s did not give a %s tree" % (src, MP_DIR))
    stamp.write_text(origin)
    return tree, _picotool_source(dest)


def _extract(tarball, dest):
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.12, and 3.8-3.11 with the security update
            tar.extractall(dest, filter="tar")
        else:
            tar.extractall(dest)


def _picotool_source(dest):
    p = dest / PICOTOOL_DIR
    return p if p.is_dir() else None


def build_picotool(source, tree):
    """picotool from its source, once; None online (pico-sdk fetches it)."""
    if source is None:
        return None
    install = MP_WORK / "picotool-install"
    if (install / "picotool" / "picotool").exists():
        return install
    say("building picotool (once)")
    build = MP_WORK / "picotool-build"
    run(["cmake", "-S", str(source), "-B", str(build), "-DPICO_SDK_PATH=%s" % (tree / "lib" / "pico-sdk"),
         "-DPICOTOOL_NO_LIBUSB=1", "-DPICOTOOL_FLAT_INSTALL=1", "-DCMAKE_INSTALL_PREFIX=%s" % install,
         "-DCMAKE_BUILD_TYPE=Release"], stdout=subprocess.DEVNULL)
    run(["make", "-C", str(build), "-j%d" % _jobs(), "install"], stdout=subprocess.DEVNULL)
    return install


def patched_tree(pristine, patch_sets):
    """A copy of the pristine tree with the patch sets applied, made again
    only when a patch changes."""
    patches = []
    for name in patch_sets:
        patches += sorted((ROOT / "firmware" / "patches" / name).glob("*.patch"))
    digest = hashlib.sha256()
    for p in patches:
        digest.update(p.name.encode() + b"\0" + p.read_bytes())
    key = "-".join(patch_sets) or "stock"
    dest = MP_WORK / key
    stamp = dest / ".patches"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return dest / MP_DIR
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    try:  # hard links: instant and no disk; patch replaces the files it changes
        run(["cp", "-al", str(pristine), str(dest / MP_DIR)], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        shutil.rmtree(dest / MP_DIR, ignore_errors=True)
        shutil.copytree(pristine, dest / MP_DIR, symlinks=True)
    for p in patches:
        say("applying %s" % p.relative_to(ROOT))
        run(["patch", "-s", "-p1", "-d", str(dest / MP_DIR), "-i", str(p)])
    stamp.write_text(digest.hexdigest())
    return dest / MP_DIR


# -- the web assets, frozen -----------------------------------------------------------


def generate_assets():
    """build/firmware/gen/www_data.py: every file of www/static as bytes
    constants (gzip-compressed when that is smaller), which freezing keeps in
    flash: the image serves its dashboard from an empty filesystem. And
    picow_image.py, the image's version."""
    sys.path.insert(0, str(ROOT / "tools"))
    from build import gzip_bytes

    static = ROOT / "www" / "static"
    lines = ["# Generated by tools/firmware.py from www/static: do not edit.",
             "# name: (bytes, gzip-compressed bytes or None, ETag)", "FILES = {"]
    for path in sorted(p for p in static.rglob("*") if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        gz = gzip_bytes(data)
        etag = '"f%s"' % hashlib.sha256(data).hexdigest()[:12]
        lines.append("    %r: (%r, %r, %r)," % (path.relative_to(static).as_posix(), data,
                                               gz if len(gz) < len(data) else None, etag))
    lines.append("}")
    _write_if_changed(GEN / "www_data.py", "\n".join(lines) + "\n")
    # The image's version, frozen: /api/status and /metrics report it (the
    # running lib/ may be another, sent over the air: lib/app/__init__.py).
    _write_if_changed(GEN / "picow_image.py", "# Generated by tools/firmware.py: the version of the image "
                      "this module is frozen into.\nVERSION = %r\n" % app_version())


def generate_identity(image, patch_sets):
    """What picotool info says of the image: picow_identity.h (one per image
    and board, in build/firmware/gen/IMAGE-BOARD/), the program's name,
    version and description (firmware/patches/identity/). Rewritten only when
    the text changes, so make recompiles nothing else."""
    version = app_version()
    suffix, board_name = BOARDS[image.board]
    description = "%s %s for the %s (%s): MicroPython %s (%s), patches: %s" % (
        PROGRAM, version, board_name, image.board, MP_TAG, MP_HASH, ", ".join(patch_sets) or "none")
    header = ("// Generated by tools/firmware.py: what picotool info says of this image.\n"
              "#define PICOW_PROGRAM_NAME \"%s\"\n#define PICOW_PROGRAM_VERSION \"%s\"\n"
              "#define PICOW_PROGRAM_DESCRIPTION \"%s\"\n" % (PROGRAM, version, description))
    where = GEN / ("%s-%s" % (image.name, image.board))
    _write_if_changed(where / "picow_identity.h", header)
    return where


def _write_if_changed(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# -- the build ---------------------------------------------------------------------------


def _jobs():
    return max(1, os.cpu_count() or 1)


def build_image(image, pristine, picotool):
    tree = patched_tree(pristine, image.patch_sets)
    env = dict(os.environ, MICROPY_GIT_TAG=MP_TAG, MICROPY_GIT_HASH=MP_HASH)
    # A fixed date in the banner: the same sources give the same image.
    env.setdefault("SOURCE_DATE_EPOCH", _source_date())
    if picotool is not None:
        env["PICOTOOL_FETCH_FROM_GIT_PATH"] = str(picotool)
    identity = generate_identity(image, [p for p in image.patch_sets if p != "identity"])
    # (the rp2 Makefile appends its own; read when CMake configures a new build folder)
    env["CMAKE_ARGS"] = " ".join(image.cmake_args + ("-DPICOW_IDENTITY_DIR=%s" % identity,))
    build_dir = "build-%s-%s" % (image.name, image.board)
    # mpy-cross first, on its own: the rp2 build would make it with our
    # BUILD= passed down, in the wrong folder.
    if not (tree / "mpy-cross" / "build" / "mpy-cross").exists():
        run(["make", "-s", "-C", str(tree / "mpy-cross"), "-j%d" % _jobs()], stdout=subprocess.DEVNULL)
    say("building %s for %s (%s)" % (image.name, image.board, ", ".join(image.patch_sets) or "stock"))
    run(["make", "-s", "-C", str(tree / "ports" / "rp2"), "-j%d" % _jobs(), "BOARD=" + image.board,
         "BUILD=" + build_dir, "FROZEN_MANIFEST=%s" % image.manifest], env=env,
        stdout=subprocess.DEVNULL)
    out = OUT / image.output
    out.parent.mkdir(parents=True, exist_ok=True)
    for ext in ("uf2", "elf"):
        src = tree / "ports" / "rp2" / build_dir / ("firmware." + ext)
        dst = out.with_name(out.name + "." + ext)
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
    uf2 = out.with_name(out.name + ".uf2")
    say("%s: %s (%d bytes)" % (image.name, uf2.relative_to(ROOT), uf2.stat().st_size))
    return uf2


def build_unix32(pristine, frozen=False):
    """MicroPython's unix port of the same source, 32-bit and static, and the
    mpy-cross of that source: build/mp/unix32/micropython (+ -frozen with
    firmware/manifest.py frozen in) and build/mp/unix32/mpy-cross. make is
    incremental: built once, then reused."""
    tree = patched_tree(pristine, ())
    env = dict(os.environ, MICROPY_GIT_TAG=MP_TAG, MICROPY_GIT_HASH=MP_HASH)
    env.setdefault("SOURCE_DATE_EPOCH", _source_date())
    cross = tree / "mpy-cross" / "build" / "mpy-cross"
    if not cross.exists():
        say("building mpy-cross %s" % MP_VERSION)
        run(["make", "-s", "-C", str(tree / "mpy-cross"), "-j%d" % _jobs()], env=env, stdout=subprocess.DEVNULL)
    port = tree / "ports" / "unix"
    args = ["make", "-s", "-C", str(port), "-j%d" % _jobs(), "VARIANT=" + UNIX_VARIANT] + list(UNIX_OPTIONS)
    if frozen:
        # firmware/manifest.py includes $(BOARD_DIR)/manifest.py: on unix, the variant's
        # (asyncio and the port's own modules), as the board's brings the board's.
        build_dir, name = "build-32-frozen", "micropython-frozen"
        args += ["BUILD=" + build_dir, "FROZEN_MANIFEST=%s" % (ROOT / "firmware" / "manifest.py"),
                 "BOARD_DIR=%s" % (port / "variants" / UNIX_VARIANT)]
    else:
        build_dir, name = "build-32", "micropython"
        args += ["BUILD=" + build_dir]
    say("building the unix port, 32-bit%s" % (", firmware/manifest.py frozen in" if frozen else ""))
    # the linker's warnings about getaddrinfo in a static binary go to stderr: not ours to fix
    run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if not os.environ.get("V") else None)
    UNIX32.mkdir(parents=True, exist_ok=True)
    out = UNIX32 / name
    for src, dst in ((port / build_dir / "micropython", out), (cross, UNIX32 / "mpy-cross")):
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            tmp = dst.with_name(dst.name + ".tmp")
            shutil.copyfile(src, tmp)
            tmp.chmod(0o755)
            tmp.replace(dst)
    say("unix32: %s" % out.relative_to(ROOT))
    return out


def _source_date():
    try:
        out = run(["git", "-C", str(ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True)
        return out.stdout.strip() or "0"
    except (OSError, subprocess.CalledProcessError):
        return "0"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    unix = ("unix32", "unix32-frozen")
    ap.add_argument("images", nargs="*", default=["release"], choices=sorted(images()) + list(unix) + [[]],
                    help="which images (default: release)")
    ap.add_argument("--board", default=BOARD, choices=sorted(BOARDS),
                    help="the board of the release image (default: %s)" % BOARD)
    ap.add_argument("--src", default=os.environ.get("MICROPY_SRC", ""),
                    help="MicroPython sources: a bundle directory, a tarball or a tree (default: MICROPY_SRC, else git)")
    args = ap.parse_args(argv)
    known = images(args.board)
    names = args.images or ["release"]
    if args.board != BOARD and any(n.startswith("test-") for n in names):
        raise SystemExit("error: the test images are for %s only (the emulator is an RP2040)" % BOARD)
    boards = [n for n in names if n not in unix]
    if boards:
        ensure_toolchain()
    if len(boards) < len(names):
        ensure_multilib()
    pristine, picotool_src = fetch_sources(args.src)
    if boards:
        picotool = build_picotool(picotool_src, pristine)
    if boards or "unix32-frozen" in names:
        generate_assets()
    for name in names:
        if name in unix:
            build_unix32(pristine, frozen=name == "unix32-frozen")
        else:
            build_image(known[name], pristine, picotool)


if __name__ == "__main__":
    main()
