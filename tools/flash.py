"""Copy a firmware image (UF2) onto a Pico W or Pico 2 W in BOOTSEL mode
(make flash).

Hold the BOOTSEL button while plugging the board in: it shows up as a USB
drive holding INFO_UF2.TXT, named RPI-RP2 on a Pico W (RP2040) and RP2350 on
a Pico 2 W. Copying a .uf2 file onto it flashes the board, which then
restarts by itself and the drive goes away.

    python3 tools/flash.py IMAGE.uf2 [--drive PATH]
    python3 tools/flash.py --dir build/firmware --version V [--board BOARD] [--drive PATH]

The second form (make flash) picks the image of the board in BOOTSEL mode:
INFO_UF2.TXT names its chip (RP2040: the Pico W's image, RP2350: the Pico 2
W's), and builds it first with `make firmware BOARD=...` when it is missing.
An image whose UF2 family is another chip's is refused with the name of the
one to use. The drive is found among the mounted file systems (Linux,
macOS); --drive (or FLASH_DRIVE) names it where it is mounted somewhere
else. Exits 1 with a sentence saying what to do when there is none.
"""

import argparse
import os
import pathlib
import shutil
import struct
import subprocess
import sys

MARKER = "INFO_UF2.TXT"  # every RP2040 and RP2350 boot drive has it
LABELS = ("RPI-RP2", "RP2350")  # the drives' names (RP2040, RP2350)
ROOT = pathlib.Path(__file__).resolve().parent.parent

# chip -> (MicroPython's board, the image's suffix, the board's name)
BOARDS = {
    "RP2040": ("RPI_PICO_W", "pico_w", "Pico W"),
    "RP2350": ("RPI_PICO2_W", "pico2_w", "Pico 2 W"),
}
# UF2 family IDs (the UF2 spec's list; picotool writes them): which chip a
# block is for. 0xe48bff57 ("absolute") leads RP2350 images, and the RP2040's
# boot ROM skips blocks of other families.
FAMILIES = {0xE48BFF56: "RP2040", 0xE48BFF59: "RP2350", 0xE48BFF5A: "RP2350", 0xE48BFF5B: "RP2350"}
_UF2_MAGIC = (0x0A324655, 0x9E5D5157)
_UF2_FAMILY_FLAG = 0x2000


def candidates():
    """Mount points that may be the board's drive, most likely first."""
    seen = []
    try:
        with open("/proc/mounts") as f:
            for line in f:
                mount = line.split()[1].replace("\\040", " ")
                seen.append(mount)
    except OSError:
        pass
    for base in ("/media", "/run/media", "/Volumes", "/mnt"):
        root = pathlib.Path(base)
        if root.is_dir():
            for label in LABELS:
                seen += [str(p) for p in root.glob(label)] + [str(p) for p in root.glob("*/" + label)]
    named = [m for m in seen if os.path.basename(m) in LABELS]
    return named + [m for m in seen if m not in named]


def drive_chip(path):
    """'RP2040' or 'RP2350' for a boot drive, by its INFO_UF2.TXT; None for
    anything else. The RP2040's says 'Board-ID: RPI-RP2', the RP2350's
    'Board-ID: RP2350' (their boot ROMs' defaults)."""
    info = pathlib.Path(path) / MARKER
    try:
        text = info.read_text(errors="replace") if info.is_file() else ""
    except OSError:
        return None
    fields = dict(line.partition(":")[::2] for line in text.splitlines())
    ids = " ".join(fields.get(k, "").strip() for k in ("Board-ID", "Model"))
    if "RP2350" in ids:
        return "RP2350"
    if "RPI-RP2" in ids:
        return "RP2040"
    return None


def find_drive():
    for mount in candidates():
        if drive_chip(mount):
            return pathlib.Path(mount)
    return None


def image_chips(image):
    """The chips an image's UF2 blocks are for (empty when its blocks name
    no family: then only the boot ROM can tell)."""
    chips = set()
    with open(image, "rb") as f:
        while True:
            block = f.read(512)
            if len(block) < 32:
                break
            magic0, magic1, flags = struct.unpack_from("<III", block)
            if (magic0, magic1) != _UF2_MAGIC:
                break
            if flags & _UF2_FAMILY_FLAG:
                family = struct.unpack_from("<I", block, 28)[0]
                if family in FAMILIES:
                    chips.add(FAMILIES[family])
    return chips


