"""Clients that drop, stall, trickle, flood or never read must not stop the
server answering everyone else. Each test runs the real application on the
MicroPython unix port in the Pico W profile (180K heap, 5 client sockets)."""

import json
import socket
import threading
import time

import pytest

import client
from serverproc import PICO_LIB

# Short deadlines keep the tests quick; the behaviour is the same as with the
# defaults in config.py.
FAST = {
    "IDLE_TIMEOUT_MS": 1500,
    "HEAD_TIMEOUT_MS": 1500,
    "BODY_TIMEOUT_MS": 1500,
    "WRITE_TIMEOUT_MS": 1500,
}
HEAD = b"GET / HTTP/1.1\r\nHost: pico.test\r\n\r\n"


def status(srv):
    return json.loads(client.get(srv.port, "/api/status").body)["http"]


def wait_client_sockets_at_least(srv, count, timeout=2.0):
    """Wait until the server has accepted `count` clients; the number open."""
    deadline = time.monotonic() + timeout
    while srv.client_sockets_open() < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return srv.client_sockets_open()


def open_idle(port, count):
    conns = []
    for _ in range(count):
        conns.append(client.Conn(port))
        time.sleep(0.05)  # let the server accept them one by one
    return conns


def test_200_clients_that_send_half_a_head_and_disconnect_leak_nothing(start_server):
    """The failure of the widely copied example: a client that goes away while
    the server waits for the blank line. Ours sees b"" and closes the socket."""
    srv = start_server(FAST)
    partials = [HEAD[:n] for n in (1, 5, 14, 16, 20, len(HEAD) - 2)]
    for i in range(200):
        with client.Conn(srv.port) as c:
            c.send(partials[i % len(partials)])
        # The server notices each disconnect at once, without waiting for a
        # deadline (IDLE/HEAD_TIMEOUT_MS is 1.5 s here).
        assert srv.wait_client_sockets(0, timeout=0.5) == 0, "client %d was not closed at once" % i
    r, seconds = client.timed_get(srv.port, "/")
    assert r.status == 200
    assert seconds < 1.0  # a slot still held would wait for the 1.5 s deadline
    assert srv.wait_client_sockets(0, timeout=2.0) == 0
    assert srv.socket_count() == 1  # only the listener is left
    counts = status(srv)
    assert counts["accepted"] >= 201
    assert counts["dropped"] >= 190  # closed mid-request; the 1-byte ones too


def test_reset_mid_request_is_closed_quietly_and_counted(start_server):
    srv = start_server(FAST)
    for i in range(20):
        c = client.Conn(srv.port)
        c.send(HEAD[: 10 + i])
        time.sleep(0.01)
        c.reset()
    assert srv.wait_client_sockets(0, timeout=2.0) == 0
    assert client.get(srv.port, "/").status == 200
    assert status(srv)["dropped"] >= 20
    assert "Traceback" not in srv.output()  # a vanished peer is not a bug


def test_reset_before_reading_the_response_is_closed_quietly(start_server):
    srv = start_server(dict(FAST, LOG_LEVEL="WARNING"))
    for _ in range(30):
        c = client.Conn(srv.port)
        # A large response, so the server is still writing when the RST comes.
        c.send(client.build("GET", "/api/status") + HEAD * 20)
        c.reset()
    assert srv.wait_client_sockets(0, timeout=3.0) == 0
    assert client.get(srv.port, "/health").status == 200
    assert "Traceback" not in srv.output()
    assert srv.alive()


def test_eight_idle_connections_do_not_lock_out_a_new_visitor(start_server):
    """Browsers open connections and send nothing (preconnect). At the cap the
    connection silent longest is closed to make room once it is past its
    grace (1 s: a browser sends its request as soon as it is connected, and a
    close before it came would lose the page), so a visitor is served."""
    srv = start_server(FAST)
    idle = open_idle(srv.port, 8)
    try:
        # (Not the page: its first view imports lib/dashboard/page.py from a file,
        # and with the silent ones holding every other descriptor of the
        # profile that is a 503 to retry, on the unix port only.)
        r, seconds = client.timed_get(srv.port, "/api/status")
        assert r.status == 200
        assert seconds < 2.0  # the rest of the silent ones' grace (they are a few tenths of a second old)
        counts = status(srv)
        # The four that held the slots made room: closed for newcomers or,
        # FAST's idle timeout (1.5 s) being shorter than their grace, timed out.
        assert counts["evicted"] + counts["idle_closed"] >= 4
        # Every idle connection is closed by the server, evicted or timed out.
        t0 = time.monotonic()
        for c in idle:
            assert c.closed_by_server(timeout=FAST["IDLE_TIMEOUT_MS"] / 1000 + 1.5)
        assert time.monotonic() - t0 < FAST["IDLE_TIMEOUT_MS"] / 1000 + 1.5
        assert srv.wait_client_sockets(0, timeout=2.0) == 0
    finally:
        for c in idle:
            c.close()


