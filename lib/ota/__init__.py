# Over-the-air updates: a new version of the firmware's files, sent in
# bounded pieces, checked, then switched to in one step (lib/otaboot/
# chooses the version at boot and rolls a failed one back).
# MIT license
#
#   GET    /api/update                 what runs, the last rollback, the upload under way
#   GET    /api/update/manifest        the running version's manifest (404 for the base code)
#   POST   /api/update                 start: {"version", "files", "bytes", "size", "sha256"}
#                                      (+ "settings": true to change config.py on purpose)
#   PUT    /api/update/manifest?offset=N       the manifest, in pieces of at most MAX_BODY
#   PUT    /api/update/files/NAME?offset=N     a file, in pieces; or ?keep=1: copy the
#                                              running version's file (unchanged ones)
#   POST   /api/update/commit          every file staged and verified: switch, restart
#   DELETE /api/update                 drop the upload
#
# The manifest is text, one line per file: "SHA256HEX SIZE NAME\n". Names are
# config.py, lib/... and www/... only: boot.py, main.py and lib/otaboot are
# the recovery path, wifi.json and mqtt.json the board's own, with their
# passwords (403 for them, and for any name with an empty, "." or ".."
# part). Every route needs API_TOKEN, and
# only exists when it is set. Nothing is written before the space is checked,
# and nothing of the running version is ever written: an upload that ends
# half way leaves the board as it was, and the next start cleans it away.
#
# A version is complete: a file the running version has and the upload does
# not carry is copied from the running version at the commit (config.py above
# all: the board keeps its settings, API_TOKEN included, unless the start says
# "settings": true). A config.py that differs from the running one is refused
# (403) without it. app/trial.py then checks the version on its trial boot.

import asyncio
import hashlib
import os

import otaboot
from httpd import HTTPError, Response, forget, load
from httpd.response import TEXT
from micropython import const

from ota.stage import STAGE, check_name, copy_running, full, mkdirs, open_file, parse, remove_tree

_MAX_FILES = const(256)  # manifest lines (a byte of RAM each while an update is under way)
_RESTART_MS = const(500)  # after the commit's answer, so it reaches the client


def _arg_int(request, name):
    try:
        return int(request.args.get(name, "0"))
    except ValueError:
        raise HTTPError(400, "%s must be a whole number" % name)


