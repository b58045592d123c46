# Seeing what a board does without USB: its log, its last crash, its last
# hour and its metrics, over HTTP.
# MIT license
#
#   GET  /logs               the last log lines as a page, live with JavaScript
#   GET  /api/logs           the same lines as text/plain
#   GET  /api/logs/events    Server-Sent Events "log": new lines as they come
#   GET  /metrics            Prometheus text format (monitor/metrics.py)
#   GET  /api/crash          the crash record (text/plain), 404 when none
#   DELETE /api/crash        clear it (204); POST /crash: the page's form (303)
#
# All of it tells a stranger about the board, so with API_TOKEN set every
# route needs the token (app.check_token), and none sends CORS headers:
# another site's page cannot read them through a visitor's browser. Clearing
# is a state change: guarded like the LED (same origin, then the token).
#
# This package's __init__ keeps what runs without a request: the log ring
# (monitor/ring.py), the live log's publisher, the crash record's writing
# (monitor/crash.py), the history's samples (monitor/history.py). The routes
# are monitor/routes.py, loaded at the first request to one of them, and
# metrics monitor/metrics.py, loaded at the first scrape.

import asyncio

from httpd import load, log
from httpd.sse import EventHub
from micropython import const

from monitor import crash
from monitor.ring import LogRing

_BATCH_MS = const(200)  # new log lines are sent at most this often (a burst is one event)
_CRASH_LOG_BYTES = const(1536)  # the newest log lines a crash record keeps


class Monitor:
    def __init__(self, app):
        config = app.config
        self.app = app
        self.crash_file = config.CRASH_FILE
        # Secrets the ring blanks out should a line ever contain them.
        secrets = [app.token]
        if app.wifi is not None:
            secrets.append(getattr(app.wifi, "password", None))
        self.logged = asyncio.Event()  # set on every line: wakes the log publisher
        self.ring = LogRing(config.LOG_RING_BYTES, secrets, self.logged.set)
        log.tap(self.ring.write)
        heartbeat = min(config.EVENT_HEARTBEAT_MS, app.server.handler_timeout_ms // 2)
        self.hub = EventHub(1, heartbeat)  # one live log page at a time
        self.pos = 0  # ring position the publisher has sent up to
        self.history = None
        interval = config.HISTORY_INTERVAL_MS
        if interval > 0:
            from monitor.history import History

            self.history = History(app, config.HISTORY_SAMPLES, interval)
        # Imported at the first scrape: a board that is never scraped keeps
        # the heap. (Frozen in the image it costs no compiling; from .py a
        # scrape in a fragmented heap may get 503 and the next one works.)
        self.metrics = None
        self._boot_record()

    def install(self):
        app = self.app
        add = app.router.add
        route = self.route  # (one bound method for all: a closure per route would cost more)
        add("/logs", route)
        add("/api/logs", route)
        add("/api/logs/events", route)
        add("/metrics", route)
        add("/api/crash", route, ("GET", "DELETE"))
        add("/crash", route, ("POST",))
        app.tasks.append(self.hub.feed(self.publish_logs))
        if self.history is not None:
            app.tasks.append(self.history.run())

    def route(self, request):
        """The handler of every route above: monitor/routes.py's for the
        request's path, loaded at the first such request."""
        return load("monitor.routes").handle(self, request)

    # -- the crash record ------------------------------------------------------

    def _boot_record(self):
        """At boot: the record left by the last run, or one for a watchdog
        reset that could not write its own (the loop had stopped)."""
        app = self.app
        app.crash = crash.summary(self.crash_file)
        if app.crash is None and app.reset_cause == "watchdog":
            self.crashed("watchdog reset: the event loop stopped (nothing could be recorded before)")

    def crashed(self, reason, exc=None):
        """Record a crash on flash: once, on the way down (or at boot)."""
        log.get_logger("app").error("crash recorded: %s", reason)
        if crash.write(self.crash_file, reason, exc, self.ring.tail(_CRASH_LOG_BYTES), self.app.uptime.seconds()):
            self.app.crash = crash.summary(self.crash_file)

    # -- the log -------------------------------------------------------------------

    def event(self, data):
        """A "log" event's data: the position after it, then the lines."""
        return "%d\n%s" % (self.ring.total, data.decode())

    async def publish_logs(self):
        """One step of the log feed (hub.feed runs it while a stream is open):
        wait for new lines, then send them to the stream in one batch."""
        self.logged.clear()
        await self.logged.wait()
        await asyncio.sleep_ms(_BATCH_MS)
        hub = self.hub
        if hub.count and self.pos < self.ring.total:
            data = self.ring.since(self.pos)
            hub.publish("log", self.event(data))
            self.pos = self.ring.total


def install(app):
    monitor = Monitor(app)
    monitor.install()
    app.monitor = monitor
    return monitor
