# WebSocket (RFC 6455) on the server's own connections, with their
# guarantees: every wait has a deadline, and a peer that vanished or stopped
# reading is cut.
# MIT license
#
#   @router.websocket("/ws")
#   async def echo(ws):
#       while True:
#           msg = await ws.receive()   # str (text), bytearray (binary), None once closed
#           if msg is None:
#               return
#           await ws.send(msg)         # a str goes as text, anything else as binary
#
# Loaded at the first handshake (router.py imports it then): a board that no
# client asked for a WebSocket holds none of this.
#
# - The handshake: GET, HTTP/1.1, `Upgrade: websocket`, `Connection:
#   upgrade`, a 16-byte key and version 13 (426 with the version we speak);
#   a page of another site is refused (403) unless the route opts in. No
#   extension or subprotocol is taken up.
# - Frames: their heads and control frames are read into the connection's
#   own buffer (the slot's, head.py), the mask taken off in place; a message
#   is read straight into the one bytearray it needs. Unmasked frames,
#   reserved bits, unknown opcodes and broken fragmentation close with 1002,
#   text that is not UTF-8 with 1007, a message over WS_MAX_MESSAGE with
#   1009 (decided from the frame's length, before reading it).
# - Deadlines (the server's reaper, not a task of our own): a WebSocket that
#   sent no frame for WS_PING_MS is pinged; when nothing comes back within
#   WS_PONG_TIMEOUT_MS it is reset. Every write has WRITE_TIMEOUT_MS, as
#   every HTTP answer has. At most MAX_WEBSOCKETS are open: a handshake
#   beyond them closes the one silent longest (1013, try again later), so a
#   phone that left with its connection open is the first to go, and the
#   other connection slots stay for HTTP.

from micropython import const
import asyncio
import gc
from time import ticks_add, ticks_diff, ticks_ms

from . import log, origin
from .aio import has_input, unsent, wake
from .response import Response
from .status import HTTPError

_CONT = const(0)
_TEXT = const(1)
_BINARY = const(2)
_CLOSE = const(8)
_PING = const(9)
_PONG = const(10)

_NORMAL = const(1000)
_PROTOCOL_ERROR = const(1002)
_NO_STATUS = const(1005)  # received without a code; never sent
_NOT_UTF8 = const(1007)
_TOO_BIG = const(1009)
_INTERNAL_ERROR = const(1011)
_TRY_AGAIN_LATER = const(1013)

_CLOSE_WAIT_MS = const(1000)  # after our close frame, how long the peer has to answer with its own
_SEND_POLL_MS = const(10)  # a send waiting for another task's frame to go out looks again this often
_DROP_MAX = const(8192)  # input dropped at most before closing a connection that broke the protocol

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_PING_FRAME = b"\x89\x00"
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_UPGRADE = [("Upgrade", "websocket")]
_VERSION = [("Sec-WebSocket-Version", "13")]


def accept(request, handler, cross_origin=False):
    """The answer to a handshake for `handler` (router.websocket's route):
    101 with the session to run, or HTTPError."""
    h = request.headers
    if request.method != "GET" or not _has_token(h.get("upgrade"), "websocket"):
        raise HTTPError(426, "this is a WebSocket endpoint", _UPGRADE)
    if request.version != 11:
        raise HTTPError(400, "a WebSocket needs HTTP/1.1")
    if not _has_token(h.get("connection"), "upgrade"):
        raise HTTPError(400, "Connection must include Upgrade")
    if h.get("sec-websocket-version") != "13":
        raise HTTPError(426, "WebSocket version 13 only", _VERSION)
    key = h.get("sec-websocket-key", "")
    if not _key_ok(key):
        raise HTTPError(400, "bad Sec-WebSocket-Key")
    if not cross_origin and origin.cross_site(h):
        raise HTTPError(403, "cross-site WebSocket refused")
    r = Response(b"", 101, None, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                  ("Sec-WebSocket-Accept", accept_key(key))])

    async def session(server, conn):
        await _run(server, conn, request, handler)

    r.upgrade = session  # pyright: ignore[reportAttributeAccessIssue] (None until a 101 sets it)
    return r


