# The API token, and JSON errors for the API. The server core already refuses
# state changes from other sites (httpd/origin.py) and unknown Host names for
# every route; this adds what only the application knows: its token.
# MIT license
#
#   guard.check_token(request, token)  401 unless `token` is unset or carried
#                                      (header, form field, or login cookie);
#                                      429 after repeated wrong guesses
#   guard.same_origin(request)         403 if sent by a page of another site
#                                      (for a GET route that changes state)
#   server.error_handler = guard.error_response
#
# The login cookie holds a random session value made at the first login
# after a start, never the token: a restart or a logout ends every session.

import hashlib
from time import ticks_diff, ticks_ms

from httpd import HTTPError, Response
from httpd.origin import cross_site
from httpd.status import reason

COOKIE = "picow_session"
_SLOTS = 8  # addresses whose failed guesses are remembered at once


def same_origin(request):
    """HTTPError 403 when a page of another site sent the request (see
    httpd/origin.py; the server applies this to every POST, PUT, PATCH and
    DELETE itself)."""
    if cross_site(request.headers):
        raise HTTPError(403, "cross-site request refused")


def _same(a, b):
    """a == b in a time that depends on neither where they differ nor their
    lengths: their SHA-256 digests (always 32 bytes) are compared whole."""
    a = hashlib.sha256(a).digest()
    b = hashlib.sha256(b).digest()
    diff = 0
    for i in range(32):
        diff |= a[i] ^ b[i]
    return diff == 0


class Throttle:
    """Failed token guesses per client address: `limit` failures within
    `window_s` seconds, then 429 until the window has passed. Remembers
    _SLOTS addresses (the oldest is forgotten for a new one), so memory is
    bounded and a guesser cannot keep the owner out forever."""

    def __init__(self, limit, window_s):
        self.limit = limit
        self.window_ms = window_s * 1000
        self._keys = [None] * _SLOTS
        self._counts = [0] * _SLOTS
        self._since: list = [0] * _SLOTS  # ticks_ms of the window's first failure

    def _find(self, key):
        for i in range(_SLOTS):
            if self._keys[i] == key:
                if ticks_diff(ticks_ms(), self._since[i]) >= self.window_ms:
                    self._keys[i] = None  # the window has passed: forgiven
                    return -1
                return i
        return -1

    def wait_s(self, key):
        """Seconds until `key` may guess again; 0 if it may now."""
        i = self._find(key)
        if i < 0 or self._counts[i] < self.limit:
            return 0
        return max(1, (self.window_ms - ticks_diff(ticks_ms(), self._since[i]) + 999) // 1000)

    def failed(self, key):
        i = self._find(key)
        if i < 0:
            # a free slot, else the one whose window began first
            i = 0
            for j in range(_SLOTS):
                if self._keys[j] is None:
                    i = j
                    break
                if ticks_diff(self._since[j], self._since[i]) < 0:
                    i = j
            self._keys[i] = key
            self._counts[i] = 0
            self._since[i] = ticks_ms()
        self._counts[i] += 1

    def passed(self, key):
        i = self._find(key)
        if i >= 0:
            self._keys[i] = None


throttle = None  # made by configure() (app.build calls it) from the settings
_session = None  # the login cookie's value, made at the first login


def configure(config):
    """Take AUTH_FAILURES and AUTH_WINDOW_S from the settings."""
    global throttle
    throttle = Throttle(config.AUTH_FAILURES, config.AUTH_WINDOW_S)


def _peer_key(request):
    # The client's address without its port: (ip, port) on a board, a
    # sockaddr (family, port, address) as bytes on the unix port.
    peer = request.peer
    if isinstance(peer, tuple):
        return peer[0]
    if peer:
        return bytes(peer[:2]) + bytes(peer[4:])
    return None


def session(create=False):
    """The login cookie's value (made now if `create`), or None."""
    global _session
    if _session is None and create:
        import binascii
        import os

        _session = binascii.hexlify(os.urandom(16)).decode()
    return _session


def end_sessions():
    global _session
    _session = None


def _cookie(request):
    text = request.headers.get("cookie")
    if not text:
        return None
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def logged_in(request):
    """Whether the request carries the cookie of a login (see login.py)."""
    cookie = _cookie(request)
    return bool(cookie and _session and _same(cookie, _session))


def check_token(request, token, form=None):
    """HTTPError 401 when `token` is set and the request carries neither it
    (`Authorization: Bearer`, `X-API-Token`, form field `token`) nor a login
    cookie; 429 with Retry-After while its address has guessed wrong too often."""
    if not token:
        return
    headers = request.headers
    given = headers.get("x-api-token")
    if given is None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
    if given is None and form is not None:
        given = form.get("token")
    if given is None:
        if logged_in(request):
            return
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])
    verify(request, given, token)


def verify(request, given, token):
    """Compare a token a client gave with the right one, counting failures
    per address: 401 if wrong, 429 while it has to wait."""
    if throttle is None:
        import config

        configure(config)
    key = _peer_key(request)
    wait = throttle.wait_s(key)  # pyright: ignore[reportOptionalMemberAccess]
    if wait:
        raise HTTPError(429, "too many wrong tokens; wait", [("Retry-After", wait)])
    if not _same(given, token):
        throttle.failed(key)  # pyright: ignore[reportOptionalMemberAccess]
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])
    throttle.passed(key)  # pyright: ignore[reportOptionalMemberAccess]


def error_response(request, status, detail=None, headers=None):
    """A server error_handler: JSON under /api/, plain text elsewhere.
    `request` is None, or has path None, when the request line was unreadable."""
    path = request.path if request is not None else None
    if path and path.startswith("/api/"):
        import json

        body = json.dumps({"error": detail or reason(status), "status": status})
        return Response(body, status, "application/json", headers)
    return Response.error(status, detail, headers)
