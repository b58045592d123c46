"""make flash (tools/flash.py): the image goes onto a Pico in BOOTSEL mode,
found by the INFO_UF2.TXT every RP2040 boot drive holds; with none, a
sentence saying how to get one. (A host tool: plain CPython.)"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FLASH = ROOT / "tools" / "flash.py"
INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"


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
