"""Soak: mixed abusive and normal traffic against one server for SOAK_SECONDS
(make soak: 60 s; make test: a shorter run). Passes with zero failed normal
requests, no leaked descriptors, no server errors, and the heap back where
it started."""

import json
import os
import random
import socket
import threading
import time

import client
from serverproc import board_word_size

SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
SETTINGS = {
    "IDLE_TIMEOUT_MS": 2000,
    "HEAD_TIMEOUT_MS": 1500,
    "BODY_TIMEOUT_MS": 1500,
    "WRITE_TIMEOUT_MS": 1500,
    "LOG_LEVEL": "WARNING",
}
HEAD = b"GET / HTTP/1.1\r\nHost: pico.test\r\n\r\n"


def heap(srv):
    """(live heap, the part of it in the slots' head buffers), in bytes:
    /test/heap collects garbage first. The collector is conservative, so a
    stale pointer (in a buffer, on the stack) can keep up to ~1 KB alive for a
    while; the least of a few readings, with other requests between them, is
    the figure to compare."""
    readings = []
    for _ in range(6):
        client.get(srv.port, "/health")
        r = client.get(srv.port, "/test/heap")
        assert r.status == 200
        got = json.loads(r.body)
        readings.append((got["used"], got["head_buffers"]))
    return min(readings)


BUSY, CLOSED, KEPT = "busy", "closed", "kept"


class Normal:
    """A well-behaved visitor: every request must end in its expected answer.
    A 503 is allowed (it is an answer) but the request is retried until it
    succeeds; 10 s without success is a failure."""

    CASES = [
        ("GET", "/", None, 200),
        ("GET", "/api/status", None, 200),
        ("HEAD", "/health", None, 200),
        ("GET", "/nope", None, 404),
        ("POST", "/test/echo", {"on": True}, 200),
    ]

    def __init__(self, port, stop, seed):
        self.port = port
        self.stop = stop
        self.rng = random.Random(seed)
        self.ok = 0
        self.busy = 0
        self.failures = []

    def one(self, conn, method, path, data, expect):
        headers = body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers = {"Content-Type": "application/json"}
        """BUSY (a 503: ask again), CLOSED (answered, and the server closes
        the connection: the next request goes on a new one) or KEPT."""
        r = conn.request(method, path, headers, body or b"")
        if r.status == 503:
            self.busy += 1
            return BUSY
        if r.status != expect:
            self.failures.append("%s %s -> %d" % (method, path, r.status))
        self.ok += 1
        return CLOSED if r.header("connection") == "close" else KEPT

    def run(self):
        while not self.stop.is_set():
            batch = [self.rng.choice(self.CASES) for _ in range(self.rng.randint(1, 6))]
            t0 = time.monotonic()
            while batch and time.monotonic() - t0 < 10:
                try:
                    with client.Conn(self.port, timeout=10) as c:
                        while batch:
                            answer = self.one(c, *batch[0])
                            if answer == BUSY:
                                time.sleep(0.2)
                                break
                            batch.pop(0)
                            if answer == CLOSED:
                                break
                except OSError as e:
                    self.failures.append("%s on %s" % (e, batch[0][:2]))
                    batch.pop(0)
            if batch:
                self.failures.append("no answer within 10 s: %r" % (batch,))
            time.sleep(self.rng.uniform(0, 0.05))