def image_for(directory, version, chip):
    """build/firmware/picow-server-VERSION-pico_w.uf2 for an RP2040."""
    return pathlib.Path(directory) / ("picow-server-%s-%s.uf2" % (version, BOARDS[chip][1]))


def no_drive(what):
    return SystemExit(
        "error: no Pico W or Pico 2 W in BOOTSEL mode found (a drive named RPI-RP2 or RP2350 holding %s).\n"
        "Unplug the board, hold its BOOTSEL button, plug it in, let go; the drive\n"
        "appears (mount it if your system does not). Then run make flash again,\n"
        "or copy %s onto the drive yourself. Elsewhere: make flash DRIVE=/path/to/the/drive"
        % (MARKER, what))


def flash(image, drive=None):
    image = pathlib.Path(image)
    if not image.is_file():
        raise SystemExit("error: no image %s: run `make firmware` first" % image)
    if drive is None:
        drive = find_drive()
        if drive is None:
            raise no_drive(image)
    chip = drive_chip(drive)
    if chip is None:
        raise SystemExit("error: %s is not a Pico in BOOTSEL mode (no %s of an RP2040 or RP2350 there)"
                         % (drive, MARKER))
    made_for = image_chips(image)
    if made_for and chip not in made_for:
        board, suffix, name = BOARDS[chip]
        raise SystemExit("error: %s is an image for the %s, but the board in BOOTSEL mode is a %s (%s): "
                         "use picow-server-VERSION-%s.uf2 (make flash picks it; make firmware BOARD=%s builds it)"
                         % (image.name, " and ".join(sorted(made_for)), name, chip, suffix, board))
    target = pathlib.Path(drive) / image.name
    print("copying %s (%d bytes) to %s (%s) ..." % (image, image.stat().st_size, drive, chip))
    shutil.copyfile(image, target)
    try:
        os.sync()
    except AttributeError:
        pass
    print("done: the board restarts into the new firmware (the drive goes away).\n"
          "With no Wi-Fi settings yet it opens the setup portal at once: join the Wi-Fi\n"
          "network PicoW-Setup (password picosetup) from a phone and browse to\n"
          "http://192.168.4.1/. Once it knows your network, its LED blinks while it\n"
          "joins, stays on for 2 s when joined, and blinks fast if joining failed.")
    return target


def flash_matching(directory, version, board=None, drive=None, build=True):
    """make flash: the image of the board in BOOTSEL mode, built when missing."""
    if drive is None:
        drive = find_drive()
        if drive is None:
            raise no_drive("picow-server-%s-pico_w.uf2 (Pico W) or -pico2_w.uf2 (Pico 2 W)" % version)
    chip = drive_chip(drive)
    if chip is None:
        raise SystemExit("error: %s is not a Pico in BOOTSEL mode (no %s of an RP2040 or RP2350 there)"
                         % (drive, MARKER))
    wanted, _, name = BOARDS[chip]
    if board and board != wanted:
        raise SystemExit("error: BOARD=%s, but the board in BOOTSEL mode is a %s (%s): make flash BOARD=%s, "
                         "or leave BOARD out" % (board, name, chip, wanted))
    image = image_for(directory, version, chip)
    print("the board in BOOTSEL mode is a %s (%s, by its %s): %s" % (name, chip, MARKER, image.name))
    if build:  # make's own rule: nothing is rebuilt when the image is up to date
        subprocess.run(["make", "-s", "-C", str(ROOT), "firmware", "BOARD=" + wanted], check=True)
    return flash(image, drive)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Flash a UF2 image onto a Pico W or Pico 2 W in BOOTSEL mode.")
    ap.add_argument("image", nargs="?", help="the .uf2 (default: the board's own from --dir)")
    ap.add_argument("--dir", help="where the images are (picow-server-VERSION-BOARD.uf2)")
    ap.add_argument("--version", help="the images' version")
    ap.add_argument("--board", default=None, help="the board you mean (checked against the drive)")
    ap.add_argument("--no-build", action="store_true", help="do not build a missing image")
    ap.add_argument("--drive", default=os.environ.get("FLASH_DRIVE") or None,
                    help="the boot drive's mount point (default: found by itself)")
    args = ap.parse_args(argv)
    if args.image:
        flash(args.image, args.drive)
    elif args.dir and args.version:
        flash_matching(args.dir, args.version, args.board, args.drive, build=not args.no_build)
    else:
        ap.error("name an image, or --dir and --version")


if __name__ == "__main__":
    sys.exit(main())