def test_idle_keep_alive_connections_are_closed_not_reset_when_the_server_is_crowded(start_server):
    """With MAX_CONNECTIONS held (on a Pico W: one of lwIP's 5 connections
    left), a kept-alive connection idle past its grace (250 ms) is closed:
    a FIN, which a browser sees before it would reuse the connection, not a
    reset. Below that, kept-alive connections wait for the idle timeout."""
    srv = start_server(dict(FAST, IDLE_TIMEOUT_MS=5000))
    few = [client.Conn(srv.port) for _ in range(3)]
    try:
        for c in few:
            assert c.request("GET", "/health").status == 200
        time.sleep(1.0)  # four reaper rounds past the grace: three open is not crowded
        assert not any(c.closed_by_server(timeout=0.05) for c in few)
        fourth = client.Conn(srv.port)
        few.append(fourth)
        assert fourth.request("GET", "/health").status == 200
        # The three idle ones are closed at once (their grace is over), the
        # newest is not: with them gone the server is no longer crowded.
        t0 = time.monotonic()
        for c in few[:3]:
            c.sock.settimeout(2.0)
            assert c.sock.recv(100) == b""  # a FIN: ConnectionResetError would be a reset
        assert time.monotonic() - t0 < 1.0  # a reaper round, not the 5 s idle timeout
        assert not fourth.closed_by_server(timeout=1.0)
        assert fourth.request("GET", "/health").status == 200
        assert status(srv)["idle_closed"] == 3
    finally:
        for c in few:
            c.close()


def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(start_server):
    srv = start_server(FAST)
    with client.Conn(srv.port) as c:
        assert c.request("GET", "/health").status == 200
        t0 = time.monotonic()
        assert c.closed_by_server(timeout=5)
        waited = time.monotonic() - t0
    assert 1.2 < waited < 1.5 + 2.0  # (room above for a loaded 2-CPU machine)
    assert status(srv)["idle_closed"] >= 1


def test_client_trickling_one_header_line_per_second_is_cut_by_the_head_deadline(start_server):
    srv = start_server(dict(FAST, HEAD_TIMEOUT_MS=2500))
    with client.Conn(srv.port) as c:
        c.send(b"GET / HTTP/1.1\r\n")
        t0 = time.monotonic()
        cut_after = None
        for i in range(10):
            time.sleep(1.0)
            try:
                c.send(b"X-Slow-%d: yes\r\n" % i)
            except OSError:
                cut_after = time.monotonic() - t0
                break
            if c.closed_by_server(timeout=0.01):
                cut_after = time.monotonic() - t0
                break
        assert cut_after is not None, "a trickling client was never cut"
        assert 2.0 < cut_after < 2.5 + 1.5
    assert b"408 Request Timeout" in c.buf
    assert status(srv)["timed_out"] == 1


