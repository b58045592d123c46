# The API token's checks, imported by access.require at the first request
# that gives a token or a login cookie: a board without API_TOKEN (the
# default) never loads this code. The server core already refuses state
# changes from other sites and unknown Host names; access/__init__.py is the
# door.
# MIT license
#
#   token.verify(request, given, config)  401 if wrong, 429 after repeated
#                                          wrong guesses from one address
#   token.logged_in(request)               the login cookie of a session
#   token.session(create), token.end_sessions(), token.COOKIE   (access/login.py)
#
# The login cookie holds a random session value made at the first login
# after a start, never the token: a restart or a logout ends every session.

import hashlib
from time import ticks_diff, ticks_ms

from httpd import HTTPError

COOKIE = "picow_session"
_SLOTS = 8  # addresses whose failed guesses are remembered at once


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


throttle = None  # made at the first token given, from the settings verify() is given
_session = None  # the login cookie's value, made at the first login


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
    """Whether the request carries the cookie of a login (see access/login.py)."""
    cookie = _cookie(request)
    return bool(cookie and _session and _same(cookie, _session))


def verify(request, given, config):
    """Compare a token a client gave with config.API_TOKEN, counting failures
    per address: 401 if wrong, 429 while it has to wait (config.AUTH_FAILURES
    within AUTH_WINDOW_S)."""
    global throttle
    if throttle is None:
        throttle = Throttle(config.AUTH_FAILURES, config.AUTH_WINDOW_S)
    token = config.API_TOKEN
    key = _peer_key(request)
    wait = throttle.wait_s(key)
    if wait:
        raise HTTPError(429, "too many wrong tokens; wait %d s" % wait, [("Retry-After", wait)])
    if not _same(given, token):
        throttle.failed(key)
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])
    throttle.passed(key)
