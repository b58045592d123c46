"""Update a board over Wi-Fi (make ota HOST=... TOKEN=...): build, send what
changed, switch, wait for the board to come back, report what it runs.

    ota.py --host HOST [--port 80] [--token T] [--settings] [--no-build] [--wait 180]

What is sent: build/lib (the .mpy files) and build/www, as the board's
lib/ota/__init__.py takes them (docs/ota.md). Not config.py: the board keeps its own
settings (its API_TOKEN above all), and copies every file the update does not
carry from the version it runs. --settings (make ota ALLOW_SETTINGS=1) sends
this checkout's config.py on purpose; it is still refused when it would turn
updates off (no API_TOKEN). A manifest goes first (one line
"SHA256 SIZE NAME" per file, with its own size and SHA-256), then each file in
pieces of at most --chunk bytes (2048; at most the board's MAX_BODY), each piece its own
PUT .../files/NAME?offset=N. Files whose SHA-256 equals that in the running
version's manifest are not sent: the board copies its own (?keep=1). Then
POST /api/update/commit switches; the board restarts, and this waits until
/api/status says the new version is confirmed, or that it was rolled back
and why. The token defaults to config.py's API_TOKEN. Exit status 0 when the
board runs the new version, 1 otherwise (each failure one sentence).
"""

import argparse
import hashlib
import http.client
import json
import pathlib
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# Never sent: the board's recovery path, lib/otaboot*.mpy (lib/ota/__init__.py refuses
# the same names by the same prefix).
RECOVERY = "lib/otaboot"


class OtaError(Exception):
    """A failure to report as one sentence (exit status 1)."""


