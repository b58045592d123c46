"""Hostile clients against the real firmware, through the board's own lwIP.

The test images (tests/board/manifest.py) run the application exactly as the
release image does, with a SLIP link on UART0 instead of the radio; the host
reaches the board at 192.0.2.2 from a network namespace of its own
(tests/board/emulator.py). Every scenario runs on both images:

  ours   our firmware: modlwip and lwIP patched (firmware/patches/lwip/)
  stock  MicroPython's modlwip and lwIP as they are, the path of a user who
         copies our .mpy files onto stock firmware

What these tests cannot show: the radio (Wi-Fi latency, loss, the CYW43
driver's own buffers) and real timing: the emulated RP2040 runs several times
slower than a real one, so time bounds are generous; a SYN retry after 1 s
is real, though (Linux's, on the host side).
"""

import json
import os
import re
import socket
import statistics
import threading
import time

import pytest

from emulator import BOARD_IP, Board, SlipLink

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun"),
    reason="needs root and /dev/net/tun: the SLIP link's network namespace and TUN device")

VISITOR_BOUND_S = 2.0  # the target: a visitor is served within 2 s
IMAGES = {"ours": "test_image", "stock": "stock_image"}  # the conftest fixtures


@pytest.fixture(params=sorted(IMAGES))
def served(request):
    """A booted test image serving on the SLIP link: (board, link, name)."""
    image = request.getfixturevalue(IMAGES[request.param])
    link = SlipLink()
    board = Board(image, uart=link.board_end)  # run.mjs finds the bootrom
    try:
        board.start()
        board.wait_for(r"listening on http://", 60)
        yield board, link, request.param
        assert board.watchdog_resets == 0, "the watchdog reset the board: its loop was stuck"
    finally:
        board.stop()
        link.close()


# -- clients ------------------------------------------------------------------------


def request(link, path="/health", timeout=10.0):
    """GET path on a new connection; (status, body, seconds). The time runs
    from before the connect, so SYN retries count."""
    t0 = time.monotonic()
    s = link.connect(80, timeout)
    try:
        s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: picow\r\nConnection: close\r\n\r\n" % path.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    assert m, "not an HTTP answer: %r" % data[:80]
    return int(m.group(1)), body, time.monotonic() - t0


def get_json(link, path):
    code, body, _ = request(link, path)
    assert code == 200, (path, code)
    return json.loads(body)


def status(link):
    return get_json(link, "/api/status")


class Visitor(threading.Thread):
    """A person reloading a page: a new connection every `every` seconds for
    `seconds`, each request timed from before its connect."""

    def __init__(self, link, seconds, path="/health", every=0.5, timeout=8.0):
        super().__init__(daemon=True)
        self.link, self.seconds, self.path, self.every = link, seconds, path, every
        self.timeout = timeout
        self.times = []
        self.failures = []

    def run(self):
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            try:
                code, _, took = request(self.link, self.path, timeout=self.timeout)
                self.times.append(took)
                if code != 200:
                    self.failures.append("status %d" % code)
            except (OSError, AssertionError) as e:  # (AssertionError: not an HTTP answer)
                self.failures.append(repr(e))
            time.sleep(self.every)

    def check(self, bound=VISITOR_BOUND_S):
        self.join(self.seconds + self.timeout + 10)
        assert not self.is_alive()
        assert not self.failures, self.failures
        assert self.times
        slow = [round(t, 2) for t in self.times if t > bound]
        assert not slow, "visitor requests over %.1f s: %s of %d (all: %s)" % (
            bound, slow, len(self.times), [round(t, 2) for t in self.times])
        return self.times


def non_reader(link, requests=40, path="/"):
    """Sends `requests` pipelined requests and never reads: a small receive
    buffer closes its window after a couple of KB, so the board's answers
    pile up in the board's own memory."""
    s = link.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.settimeout(10)
    s.connect((BOARD_IP, 80))
    s.sendall((b"GET %s HTTP/1.1\r\nHost: picow\r\n\r\n" % path.encode()) * requests)
    return s


def idle_clients(link, n):
    """n connections that send nothing (browsers' preconnects); connect()
    runs in threads, since a SYN the board drops is retried for seconds."""
    socks = []
    lock = threading.Lock()

    def one():
        s = link.socket()
        s.settimeout(15)
        try:
            s.connect((BOARD_IP, 80))
        except OSError:
            s.close()
            return
        with lock:
            socks.append(s)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return socks, threads


def trickle(s, stop, every, cut):
    """Sends a request head a byte every `every` s until `stop` is set;
    appends s to `cut` once the board has closed it (a send fails)."""
    try:
        for b in b"GET / HTTP/1.1\r\nHost: picow\r\nX-Slow: " + b"a" * 200:
            if stop.is_set():
                return
            s.send(bytes([b]))
            time.sleep(every)
    except OSError:
        cut.append(s)


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# -- the scenarios ------------------------------------------------------------------


