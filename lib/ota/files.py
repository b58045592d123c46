# Over-the-air updates: the parts of ota/__init__.py that run once per
# update, loaded for them (httpd.load) and forgotten after (Updater._drop): the check of a
# config.py an update carries, and the commit's completion of a version from
# the running one.
# MIT license

import hashlib
import os

import otaboot
from httpd import HTTPError
from micropython import const
from ota.stage import STAGE, check_name, copy_running, open_file, parse, remove_tree

_READ = const(512)  # bytes per read of a file being hashed


def token_hash(token):
    """What the state file keeps of the token in effect: app/trial.py checks
    that a version on trial still has it."""
    return _hex(hashlib.sha256((token or "").encode()).digest())


def same_settings(digest):
    """403 unless `digest` is the SHA-256 of the running config.py: an
    update keeps the board's settings (its API_TOKEN above all: a checkout's
    config.py has none, and the board would be open and without updates)
    unless they are sent on purpose."""
    running = _running_digest("config.py")
    if running != digest:
        raise HTTPError(403, "this version changes config.py, the board's settings (API_TOKEN, Wi-Fi, "
                        "...): an update keeps the board's own unless told otherwise. Leave config.py "
                        "out (make ota does), or send it on purpose: make ota ALLOW_SETTINGS=1 "
                        "(tools/ota.py --settings)")


def _missing(up):
    """[(name, size, SHA-256 hex or None)], sorted by name, of the running
    version's files that the upload does not carry: its manifest's lines,
    or for the base code the firmware's files on flash (config.py, lib/...,
    www/...; frozen ones need no copy: the version falls back to them).
    Both lists are sorted: one pass over each (the flash is read once per
    file, not once per pair), then one more for the stand-ins (_alt)."""
    files = []
    if otaboot.root:
        files = list(_running_manifest())
    else:
        def walk(path):
            try:
                names = os.listdir(path)
            except OSError:
                return
            for n in names:
                p = path + "/" + n
                if os.stat(p)[0] & 0x4000:
                    walk(p)
                    continue
                try:
                    check_name(p)
                except HTTPError:  # the recovery path, a name no update may carry
                    continue
                files.append((p, os.stat(p)[6], None))

        walk("lib")
        walk("www")
        try:
            files.append(("config.py", os.stat("config.py")[6], None))
        except OSError:
            pass
        files.sort()
    # Drop what the upload carries (a merge of two sorted lists) ...
    keep = []
    with open_file(STAGE + "/manifest", "r") as f:
        shipped = _next(f)
        for entry in files:
            while shipped is not None and shipped < entry[0]:
                shipped = _next(f)
            if shipped != entry[0]:
                keep.append(entry)
    # ... and what it carries a stand-in for.
    alts = {}
    for entry in keep:
        alt = _alt(entry[0])
        if alt:
            alts[alt] = entry[0]
    drop = set()
    with open_file(STAGE + "/manifest", "r") as f:
        while True:
            name = _next(f)
            if name is None:
                break
            if name in alts:
                drop.add(alts[name])
    return [e for e in keep if e[0] not in drop]


def _next(f):
    """The name on the next manifest line of `f`, None at its end."""
    line = f.readline(256)
    return parse(line)[0] if line else None


def _alt(name):
    """What stands for `name` in an upload: a module as .py or .mpy
    (MicroPython imports a .py before a .mpy: an old lib/a.py kept beside a
    new lib/a.mpy would run instead of it), a web file or its .gz (served in
    its place to browsers that take gzip). None for config.py."""
    if name.startswith("lib/"):
        if name.endswith(".py"):
            return name[:-3] + ".mpy"
        return name[:-4] + ".py" if name.endswith(".mpy") else None
    if name.startswith("www/"):
        return name[:-3] if name.endswith(".gz") else name + ".gz"
    return None


async def complete(up):
    """Copy into the staging area every file of the running version the
    upload does not carry, and write the version's whole manifest. Returns
    how many files were copied."""
    new = STAGE + "/manifest"
    missing = _missing(up)
    if not missing:
        return 0
    need = sum(e[1] for e in missing)
    vfs = os.statvfs(".")
    block = vfs[1] or vfs[0] or 4096
    if need + (len(missing) + 1) * block + up.reserve > vfs[4] * block:
        raise HTTPError(507, "not enough free flash to keep the %d files this version does not carry "
                        "(%d KB)" % (len(missing), -(-need // 1024)))
    lines = []
    for name, size, digest in missing:
        got = _hex(await copy_running(name))
        if digest is not None and got != digest:
            remove_tree(STAGE + "/" + name)
            raise HTTPError(409, "the running version's %s differs from its manifest (damaged flash): "
                            "send a version that carries it" % name)
        lines.append("%s %d %s\n" % (got, size, name))
    # The manifest, whole and sorted: the uploaded lines and the copied ones.
    tmp = new + ".tmp"
    i = 0
    with open_file(new, "r") as src, open_file(tmp, "w") as dst:
        line = src.readline(256)
        while line or i < len(lines):
            if line and (i == len(lines) or parse(line)[0] < parse(lines[i])[0]):
                dst.write(line)
                line = src.readline(256)
            else:
                dst.write(lines[i])
                i += 1
    os.remove(new)
    os.rename(tmp, new)
    return len(missing)

def _hex(digest):
    import binascii

    return binascii.hexlify(digest).decode()


def _running_manifest():
    """The running version's manifest, (name, size, digest) a line at a time
    (nothing if it cannot be read)."""
    try:
        f = open(otaboot.root + "manifest")
    except OSError:
        return
    with f:
        while True:
            line = f.readline(256)
            if not line:
                return
            yield parse(line)


def _running_digest(name):
    """SHA-256 (hex) of the running version's file `name`, None if it has none."""
    if otaboot.root:
        for n, _, digest in _running_manifest():
            if n == name:
                return digest
        return None
    h = hashlib.sha256()
    buf = bytearray(_READ)
    try:
        with open(name, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(memoryview(buf)[:n])
    except OSError:
        return None
    return _hex(h.digest())