def _has_token(value, token):
    # Whether a comma-separated header value lists `token` (case-insensitive).
    if value:
        for part in value.lower().split(","):
            if part.strip() == token:
                return True
    return False


def _key_ok(key):
    # 16 bytes in base64: 22 characters of its alphabet and "==".
    raw = key.encode()
    if len(raw) != 24 or not raw.endswith(b"=="):
        return False
    for c in raw[:22]:
        if c not in _BASE64:
            return False
    return True


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key."""
    import binascii
    import hashlib

    data = key.encode() + _GUID
    if hasattr(hashlib, "sha1"):
        digest = hashlib.sha1(data).digest()
    else:  # a port built without it (the 32-bit unix port here); a board has it
        from .sha1 import sha1

        digest = sha1(data)
    return binascii.b2a_base64(digest).strip().decode()


async def _run(server, conn, request, handler):
    """One WebSocket, from its 101 to the close of its connection."""
    ws = WebSocket(server, conn, request)
    _make_room(server)
    server.websockets.append(ws)
    conn.upgraded = ws
    ws._hold()  # from now on the WebSocket's deadline, not the 101's write's
    try:
        code = _NORMAL
        try:
            await handler(ws)
        except OSError:
            ws.closed = True  # the connection broke: the server counts it
            raise
        except Exception as e:
            server.stats.errors += 1
            log.exception(server.log, e, "WebSocket handler failed: %s", request.path)
            code = _INTERNAL_ERROR
        await ws.close(code)
    finally:
        ws.closed = True
        conn.upgraded = None
        if ws in server.websockets:
            server.websockets.remove(ws)
        writer = ws._writer
        if writer is not None and writer is not asyncio.current_task():
            wake(writer)  # an application's task in a send: its write now raises


def _make_room(server):
    # MAX_WEBSOCKETS open: the one silent longest is closed (1013).
    while server.websockets and len(server.websockets) >= server.max_websockets:
        now = ticks_ms()
        victim = server.websockets[0]
        for ws in server.websockets:
            if ticks_diff(now, ws._heard) > ticks_diff(now, victim._heard):
                victim = ws
        victim._evict()


class WebSocket:
    """An open WebSocket: what a handler gets. `request` is the handshake's
    (its params, args and headers); `close_code` the code the peer closed
    with, or the one the server closed with for a broken rule."""

    def __init__(self, server, conn, request):
        self.request = request
        self.closed = False  # no more messages: receive() returns None
        self.close_code = None
        self._server = server
        self._c = conn
        slot = conn.slot
        self._buf = slot.buf  # frame heads and control frames, and what came with them
        self._mv = slot.mv
        self._pos = slot.used  # bytes after the handshake's head came with it
        self._n = slot.n
        self._key = bytearray(4)  # the current frame's mask
        self._head = bytearray(10)  # an outgoing frame's head
        self._close_sent = False
        self._closing = False  # our close frame is out: waiting for the peer's, briefly
        self._writer = None  # the task whose frame is going out
        self._pinged = False
        self._heard = ticks_ms()  # when the peer's last whole frame came
        self._due = ticks_add(self._heard, server.ws_ping_ms)

    # -- receiving ------------------------------------------------------------

    async def receive(self):
        """The next message: a str (text) or a bytearray (binary); None once
        the WebSocket is closed (by the peer, by close(), or for a broken
        rule, answered with its close code). Pings are answered meanwhile.
        Only the handler's own task receives."""
        msg = None  # the message so far, while it comes in fragments
        text = False
        while not self.closed:
            self._hold()
            # (_need only when the buffer is short: a coroutine call allocates)
            if self._n - self._pos < 2 and not await self._need(2):
                return self._gone()
            buf = self._buf
            b0 = buf[self._pos]
            b1 = buf[self._pos + 1]
            op = b0 & 15
            if b0 & 0x70 or not b1 & 0x80:  # reserved bits (no extension), or not masked
                return await self._fail(_PROTOCOL_ERROR)
            size = b1 & 127
            k = 2 if size < 126 else 4 if size == 126 else 10
            if self._n - self._pos < k + 4 and not await self._need(k + 4):
                return self._gone()
            buf = self._buf  # (unchanged, but _pos may have moved)
            p = self._pos
            if size == 126:
                size = buf[p + 2] << 8 | buf[p + 3]
            elif size == 127:
                if buf[p + 2] & 0x80:  # the top bit of a 64-bit length must be 0
                    return await self._fail(_PROTOCOL_ERROR)
                if buf[p + 2] | buf[p + 3] | buf[p + 4] | buf[p + 5]:
                    return await self._fail(_TOO_BIG)  # 4 GB or more: no int needed
                size = buf[p + 6] << 24 | buf[p + 7] << 16 | buf[p + 8] << 8 | buf[p + 9]
            p += k
            k = self._key  # (now the mask: one local fewer in this frame)
            k[0] = buf[p]
            k[1] = buf[p + 1]
            k[2] = buf[p + 2]
            k[3] = buf[p + 3]
            self._pos = p + 4
            if op >= 8:
                if op > _PONG or not b0 & 0x80 or size > 125:
                    return await self._fail(_PROTOCOL_ERROR)
                if not await self._control(op, size):
                    return None
                continue
            if op > _BINARY or (op == _CONT) != (msg is not None):
                return await self._fail(_PROTOCOL_ERROR)  # unknown, or fragments out of order
            have = 0 if msg is None else len(msg)
            if have + size > self._server.ws_max_message:
                return await self._fail(_TOO_BIG)
            fin = b0 & 0x80
            if fin and msg is None and self._n - self._pos >= size:
                # The usual case, a small message in one frame, all here:
                # taken from the buffer, nothing else allocated.
                if not self._closing:
                    msg = self._whole(op == _TEXT, size)
                    return msg if msg is not None else await self._fail(_NOT_UTF8)
                self._pos += size  # closing: dropped
                self._heard_now()
                continue
            if msg is None:
                text = op == _TEXT
            msg = _grow(msg, size)
            if msg is None:  # too big for this heap now: 1009 says so
                return await self._fail(_TOO_BIG)
            if not await self._payload(msg, have, size):
                return self._gone()
            self._heard_now()
            if fin:
                if self._closing:
                    msg = None  # closing: what still comes is dropped
                    continue
                return await self._message(msg, text)
        return None

    def _whole(self, text, size):
        # A message whose one frame is all in the buffer; None if its text
        # is not UTF-8.
        p = self._pos
        self._pos = p + size
        _unmask(self._buf, p, p + size, self._key)
        self._heard_now()
        if not text:
            return bytearray(self._mv[p : p + size])
        return _decode(self._mv[p : p + size])

    async def _message(self, msg, text):
        if not text:
            return msg
        msg = _decode(msg)
        return msg if msg is not None else await self._fail(_NOT_UTF8)

    async def _control(self, op, size):
        """A ping, pong or close (payload in the buffer); False once closed."""
        if self._n - self._pos < size and not await self._need(size):
            self._gone()
            return False
        p = self._pos
        self._pos = p + size
        buf = self._buf
        _unmask(buf, p, p + size, self._key)
        self._heard_now()
        if op == _PING:
            if not self._close_sent:
                await self._send(_PONG, self._mv[p : p + size])
            return True
        if op == _PONG:
            return True
        code = _NO_STATUS
        if size:
            code = buf[p] << 8 | buf[p + 1] if size >= 2 else 0
            if not _valid_code(code):
                await self._fail(_PROTOCOL_ERROR)
                return False
            if _decode(self._mv[p + 2 : p + size]) is None:  # the reason must be UTF-8
                await self._fail(_NOT_UTF8)
                return False
        self.close_code = code
        if not self._close_sent:  # the peer's close: answered with its code
            self._close_sent = True
            await self._send(_CLOSE, self._mv[p : p + 2] if size else b"")
        self.closed = True
        return False

    def _gone(self):
        # The peer closed its side without a close frame (1006 in RFC terms).
        self.closed = True
        return None

    async def _fail(self, code):
        """A broken rule: the close frame with `code`, then nothing more is
        read; what the peer still sends is dropped before the connection
        closes (closing with unread input resets it, and the peer would
        lose our close frame)."""
        self.close_code = code
        self.closed = True
        try:
            if not self._close_sent:
                self._close_sent = True
                await self._send(_CLOSE, bytes((code >> 8, code & 255)))
        finally:
            self._drop_input()
        return None

    def _drop_input(self):
        s = self._c.stream.s
        dropped = 0
        try:
            while dropped < _DROP_MAX:
                n = s.readinto(self._buf)  # non-blocking: None once nothing waits
                if not n:
                    break
                dropped += n
        except OSError:
            pass

    async def _need(self, k):
        """At least k bytes in the buffer from _pos on (k <= 139, the
        buffer holds 512 or more); False if the peer closed first."""
        while self._n - self._pos < k:
            if self._pos:  # what is left moves to the front
                left = self._n - self._pos
                self._buf[0:left] = self._mv[self._pos : self._n]
                self._n = left
                self._pos = 0
            got = await self._c.stream.readinto(self._mv[self._n :])
            if got == 0:
                return False
            if got:
                self._n += got
        return True

    async def _payload(self, msg, at, size):
        """A frame's payload into msg[at:at + size]: what the buffer holds,
        then straight from the socket; unmasked. False if the peer left."""
        p = self._pos
        have = min(self._n - p, size)
        msg[at : at + have] = self._mv[p : p + have]
        self._pos = p + have
        if have < size:
            view = memoryview(msg)
            stream = self._c.stream
            while have < size:
                got = await stream.readinto(view[at + have : at + size])
                if got == 0:
                    return False
                if got:
                    have += got
        _unmask(msg, at, at + size, self._key)
        return True

    def _heard_now(self):
        # A whole frame came: the peer is there; the next ping is due later.
        self._heard = ticks_ms()
        self._pinged = False
        if not self._closing:
            self._due = ticks_add(self._heard, self._server.ws_ping_ms)
        self._hold()

    def _hold(self):
        # Waiting for the peer until _due (not while a frame goes out: its
        # write has its own deadline, and restores this one after).
        c = self._c
        if self._writer is None and c.cut is None:
            c.hold(self._due)

    def overdue(self):
        """The reaper: _due passed while waiting for the peer. True: cut it.
        The first time a ping, and the pong's deadline; the second, cut,
        unless input is waiting that the handler has not read yet (it is
        busy elsewhere, and the peer is there)."""
        if self._closing:
            return True
        s = self._c.stream
        if self._pinged:
            if not has_input(s):
                return True
        else:
            self._pinged = True
            try:
                # 2 bytes at a frame boundary (no frame is going out now);
                # what the socket does not take, the next write sends first.
                s.write(_PING_FRAME)
            except OSError:
                return True
        self._due = ticks_add(ticks_ms(), self._server.ws_pong_timeout_ms)
        self._c.deadline = self._due
        return False

    # -- sending --------------------------------------------------------------

    async def send(self, data):
        """Send one message: a str as text, bytes-like as binary. Raises
        OSError once the WebSocket is closed. Any task may send; frames of
        two tasks go out one after the other, never mixed."""
        if self._close_sent or self.closed:
            raise OSError(107)  # ENOTCONN
        await self._send(_TEXT if isinstance(data, str) else _BINARY, data)

    async def close(self, code=_NORMAL, reason=""):
        """Close with `code`; from the handler's own task also wait (up to
        1 s) for the peer's close frame. Nothing happens if closed already."""
        if self._close_sent or self.closed:
            return
        self._close_sent = True
        payload = bytes((code >> 8, code & 255)) + reason.encode()
        try:
            await self._send(_CLOSE, payload)
        except OSError:
            self.closed = True
            return
        if asyncio.current_task() is self._c.task:
            # Its reply: read (what else comes is dropped) under a short deadline.
            self._closing = True
            self._due = ticks_add(ticks_ms(), _CLOSE_WAIT_MS)
            while await self.receive() is not None:
                pass

    def _evict(self):
        """Closed to make room for a newer WebSocket: 1013 (try again later)
        if no frame is going out (else it is only reset), then its
        connection is ended."""
        self.closed = True
        self.close_code = _TRY_AGAIN_LATER
        self._server.websockets.remove(self)
        if self._writer is None and not self._close_sent:
            self._close_sent = True
            try:
                self._c.stream.write(b"\x88\x02\x03\xf5")  # close, 1013
            except OSError:
                pass
        self._server.give_up(self._c)

    async def _send(self, op, payload):
        # One frame under the write deadline, after any other task's.
        while self._writer is not None:
            await asyncio.sleep_ms(_SEND_POLL_MS)
        if self._c.cut is not None:
            raise OSError(107)  # ENOTCONN: ended while this waited
        self._writer = asyncio.current_task()
        try:
            if isinstance(payload, str):
                payload = memoryview(payload)  # pyright: ignore[reportArgumentType] (MicroPython: its UTF-8 bytes, not copied)
            size = len(payload)
            h = self._head
            h[0] = 0x80 | op
            if size < 126:
                h[1] = size
                k = 2
            elif size < 65536:
                h[1] = 126
                h[2] = size >> 8
                h[3] = size & 255
                k = 4
            else:
                h[1] = 127
                h[2] = h[3] = h[4] = h[5] = 0
                h[6] = size >> 24
                h[7] = size >> 16 & 255
                h[8] = size >> 8 & 255
                h[9] = size & 255
                k = 10
            await self._server._write_all(self._c, memoryview(h)[:k], payload)
        finally:
            self._writer = None
        self._hold()


