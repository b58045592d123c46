# Bench-only: where the bytes and microseconds of one request go, part by part,
# measured inside MicroPython. tools/bench.py runs it with the .mpy build
# (build/lib) on the path and prints its lines as the breakdown table.
#
# Each part runs CALLS times after one warm-up call; for each it prints one
# JSON line {"part", "allocated", "garbage", "us"} per call:
#   allocated  micropython.mem_total() delta: every byte requested from the
#              heap, including the VM's frames of larger functions, which are
#              freed again as the function returns (not garbage)
#   garbage    gc.mem_alloc() delta with the collector off: bytes left for the
#              garbage collector (rounded up to whole heap blocks)
#   us         time.ticks_us per call, loop overhead not subtracted
# A part whose code is missing (the server core changed shape) prints an
# "error" instead, so the probe never stops the benchmark.
import gc
import json
import sys
from micropython import mem_total
from time import ticks_diff, ticks_us

import app
import settings
from benchpage import PAGE
from httpd import Response, log
from httpd.request import Request

CALLS = 20  # with the collector off, 20 status dicts fit the 180K heap with room to spare
WRK_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
STATUS_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BROWSER_HEAD = (
    b"GET /api/status HTTP/1.1\r\nHost: 192.168.1.50\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\r\n"
    b"Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\nConnection: keep-alive\r\n\r\n"
)


def measure(part, fn):
    try:
        fn()  # warm-up: first-use allocations (caches, imports) are not per request
        gc.collect()
        t0 = mem_total()
        s0 = ticks_us()
        for _ in range(CALLS):
            fn()
        us = ticks_diff(ticks_us(), s0) / CALLS
        allocated = (mem_total() - t0) / CALLS
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        for _ in range(CALLS):
            fn()
        garbage = (gc.mem_alloc() - a0) / CALLS
        gc.enable()
        out = {"part": part, "allocated": allocated, "garbage": garbage, "us": us}
    except Exception as e:  # the core changed: report, do not stop the bench
        gc.enable()
        out = {"part": part, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out))


def head_parser(server, head):
    """(parse, request): parse() parses `head` in a reused slot (a Head with
    the server's limits), as the server does for every request."""
    from httpd.head import Head

    h = Head(server)
    n = len(head)
    h.space()[0:n] = head

    def parse():
        h.forget()
        h.received(n)
        h.parse()

    return parse, h.request


def main():
    config = settings.load()
    log.configure("CRITICAL")  # the app's own start-up lines stay out of the output
    application = app.build(config)
    server = application.server
    router = application.router
    page = Response.html(PAGE)
    router.add("/", lambda request: page)
    logger = log.get_logger("httpd")

    measure("nothing (the loop itself)", lambda: None)
    measure("parse head: GET /, Host only (what wrk sends)", head_parser(server, WRK_HEAD)[0])
    measure("parse head: GET /api/status, Host only", head_parser(server, STATUS_HEAD)[0])
    measure("parse head: GET /api/status, browser headers + Connection: keep-alive",
            head_parser(server, BROWSER_HEAD)[0])
    measure("router.match GET /", lambda: router.match("GET", "/"))
    measure("router.match GET /api/status", lambda: router.match("GET", "/api/status"))
    measure("Response.head() of the cached page", page.head)
    measure("App.status() (the dict)", application.status)
    status = application.status()
    measure("json.dumps(App.status())", lambda: json.dumps(status))
    measure("Response.json(App.status()) + head()", lambda: Response.json(application.status()).head())
    # Two things the server's path does several times per request.
    async def coroutine():
        pass

    def one_coroutine():
        coroutine().close()

    measure("one coroutine object of an empty async def", one_coroutine)
    # The common path awaits only the read: Stream.readinto makes one
    # generator per read. The server's coroutines: _serve once per
    # connection; _send only for large bodies, files and streams.
    class _Stream:
        def readinto(self, buf):
            yield

    stream = _Stream()
    view64 = memoryview(bytearray(64))
    measure("generator of one Stream.readinto (created, closed)", lambda: stream.readinto(view64).close())
    for name, args in (("_serve", (None,)), ("_send", (None, None, True))):
        method = getattr(server, name, None)
        if method is None:
            print(json.dumps({"part": "coroutine Server.%s" % name, "error": "no such method"}))
            continue
        measure("coroutine object of Server.%s (created, closed)" % name,
                lambda method=method, args=args: method(*args).close())
    parse, req = head_parser(server, WRK_HEAD)
    parse()
    if hasattr(server, "_answer"):
        measure("Server._answer: route GET / and call its handler", lambda: server._answer(req))
    else:
        print(json.dumps({"part": "Server._answer", "error": "no such method"}))
    view = memoryview(bytearray(64))
    measure("one memoryview slice (mv[n:])", lambda: view[8:])
    # What the server logs per request at the configured level (INFO: one
    # line); the probe's stderr goes to /dev/null.
    log.configure(config.LOG_LEVEL)
    measure("log line per request (LOG_LEVEL=%s)" % config.LOG_LEVEL,
            lambda: logger.info("%s %s %d %dms", "GET", "/", 200, 0))


main()
