"""Copy a firmware image (UF2) onto a Pico W in BOOTSEL mode (make flash).

Hold the BOOTSEL button while plugging the board in: it shows up as a USB
drive named RPI-RP2 holding INFO_UF2.TXT. Copying a .uf2 file onto it
flashes the board, which then restarts by itself and the drive goes away.

    python3 tools/flash.py IMAGE.uf2 [--drive PATH]

The drive is found among the mounted file systems (Linux, macOS); --drive (or
FLASH_DRIVE) names it where it is mounted somewhere else. Exits 1 with a
sentence saying what to do when there is none.
"""

import argparse
import os
import pathlib
import shutil
import sys

MARKER = "INFO_UF2.TXT"  # every RP2040 boot drive has it
LABEL = "RPI-RP2"


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
            seen += [str(p) for p in root.glob(LABEL)] + [str(p) for p in root.glob("*/" + LABEL)]
    named = [m for m in seen if os.path.basename(m) == LABEL]
    return named + [m for m in seen if m not in named]


def is_boot_drive(path):
    info = pathlib.Path(path) / MARKER
    try:
        return info.is_file() and "Board-ID: RPI-RP2" in info.read_text(errors="replace")  # an RP2040
    except OSError:
        return False


def find_drive():
    for mount in candidates():
        if is_boot_drive(mount):
            return pathlib.Path(mount)
    return None


def flash(image, drive=None):
    image = pathlib.Path(image)
    if not image.is_file():
        raise SystemExit("error: no image %s: run `make firmware` first" % image)
    if drive is None:
        drive = find_drive()
        if drive is None:
            raise SystemExit(
                "error: no Pico in BOOTSEL mode found (a drive named %s holding %s).\n"
                "Unplug the board, hold its BOOTSEL button, plug it in, let go; the drive\n"
                "appears (mount it if your system does not). Then run make flash again,\n"
                "or copy %s onto the drive yourself. Elsewhere: make flash DRIVE=/path/to/%s"
                % (LABEL, MARKER, image, LABEL))
    elif not is_boot_drive(drive):
        raise SystemExit("error: %s is not a Pico in BOOTSEL mode (no %s of an RP2040 there)" % (drive, MARKER))
    target = pathlib.Path(drive) / image.name
    print("copying %s (%d bytes) to %s ..." % (image, image.stat().st_size, drive))
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


def main(argv=None):
    ap = argparse.ArgumentParser(description="Flash a UF2 image onto a Pico W in BOOTSEL mode.")
    ap.add_argument("image")
    ap.add_argument("--drive", default=os.environ.get("FLASH_DRIVE") or None,
                    help="the RPI-RP2 drive's mount point (default: found by itself)")
    args = ap.parse_args(argv)
    flash(args.image, args.drive)


if __name__ == "__main__":
    sys.exit(main())
