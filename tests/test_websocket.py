"""WebSocket (RFC 6455) in the server core, with the guarantees of every
other connection. A real client (PyPI websockets) for what browsers do, raw
sockets for what they never do: each hostile client gets its close code or
is cut within the deadlines, and the server keeps serving others. The
application runs on the unix port at the board's word size
(serverproc.board_word_size) in the Pico W profile (180K heap, 5 client
sockets), with tests/apps/websocket_app.py's endpoints."""

import base64
import hashlib
import json
import os
import re
import socket
import struct
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import client
from serverproc import PICO_LIB, ServerProcess, board_word_size

APP = {"APP_MODULES": "websocket_app,modules_app", "WRITE_TIMEOUT_MS": 1500}
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example: its accept value is below
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def start(start_server, **settings):
    return start_server(dict(APP, **settings), path=(PICO_LIB, ".", "tests/apps"), interpreter=board_word_size())


@pytest.fixture(scope="module")
def srv():
    """One server for the tests that leave it as they found it (each checks
    that its connections are closed), with the default WS_MAX_MESSAGE (4096)."""
    s = ServerProcess(settings=APP, path=(PICO_LIB, ".", "tests/apps"), interpreter=board_word_size())
    s.start()
    yield s
    s.stop()


def url(srv, path="/ws/echo"):
    return "ws://127.0.0.1:%d%s" % (srv.port, path)


def serving(srv):
    """The server answers HTTP, and has no client socket left open."""
    assert client.get(srv.port, "/health").status == 200
    assert srv.wait_client_sockets(0, timeout=3.0) == 0
    assert srv.alive()


def http_status(srv):
    return json.loads(client.get(srv.port, "/api/status").body)["http"]


def server_close(ws):
    """Wait for the server to close the real client's WebSocket: its code."""
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=5)
    return ws.close_code


# -- a raw client, for what a real one never sends ---------------------------

def frame(op, payload=b"", fin=True, mask=b"\x11\x22\x33\x44", rsv=0, length=None):
    """One client frame; `length` overrides the length field (a lie)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | op])
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Raw(client.Conn):
    """A WebSocket over a plain socket: the handshake, frames as given, and
    the server's frames as they come (client.Conn's reading)."""

    def __init__(self, srv, path="/ws/echo", rcvbuf=None):
        self.sock = socket.socket()
        if rcvbuf:  # (before connecting: the window is agreed then)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(5.0)
        self.sock.connect(("127.0.0.1", srv.port))
        self.buf = b""
        self.send(("GET %s HTTP/1.1\r\nHost: pico.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, KEY)).encode())
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        self.head = head

    def frame(self):
        """(fin, opcode, payload) of the server's next frame; server frames
        are never masked."""
        b0, b1 = self._read_exact(2)
        assert not b1 & 0x80, "a server frame was masked"
        n = b1 & 127
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        return bool(b0 & 0x80), b0 & 15, self._read_exact(n)

    def close_code(self):
        """Read frames up to the server's close frame: its code."""
        while True:
            _, op, payload = self.frame()
            if op == 8:
                return struct.unpack("!H", payload[:2])[0] if payload else None


