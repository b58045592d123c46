# The application plus routes that misbehave on purpose, for the tests only:
# handlers that raise, run out of memory, stall, stream, or echo what they got.
# Run like main.py: micropython tests/apps/fault_app.py (MICROPYPATH with lib/).
import asyncio

import app
import httpd
import settings
from httpd import HTTPError, Response
from httpd import log

config = settings.load()
log.configure(config.LOG_LEVEL)
application = app.build(config)
server = application.server
route = server.router.route


@route("/test/raise")
def raise_error(req):
    raise ValueError("deliberate failure for the test")


@route("/test/crash-record")
def crash_record(req):
    """A crash record written now, as app.main writes one on the way down."""
    application.monitor.crashed("recorded by the test")
    return "recorded"


@route("/test/memory")
def out_of_memory(req):
    return bytearray(4 * 1024 * 1024)  # far beyond a 180K heap: a real MemoryError


@route("/test/http-error")
def http_error(req):
    raise HTTPError(418 if "teapot" in req.args else 409, "conflict from the handler")


@route("/test/slow")
async def slow(req):
    await asyncio.sleep_ms(int(req.args.get("ms", "1000")))
    return "slept\n"


@route("/test/echo", methods=("POST", "PUT"))
def echo(req):
    kind = req.headers.get("content-type", "")
    if kind.startswith("application/json"):
        data = req.json()
    elif kind.startswith("application/x-www-form-urlencoded"):
        data = req.form()
    else:
        data = bytes(req.body).decode()
    return {"length": len(req.body), "data": data}


@route("/test/args")
def args(req):
    return {"path": req.path, "query": req.query, "args": req.args}


@route("/test/headers")
def headers(req):
    return req.headers


@route("/test/params/<name>/<path:rest>")
def params(req):
    return req.params


@route("/test/big")
def big(req):
    return Response(b"x" * int(req.args.get("size", "100000")), 200, "application/octet-stream")


@route("/test/heap")
def heap(req):
    import gc

    gc.collect()
    # The connection slots' head buffers start small and grow, once, for
    # clients with large heads (the slot keeps what it grew to): heap that
    # is bounded (MAX_HEAD per slot), not leaked. Reported so a test can
    # tell the two apart.
    slots = [slot for slot in server._pool] + [c.slot for c in server._conns if c.slot is not None]
    return {"used": gc.mem_alloc(), "free": gc.mem_free(), "active": server.active,
            "head_buffers": sum(len(slot.buf) for slot in slots)}


_hog = [None]  # a chain of [previous, chunk]: no list that must grow
_HOGGING = Response(b"hogging\n")


def _fill(leave):
    import gc

    gc.collect()
    size = 4096
    while size >= 16:
        try:
            while gc.mem_free() > leave:
                _hog[0] = [_hog[0], bytearray(size)]
        except MemoryError:
            pass
        size //= 2


@route("/test/hog")
def hog(req):
    """Keep all but `leave` bytes of the heap taken for `ms` milliseconds
    (taking again what the server frees meanwhile), then give it back:
    everything the server allocates in that time may fail."""
    leave = int(req.args.get("leave", "256"))
    asyncio.create_task(_keep(leave, int(req.args.get("ms", "2000"))))  # first: later it cannot be made
    _fill(leave)
    return _HOGGING


async def _keep(leave, ms):
    from time import ticks_add, ticks_diff, ticks_ms

    until = ticks_add(ticks_ms(), ms)
    while ticks_diff(until, ticks_ms()) > 0:
        await asyncio.sleep_ms(10)
        _fill(leave)
    _hog[0] = None


@route("/test/stream")
def stream(req):
    pieces = int(req.args.get("n", "3"))
    gap = int(req.args.get("gap", "0"))

    async def source(send):
        for i in range(pieces):
            await send("piece %d\n" % i)
            if gap:
                await asyncio.sleep_ms(gap)

    return Response.streamed(source)


try:
    httpd.run(server, *application.tasks)
except KeyboardInterrupt:
    pass
