"""Write package.json (for mip) from the files of lib/httpd/, and keep the
version in package.json and manifest.py equal to httpd.__version__.

    python3 tools/mip_package.py          rewrite them (make package)
    python3 tools/mip_package.py --check  exit 1 if they are out of date

package.json lets other projects install the server library with
`mpremote mip install github:OWNER/REPO`: mip fetches each "urls" source
relative to package.json's own location and writes it to /lib/DEST, then
installs "deps". Only the board-independent server library lib/httpd/ is
published; this firmware's application (lib/app/__init__.py, lib/settings/__init__.py, ...) is not.
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "httpd"
DEPS = []  # httpd logs through micropython-lib's logging if it is installed, else prints the same lines


def version():
    text = (ROOT / "lib" / PACKAGE / "__init__.py").read_text()
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        raise SystemExit("error: lib/%s/__init__.py has no __version__ line" % PACKAGE)
    return m.group(1)


def library_files():
    """lib/httpd's modules, as paths relative to lib/ (what lands in /lib)."""
    base = ROOT / "lib"
    return sorted(p.relative_to(base).as_posix() for p in (base / PACKAGE).rglob("*.py")
                  if "__pycache__" not in p.parts)


def package_json():
    """package.json's text, one [dest, source] pair a line. dest is relative to
    the install target (/lib); source is relative to package.json, so the
    same file works for any github:OWNER/REPO (or a fork, or a local path)."""
    urls = ",\n".join("    " + json.dumps([rel, "lib/" + rel]) for rel in library_files())
    return '{\n  "urls": [\n%s\n  ],\n  "deps": %s,\n  "version": %s\n}\n' % (
        urls, json.dumps(DEPS), json.dumps(version()))


def manifest_py(text):
    return re.sub(r'metadata\(version="[^"]*"', 'metadata(version="%s"' % version(), text)


def main(argv):
    pj = ROOT / "package.json"
    mf = ROOT / "manifest.py"
    want = {pj: package_json(), mf: manifest_py(mf.read_text())}
    stale = [p.name for p, text in want.items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        if stale:
            print("%s out of date with lib/%s: run make package" % (" and ".join(stale), PACKAGE))
            return 1
        return 0
    for path, text in want.items():
        path.write_text(text)
    print("wrote %s: %d files of lib/%s, version %s"
          % (", ".join(p.name for p in want), len(library_files()), PACKAGE, version()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
