"""The heap ladders: for each server the smallest -X heapsize at which it
serves 4 keep-alive clients (GET / then GET /api/status) with only 2xx
answers, stays alive and prints no MemoryError."""

import time

from .common import PATHS, say
from .httpclient import Client
from .servers import Server

LADDER = ("16K", "24K", "32K", "48K", "64K", "72K", "80K", "96K", "112K", "128K", "144K", "160K", "180K")
# On the 32-bit port, the board's word size: 4K steps.
LADDER32 = tuple("%dK" % k for k in range(16, 132, 4)) + ("180K",)
# ours-core: the httpd core with Microdot's own application, the like-for-like
# comparison of the two servers' heap.
HEAP_NAMES = ("ours", "ours-core", "microdot", "ceiling")
HEAP32_NAMES = ("ours", "ours-core", "microdot", "ours-frozen")


def heap_step(name, heap, load, seconds, bits=None):
    """Serve 4 keep-alive clients at this heap: (passed, why)."""
    srv = Server(name, heap, bits=bits)
    try:
        reason = srv.start()
        if reason:
            return False, reason
        served = 0
        for path in PATHS:
            try:
                res = load(srv.port, path, 4, seconds)
            except SystemExit as e:  # wrk could not connect at all: the server is gone
                return False, "GET %s: %s" % (path, str(e).splitlines()[-1] if str(e) else "no answer")
            served += res["requests"]
            if res["non2xx"] or res["socket_errors"]:
                return False, "GET %s: %d non-2xx, %d socket errors of %d answers" % (
                    path, res["non2xx"], res["socket_errors"], res["requests"])
            if not srv.alive():
                return False, "died under load: " + srv.last_error()
        time.sleep(0.2)
        if not srv.alive():
            return False, "died after the load: " + srv.last_error()
        if srv.memory_errors():
            return False, "MemoryError in its output: " + srv.last_error()
        if served == 0:
            return False, "answered nothing"
        client = Client(srv.port)
        try:
            status, _ = client.get("/")
        except OSError as e:
            return False, "no answer after the load: %s" % e
        finally:
            client.close()
        if status != 200:
            return False, "answered %d after the load" % status
        return True, "served %d requests" % served
    finally:
        srv.stop()


def smallest_heaps(names, ladder, load, seconds, bits=None):
    """{name: {"smallest": the first step that served, or None; "steps": each
    step tried, {heap, ok, detail}}}, climbing the ladder from its smallest."""
    out = {}
    for name in names:
        steps = []
        smallest = None
        for heap in ladder:
            ok, why = heap_step(name, heap, load, seconds, bits)
            steps.append({"heap": heap, "ok": ok, "detail": why})
            say("heap%s %-11s %5s: %s, %s" % (" 32-bit" if bits else "", name, heap, "ok" if ok else "FAIL", why))
            if ok:
                smallest = heap
                break
        out[name] = {"smallest": smallest, "steps": steps}
    return out