def collect(lib=BUILD / "lib", www=BUILD / "www", config=None):
    """[(board name, local path)] of a version: lib/, www/, and config.py
    when it is given (the settings, sent only on purpose)."""
    files = []
    for top, base in (("lib", lib), ("www", www)):
        if base and pathlib.Path(base).is_dir():
            for p in sorted(pathlib.Path(base).rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    name = "%s/%s" % (top, p.relative_to(base).as_posix())
                    if not name.startswith(RECOVERY):
                        files.append((name, p))
    if config:
        files.append(("config.py", pathlib.Path(config)))
    return files


def manifest(files):
    """(manifest text as bytes, [(name, size, sha256 hex, path)]), by name."""
    entries = []
    for name, path in sorted(files):  # sorted: the board checks no name comes twice
        data = path.read_bytes()
        entries.append((name, len(data), hashlib.sha256(data).hexdigest(), path))
    text = "".join("%s %d %s\n" % (sha, size, name) for name, size, sha, _ in entries).encode()
    return text, entries


def app_version(root=ROOT):
    m = re.search(r'^VERSION = "(.*)"', (root / "lib/app/__init__.py").read_text(), re.M)
    return m.group(1) if m else "0"


class Board:
    """HTTP/1.1 to the board, one keep-alive connection, reopened when the
    board closed it (idle timeout)."""

    def __init__(self, host, port, token, timeout=10):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.conn = None
        self.headers = {}  # of the last answer

    def request(self, method, path, body=b"", kind=None):
        headers = {"Content-Length": str(len(body))}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if kind:
            headers["Content-Type"] = kind
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body, headers)
                r = self.conn.getresponse()
                data = r.read()
                self.headers = {k.lower(): v for k, v in r.getheaders()}
                if r.getheader("connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()  # an idle keep-alive connection the board had closed: once more
                if attempt == 2:
                    raise
        raise AssertionError

    def json(self, method, path, obj=None, ok=(200,)):
        status, data = self.request(method, path, json.dumps(obj).encode() if obj is not None else b"",
                                    "application/json" if obj is not None else None)
        if status not in ok:
            raise OtaError("%s %s: %d %s" % (method, path, status, _reason(data)))
        return json.loads(data) if data else None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _reason(data):
    try:
        return json.loads(data)["error"]
    except (ValueError, KeyError, TypeError):
        return data.decode(errors="replace").strip()[:200]


_MIN_CHUNK = 512
_RETRIES = 8


def _send(board, path, data, chunk):
    """PUT data in pieces of `chunk` bytes at ?offset=N. A board short of
    memory answers 503 or drops the connection: the piece is sent again,
    halved; a 409 names the offset the board has (a lost answer)."""
    sep = "&" if "?" in path else "?"
    offset = tries = 0
    while True:
        piece = data[offset:offset + chunk]
        try:
            status, body = board.request("PUT", "%s%soffset=%d" % (path, sep, offset), piece,
                                         "application/octet-stream")
        except (OSError, http.client.HTTPException):
            board.close()
            status, body = 503, b"connection dropped"
        if status == 200:
            offset += len(piece)
            tries = 0
            if offset >= len(data):
                return chunk
            continue
        if status == 409 and "x-offset" in board.headers:
            offset = int(board.headers["x-offset"])
        elif status != 503:
            raise OtaError("PUT %s at offset %d: %d %s" % (path, offset, status, _reason(body)))
        tries += 1
        if tries > _RETRIES:
            raise OtaError("PUT %s at offset %d: the board keeps refusing (%d %s)"
                           % (path, offset, status, _reason(body)))
        if status == 503:
            chunk = max(_MIN_CHUNK, chunk // 2)
            time.sleep(0.2)


def check_settings(files, token):
    """Refuse a version whose config.py would leave the board without updates;
    a sentence on a token that changes (sent on purpose: --settings)."""
    for name, path in files:
        if name != "config.py":
            continue
        sys.path.insert(0, str(ROOT / "tools"))
        import deploy

        new = deploy.config_values(pathlib.Path(path)).get("API_TOKEN")
        if not new:
            raise OtaError("%s has no API_TOKEN: the board would turn updates off and be open to anyone "
                           "on the network. Set API_TOKEN in it, or turn updates off over USB (make deploy)"
                           % path)
        if new != token:
            return ("note: this update changes the board's API_TOKEN (ALLOW_SETTINGS=1): "
                    "the next make ota needs TOKEN=<config.py's API_TOKEN>")
    return None


def update(host, port, token, files, version=None, chunk=2048, wait_s=180, say=print, settings=False):
    """Send `files` ([(name, path)]) as a new version and wait for the board.
    Returns the board's /api/status "update" report once it runs the version.
    settings: the files may carry config.py, to change the board's settings on
    purpose (without it the board refuses a config.py that differs from its own)."""
    started = time.monotonic()
    text, entries = manifest(files)
    sha = hashlib.sha256(text).hexdigest()
    version = "%s+%s" % (version or app_version(), sha[:8])
    board = Board(host, port, token)
    try:
        running = board.json("GET", "/api/update")
    except OSError as e:
        raise OtaError("cannot reach the board at %s:%d: %s" % (host, port, e))
    if running.get("mode") is None:
        raise OtaError("the server at %s:%d cannot restart into an update: it was started without boot.py "
                       "(make run). Run the firmware as a board does: make run-board (docs/ota.md, "
                       "\"Trying updates without a board\")" % (host, port))
    if settings:
        note = check_settings(files, token)
        if note:
            say(note)
    elif any(name == "config.py" for name, _ in files):
        raise OtaError("this version carries config.py, the board's settings: send it with ALLOW_SETTINGS=1 "
                       "(--settings) to change them on purpose")
    say("board runs %s (%s); sending %s" % (running.get("version") or "its base code",
                                             running.get("mode"), version))
    if running.get("version") == version and running.get("mode") != "trial":
        say("nothing to update: the board runs this version")
        return running
    status, old = board.request("GET", "/api/update/manifest")
    have = {}
    if status == 200:
        for line in old.decode().splitlines():
            digest, _, name = line.split(" ", 2)
            have[name] = digest
    total = sum(e[1] for e in entries)
    begin = {"version": version, "files": len(entries), "bytes": total, "size": len(text), "sha256": sha}
    if settings:
        begin["settings"] = True
    start = board.json("POST", "/api/update", begin, ok=(201,))
    say("board flash: %d KB free, this update needs about %d KB" % (start["free"] // 1024, start["need"] // 1024))
    chunk = _send(board, "/api/update/manifest", text, chunk)
    sent = kept = 0
    for i, (name, size, digest, path) in enumerate(entries, 1):
        if have.get(name) == digest:
            status, body = board.request("PUT", "/api/update/files/%s?keep=1" % name)
            if status == 200:
                kept += 1
                continue
        chunk = _send(board, "/api/update/files/" + name, path.read_bytes(), chunk)
        sent += size
        say("  [%d/%d] %s  %d bytes" % (i, len(entries), name, size))
    say("sent %d bytes in %.1f s (%d of %d files unchanged, kept on the board)"
        % (sent, time.monotonic() - started, kept, len(entries)))
    done = board.json("POST", "/api/update/commit", ok=(202,)) or {}
    board.close()
    if done.get("inherited"):
        n = done["inherited"]
        say("the board kept %d %s of the version it runs that this update does not carry%s"
            % (n, "file" if n == 1 else "files", "" if settings else " (its config.py, if it has one)"))
    say("switched: the board restarts into %s ..." % version)
    if wait_s is None:
        return version
    return wait(host, port, version, wait_s, say, started)


def wait(host, port, version, wait_s, say, started):
    """Poll /api/status until the board runs `version` confirmed, or reports
    a rollback of it."""
    board = Board(host, port, None, timeout=3)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            status, data = board.request("GET", "/api/status")
        except OSError:  # restarting
            board.close()
            continue
        if status != 200:
            continue
        up = json.loads(data).get("update") or {}
        back = up.get("rollback") or {}
        if up.get("version") == version and not up.get("trial") and up.get("mode") != "trial":
            say("the board runs %s (confirmed, %.1f s after the start)" % (version, time.monotonic() - started))
            return up
        if back.get("from") == version:
            raise OtaError("the board ROLLED BACK to %s: %s failed: %s" % (back.get("to"), version, back.get("reason")))
    raise OtaError("the board did not come back with %s within %d s" % (version, wait_s))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--token", default=None, help="API_TOKEN (default: config.py's)")
    parser.add_argument("--settings", action="store_true",
                        help="send this checkout's config.py too, replacing the board's settings (make ota "
                             "ALLOW_SETTINGS=1); refused when it has no API_TOKEN")
    parser.add_argument("--no-build", action="store_true", help="send the build folder as it is")
    parser.add_argument("--build-dir", default=str(BUILD), help="where lib/ and www/ are built (default build/)")
    parser.add_argument("--chunk", type=int, default=2048,
                        help="bytes per request, at most the board's MAX_BODY; halved while the board answers 503")
    parser.add_argument("--wait", type=int, default=180, help="seconds to wait for the board to come back")
    args = parser.parse_args(argv)
    token = args.token
    if not token:
        sys.path.insert(0, str(ROOT / "tools"))
        import deploy

        token = deploy.config_values().get("API_TOKEN")
    if not token:
        print("error: updates need the board's API_TOKEN: give TOKEN=... (or set API_TOKEN in config.py "
              "and deploy it once over USB)", file=sys.stderr)
        return 1
    out = pathlib.Path(args.build_dir)
    try:
        if not args.no_build:
            sys.path.insert(0, str(ROOT / "tools"))
            import build

            lib, www = build.build_lib(out=out / "lib"), build.build_www(out=out / "www")
            print("built %s: %d files, %d bytes; %s: %d files"
                  % (out / "lib", len(lib), sum(p.stat().st_size for p in lib), out / "www", len(www)))
        files = collect(out / "lib", out / "www", ROOT / "config.py" if args.settings else None)
        update(args.host, args.port, token, files, chunk=args.chunk, wait_s=args.wait, settings=args.settings)
    except OtaError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: the board keeps the version it runs", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
