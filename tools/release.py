"""What a release publishes (make release): the two images, their SHA-256
sums and this version's notes, in one folder for the release workflow
(.github/workflows/release.yml) to attach.

    python3 tools/release.py --out build/release [--tag vVERSION] IMAGE.uf2 ...

Each image must be named picow-server-VERSION-BOARD.uf2 with this checkout's
VERSION, and its UF2 blocks must be for that board's chip (a Pico W image
is RP2040 code, a Pico 2 W image RP2350 code): a mislabelled file is never
published. --tag (the workflow's tag) must be vVERSION. CHANGELOG.md must
have a section "## VERSION": release-notes.md is that section, then which
file is for which board and the sums. Exit 1 with the reason otherwise.
"""

import argparse
import hashlib
import pathlib
import re
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import firmware  # noqa: E402
from flash import BOARDS, image_chips  # noqa: E402

ROOT = firmware.ROOT
CHIP_OF = {suffix: chip for chip, (_, suffix, _) in BOARDS.items()}  # "pico2_w" -> "RP2350"


def changelog_section(version, path=ROOT / "CHANGELOG.md"):
    """The text under '## VERSION' (up to the next '## '), stripped."""
    text = path.read_text() if path.exists() else ""
    m = re.search(r"^## %s\b[^\n]*\n(.*?)(?=^## |\Z)" % re.escape(version), text, re.M | re.S)
    if not m or not m.group(1).strip():
        raise SystemExit("error: CHANGELOG.md has no section '## %s': write what changed first" % version)
    return m.group(1).strip()


def check_image(path, version):
    m = re.fullmatch(r"picow-server-(.+)-(pico2?_w)\.uf2", path.name)
    if not m or m.group(1) != version:
        raise SystemExit("error: %s is not named picow-server-%s-BOARD.uf2" % (path.name, version))
    chip = CHIP_OF[m.group(2)]
    chips = image_chips(path)
    if chips != {chip}:
        raise SystemExit("error: %s holds code for %s, not the %s of a %s"
                         % (path.name, ", ".join(sorted(chips)) or "no named chip", chip, BOARDS[chip][2]))
    return chip


def main(argv=None):
    ap = argparse.ArgumentParser(description="Collect a release: images, SHA256SUMS, release-notes.md.")
    ap.add_argument("images", nargs="+", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, required=True)
    ap.add_argument("--tag", help="the release's git tag: must be vVERSION")
    args = ap.parse_args(argv)
    version = firmware.app_version()
    if args.tag is not None and args.tag != "v" + version:
        raise SystemExit("error: the tag %s does not match the version %s (lib/app/__init__.py): tag v%s"
                         % (args.tag, version, version))
    notes = changelog_section(version)
    chips = {}
    for image in args.images:
        chips[image.name] = check_image(image, version)
    if sorted(chips.values()) != sorted(BOARDS):
        raise SystemExit("error: a release has one image per board (%s), not %s"
                         % (", ".join(sorted(BOARDS)), ", ".join(sorted(chips.values()))))
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    sums = []
    for image in args.images:
        shutil.copyfile(image, args.out / image.name)
        sums.append("%s  %s\n" % (hashlib.sha256(image.read_bytes()).hexdigest(), image.name))
    (args.out / "SHA256SUMS").write_text("".join(sums))
    lines = [notes, "", "### Which file", ""]
    for name, chip in sorted(chips.items()):
        lines.append("- `%s`: Raspberry Pi %s (%s); hold BOOTSEL while plugging it in, copy the file onto "
                     "the drive" % (name, BOARDS[chip][2], chip))
    lines += ["", "MicroPython %s (%s) with this firmware frozen in. SHA-256:" % (firmware.MP_TAG, firmware.MP_HASH),
              "", "```", "".join(sums).rstrip("\n"), "```", ""]
    (args.out / "release-notes.md").write_text("\n".join(lines))
    for path in sorted(args.out.iterdir()):
        print("release: %s (%d bytes)" % (path.relative_to(ROOT) if path.is_relative_to(ROOT) else path,
                                          path.stat().st_size))


if __name__ == "__main__":
    main()
