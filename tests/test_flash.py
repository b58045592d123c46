"""make flash (tools/flash.py): the image goes onto a Pico in BOOTSEL mode,
found by the INFO_UF2.TXT every RP2040 and RP2350 boot drive holds, which
also names the chip: the image of that board is picked, and one for the
other chip refused; with no drive, a sentence saying how to get one. (A host
tool: plain CPython.)"""

import pathlib
import struct
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
FLASH = ROOT / "tools" / "flash.py"
INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"
# The RP2350's boot ROM default (RP2350 datasheet, 5.7.6); its drive is named RP2350.
INFO_RP2350 = "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n"
RP2040, RP2350, ABSOLUTE = 0xE48BFF56, 0xE48BFF59, 0xE48BFF57


def run(*args):
    return subprocess.run([sys.executable, str(FLASH), *map(str, args)], capture_output=True, text=True)


def image(tmp_path):
    uf2 = tmp_path / "picow-server-9.9.uf2"
    uf2.write_bytes(b"UF2\n\x57\x51\x5d\x9e" + bytes(504))
    return uf2


def test_the_image_is_copied_onto_the_boot_drive(tmp_path):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text(INFO)
    uf2 = image(tmp_path)
    r = run(uf2, "--drive", drive)
    assert r.returncode == 0, r.stderr
    assert (drive / uf2.name).read_bytes() == uf2.read_bytes()
    assert "restarts" in r.stdout


def test_a_folder_that_is_no_boot_drive_is_refused(tmp_path):
    drive = tmp_path / "USBSTICK"
    drive.mkdir()
    r = run(image(tmp_path), "--drive", drive)
    assert r.returncode == 1
    assert "not a Pico in BOOTSEL mode" in r.stderr
    assert list(drive.iterdir()) == []


def test_without_a_boot_drive_it_says_how_to_get_one(tmp_path):
    # (no RPI-RP2 is mounted on a test machine)
    r = run(image(tmp_path))
    assert r.returncode == 1
    assert "BOOTSEL" in r.stderr and "RPI-RP2" in r.stderr


def test_a_missing_image_says_to_build_it(tmp_path):
    r = run(tmp_path / "nothing.uf2")
    assert r.returncode == 1
    assert "make firmware" in r.stderr


def uf2(path, *families):
    """A UF2 file of one block per family (flag 0x2000: the family is named)."""
    data = b""
    for i, family in enumerate(families):
        block = struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000 + 256 * i, 256, i, len(families),
                            family)
        data += block + bytes(476) + struct.pack("<I", 0x0AB16F30)
    path.write_bytes(data)
    return path


def drive(tmp_path, label, info):
    d = tmp_path / label
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text(info)
    return d


def test_a_pico_2_w_image_goes_onto_a_pico_2_w(tmp_path):
    d = drive(tmp_path, "RP2350", INFO_RP2350)
    image = uf2(tmp_path / "picow-server-9.9-pico2_w.uf2", ABSOLUTE, RP2350, RP2350)
    r = run(image, "--drive", d)
    assert r.returncode == 0, r.stderr
    assert (d / image.name).read_bytes() == image.read_bytes()
    assert "(RP2350)" in r.stdout


@pytest.mark.parametrize("label,info,family,says", [
    ("RP2350", INFO_RP2350, RP2040, "the board in BOOTSEL mode is a Pico 2 W (RP2350): use picow-server-VERSION-pico2_w.uf2"),
    ("RPI-RP2", INFO, RP2350, "the board in BOOTSEL mode is a Pico W (RP2040): use picow-server-VERSION-pico_w.uf2"),
])
def test_an_image_for_the_other_chip_is_refused_with_the_one_to_use(tmp_path, label, info, family, says):
    d = drive(tmp_path, label, info)
    r = run(uf2(tmp_path / "x.uf2", family, family), "--drive", d)
    assert r.returncode == 1 and says in r.stderr, r.stderr
    assert [p.name for p in d.iterdir()] == ["INFO_UF2.TXT"]


@pytest.mark.parametrize("label,info,suffix", [("RPI-RP2", INFO, "pico_w"), ("RP2350", INFO_RP2350, "pico2_w")])
def test_make_flash_picks_the_image_of_the_board_in_bootsel_mode(tmp_path, label, info, suffix):
    d = drive(tmp_path, label, info)
    images = tmp_path / "images"
    images.mkdir()
    uf2(images / "picow-server-9.9-pico_w.uf2", RP2040)
    uf2(images / "picow-server-9.9-pico2_w.uf2", ABSOLUTE, RP2350)
    r = run("--dir", images, "--version", "9.9", "--no-build", "--drive", d)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in d.iterdir()) == ["INFO_UF2.TXT", "picow-server-9.9-%s.uf2" % suffix]


def test_make_flash_with_the_other_boards_name_says_which_board_is_there(tmp_path):
    d = drive(tmp_path, "RP2350", INFO_RP2350)
    r = run("--dir", tmp_path, "--version", "9.9", "--board", "RPI_PICO_W", "--no-build", "--drive", d)
    assert r.returncode == 1
    assert "BOARD=RPI_PICO_W, but the board in BOOTSEL mode is a Pico 2 W (RP2350)" in r.stderr, r.stderr