class Updater:
    def __init__(self, app):
        self.app = app
        self.reserve = getattr(app.config, "OTA_RESERVE_BYTES", 16384)
        # The POST's {"version", "files", "bytes", "size", "sha256"}; {}: no upload under way.
        self.start = {}
        # One byte per manifest line, 1 once that file is staged and verified.
        # The lines themselves stay on flash (STAGE/manifest), read when a
        # file arrives: RAM does not grow with the number of files.
        self.entries = bytearray()  # empty until the manifest is in
        self.cur = []  # [name, sha256, bytes so far] of the file being received; [] for none
        self.manifest_in = False  # its bytes are in and their SHA-256 is right

    def install(self):
        add = self.app.router.add
        add("/api/update", self.api_update, ("GET", "POST", "DELETE"))
        add("/api/update/manifest", self.api_manifest, ("GET", "PUT"))
        add("/api/update/files/<path:name>", self.api_file, ("PUT",))
        add("/api/update/commit", self.api_commit, ("POST",))
        from httpd.server import default_error_response

        if self.app.server.error_handler is default_error_response:  # safe mode: no dashboard set it
            self.app.server.error_handler = self.app.error_response

    # -- the session ---------------------------------------------------------------

    def api_update(self, request):
        self.app.check_token(request)
        if request.method == "GET":
            st = otaboot.report()
            st["staging"] = self._progress()
            return Response.json(st)
        if otaboot.switched():
            raise HTTPError(409, "an update was switched to: the board is restarting into it")
        if otaboot.mode is None and request.method == "POST":
            # main.py without boot.py (make run): no version was chosen at
            # start, so a restart would not run the update. Refused before
            # anything is written.
            raise HTTPError(409, "this server cannot restart into an update: it was started without boot.py "
                            "(make run). Run the firmware as a board does: make run-board (docs/ota.md, "
                            "\"Trying updates without a board\")")
        self._drop()
        if request.method == "DELETE":
            return None
        return self._begin(request.json())

    def _progress(self):
        if not self.start:
            return None
        done = sum(self.entries) if self.entries else 0
        return {"version": self.start["version"], "files": self.start["files"], "verified": done}

    def _drop(self):
        """Forget the upload and clean the update area: the staging folder and
        any version that is neither running nor named by the state file on
        flash (a leftover of an interrupted switch, one rolled back from)."""
        self.start, self.entries, self.cur = {}, bytearray(), []
        self.manifest_in = False
        forget("ota.files")
        st = otaboot.read()
        keep = ("state.json", st.get("active"), st.get("previous"), otaboot.root[len(otaboot.DIR) + 1:-1])
        try:
            names = os.listdir(otaboot.DIR)
        except OSError:
            return
        for name in names:
            if name not in keep:
                remove_tree(otaboot.DIR + "/" + name)

    def _begin(self, start):
        try:
            version = str(start["version"])[:40]
            files, total, size = int(start["files"]), int(start["bytes"]), int(start["size"])
            sha = bytes.fromhex(start["sha256"])
        except (KeyError, TypeError, ValueError):
            raise HTTPError(422, 'send {"version", "files", "bytes", "size", "sha256"} (the manifest\'s size and SHA-256)')
        if not 0 < files <= _MAX_FILES or len(sha) != 32 or total < 0 or not 0 < size <= files * 180:
            raise HTTPError(422, "1 to %d files, and the manifest's SHA-256 in hex" % _MAX_FILES)
        # Free space first: the files, each rounded up to whole blocks, the
        # manifest, and the reserve the board keeps for its own files.
        vfs = os.statvfs(".")
        block = vfs[1] or vfs[0] or 4096
        free = vfs[4] * block
        need = total + size + (files + 4) * block + self.reserve
        if need > free:
            raise HTTPError(507, "not enough free flash: this update needs about %d KB and %d KB is free"
                            % (-(-need // 1024), free // 1024))
        mkdirs(STAGE + "/")
        load("ota.files")  # now, while the heap is least cut up; forgotten by _drop
        self.start = {"version": version, "files": files, "bytes": total, "size": size, "sha256": sha,
                      "settings": start.get("settings") is True}
        return Response.json({"version": version, "free": free, "need": need}, 201)

    def _session(self, request):
        self.app.check_token(request)
        if not self.start:
            raise HTTPError(409, "no update under way: POST /api/update first")

    # -- receiving -------------------------------------------------------------------

    def api_manifest(self, request):
        if request.method == "GET":
            self.app.check_token(request)
            path = otaboot.root + "manifest"
            try:
                return Response.from_file(path, os.stat(path)[6], TEXT)
            except OSError:
                raise HTTPError(404, "the base code runs: it has no manifest")
        self._session(request)
        if self.entries:
            raise HTTPError(409, "the manifest is in already")
        start = self.start
        # Once its bytes are in, the last piece sent again (its answer lost,
        # or a 503 while reading it) reads the manifest again.
        if not self.manifest_in:
            if not self._append(request, "manifest", start["size"], start["sha256"]):
                return Response.json({"have": self.cur[2], "done": False})
            self.manifest_in = True
        self._read_manifest()
        return Response.json({"have": start["size"], "done": True, "files": len(self.entries)})

    def _find(self, name=None, index=-1):
        """(index, name, size, SHA-256) of the manifest line of `name` (or of
        number `index`), read from flash; None if there is none. (A loop, not
        a generator: one left unfinished would keep its file open.)"""
        i = 0
        with open_file(STAGE + "/manifest", "r") as f:
            while True:
                line = f.readline(256)
                if not line:
                    return None
                n, size, digest = parse(line)
                if n == name or i == index:
                    return i, n, size, bytes.fromhex(digest)
                i += 1

    def _read_manifest(self):
        count = total = 0
        last = ""
        try:
            with open_file(STAGE + "/manifest", "r") as f:
                while True:
                    line = f.readline(256)
                    if not line:
                        break
                    name, size, digest = parse(line)
                    check_name(name)
                    bytes.fromhex(digest)
                    if name == "config.py" and not self.start["settings"]:
                        load("ota.files").same_settings(digest)
                    if name <= last:  # sorted, so no name comes twice
                        raise ValueError("%s: names must be sorted, each once" % name)
                    last = name
                    count += 1
                    total += size
        except ValueError as e:
            self._drop()
            raise HTTPError(422, "manifest line not understood (SHA256HEX SIZE NAME, sorted by name): %s" % e)
        except HTTPError:
            self._drop()
            raise
        if count != self.start["files"] or total != self.start["bytes"]:
            self._drop()
            raise HTTPError(422, "the manifest lists %d files of %d bytes, the start said %d files of %d"
                            % (count, total, self.start["files"], self.start["bytes"]))
        self.entries = bytearray(count)

    async def api_file(self, request):
        self._session(request)
        name = request.params["name"]
        check_name(name)
        if not self.entries:
            raise HTTPError(409, "send the manifest first")
        entry = self._find(name)
        if entry is None:
            raise HTTPError(404, "%s is not in the manifest" % name)
        i, _, size, digest = entry
        if request.args.get("keep"):
            self.entries[i] = 0
            await self._keep(name, digest)
            self.entries[i] = 1
            return Response.json({"name": name, "have": size, "done": True, "kept": True})
        if not self.cur or self.cur[0] != name:
            self.entries[i] = 0  # a file sent again is verified again
        if self._append(request, name, size, digest):
            self.entries[i] = 1
            return Response.json({"name": name, "have": size, "done": True})
        return Response.json({"name": name, "have": self.cur[2], "done": False})

    def _append(self, request, name, size, digest):
        """Append the request's body to the staged file `name` at ?offset=N
        (the bytes staged so far, or 0 to start again), hashing as it goes.
        Returns True once `size` bytes are in and their SHA-256 is right."""
        offset = _arg_int(request, "offset")
        body = request.body or b""
        cur = self.cur
        if not cur or cur[0] != name or offset == 0:
            if offset != 0:
                return self._wrong_offset(name, 0)
            cur = self.cur = [name, hashlib.sha256(), 0]
            mkdirs(STAGE + "/" + name)
            mode = "wb"
        elif offset != cur[2]:
            return self._wrong_offset(name, cur[2])
        else:
            mode = "ab"
        if offset + len(body) > size:
            raise HTTPError(413, "%s is %d bytes in the manifest; this piece goes past its end" % (name, size))
        path = STAGE + "/" + name
        f = open_file(path, mode)
        try:
            f.write(body)
        except OSError as e:  # what part of the piece is on flash is unknown: the file starts again
            self.cur = []
            full(e)
            raise
        finally:
            f.close()
        cur[1].update(body)
        cur[2] += len(body)
        if cur[2] < size:
            return False
        self.cur = []
        if cur[1].digest() != digest:
            os.remove(path)
            raise HTTPError(422, "%s: SHA-256 differs from the manifest's (corrupted or truncated); send it again" % name)
        return True

    def _wrong_offset(self, name, have):
        raise _Offset(name, have)

    async def _keep(self, name, digest):
        """Copy the running version's file into the staging area, checking it
        against the manifest: unchanged files are not sent again."""
        self.cur = []
        if await copy_running(name, "the board has no %s to keep: send it" % name) != digest:
            os.remove(STAGE + "/" + name)
            raise HTTPError(409, "the board's %s differs from the manifest's: send it" % name)

    # -- the switch --------------------------------------------------------------------

    async def api_commit(self, request):
        self._session(request)
        entries = self.entries
        if not entries:
            raise HTTPError(409, "the manifest is not in yet")
        missing = len(entries) - sum(entries)
        if missing:
            found = self._find(index=entries.find(b"\0"))
            name = found[1] if found else "?"
            raise HTTPError(409, "%d files not staged and verified yet, e.g. %s" % (missing, name))
        inherited = await load("ota.files").complete(self)
        st = otaboot.state
        seq = st.get("seq", 0) + 1
        name = "v%d" % seq
        remove_tree(otaboot.DIR + "/" + name)  # a leftover of a switch cut short
        os.rename(STAGE, otaboot.DIR + "/" + name)
        new = {"active": name, "version": self.start["version"], "previous": st.get("active"),
               "previous_version": st.get("version"), "trial": True, "boots": 0, "seq": seq,
               # for app/trial.py: the token in effect now (its hash), whether
               # the version may change it, and whether it came through the
               # setup portal (else it must join the Wi-Fi to be kept)
               "token": load("ota.files").token_hash(self.app.token), "settings": self.start["settings"],
               "portal": self.app.mode == "portal"}
        otaboot.switch(new)  # the switch: one rename of the pointer file
        version = self.start["version"]
        self.start, self.entries = {}, bytearray()
        from httpd import log

        log.get_logger("ota").warning("update to %s staged and verified: restarting into it", version)
        asyncio.create_task(self._restart())
        return Response.json({"version": version, "restart_ms": _RESTART_MS, "inherited": inherited}, 202)

    async def _restart(self):
        await asyncio.sleep_ms(_RESTART_MS)
        self.app.board.reset()


class _Offset(HTTPError):
    """409 with the offset the client should send from."""

    def __init__(self, name, have):
        super().__init__(409, "%s: send from offset %d" % (name, have), [("X-Offset", have)])


def install(app):
    updater = Updater(app)
    updater.install()
    return updater