def handshake(srv, headers, path="/ws/echo", version="HTTP/1.1", method="GET"):
    base = {"Host": "pico.test", "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    base.update(headers)
    return client.request(srv.port, method, path, {k: v for k, v in base.items() if v is not None},
                          version=version)


# -- the handshake --------------------------------------------------------------

def test_the_handshake_answers_101_with_the_rfc_s_accept_value_and_no_extension(srv):
    raw = Raw(srv)
    try:
        head = raw.head.decode().lower()
        assert "upgrade: websocket\r\n" in head and "connection: upgrade\r\n" in head
        assert "sec-websocket-accept: %s\r\n" % ACCEPT.lower() in head
        assert "sec-websocket-extensions" not in head and "content-length" not in head
        # The accept value is the RFC's formula, for a key of our own too.
        key = base64.b64encode(os.urandom(16)).decode()
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(("GET /ws/echo HTTP/1.1\r\nHost: pico.test\r\nUpgrade: WebSocket\r\n"
                       "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
                       % key).encode())
            got = s.recv(4096)
        assert got.startswith(b"HTTP/1.1 101 ") and b"Sec-WebSocket-Accept: " + want + b"\r\n" in got
        assert b"Sec-WebSocket-Extensions" not in got
    finally:
        raw.close()
    serving(srv)


@pytest.mark.parametrize("headers,extra,status,header", [
    ({"Upgrade": None, "Connection": None}, {}, 426, ("Upgrade", "websocket")),
    ({"Upgrade": "h2c"}, {}, 426, ("Upgrade", "websocket")),
    ({"Sec-WebSocket-Version": "8"}, {}, 426, ("Sec-WebSocket-Version", "13")),
    ({"Sec-WebSocket-Version": None}, {}, 426, ("Sec-WebSocket-Version", "13")),
    ({"Connection": "keep-alive"}, {}, 400, None),
    ({"Sec-WebSocket-Key": None}, {}, 400, None),
    ({"Sec-WebSocket-Key": "c2hvcnQ="}, {}, 400, None),  # 5 bytes, not 16
    ({"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ!="}, {}, 400, None),
    ({}, {"version": "HTTP/1.0"}, 400, None),
    ({}, {"method": "POST"}, 405, ("Allow", "GET, HEAD, OPTIONS")),
    ({"Origin": "http://evil.example"}, {}, 403, None),
    ({"Sec-Fetch-Site": "cross-site"}, {}, 403, None),
], ids=["plain_get_426", "other_upgrade_426", "version_8_426", "no_version_426", "no_connection_upgrade_400",
        "no_key_400", "short_key_400", "bad_key_400", "http_1_0_400", "post_405", "other_origin_403",
        "cross_site_fetch_403"])
def test_a_handshake_the_rfc_does_not_allow_gets_its_status_and_the_server_serves_on(srv, headers, extra,
                                                                                  status, header):
    r = handshake(srv, headers, **extra)
    assert r.status == status, r
    if header:
        assert r.header(header[0]) == header[1], r
    serving(srv)


def test_a_page_of_another_site_opens_a_route_that_opts_in_and_the_same_site_any(srv):
    with connect(url(srv, "/ws/open"), origin="http://evil.example") as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    with connect(url(srv), origin="http://127.0.0.1:%d" % srv.port) as ws:
        ws.send("same site")
        assert ws.recv(timeout=5) == "same site"
    with pytest.raises(InvalidStatus) as e:
        connect(url(srv), origin="http://evil.example")
    assert e.value.response.status_code == 403
    serving(srv)


# -- messages -------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 1000, 4096])
def test_binary_messages_of_every_size_class_come_back_whole(srv, size):
    data = os.urandom(size)
    with connect(url(srv), max_size=None) as ws:
        ws.send(data)
        assert ws.recv(timeout=10) == data
    serving(srv)


@pytest.mark.parametrize("size", [65535, 65536])  # the largest 16-bit length, the smallest 64-bit one
def test_the_largest_messages_come_back_whole_from_the_core_alone(start_server, size):
    """64 KB in one block is a third of a Pico W's heap: it fits beside the
    core alone (tests/apps/websocket_core.py), on a heap not yet cut up by
    other large messages; where it does not fit the answer is 1009."""
    srv = start_server({"WS_MAX_MESSAGE": 65536}, script="tests/apps/websocket_core.py",
                       interpreter=board_word_size())
    data = os.urandom(size)
    with connect(url(srv), max_size=None) as ws:
        ws.send(data)
        assert ws.recv(timeout=10) == data
        ws.send(b"x" * 65537)
        assert server_close(ws) == 1009
    serving(srv)


@pytest.mark.parametrize("size", [125, 126, 1000])
def test_text_messages_come_back_as_text_non_ascii_included(srv, size):
    text = ("é€𝄞" * size)[:size]
    with connect(url(srv)) as ws:
        ws.send(text)
        got = ws.recv(timeout=10)
        assert isinstance(got, str) and got == text
    serving(srv)


def test_a_message_over_the_limit_is_closed_with_1009_whole_or_in_fragments(srv):
    with connect(url(srv), max_size=None) as ws:
        ws.send(b"x" * 4097)
        assert server_close(ws) == 1009
    with connect(url(srv), max_size=None) as ws:
        ws.send([b"x" * 3000, b"y" * 2000])  # each fragment fits, the message does not
        assert server_close(ws) == 1009
    serving(srv)


def test_fragments_with_a_ping_between_them_make_one_message_and_the_pong_comes_first(srv):
    raw = Raw(srv)
    try:
        euro = "€".encode()  # split across two fragments: only the whole message must be UTF-8
        raw.send(frame(1, b"ab" + euro[:1], fin=False) + frame(9, b"between") + frame(0, euro[1:], fin=False)
                 + frame(0, b"cd"))
        assert raw.frame() == (True, 10, b"between")
        assert raw.frame() == (True, 1, "ab€cd".encode())
    finally:
        raw.close()
    with connect(url(srv)) as ws:  # the real client's fragments too
        ws.send(["one ", "two ", "three"])
        assert ws.recv(timeout=5) == "one two three"
    serving(srv)


def test_a_ping_gets_a_pong_with_its_payload(srv):
    with connect(url(srv)) as ws:
        assert ws.ping(b"are you there").wait(5)
    raw = Raw(srv)
    try:
        raw.send(frame(9, b"x" * 125))
        assert raw.frame() == (True, 10, b"x" * 125)
    finally:
        raw.close()
    serving(srv)


# -- closing --------------------------------------------------------------------

@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_the_clients_close_is_answered_with_its_code_and_the_server_closes_the_connection(srv, code):
    raw = Raw(srv)
    try:
        raw.send(frame(8, struct.pack("!H", code) + b"bye"))
        assert raw.frame() == (True, 8, struct.pack("!H", code))
        assert raw.closed_by_server(timeout=2.0)
    finally:
        raw.close()
    serving(srv)


def test_the_handler_s_close_reaches_the_client_with_its_code_and_reason(srv):
    with connect(url(srv, "/ws/bye")) as ws:
        assert server_close(ws) == 4000 and ws.close_reason == "bye"
    serving(srv)


def test_a_handler_that_returns_closes_with_1000_and_one_that_fails_with_1011(srv):
    with connect(url(srv, "/ws/bug")) as ws:
        ws.send("go")
        assert server_close(ws) == 1011
    srv.wait_for_log("ValueError: handler bug")
    serving(srv)


# -- hostile clients --------------------------------------------------------------

@pytest.mark.parametrize("data,code", [
    (frame(1, b"hello", mask=None), 1002),
    (frame(1, b"hello", rsv=0x40), 1002),  # a compression bit: no extension was negotiated
    (frame(3, b"?"), 1002),  # a reserved data opcode
    (frame(11, b"?"), 1002),  # a reserved control opcode
    (frame(0, b"no start"), 1002),
    (frame(1, b"a", fin=False) + frame(1, b"b"), 1002),  # a new message inside a fragmented one
    (frame(9, b"p", fin=False), 1002),  # a fragmented ping
    (frame(9, b"x" * 126), 1002),  # a control frame over 125 bytes
    (frame(2, b"", length=2 ** 63), 1002),  # a 64-bit length with its top bit set
    (frame(2, b"", length=2 ** 63 - 1), 1009),
    (frame(2, b"", length=2 ** 32), 1009),
    (frame(2, b"", length=4097), 1009),  # decided from the length, before reading
    (frame(1, b"\xff\xfe"), 1007),
    (frame(1, b"ok \xc3", fin=False) + frame(0, b"(", fin=True), 1007),
    (frame(8, b"\x03"), 1002),  # a close payload of one byte
    (frame(8, struct.pack("!H", 1005)), 1002),  # a code never to be sent
    (frame(8, struct.pack("!H", 999)), 1002),
    (frame(8, struct.pack("!H", 1000) + b"\xff"), 1007),  # a reason that is not UTF-8
], ids=["unmasked", "rsv1", "opcode_3", "opcode_11", "continuation_first", "text_inside_fragments",
        "fragmented_ping", "long_ping", "length_2_63", "length_2_63_minus_1", "length_2_32", "over_limit",
        "invalid_utf8", "invalid_utf8_in_fragments", "one_byte_close", "close_1005", "close_999",
        "close_reason_not_utf8"])
def test_a_frame_that_breaks_the_protocol_gets_its_close_code_and_the_connection_ends(srv, data, code):
    raw = Raw(srv)
    try:
        raw.send(data)
        assert raw.close_code() == code
        assert raw.closed_by_server(timeout=2.0)
    finally:
        raw.close()
    serving(srv)


def test_a_half_sent_frame_then_silence_is_pinged_then_cut_and_others_are_served(start_server):
    srv = start(start_server, WS_PING_MS=1000, WS_PONG_TIMEOUT_MS=1000)
    raw = Raw(srv)
    try:
        raw.send(frame(1, b"x" * 100)[:30])
        t0 = time.monotonic()
        assert raw.frame() == (True, 9, b"")  # the server's ping: a frame stuck half-way cannot answer it
        while time.monotonic() - t0 < 1.5:  # meanwhile, others are served
            assert client.get(srv.port, "/health").status == 200
            time.sleep(0.1)
        assert raw.closed_by_server(timeout=3.0)
        assert time.monotonic() - t0 < 4.0  # ping (1 s) + pong deadline (1 s) + reaper rounds
    finally:
        raw.close()
    assert http_status(srv)["timed_out"] >= 1
    serving(srv)


def test_a_client_that_vanished_is_cut_after_the_ping_and_a_live_one_stays(start_server):
    """The heartbeat: a phone that left the Wi-Fi answers no ping and frees
    its connection; a client that answers (websockets does, by itself) is
    kept however long it is quiet."""
    srv = start(start_server, WS_PING_MS=600, WS_PONG_TIMEOUT_MS=600)
    gone = Raw(srv)  # never reads, never answers
    with connect(url(srv)) as live:
        t0 = time.monotonic()
        assert srv.wait_client_sockets(1, timeout=4.0) == 1  # the vanished one is cut
        assert 1.0 < time.monotonic() - t0 < 4.0
        time.sleep(1.5)  # two more ping rounds for the live one
        live.send("still here")
        assert live.recv(timeout=5) == "still here"
    gone.close()
    serving(srv)


def test_a_handler_busy_elsewhere_keeps_a_live_client_past_the_write_and_ping_deadlines(start_server):
    srv = start(start_server, WS_PING_MS=500, WS_PONG_TIMEOUT_MS=500)  # WRITE_TIMEOUT_MS 1.5 s
    with connect(url(srv, "/ws/slow")) as ws:
        assert ws.recv(timeout=5) == "hi"  # 2.5 s on: past the 101's write deadline, and five pings
        assert server_close(ws) == 1000
    serving(srv)


def test_a_client_that_never_reads_is_cut_by_the_write_deadline(start_server):
    srv = start(start_server)
    raw = Raw(srv, "/ws/flood/4000", rcvbuf=4096)  # messages of 4,000 bytes without end, never read
    try:
        t0 = time.monotonic()
        assert client.get(srv.port, "/health").status == 200  # served while the flood stalls
        assert srv.wait_client_sockets(0, timeout=6.0) == 0
        assert time.monotonic() - t0 < 6.0  # WRITE_TIMEOUT_MS is 1.5 s
    finally:
        raw.close()
    assert http_status(srv)["timed_out"] >= 1
    serving(srv)


def test_beyond_max_websockets_the_one_silent_longest_is_closed_with_1013(start_server):
    srv = start(start_server, MAX_WEBSOCKETS=2)
    first = Raw(srv)
    second = Raw(srv)
    try:
        time.sleep(0.2)
        second.send(frame(1, b"I am here"))  # so the first is the one silent longest
        assert second.frame() == (True, 1, b"I am here")
        with connect(url(srv)) as third:
            assert first.close_code() == 1013
            assert first.closed_by_server(timeout=2.0)
            third.send("in")
            assert third.recv(timeout=5) == "in"
            # Two open: HTTP still has its slots.
            assert client.get(srv.port, "/health").status == 200
            second.send(frame(1, b"still"))
            assert second.frame() == (True, 1, b"still")
    finally:
        first.close()
        second.close()
    assert http_status(srv)["evicted"] >= 1
    serving(srv)


def test_a_send_from_another_task_reaches_the_client_and_a_reset_ends_it_quietly(start_server):
    srv = start(start_server)
    with connect(url(srv, "/ws/push")) as ws:
        assert ws.recv(timeout=5) == "tick 0"
        assert ws.recv(timeout=5) == "tick 1"
    raw = Raw(srv, "/ws/push")
    assert raw.frame()[1] == 1
    raw.reset()  # while the other task sends
    serving(srv)
    time.sleep(0.3)
    assert "Traceback" not in srv.output(), srv.output()


def test_100_handshakes_at_once_each_get_an_answer_and_the_server_serves_on(start_server):
    srv = start(start_server)
    results = []

    def one(i):
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as s:
                s.sendall(("GET /ws/echo HTTP/1.1\r\nHost: pico.test\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           % KEY).encode())
                got = s.recv(200)
                results.append(got[9:12] if got else b"closed")
        except OSError as e:
            results.append(type(e).__name__)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 100
    assert time.monotonic() - t0 < 30
    assert results.count(b"101") >= 2, results
    assert set(results) <= {b"101", b"503", b"closed", "ConnectionResetError"}, results
    serving(srv)


# -- what it costs a board that does not use it ----------------------------------

def test_the_websocket_code_is_loaded_at_the_first_handshake_only(start_server):
    srv = start(start_server)

    def modules():
        return json.loads(client.get(srv.port, "/test/modules").body)["modules"]

    assert "httpd.websocket" not in modules()
    assert client.get(srv.port, "/ws/echo").status == 426
    assert "httpd.websocket" in modules()  # (the plain GET asked it too)


# -- docs/http.md's example ------------------------------------------------------

def test_the_led_example_switches_the_led_and_every_open_page_hears_it(start_server):
    srv = start_server({"APP_MODULES": "led_socket"}, path=(PICO_LIB, ".", "tests/apps"),
                       interpreter=board_word_size())
    page = client.get(srv.port, "/led")
    assert page.status == 200 and b'src="/led.js"' in page.body
    assert client.get(srv.port, "/led.js").header("content-type") == "text/javascript"
    with connect(url(srv, "/ws/led")) as a, connect(url(srv, "/ws/led")) as b:
        assert a.recv(timeout=5) == "off" and b.recv(timeout=5) == "off"
        a.send("on")
        assert a.recv(timeout=5) == "on" and b.recv(timeout=5) == "on"
        assert json.loads(client.get(srv.port, "/api/status").body)["board"]["led"] is True
        a.send("nonsense")  # ignored
        b.send("off")
        assert a.recv(timeout=5) == "off" and b.recv(timeout=5) == "off"
    serving(srv)


def test_the_led_example_wants_the_token_when_one_is_set(start_server):
    srv = start_server({"APP_MODULES": "led_socket", "API_TOKEN": "secret-token"},
                       path=(PICO_LIB, ".", "tests/apps"), interpreter=board_word_size())
    with connect(url(srv, "/ws/led")) as ws:
        assert server_close(ws) == 1008
    with connect(url(srv, "/ws/led"), additional_headers={"X-API-Token": "secret-token"}) as ws:
        assert ws.recv(timeout=5) == "off"
    serving(srv)


def test_the_http_docs_websocket_example_is_the_module_these_tests_run():
    from serverproc import ROOT

    docs = (ROOT / "docs/http.md").read_text()
    section = docs.split("## WebSocket", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    module = (ROOT / "tests/apps/led_socket.py").read_text()
    assert example == module[module.index("from httpd"):]  # without its header comment


# -- what an open WebSocket costs -------------------------------------------------

def open_heap(srv, opener, count=3):
    """Heap in use (after a collection) per connection `opener` opens and
    keeps open, measured by the core's GET /heap (tests/apps/websocket_core.py)
    once one such connection has come and gone (its module loaded)."""
    def heap():
        return json.loads(client.get(srv.port, "/heap").body)

    opener().close()
    deadline = time.monotonic() + 8  # (an event stream notices its client left at its next heartbeat)
    while (heap()["websockets"] or heap()["streams"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    base = heap()
    held = [opener() for _ in range(count)]
    try:
        time.sleep(0.3)
        after = heap()
        assert after["websockets"] + after["streams"] == count
        return (after["alloc"] - base["alloc"]) / count
    finally:
        for c in held:
            c.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (connect() kept open outside a with)
def test_an_open_websocket_costs_under_3_kb_and_less_than_two_event_streams(start_server):
    """Per open connection, beside the slot's buffer every connection
    has: its task, stream and coroutines, and for a WebSocket its state and
    the handshake's headers (docs/benchmark.md has the figures)."""
    def websocket():
        ws = connect(url(srv))
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        return ws

    def event_stream():
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET /events HTTP/1.1\r\nHost: a\r\n\r\n")
        assert s.recv(1000).startswith(b"HTTP/1.1 200 ")
        return s

    srv = start_server(script="tests/apps/websocket_core.py", interpreter=board_word_size())
    per_websocket = open_heap(srv, websocket)
    srv = start_server(script="tests/apps/websocket_core.py", interpreter=board_word_size())
    per_stream = open_heap(srv, event_stream)
    print("heap per open WebSocket: %d B, per event stream: %d B" % (per_websocket, per_stream))
    word = 4 if "unix32" in board_word_size() else 8
    assert 0 < per_websocket < 800 * word, per_websocket  # (about 2.2-2.5 KB on 32-bit, 2026-12-07)
    assert per_websocket < 2 * per_stream, (per_websocket, per_stream)


def test_chromium_switches_the_led_from_the_example_page_and_another_page_hears_it(start_server, playwright):
    """A browser's own WebSocket: its handshake (Origin, Sec-Fetch-*), and
    the example page under the board's Content-Security-Policy."""
    from chromium import CHROMIUM, CHROMIUM_ARGS

    srv = start_server({"APP_MODULES": "led_socket"}, path=(PICO_LIB, ".", "tests/apps"),
                       interpreter=board_word_size())
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        pages = [browser.new_page(), browser.new_page()]
        for page in pages:
            page.goto("http://127.0.0.1:%d/led" % srv.port)
        state = "([t]) => document.getElementById('state').textContent === t"
        for page in pages:
            page.wait_for_function(state, arg=["off"], timeout=15000)
        pages[0].click("#led")
        for page in pages:
            page.wait_for_function(state, arg=["on"], timeout=15000)
        assert json.loads(client.get(srv.port, "/api/status").body)["board"]["led"] is True
    finally:
        browser.close()
    serving(srv)
