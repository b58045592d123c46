# Bench-only: the httpd core alone serving what Microdot serves in the
# benchmark (tools/bench_apps/microdot_app.py): the 73-byte page at GET / and,
# at GET /api/status, a JSON object with the same keys, computed per request
# by the same code. "ours" (ours.py) is the whole firmware application; this
# is the like-for-like comparison of the two servers' own heap.
import gc
from os import getenv
from time import ticks_diff, ticks_ms, time

import httpd
from benchpage import PAGE
from httpd import Response, log

log.configure(getenv("PICO_LOG_LEVEL") or "INFO")


class _Config:
    HOST = getenv("PICO_HOST") or "127.0.0.1"
    PORT = int(getenv("PICO_PORT") or "8080")


router = httpd.Router()
server = httpd.Server(router, _Config)
_started = ticks_ms()
_page = Response.html(PAGE)


@router.route("/")
def index(request):
    return _page


@router.route("/api/status")
def status(request):
    s = server.stats
    return {
        "version": "0.1.0",
        "image": None,
        "uptime_s": ticks_diff(ticks_ms(), _started) // 1000,
        "heap_free": gc.mem_free(),
        "heap_used": gc.mem_alloc(),
        "board": {
            "name": "MicroPython unix port (host stand-in)",
            "chip": None,
            "id": "host",
            "led": False,
            "temperature_c": round(24.0 + (int(time()) % 7) * 0.1, 1),
            "reset_cause": "power-on",
            "wifi_chip": None,
        },
        "wifi": None,
        "crash": None,
        "mqtt": None,
        "update": {"mode": None, "version": None, "trial": False, "previous": None, "rollback": None,
                   "safe": None},
        "http": {
            "accepted": s.accepted,
            "active": server.active,
            "requests": s.requests,
            "bad_requests": s.bad_requests,
            "timed_out": s.timed_out,
            "idle_closed": s.idle_closed,
            "dropped": s.dropped,
            "rejected": s.rejected,
            "evicted": s.evicted,
            "errors": s.errors,
        },
    }


httpd.run(server)