def test_status_and_metrics_name_the_board_and_the_image(served):
    # Over HTTP through the board's lwIP: /api/status and /metrics say which
    # board (MicroPython's name of it) and which image (its frozen version).
    import firmware

    board, link, name = served
    version = firmware.app_version()
    st = status(link)
    assert (st["image"], st["version"]) == (version, version), st
    assert (st["board"]["name"], st["board"]["chip"]) == ("Raspberry Pi Pico W", "RP2040"), st["board"]
    code, body, _ = request(link, "/metrics")
    assert code == 200
    info = [line for line in body.decode().splitlines() if line.startswith("picow_info{")]
    assert info == ['picow_info{version="%s",image="%s",micropython="1.28.0",board="Raspberry Pi Pico W",'
                    'chip="RP2040",id="%s"} 1' % (version, version, st["board"]["id"])], body.decode()[-600:]


def test_four_clients_that_never_read_do_not_stop_a_visitor_being_served(served):
    board, link, name = served
    readers = []
    try:
        for _ in range(4):
            readers.append(non_reader(link))
        visitor = Visitor(link, seconds=15)
        visitor.start()
        times = visitor.check()
        print("%s: visitor p50 %.0f ms, max %.0f ms over %d requests"
              % (name, statistics.median(times) * 1000, max(times) * 1000, len(times)))
    finally:
        close_all(readers)
    code, _, _ = request(link)
    assert code == 200


# How long a visitor may wait while silent clients hold connections. Our
# firmware reclaims a connection silent for 1 s (the server marks it; before
# that its request may be on the way) or a half-closed one for a new SYN:
# the 2 s, once the silent ones are past their 1 s. Stock lwIP drops the SYN
# until a PCB is free: the server closes the idle ones (5 s) or evicts them,
# but they stay half-open until the peer lets go or modlwip aborts them 10 s
# after the close; the host retries its SYN at 1, 3, 7, 15 and 31 s
# (measured: 11 to 20 s). No worse than before; the fix needs our image.
IDLE_VISITOR_BOUND_S = {"ours": VISITOR_BOUND_S, "stock": 32.0}


def test_eight_idle_clients_do_not_lock_out_a_visitor(served):
    board, link, name = served
    idle, threads = idle_clients(link, 8)
    try:
        time.sleep(2.5)  # they hold every connection the board has, past their grace
        bound = IDLE_VISITOR_BOUND_S[name]
        visitor = Visitor(link, seconds=12, every=1.0, timeout=bound + 4)
        visitor.start()
        times = visitor.check(bound)
        print("%s: visitor p50 %.0f ms, max %.0f ms" % (name, statistics.median(times) * 1000, max(times) * 1000))
    finally:
        close_all(idle)


def test_a_silent_connection_waiting_for_a_slot_does_not_keep_a_visitor_out(ours):
    """Four clients hold every slot with heads sent a byte at a time (they
    may not be given up before their 3 s head deadline); a fifth connects
    and says nothing, as a browser's spare connection does in a crowd: it
    waits for a slot, holding lwIP's last connection. A visitor's SYN 2 s
    later must not be dropped: our image lets lwIP reclaim a connection
    silent for 1 s whether it holds a slot or waits for one (before, the
    spare held it for its 5 s wait, and the visitor's SYNs were dropped
    until the slow heads were cut). Our image only: stock lwIP cannot
    reclaim a connection."""
    board, link = ours
    stop = threading.Event()
    tricklers = [link.connect(80, 10) for _ in range(4)]
    threads = [threading.Thread(target=trickle, args=(s, stop, 0.25, []), daemon=True) for s in tricklers]
    spare = visitor = None
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        spare = link.connect(80, 10)
        time.sleep(1.7)  # the spare is past its 1 s (and the reaper's next look)
        visitor = link.socket()
        visitor.settimeout(10)
        t0 = time.monotonic()
        visitor.connect((BOARD_IP, 80))
        connected = time.monotonic() - t0
        visitor.sendall(b"GET /health HTTP/1.1\r\nHost: picow\r\nConnection: close\r\n\r\n")
        answer = b""
        while True:  # a slot frees when the slow heads are cut (3 s)
            data = visitor.recv(4096)
            if not data:
                break
            answer += data
        answered = time.monotonic() - t0
        print("ours: visitor connected after %.2f s, answered after %.2f s: %r" % (connected, answered, answer[:12]))
        assert connected < 0.8, "the visitor's SYN was dropped: connected after %.2f s" % connected
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    finally:
        stop.set()
        close_all(tricklers + [s for s in (spare, visitor) if s is not None])
    code, _, _ = request(link)
    assert code == 200


