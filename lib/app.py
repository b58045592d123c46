# The application: the routes of this firmware on top of the httpd core.
# MIT license
#
# The core knows nothing of these pages; the dashboard and the board's API
# are added here as more routes, without touching lib/httpd.

import gc
from time import ticks_diff, ticks_ms

import httpd
from httpd import Response, Router

VERSION = "0.1.0"

_INDEX = Response.html(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Pico W</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto">
<h1>Pico W web server</h1>
<p>It works. Status as JSON: <a href="/api/status">/api/status</a>;
health check: <a href="/health">/health</a>.</p>
</body></html>
"""
)
_HEALTH = Response("ok\n")


class Uptime:
    """Milliseconds since start that survive the ~12-day wrap of ticks_ms,
    as long as seconds() is called at least every few days."""

    def __init__(self):
        self._last = ticks_ms()
        self._ms = 0

    def seconds(self):
        now = ticks_ms()
        self._ms += ticks_diff(now, self._last)
        self._last = now
        return self._ms // 1000


def status(server, uptime):
    """What /api/status reports: uptime, heap, and the server's counters."""
    s = server.stats
    return {
        "version": VERSION,
        "uptime_s": uptime.seconds(),
        "heap_free": gc.mem_free(),
        "heap_used": gc.mem_alloc(),
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


def build(config):
    """The server with this firmware's routes."""
    router = Router()
    server = httpd.Server(router, config)
    uptime = Uptime()

    @router.route("/")
    def index(request):
        return _INDEX

    @router.route("/health")
    def health(request):
        return _HEALTH

    @router.route("/api/status")
    def api_status(request):
        return Response.json(status(server, uptime))

    server.uptime = uptime
    return server


def main():
    import settings
    from httpd import log

    config = settings.load()
    log.configure(config.LOG_LEVEL)
    try:
        httpd.run(build(config))
    except KeyboardInterrupt:
        log.get_logger("app").info("stopped by Ctrl-C")
