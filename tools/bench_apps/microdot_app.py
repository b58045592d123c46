# Bench-only: Microdot 2.7.0 (from PyPI, compiled to .mpy by tools/bench.py
# into build/bench/lib) serving what this firmware serves in the benchmark:
# the 73-byte page at GET / and, at GET /api/status, a JSON object with the
# same keys as lib/app/__init__.py's App.status(), its values computed per request.
# Handlers are plain functions, as ours are (Microdot calls them directly on
# MicroPython). With BENCH_WEBSOCKET set, also a WebSocket echo at /ws/echo
# (microdot_ws.py).
import gc
from os import getenv
from time import ticks_diff, ticks_ms, time

from benchpage import PAGE
from microdot import Microdot

app = Microdot()
_started = ticks_ms()
_stats = {"requests": 0}
_HTML = {"Content-Type": "text/html; charset=utf-8"}


@app.route("/")
def index(request):
    _stats["requests"] += 1
    return PAGE, 200, _HTML


@app.route("/api/status")
def status(request):
    _stats["requests"] += 1
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
            "accepted": _stats["requests"],
            "active": 1,
            "requests": _stats["requests"],
            "bad_requests": 0,
            "timed_out": 0,
            "idle_closed": 0,
            "dropped": 0,
            "rejected": 0,
            "evicted": 0,
            "errors": 0,
        },
    }


if getenv("BENCH_WEBSOCKET"):  # make bench's part "websocket" only
    import microdot_ws

    microdot_ws.install(app)

host = getenv("PICO_HOST") or "127.0.0.1"
port = int(getenv("PICO_PORT") or "8080")
print("microdot listening on %s:%d" % (host, port))
app.run(host, port)
