"""WebSocket through the board's own lwIP: the real firmware (our test image)
in rp2040js, its /test/ws echo (tests/board/heaproute.py), and a real client
(PyPI websockets) on sockets of the SLIP link's namespace. What the unix-port
tests (tests/test_websocket.py) cannot show: the heap an open WebSocket
costs on the image (code frozen in flash), and that the cap and the
heartbeat free the board's connections on lwIP, whose 5 are all there are.
"""

import base64
import contextlib
import os
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from test_board_net import VISITOR_BOUND_S, get_json, request

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun"),
    reason="needs root and /dev/net/tun: the SLIP link's network namespace and TUN device")

URL = "ws://192.0.2.2/test/ws"
# lib/httpd/defaults.py's, which the test image keeps: the board pings a
# WebSocket silent for WS_PING_MS and resets it WS_PONG_TIMEOUT_MS later.
WS_PING_S = 10
WS_PONG_TIMEOUT_S = 5



def open_ws(link):
    return connect(URL, sock=link.connect(80, 10), open_timeout=10, close_timeout=5)


def _stream(link):
    """An event stream of the dashboard's, open until closed: its socket."""
    s = link.connect(80, 10)
    s.settimeout(10)
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: 192.0.2.2\r\nAccept: text/event-stream\r\n\r\n")
    data = b""
    while b"\n\n" not in data.partition(b"event: status")[2]:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    assert b"event: mode" not in data, data  # a stream, not a single answer
    return s


def _settled(link, timeout=20.0):
    """Wait until the board holds no connection but the one asking: a stream
    the client closed is noticed at a write, seconds later."""
    until = time.monotonic() + timeout
    while get_json(link, "/api/status")["http"]["active"] > 1:
        assert time.monotonic() < until, "the board still holds connections the client closed"
        time.sleep(0.5)


def _heap_per(link, opener):
    """Heap in use on the board with two connections of a kind open, minus
    before, per connection (after a warm-up: the kind's code is loaded)."""
    with contextlib.ExitStack() as warm:
        warm.enter_context(opener(link))
    _settled(link)
    before = get_json(link, "/test/heap")["used"]
    with contextlib.ExitStack() as opened:
        for _ in range(2):
            opened.enter_context(opener(link))
        during = get_json(link, "/test/heap")["used"]
    _settled(link)
    return before, (during - before) // 2


@contextlib.contextmanager
def _echoing(link):
    with open_ws(link) as ws:
        for message in ("hello", b"\x00\xff" * 300):
            ws.send(message)
            assert ws.recv(timeout=10) == message
        yield ws


@contextlib.contextmanager
def _streaming(link):
    s = _stream(link)
    try:
        yield s
    finally:
        s.close()


def test_an_open_websocket_echoes_and_its_heap_on_the_image_is_recorded(ours):
    board, link = ours
    used, ws = _heap_per(link, _echoing)
    _, stream = _heap_per(link, _streaming)
    print("\nthe image's heap: %d bytes used; each open WebSocket %d more, each event stream %d"
          % (used, ws, stream))
    assert 0 < ws < 4096 and 0 < stream < 4096, (ws, stream)  # 32-bit unix port: 2,245 and 1,264 (docs/benchmark.md)


def test_beyond_two_websockets_the_one_silent_longest_is_closed_with_1013(ours):
    board, link = ours
    with open_ws(link) as first, open_ws(link) as second:
        second.send("here")  # so the first is the one silent longest
        assert second.recv(timeout=10) == "here"
        with open_ws(link) as third:
            with pytest.raises(ConnectionClosed):
                first.recv(timeout=10)
            assert first.close_code == 1013
            third.send("in")
            assert third.recv(timeout=10) == "in"
            code, _, took = request(link, "/health")
            assert code == 200 and took < VISITOR_BOUND_S, (code, took)


def _handshake(link):
    """A raw WebSocket that will never answer a ping: a phone that left."""
    s = link.connect(80, 10)
    s.settimeout(10)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /test/ws HTTP/1.1\r\nHost: 192.0.2.2\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1024)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101 "), head
    return s


def test_a_websocket_whose_peer_stops_answering_is_pinged_then_cut_and_others_are_served(ours):
    board, link = ours
    s = _handshake(link)
    t0 = time.monotonic()
    try:
        s.settimeout(WS_PING_S + WS_PONG_TIMEOUT_S + 15)
        got = s.recv(2)
        assert got[:1] == b"\x89", got  # a ping (FIN, opcode 9), unmasked from the server
        pinged = time.monotonic() - t0
        code, _, took = request(link, "/health")  # a visitor meanwhile
        assert code == 200 and took < VISITOR_BOUND_S, (code, took)
        try:
            while s.recv(4096):  # the rest of the ping; then the reset (or an end)
                pass
            ended = "closed"
        except ConnectionResetError:
            ended = "reset"
        cut = time.monotonic() - t0
    finally:
        s.close()
    print("\npinged after %.1f s, %s after %.1f s" % (pinged, ended, cut))
    assert WS_PING_S - 2 <= pinged <= WS_PING_S + 10, pinged
    assert pinged + WS_PONG_TIMEOUT_S - 2 <= cut <= pinged + WS_PONG_TIMEOUT_S + 10, (pinged, cut)
    code, _, took = request(link, "/health")
    assert code == 200 and took < VISITOR_BOUND_S, (code, took)

