# Over-the-air updates: the staging area on flash (otaboot.DIR/new) and the
# file operations both halves of an update use (ota/__init__.py receiving
# the files, ota/files.py checking and completing a version): which names an
# update may write, opening, copying and removing its files.
# MIT license

import asyncio
import hashlib
import os

import otaboot
from httpd import HTTPError
from micropython import const

STAGE = otaboot.DIR + "/new"
_MAX_NAME = const(96)
_COPY = const(512)  # bytes per step of an on-board copy (a yield after each)
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"


def check_name(name):
    """HTTPError 403 unless `name` is a file an update may write."""
    if name in ("boot.py", "main.py") or name.startswith("lib/otaboot"):  # the otaboot package
        raise HTTPError(403, "%s is the recovery path: it is not updated over the air (flash or make deploy)" % name)
    base = name.rsplit("/", 1)[-1]
    if base in ("wifi.json", "mqtt.json"):  # the board's own, and they hold passwords
        raise HTTPError(403, "%s is not updated over the air (the setup portal or make deploy writes it)" % base)
    parts = name.split("/")
    if len(name) > _MAX_NAME or not (name == "config.py" or parts[0] in ("lib", "www") and len(parts) > 1):
        raise HTTPError(403, "not a firmware file: only config.py, lib/... and www/... are updated")
    for part in parts:
        if part in ("", ".", "..") or any(c not in _NAME_CHARS for c in part):
            raise HTTPError(403, "not a firmware file name: %r" % name)


def mkdirs(path):
    """The directories of path (a file's), made as needed."""
    i = path.find("/")
    while i > 0:
        try:
            os.mkdir(path[:i])
        except OSError:
            pass  # already there
        i = path.find("/", i + 1)


def remove_tree(path):
    try:
        mode = os.stat(path)[0]
    except OSError:
        return
    if mode & 0x4000:
        for entry in os.listdir(path):
            remove_tree(path + "/" + entry)
        os.rmdir(path)
    else:
        os.remove(path)


def parse(line):
    """A manifest line -> (name, size, SHA-256 hex); ValueError if it is not one."""
    digest, size, name = line.rstrip("\n").split(" ", 2)
    if len(digest) != 64 or int(size) < 0:
        raise ValueError(line[:80])
    return name, int(size), digest


def full(e):
    if e.errno == 28:  # ENOSPC
        raise HTTPError(507, "the flash is full")


async def copy_running(name, missing=None):
    """The running version's file `name` copied into the staging area, in
    pieces (other clients are served meanwhile); returns its SHA-256."""
    path = STAGE + "/" + name
    h = hashlib.sha256()
    buf = bytearray(_COPY)
    mkdirs(path)
    src = open_file(otaboot.root + name, "rb", missing)
    try:
        with src, open_file(path, "wb") as dst:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                piece = memoryview(buf)[:n]
                dst.write(piece)
                h.update(piece)
                await asyncio.sleep_ms(0)
    except OSError as e:
        remove_tree(path)
        full(e)
        raise
    return h.digest()


def open_file(path, mode, missing=None):
    """open(), with the answers a client can act on: 404 (`missing`), 507
    when the flash is full, 503 when no file can be opened now (the unix
    port counts files and sockets together, as its RLIMIT does)."""
    try:
        return open(path, mode)
    except OSError as e:
        full(e)
        if e.errno in (23, 24):  # ENFILE, EMFILE
            raise HTTPError(503, "busy, retry shortly", [("Retry-After", 1)])
        if missing:
            raise HTTPError(404, missing)
        raise