def test_clients_that_vanish_mid_request_are_forgotten(served):
    board, link, name = served
    for i in range(20):
        s = link.connect(80, 10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: pic")  # half a head, then gone
        if i % 2:  # half of them reset, half close
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    code, _, took = request(link)
    assert code == 200 and took < VISITOR_BOUND_S
    # Every one of them is closed, by its EOF or reset or at the latest by
    # the head deadline (3 s): only the status request itself is open then.
    time.sleep(4.0)
    http = status(link)["http"]
    assert http["active"] == 1, http
    # (A client that resets before the board accepted it never reaches the
    # server: lwIP drops it from the accept queue. The ones that closed did.)
    assert http["dropped"] + http["timed_out"] + http["evicted"] >= 10, http


def test_trickling_clients_are_cut_and_a_visitor_is_served_meanwhile(served):
    board, link, name = served
    tricklers = [link.connect(80, 10) for _ in range(3)]
    stop = threading.Event()
    cut = []
    threads = [threading.Thread(target=trickle, args=(s, stop, 0.3, cut), daemon=True) for s in tricklers]
    try:
        for t in threads:
            t.start()
        visitor = Visitor(link, seconds=8, every=1.0)
        visitor.start()
        visitor.check()
        # The head deadline (3 s by default) answers 408 and closes: their
        # sends fail soon after.
        for t in threads:
            t.join(10)
        assert len(cut) == 3
    finally:
        stop.set()
        close_all(tricklers)


def test_a_hundred_clients_at_once_get_answers_or_retry_and_the_board_keeps_serving(served):
    """SYNs beyond the board's PCBs (and its listen backlog) are dropped; the
    host retries them 1, 3, 7, 15, 31 s later. Started together, the clients
    retry together: each wave gets a handful of connections (the PCBs) and
    the rest wait for the next, ever further apart. What must hold: every
    client gets an answer or a connect/reset error within its deadline (no
    wrong answer, none hangs), a good part is served, and the board serves
    the next visitor at once."""
    board, link, name = served
    results = []
    lock = threading.Lock()

    def one():
        try:
            code, _, took = request(link, timeout=40)
            outcome = code
        except OSError as e:
            outcome, took = type(e).__name__, None
        with lock:
            results.append((outcome, took))

    threads = [threading.Thread(target=one, daemon=True) for _ in range(100)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a client hung"
    counts = {}
    for outcome, _ in results:
        counts[outcome] = counts.get(outcome, 0) + 1
    print("%s: 100 at once in %.1f s: %s" % (name, time.monotonic() - t0, counts))
    assert counts.get(200, 0) >= 20, counts
    assert set(counts) <= {200, 503, "ConnectionResetError", "TimeoutError"}, counts
    code, _, took = request(link)
    assert code == 200 and took < VISITOR_BOUND_S


def heap_used(link):
    """The board's heap in use after a collection (tests/board/main.py)."""
    return get_json(link, "/test/heap")["used"]


def soak_round(link, seconds):
    """Every kind of request of the soak for `seconds`; how many were served."""
    end = time.monotonic() + seconds
    served_count = 0
    while time.monotonic() < end:
        for path in ("/", "/api/status", "/static/app.css", "/health"):
            code, _, _ = request(link, path)
            assert code == 200
            served_count += 1
        s = link.connect(80, 10)  # and one that vanishes mid-request
        s.sendall(b"GET / HTTP/1.1\r\n")
        s.close()
    time.sleep(1.0)  # the vanished clients' connections are closed
    return served_count


def test_a_short_soak_leaves_the_heap_where_it_was(served):
    """Measured over 520 requests: about 700 bytes more after the first round
    of each kind of client (first uses), then flat within 100 bytes."""
    board, link, name = served
    soak_round(link, 8)  # warm up: the first use of each route and path
    before = heap_used(link)
    served_count = soak_round(link, 25)
    after = heap_used(link)
    print("%s: %d requests; heap in use %d -> %d bytes" % (name, served_count, before, after))
    assert served_count > 40
    assert after <= before + 512, (before, after)


def test_a_new_connection_is_answered_without_waiting_for_a_retransmission(served):
    """A browser sends its request with the handshake's last ACK. Stock
    modlwip refuses data that arrives before accept(), and it comes back only
    with the client's retransmission (~200 ms): measured, not asserted, there."""
    board, link, name = served
    request(link)
    times = [request(link)[2] for _ in range(15)]
    p50 = statistics.median(times)
    print("%s: new connection + GET /health: p50 %.0f ms, %.1f req/s sequential"
          % (name, p50 * 1000, len(times) / sum(times)))
    if name == "ours":
        assert p50 < 0.15, times
