"""WebSocket from the client side, for part "websocket": the handshake and
an echo load over raw sockets, as little Python per message as possible (as
wrk is for HTTP, the client should cost less than the servers it measures).

The frames are made once: a pool of 32-byte text messages, each masked with
its own random key (RFC 6455: a client masks every frame), sent in turn;
the echo expected for each is its unmasked text frame, compared byte for
byte. One thread drives every connection (selectors), so the connections
share no lock and a message is sent as soon as the previous echo is whole.
"""

import base64
import hashlib
import os
import selectors
import socket
import time

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_POOL = 16  # distinct messages (and masks) a connection cycles through
_STALL_S = 2.0  # an echo that takes longer than this counts as an error


class HandshakeError(Exception):
    pass


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key + _GUID).digest())


def masked_frame(opcode, payload):
    """A client's frame (FIN set, payload under 126 bytes), masked with a
    random key."""
    assert len(payload) < 126
    key = os.urandom(4)
    body = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return bytes((0x80 | opcode, 0x80 | len(payload))) + key + body


def messages(size, count=_POOL, seed=0):
    """`count` distinct ASCII messages of `size` bytes."""
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    out = []
    for i in range(count):
        n = seed * count + i
        out.append(bytes(alphabet[(n * 7 + j * 13) % len(alphabet)] for j in range(size)))
    return out


def connect(port, path, timeout=2.0):
    """A socket past a 101 for `path`, its Sec-WebSocket-Accept checked.
    Raises HandshakeError with the answer's first line otherwise."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), port, key))
        head = b""
        while b"\r\n\r\n" not in head:
            got = sock.recv(4096)
            if not got:
                raise HandshakeError("closed before answering the handshake: %r" % head[:200])
            head += got
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 101"):
            raise HandshakeError("answered %r" % lines[0])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"sec-websocket-accept") != accept_key(key):
            raise HandshakeError("wrong Sec-WebSocket-Accept %r" % fields.get(b"sec-websocket-accept"))
        if rest:
            raise HandshakeError("sent %d bytes after the 101 unasked" % len(rest))
        return sock
    except BaseException:
        sock.close()
        raise


def close(sock, wait=1.0):
    """The close handshake from our side (1000), then read until the server
    closes the connection (up to `wait` s) so that nothing is left unread."""
    try:
        sock.settimeout(wait)
        sock.sendall(masked_frame(8, b"\x03\xe8"))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not sock.recv(4096):
                break
    except OSError:
        pass
    finally:
        sock.close()


class _Echoer:
    """One connection's state: which message is out, what has come back."""

    def __init__(self, sock, frames, echoes):
        self.sock = sock
        self.frames = frames
        self.echoes = echoes
        self.i = 0
        self.got = bytearray()
        self.sent_at = 0.0
        self.done = 0

    def send(self):
        self.sock.sendall(self.frames[self.i])
        self.sent_at = time.monotonic()


def echo_load(port, path, conns, seconds, size=32):
    """`conns` WebSockets, each sending a `size`-byte text message and
    waiting for its echo before the next, for `seconds`. Returns {messages,
    seconds, mps, wrong, errors}: echoes received whole (and equal to what
    was sent) per second; `wrong`: echoes that were not the message sent
    (an extra frame, a ping or a close counts too); `errors`: connections
    refused, cut or stalled for 2 s."""
    echoers = []
    errors = wrong = 0
    try:
        for c in range(conns):
            try:
                sock = connect(port, path)
            except (OSError, HandshakeError):
                errors += 1
                continue
            sock.setblocking(False)
            msgs = messages(size, seed=c)
            frames = [masked_frame(1, m) for m in msgs]
            echoes = [bytes((0x81, size)) + m for m in msgs]
            echoers.append(_Echoer(sock, frames, echoes))
        sel = selectors.DefaultSelector()
        for e in echoers:
            sel.register(e.sock, selectors.EVENT_READ, e)
        deadline = time.monotonic() + seconds
        for e in echoers:
            e.send()
        live = len(echoers)
        while live:
            now = time.monotonic()
            if now >= deadline:
                break
            events = sel.select(min(0.5, deadline - now))
            for key, _ in events:
                e = key.data
                try:
                    chunk = e.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:  # closed or reset by the server
                    errors += 1
                    sel.unregister(e.sock)
                    live -= 1
                    continue
                want = e.echoes[e.i]
                if e.got or chunk != want:  # the echo in pieces, or not the echo
                    e.got += chunk
                    if len(e.got) < len(want):
                        continue
                    if e.got != want:  # also anything unasked after the echo
                        wrong += 1
                        sel.unregister(e.sock)
                        live -= 1
                        continue
                    e.got = bytearray()
                e.done += 1
                e.i = (e.i + 1) % _POOL
                e.send()
            if not events:
                n = _stalled(sel)
                live -= n
                errors += n
        errors += _stalled(sel)
        sel.close()
    finally:
        for e in echoers:
            e.sock.setblocking(True)
            close(e.sock)
    done = sum(e.done for e in echoers)
    return {"messages": done, "seconds": seconds, "mps": done / seconds, "wrong": wrong, "errors": errors}


def _stalled(sel):
    """Connections whose echo is overdue by _STALL_S: dropped; how many."""
    now = time.monotonic()
    n = 0
    for key in list(sel.get_map().values()):
        if now - key.data.sent_at > _STALL_S:
            sel.unregister(key.fileobj)
            n += 1
    return n
