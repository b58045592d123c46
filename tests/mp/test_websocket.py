# WebSocket frames inside MicroPython, without a network: a connection whose
# stream hands over given bytes and keeps what is written.
# The handshake's accept value, unmasking, the close codes a peer may send,
# and what receiving a small message asks of the heap.
import asyncio
import micropython

from httpd import Router, Server
from httpd.head import Head
from httpd.websocket import WebSocket, _unmask, _valid_code, accept_key

_SERVER = Server(Router())
_MASK = b"\x37\xfa\x21\x3d"


def _frame(op, payload, fin=True):
    # A client's frame (masked), with a payload under 126 bytes.
    masked = bytes(b ^ _MASK[i % 4] for i, b in enumerate(payload))
    return bytes(((0x80 if fin else 0) | op, 0x80 | len(payload))) + _MASK + masked


class _Stream:
    out_buf = b""  # (what asyncio's Stream keeps of a write not taken yet)

    def __init__(self):
        self.written = []

    async def readinto(self, buf):
        return 0  # the peer closed: everything it sent was in the slot already

    def write(self, data):
        self.written.append(bytes(data))


class _Conn:
    def __init__(self, data):
        self.slot = Head(_SERVER)
        self.slot.space()[0 : len(data)] = data
        self.slot.received(len(data))
        self.stream = _Stream()
        self.cut = None
        self.deadline = None
        self.task = None
        self.unconfirmed = 0

    def hold(self, deadline):
        self.deadline = deadline

    def wait(self, phase, timeout_ms):
        pass


def _websocket(data):
    return WebSocket(_SERVER, _Conn(data), None)


def test_the_accept_value_is_the_rfc_s_example():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_unmasking_is_done_in_place_at_any_length_and_offset():
    for size in (0, 1, 3, 4, 5, 32, 33, 34, 35, 36, 127, 1000):
        data = bytes(i & 255 for i in range(size))
        buf = bytearray(b"--" + bytes(b ^ _MASK[i % 4] for i, b in enumerate(data)) + b"--")
        _unmask(buf, 2, 2 + size, _MASK)
        assert buf == b"--" + data + b"--", size


def test_the_close_codes_a_peer_may_send():
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999):
        assert _valid_code(code), code
    for code in (0, 999, 1004, 1005, 1006, 1015, 1100, 2999, 5000):
        assert not _valid_code(code), code


async def test_messages_already_in_the_buffer_are_read_in_order_ping_answered():
    ws = _websocket(_frame(1, "héllo".encode()) + _frame(9, b"p") + _frame(2, b"\x00\x01")
                 + _frame(1, b"ab", fin=False) + _frame(0, b"cd"))
    assert await ws.receive() == "héllo"
    got = await ws.receive()
    assert isinstance(got, bytearray) and got == b"\x00\x01"
    assert await ws.receive() == "abcd"
    assert await ws.receive() is None and ws.closed  # the peer's end, no close frame
    assert ws._c.stream.written == [b"\x8a\x01p"]  # the pong, unmasked


async def _read_small(ws):
    return await ws.receive()


async def test_a_small_message_in_the_buffer_asks_the_heap_for_its_str_and_little_else():
    """The hot path of a slider or a joystick: a few bytes of text, one
    frame. Its cost is the str, the read's coroutine and a memoryview."""
    frames = _frame(1, b"128") * 8
    ws = _websocket(frames)
    await ws.receive()  # warm up (first-use allocations)
    before = micropython.mem_total()
    for _ in range(5):
        assert await ws.receive() == "128"
    per_message = (micropython.mem_total() - before) // 5
    assert per_message <= 300, per_message  # (280 B on the 64-bit port, 2026-12-07: about half on a board)
