"""What a release publishes, as the release workflow makes it: `make release`
builds both images (the Pico W's and the Pico 2 W's, offline from
../shared/micropython here) and collects them with their SHA-256 sums and
the version's notes. Each image is checked without booting it (no RP2350
emulator exists here; the Pico W image boots in tests/board/test_image.py):
its UF2 blocks are for its chip, picotool info names the program, its
version, the board and MicroPython's version, every module of the
application is frozen in, and it fits its flash partition.

Where the images cannot be built (no arm toolchain and not root to install
it) the tests skip with the reason; under PICOW_BOARD_TESTS=required (CI)
that is a failure."""

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from serverproc import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import firmware  # noqa: E402
import flash  # noqa: E402

VERSION = firmware.app_version()
OUT = ROOT / "build" / "release-test"
PICOTOOL = ROOT / "build" / "mp" / "picotool-install" / "picotool" / "picotool"
# suffix -> (chip, MicroPython's board, the UF2 family of the code, the flash
# the image may use: the flash less MicroPython's filesystem, from each
# board's mpconfigboard.h: 2 MB - 848 KB, 4 MB - 2.5 MB)
BOARDS = {
    "pico_w": ("RP2040", "RPI_PICO_W", "rp2040", 2048 * 1024 - 848 * 1024),
    "pico2_w": ("RP2350", "RPI_PICO2_W", "rp2350-arm-s", 1536 * 1024),
}
# Room kept free in each partition: an application that grows past it is
# noticed here before the link fails. (2026-12-06: 237 KB free on the Pico W, 590 KB on the Pico 2 W.)
HEADROOM = 64 * 1024


def _can_build():
    if shutil.which("arm-none-eabi-gcc") or os.geteuid() == 0:
        return None
    return "the images cannot be built here: no arm toolchain (gcc-arm-none-eabi) and not root to install it"


@pytest.fixture(scope="module")
def release():
    """build/release-test: make release's output for this checkout's tag."""
    why = _can_build()
    if why:
        if os.environ.get("PICOW_BOARD_TESTS") == "required":
            pytest.fail(why)
        pytest.skip(why)
    run = subprocess.run(["make", "release", "TAG=v" + VERSION, "RELEASE_DIR=" + str(OUT)], cwd=ROOT,
                         capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return OUT


def _image(release, suffix):
    return release / ("picow-server-%s-%s.uf2" % (VERSION, suffix))


def _picotool(*args, image):
    """picotool run beside the image, named without its folder: picotool wraps
    its lines at 80 columns, so a long clone path would split "family ID"."""
    tool = PICOTOOL if PICOTOOL.exists() else shutil.which("picotool")
    assert tool, "no picotool: tools/firmware.py builds it offline (build/mp/picotool-install)"
    run = subprocess.run([str(tool), *map(str, args), image.name], cwd=image.parent,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _field(info, name):
    """A field of picotool info, its continuation lines joined."""
    m = re.search(r"^ %s:\s+(.*?)(?=^ \S|^\S|\Z)" % re.escape(name), info, re.M | re.S)
    assert m, "picotool info has no %r:\n%s" % (name, info)
    return " ".join(m.group(1).split())


def _app_modules():
    """Every module of the application as picotool lists frozen ones
    ('httpd/server', 'app'), and the generated ones."""
    names = {"config", "boot", "main", "www_data", "picow_image", "logging"}
    for path in (ROOT / "lib").rglob("*.py"):
        rel = path.relative_to(ROOT / "lib").with_suffix("").as_posix()
        names.add(rel[:-len("/__init__")] if rel.endswith("/__init__") else rel)
    return names


def test_a_release_is_both_images_their_sums_and_the_notes(release):
    names = sorted(p.name for p in release.iterdir())
    assert names == sorted(["picow-server-%s-pico2_w.uf2" % VERSION, "picow-server-%s-pico_w.uf2" % VERSION,
                            "SHA256SUMS", "release-notes.md"]), names
    sums = (release / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2
    for line in sums:  # the format sha256sum -c reads
        digest, name = line.split("  ")
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name
    notes = (release / "release-notes.md").read_text()
    assert firmware.MP_TAG in notes and "Pico 2 W (RP2350)" in notes and "Pico W (RP2040)" in notes, notes
    assert notes.startswith(re.search(r"^## %s\n+(.+)$" % re.escape(VERSION),
                                      (ROOT / "CHANGELOG.md").read_text(), re.M).group(1)), notes
    print("\n" + "\n".join("%s: %d bytes" % (p.name, p.stat().st_size) for p in sorted(release.iterdir())))


@pytest.mark.parametrize("suffix", sorted(BOARDS))
def test_each_image_is_its_boards_code_and_says_what_it_is(release, suffix):
    chip, board, family, _ = BOARDS[suffix]
    image = _image(release, suffix)
    assert flash.image_chips(image) == {chip}  # every block with a family is for this chip
    info = _picotool("info", image=image)
    assert "family ID '%s'" % family in " ".join(info.split()), info
    assert _field(info, "name") == "picow-server"
    assert _field(info, "version") == VERSION
    name = {"pico_w": "Raspberry Pi Pico W", "pico2_w": "Raspberry Pi Pico 2 W"}[suffix]
    assert _field(info, "description") == "picow-server %s for the %s (%s): MicroPython %s (%s), patches: lwip" % (
        VERSION, name, board, firmware.MP_TAG, firmware.MP_HASH)
    built = _picotool("info", "-a", image=image)
    assert _field(built, "pico_board") == suffix  # pico-sdk's own name of the board
    if chip == "RP2350":
        assert _field(built, "target chip") == "RP2350" and _field(built, "image type") == "ARM Secure", built


@pytest.mark.parametrize("suffix", sorted(BOARDS))
def test_each_image_freezes_the_whole_application_and_fits_its_flash(release, suffix):
    info = _picotool("info", image=_image(release, suffix))
    frozen = set(_field(info, "frozen modules").replace(",", " ").split())
    missing = _app_modules() - frozen
    assert not missing, "not frozen into the %s image: %s" % (suffix, sorted(missing))
    start = int(_field(info, "binary start"), 16)
    end = int(_field(info, "binary end"), 16)
    room = BOARDS[suffix][3]
    size = end - start
    print("\n%s: %d bytes of code and data, %d of the %d before the filesystem left"
          % (suffix, size, room - size, room))
    assert size <= room - HEADROOM, "%d bytes: less than %d left before the filesystem" % (size, HEADROOM)


def test_a_wrong_tag_publishes_nothing(release, tmp_path):
    images = sorted(release.glob("*.uf2"))
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "release.py"), "--out", str(tmp_path / "r"),
                          "--tag", "v0.0.0-not-this", *map(str, images)], capture_output=True, text=True)
    assert run.returncode == 1 and "does not match the version" in run.stderr, run.stderr
    assert not (tmp_path / "r").exists()


def test_an_image_under_the_other_boards_name_is_refused(release, tmp_path):
    swapped = [tmp_path / _image(release, "pico_w").name, tmp_path / _image(release, "pico2_w").name]
    shutil.copyfile(_image(release, "pico2_w"), swapped[0])
    shutil.copyfile(_image(release, "pico_w"), swapped[1])
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "release.py"), "--out", str(tmp_path / "r"),
                          *map(str, swapped)], capture_output=True, text=True)
    assert run.returncode == 1 and "holds code for RP2350, not the RP2040" in run.stderr, run.stderr
    assert not (tmp_path / "r").exists()