def test_client_trickling_its_body_is_cut_by_the_body_deadline(start_server):
    srv = start_server(dict(FAST, BODY_TIMEOUT_MS=2000))
    with client.Conn(srv.port) as c:
        c.send(b"POST /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 6:
            try:
                c.send(b"0123456789")
            except OSError:
                closed = True
                break
            if c.closed_by_server(timeout=0.5):
                closed = True
                break
        waited = time.monotonic() - t0
    assert closed
    assert 1.8 < waited < 2.0 + 1.5
    assert b"408 Request Timeout" in c.buf
    assert srv.wait_client_sockets(0) == 0


def _pipeline_without_reading(port, stop):
    """Send pipelined requests forever and never read a byte of the answers.
    (/api/status: an answer that keeps the connection; the dashboard's page
    closes its connection while others are connected.)"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(10)
    burst = b"GET /api/status HTTP/1.1\r\nHost: pico.test\r\n\r\n" * 200
    try:
        while not stop.is_set():
            s.sendall(burst)
    except OSError:
        pass  # the server cut us off: that is the point
    finally:
        s.close()


def test_clients_that_pipeline_and_never_read_do_not_stop_others(start_server):
    srv = start_server(dict(FAST, LOG_LEVEL="WARNING"))
    stop = threading.Event()
    hogs = [threading.Thread(target=_pipeline_without_reading, args=(srv.port, stop)) for _ in range(3)]
    for t in hogs:
        t.start()
    try:
        time.sleep(0.5)
        # A slot is still free for normal visitors while the hogs are stuck.
        for _ in range(5):
            r, seconds = client.timed_get(srv.port, "/health")
            assert r.status == 200
            assert seconds < 1.0
        # The write deadline cuts the hogs: their writes stop making progress.
        for t in hogs:
            t.join(timeout=20)
            assert not t.is_alive(), "a client that never reads was never cut"
        assert status(srv)["timed_out"] >= 3
    finally:
        stop.set()
        for t in hogs:
            t.join(5)


def test_when_every_slot_is_busy_a_newcomer_gets_503_with_retry_after(start_server):
    srv = start_server(dict(FAST, HEAD_TIMEOUT_MS=3000, SLOT_WAIT_MS=2500))
    busy = []
    for _ in range(4):  # four requests under way, none idle: nothing to evict
        c = client.Conn(srv.port)
        c.send(b"GET / HTTP/1.1\r\n")
        busy.append(c)
        time.sleep(0.05)
    try:
        r = client.get(srv.port, "/")
        assert r.status == 503
        assert r.header("retry-after") == "2"
        assert r.header("connection") == "close"
        assert int(r.header("content-length")) == len(r.body)
        # When the head deadline frees the slots, newcomers are served again.
        time.sleep(3.5)
        assert client.get(srv.port, "/").status == 200
        assert status(srv)["rejected"] >= 1
    finally:
        for c in busy:
            c.close()



def test_a_first_page_view_while_clients_hold_every_descriptor_gets_503_then_the_page(start_server):
    """The first GET / loads lib/dashboard/page.py from a file (a board with .mpy
    files too). With every descriptor of the Pico W profile held by a client
    (three requests under way, a newcomer waiting for a slot, and this one)
    that file cannot be opened: the answer is 503 with Retry-After, not a
    500, and the page is served once a descriptor is free."""
    srv = start_server(dict(FAST, HEAD_TIMEOUT_MS=5000))
    held = []
    try:
        for _ in range(3):  # requests under way, none idle: nothing to evict
            c = client.Conn(srv.port)
            c.send(b"GET / HTTP/1.1\r\n")
            held.append(c)
        page = client.Conn(srv.port)
        held.append(page)
        page.send(b"GET / HTTP/1.1\r\n")  # the fourth slot, its head not done yet
        assert wait_client_sockets_at_least(srv, 4) == 4
        newcomer = client.Conn(srv.port)  # the fifth descriptor: it waits for a slot
        held.append(newcomer)
        newcomer.send(b"GET / HTTP/1.1\r\n")
        assert wait_client_sockets_at_least(srv, 5) == 5, "the newcomer was not accepted"
        page.send(b"Host: pico.test\r\n\r\n")
        r = page.read_response()
        assert r.status == 503, (r.status, r.body)
        assert r.header("retry-after") == "2"
        assert r.header("connection") == "close"
    finally:
        for c in held:
            c.close()
    assert srv.wait_client_sockets(0, timeout=3.0) == 0
    r = client.get(srv.port, "/")
    assert r.status == 200 and b"<h1>" in r.body
    counts = status(srv)
    assert counts["errors"] == 0, counts
    assert "Traceback" not in srv.output()

def test_flood_of_100_concurrent_clients_each_get_200_or_503_quickly(start_server):
    # The kernel queues the whole flood (BACKLOG 128), so each client's time is
    # the server's doing. With the default 4, Linux drops the SYNs and
    # handshake ACKs of the clients that find its queue full, and their
    # retransmit timers fire in step (1, 3, 7, 15 s), so a few are shut out
    # again at every retry: 3 runs in 12 under a CPU hog had clients that
    # waited 5 to 16 s while the server sat idle, never having seen them (its
    # own count: accepted 75, active 1). With 128: 12 of 12, every client
    # under 0.9 s. (A flood through the board's lwIP: docs/lwip.md.)
    srv = start_server(dict(FAST, LOG_LEVEL="WARNING", BACKLOG=128))
    results = client.crowd(srv.port, 100)
    answers = [r[0] for r in results]
    assert all(a in (200, 503) for a in answers), answers
    assert answers.count(200) >= 4
    slowest = max(r[1] for r in results)
    assert slowest < 5.0, "a client waited %.1f s" % slowest
    assert srv.wait_client_sockets(0, timeout=3) == 0
    assert client.get(srv.port, "/").status == 200


def test_idle_server_uses_no_cpu(start_server):
    srv = start_server(FAST)
    assert client.get(srv.port, "/").status == 200
    assert srv.wait_client_sockets(0, timeout=3) == 0
    time.sleep(0.3)
    before = srv.cpu_seconds()
    time.sleep(3.0)
    used = srv.cpu_seconds() - before
    assert used < 0.05, "idle server used %.2f s of CPU in 3 s" % used


def test_ctrl_c_then_run_again_binds_the_same_port(start_server):
    srv = start_server(FAST, script="tests/apps/restart_app.py", client_sockets=None)
    idle = client.Conn(srv.port)  # a connection open at the moment of Ctrl-C
    assert client.get(srv.port, "/health").status == 200
    srv.proc.send_signal(2)  # SIGINT: KeyboardInterrupt, like Ctrl-C on the board
    line = srv.wait_for_log(r"run 1 stopped")
    assert "listener open: False; connections: 0" in line
    # The second run listens on the same port and serves.
    deadline = time.monotonic() + 5
    while srv.output().count("listening on") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.output().count("listening on") == 2, srv.output()
    assert idle.closed_by_server(timeout=2)
    assert client.get(srv.port, "/health").status == 200
    assert srv.wait_client_sockets(0, timeout=3) == 0
    assert srv.socket_count() == 1  # the first listener was closed


def test_a_new_process_binds_the_port_at_once_after_the_old_one_stopped(start_server):
    first = start_server(FAST)
    port = first.port
    # Leave connections in every state the kernel may keep after the stop.
    for _ in range(3):
        assert client.get(port, "/").status == 200
    idle = client.Conn(port)
    assert first.stop() == 0
    idle.close()
    second = start_server(FAST, port=port)
    assert client.get(port, "/").status == 200
    second.stop()


def test_ctrl_c_inside_a_garbage_collection_stops_the_server_cleanly(start_server):
    """The unix port raises Ctrl-C at once, from inside any C code
    (MICROPY_ASYNC_KBD_INTR), a garbage collection too, which then leaves the
    heap locked: the log line of the stop failed with MemoryError and the
    process ended with 1 and a traceback (about 1 Ctrl-C in 12 under load
    did). A route that collects all the time puts the Ctrl-C there."""
    for attempt in range(3):
        srv = start_server(FAST | {"APP_MODULES": "collect_app"}, path=(PICO_LIB, ".", "tests/apps"))
        slow = threading.Thread(target=_try_visit, args=(srv.port, [], "/test/collect?ms=3000"))
        slow.start()
        time.sleep(0.6 + 0.3 * attempt)  # well inside the collecting
        assert srv.stop() == 0, srv.output()[-1500:]
        slow.join(5)
        assert "Traceback" not in srv.output(), srv.output()[-1500:]


def _try_visit(port, results, path="/health"):
    try:
        results.append(client.get(port, path, timeout=3).status)
    except OSError as e:
        results.append(type(e).__name__)


def test_running_out_of_heap_while_accepting_costs_connections_not_the_server(start_server):
    """With the heap all but full, a new connection's Stream or Task cannot be
    made; asyncio.start_server's accept task died of that MemoryError, and the
    server with it. Now such a connection is closed and the server goes on."""
    srv = start_server(dict(FAST, LOG_LEVEL="WARNING"), script="tests/apps/fault_app.py")
    try:  # with the heap full, even this answer may not be made: then it is closed
        client.get(srv.port, "/test/hog?ms=2500&leave=256")
    except ConnectionError:
        pass
    results = []
    visitors = [threading.Thread(target=_try_visit, args=(srv.port, results)) for _ in range(12)]
    for t in visitors:
        t.start()
        time.sleep(0.1)
    for t in visitors:
        t.join(10)
    assert srv.alive(), srv.output()[-2000:]
    time.sleep(2)  # the heap is given back
    assert client.get(srv.port, "/health").status == 200
    assert srv.listening()
    assert srv.wait_client_sockets(0, timeout=3) == 0
    print("answers while the heap was full:", results)
    assert set(results) <= {200, 503, "ConnectionError", "ConnectionResetError"}, results