def _grow(msg, size):
    """A bytearray for a message's first frame, or a new one with room for
    a fragment more (the old one is garbage); None if the heap has no room."""
    try:
        if msg is None:
            return bytearray(size)
        new = bytearray(len(msg) + size)
        new[0 : len(msg)] = msg
        return new
    except MemoryError:
        gc.collect()
        return None


def _unmask(buf, start, end, key):
    """XOR buf[start:end] with the 4-byte mask, in place. (Few locals: a
    frame over 11 words would be allocated at every call, and a small
    message is the common case.)"""
    if end - start > 32:
        _unmask_long(buf, start, end, key)
        return
    i = start
    while i < end:
        buf[i] ^= key[(i - start) & 3]
        i += 1


def _unmask_long(buf, start, end, key):
    # 4 bytes a turn: on a board this loop is most of a large message's cost.
    k0 = key[0]
    k1 = key[1]
    k2 = key[2]
    k3 = key[3]
    stop = end - 3
    while start < stop:
        buf[start] ^= k0
        buf[start + 1] ^= k1
        buf[start + 2] ^= k2
        buf[start + 3] ^= k3
        start += 4
    _unmask(buf, start, end, key)  # the last 0-3 bytes, mask phase 0 again


def _decode(data):
    """data as text, or None if it is not UTF-8. (Its own function: a try
    block adds 3 words to a frame.)"""
    try:
        return str(data, "utf-8")
    except UnicodeError:
        return None


def _valid_code(code):
    # The close codes a peer may send (RFC 6455 7.4, IANA's registry).
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