def abuse(port, stop, kind, rng):
    """One abusive client after another, of one kind."""
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            continue
        try:
            if kind == "half-then-drop":
                s.sendall(HEAD[: rng.randint(1, len(HEAD) - 3)])
            elif kind == "reset":
                s.sendall(HEAD[: rng.randint(0, len(HEAD))])
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            elif kind == "idle":
                stop.wait(rng.uniform(0.5, 3))
            elif kind == "trickle":
                s.sendall(b"GET / HTTP/1.1\r\n")
                for i in range(10):
                    if stop.wait(0.5):
                        break
                    s.sendall(b"X-Slow-%d: 1\r\n" % i)
            elif kind == "garbage":
                s.sendall(bytes(rng.randrange(256) for _ in range(rng.randint(1, 600))) + b"\r\n\r\n")
                s.recv(4096)
            elif kind == "oversized":
                s.sendall(b"GET /" + b"a" * rng.randint(600, 3000) + b" HTTP/1.1\r\n")
                s.recv(4096)
            elif kind == "never-read":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                for _ in range(50):
                    s.sendall(HEAD * 100)
            elif kind == "slow-body":
                s.sendall(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n")
                for _ in range(10):
                    if stop.wait(0.4):
                        break
                    s.sendall(b"x" * 10)
        except OSError:
            pass  # cut off by the server: expected
        finally:
            s.close()
        stop.wait(rng.uniform(0, 0.2))


ABUSERS = ["half-then-drop", "reset", "idle", "trickle", "garbage", "oversized", "never-read", "slow-body"]


def traffic(port, seconds):
    """Normal visitors and every kind of abuser at once; returns the visitors."""
    stop = threading.Event()
    normals = [Normal(port, stop, seed) for seed in range(2)]
    threads = [threading.Thread(target=n.run) for n in normals]
    threads += [threading.Thread(target=abuse, args=(port, stop, kind, random.Random(kind)))
                for kind in ABUSERS]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return normals


def test_soak_mixed_abusive_and_normal_traffic(start_server):
    # On the board's word size: the first GET / compiles lib/dashboard/page.py from
    # .py, and on the 64-bit port that found no block big enough in 180K now
    # and then ("out of memory in GET /", a 503 counted as an error).
    srv = start_server(SETTINGS, script="tests/apps/fault_app.py", interpreter=board_word_size())
    # Warm up with the same traffic, so tables that grow to their working size
    # once (the poller's map, lists of connections) are counted at the start.
    traffic(srv.port, 5)
    assert srv.wait_client_sockets(0, timeout=5) == 0
    time.sleep(1.5)  # as before the other readings
    start_heap = heap(srv)

    normals = traffic(srv.port, SECONDS / 2)
    assert srv.wait_client_sockets(0, timeout=5) == 0
    time.sleep(1.5)  # as before the last reading, below
    mid_heap = heap(srv)
    normals += traffic(srv.port, SECONDS / 2)

    failures = [f for n in normals for f in n.failures]
    served = sum(n.ok for n in normals)
    print("\nsoak %.0f s: %d normal requests answered, %d times 503 then retried"
          % (SECONDS, served, sum(n.busy for n in normals)))
    assert failures == []
    assert served > SECONDS * 20
    # Every socket is closed again: only the listener remains.
    assert srv.wait_client_sockets(0, timeout=5) == 0
    assert srv.socket_count() == 1
    assert len(srv.fds()) == srv.base_fds
    counts = json.loads(client.get(srv.port, "/api/status").body)["http"]
    print("counters:", counts)
    assert counts["errors"] == 0
    assert counts["timed_out"] > 0 and counts["dropped"] > 0 and counts["bad_requests"] > 0
    time.sleep(1.5)  # let bounded waits still under way end (slot wait, linger: 1 s)
    end_heap = heap(srv)
    print("heap in use: %d bytes before, %d half-way, %d after; of it in head buffers: %d, %d, %d"
          % (start_heap[0], mid_heap[0], end_heap[0], start_heap[1], mid_heap[1], end_heap[1]))
    # The head buffers grow for large heads and are kept, up to MAX_HEAD a
    # slot (the soak's oversized heads reach that at random moments): bounded.
    assert end_heap[1] <= 4 * 2048
    # Everything else must not grow. Two allowances, both measured: the
    # conservative collector can keep up to ~900 bytes alive for a while (a
    # stale pointer; readings flip between two values), and after the
    # warm-up the heap can still be up to ~1.7 KB below the plateau every
    # run reaches (lists and dicts sized by the most connections seen at
    # once; flat from then on, over 180 s of soak). So the second half,
    # between two readings on the plateau, is allowed 1 KB: a leak of one
    # heap block (16 B) in every 10th connection would exceed it.
    other = [used - buffers for used, buffers in (start_heap, mid_heap, end_heap)]
    assert other[2] <= other[1] + 1024, other
    assert other[2] <= other[0] + 2048, other
    assert "Traceback" not in srv.output()
    assert srv.alive()
