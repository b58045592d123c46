"""The RP2040 B1 boot ROM the emulator (rp2040js) needs to boot an image.

The rp2040js npm package ships none, and no npm package carries one. It is
found, in this order:

  RP2040_BOOTROM                      a file you name (nothing else is tried)
  ../shared/micropython/rp2040-bootrom-b1.mjs   the offline MicroPython bundle
  build/emulator/rp2040-bootrom-b1.mjs          fetched earlier by this module

and else fetched (online, once): demo/bootrom.ts of rp2040js's repository at
the commit the bundle took it from, checked against its SHA-256, with the
bundle's header prepended, so the file is the bundle's byte for byte.
tools/emulator/run.mjs looks in the same places.

    python3 tools/bootrom.py     prints its path, fetching it when needed;
                                 exit 1 with the reason when there is none
"""

import hashlib
import os
import pathlib
import sys
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME = "rp2040-bootrom-b1.mjs"
SHARED = ROOT.parent / "shared" / "micropython" / NAME
FETCHED = ROOT / "build" / "emulator" / NAME
RP2040JS_COMMIT = "f9becba867f6d7afbf99551270cc9a2e841742eb"
URL = "https://raw.githubusercontent.com/wokwi/rp2040js/%s/demo/bootrom.ts" % RP2040JS_COMMIT
SHA256 = "99f8a1f813ce3aa9415884de3fb6c5b962d3c6fa0394b05413ad3c7b3c39ec62"  # of demo/bootrom.ts there
HEADER = """\
// RP2040 boot ROM, revision B1, as a Uint32Array for rp2040js: mcu.loadBootrom(bootromB1).
// Taken unchanged (apart from this header) from demo/bootrom.ts of https://github.com/wokwi/rp2040js
// at commit %s (MIT licensed repository).
// The ROM itself is built from https://github.com/raspberrypi/pico-bootrom-rp2040 (formerly
// pico-bootrom): Copyright (c) 2020 Raspberry Pi (Trading) Ltd., BSD-3-Clause, except its float
// library (bootrom/mufplib*.S, Copyright (c) 2020 Mark Owen), which Raspberry Pi licenses for use
// on Raspberry Pi Pico devices only and which its author also offers under GPLv2.
""" % RP2040JS_COMMIT


class Missing(Exception):
    """No boot ROM: the message says where it was looked for and why none came."""


def locate():
    """The boot ROM already here, or None. A RP2040_BOOTROM that names no
    file is an error, not a reason to look elsewhere."""
    named = os.environ.get("RP2040_BOOTROM")
    if named:
        if not pathlib.Path(named).is_file():
            raise Missing("RP2040_BOOTROM=%s is not a file" % named)
        return pathlib.Path(named)
    for path in (SHARED, FETCHED):
        if path.is_file():
            return path
    return None


def fetch(timeout=30):
    """Download it into build/emulator/; returns the path or raises Missing."""
    try:
        with urllib.request.urlopen(URL, timeout=timeout) as answer:
            body = answer.read()
    except OSError as e:  # URLError, timeouts: offline, or the host refused
        raise Missing("fetching it failed (%s)" % getattr(e, "reason", e))
    if hashlib.sha256(body).hexdigest() != SHA256:
        raise Missing("%s is not the file the bundle holds (SHA-256 differs)" % URL)
    FETCHED.parent.mkdir(parents=True, exist_ok=True)
    part = FETCHED.with_suffix(".part")
    part.write_bytes(HEADER.encode() + body)
    part.replace(FETCHED)
    return FETCHED


def find():
    """The boot ROM, fetched when it is not here; raises Missing with why."""
    path = locate()
    if path:
        return path
    try:
        return fetch()
    except Missing as e:
        raise Missing("no RP2040 boot ROM for the emulator: not in ../shared/micropython (the offline "
                      "bundle) or build/emulator, and %s: set RP2040_BOOTROM=FILE" % e)


def main():
    try:
        print(find())
    except Missing as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
