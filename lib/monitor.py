# Seeing what a board does without USB: its log, its last crash, its last
# hour and its metrics, over HTTP.
# MIT license
#
#   GET  /logs               the last log lines as a page, live with JavaScript
#   GET  /api/logs           the same lines as text/plain
#   GET  /api/logs/events    Server-Sent Events "log": new lines as they come
#   GET  /metrics            Prometheus text format (lib/metrics.py)
#   GET  /api/crash          the crash record (text/plain), 404 when none
#   DELETE /api/crash        clear it (204); POST /crash: the page's form (303)
#
# All of it tells a stranger about the board, so with API_TOKEN set every
# route needs the token (guard.check_token), and none sends CORS headers:
# another site's page cannot read them through a visitor's browser. Clearing
# is a state change: guarded like the LED (same origin, then the token).

import asyncio
import gc

import crash
from httpd.codec import escape
from httpd import HTTPError, Response, log
from httpd.response import HTML, TEXT
from httpd.sse import EventHub
from micropython import const

_NO_STORE = [("Cache-Control", "no-store")]
_NO_CRASH = "no crash recorded"
_BATCH_MS = const(200)  # new log lines are sent at most this often (a burst is one event)
_CRASH_LOG_BYTES = const(1536)  # the newest log lines a crash record keeps

# Values: host (title), position of the newest line, host (heading), lines.
# Without JavaScript the page reloads itself every 10 s (noscript refresh).
# One literal (the pieces are joined by the compiler): frozen, it stays in flash.
_PAGE = (
    b'<!doctype html><html lang=en><meta charset=utf-8>'
    b'<meta name=viewport content="width=device-width,initial-scale=1">'
    b'<title>%s log</title><link rel=icon href="data:,">'
    b'<link rel=stylesheet href=/static/app.css>'
    b'<noscript><meta http-equiv=refresh content=10></noscript>'
    b'<body class=logs data-pos=%d><h1>%s log</h1>'
    b'<p><a href=/>Dashboard</a> &middot; <a href=/api/logs>as text</a> &middot; '
    b'<a href=/metrics>metrics</a></p>'
    b'<pre id=g>%s</pre><p id=s>Reload the page for new lines.</p>'
    b'<script src=/static/logs.js defer></script>\n'
)


class Monitor:
    def __init__(self, app):
        from logring import LogRing

        config = app.config
        self.app = app
        self.token = config.API_TOKEN or None
        self.crash_file = config.CRASH_FILE
        # Secrets the ring blanks out should a line ever contain them.
        secrets = [self.token]
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
            from history import History

            self.history = History(app, config.HISTORY_SAMPLES, interval)
        # Imported at the first scrape: a board that is never scraped keeps
        # the heap. (Frozen in the image it costs no compiling; from .py a
        # scrape in a fragmented heap may get 503 and the next one works.)
        self.metrics = None
        self.host = escape(config.HOSTNAME)
        self._boot_record()

    def install(self):
        app = self.app
        add = app.router.add
        add("/logs", self.logs_page)
        add("/api/logs", self.api_logs)
        add("/api/logs/events", self.log_events)
        add("/metrics", self.api_metrics)
        add("/api/crash", self.api_crash, ("GET", "DELETE"))
        add("/crash", self.crash_form, ("POST",))
        app.tasks.append(self.publish_logs())
        if self.history is not None:
            app.tasks.append(self.history.run())

    def _check(self, request):
        """guard.check_token, loading lib/guard.py only when there is a token to check."""
        if self.token:
            import guard

            guard.check_token(request, self.token)

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

    def api_crash(self, request):
        if request.method == "DELETE":
            self._check(request)
            if not self._clear():
                raise HTTPError(404, _NO_CRASH)
            return None  # 204
        self._check(request)
        size = crash.size(self.crash_file)
        if size is None:
            raise HTTPError(404, _NO_CRASH)
        return Response.from_file(self.crash_file, size, TEXT, _NO_STORE)

    def crash_form(self, request):
        """POST /crash from the dashboard's Clear button (works without JavaScript)."""
        import guard

        guard.check_token(request, self.token, guard.form(request))
        self._clear()
        return Response.redirect("/")

    def _clear(self):
        self.app.crash = None
        return crash.clear(self.crash_file)

    # -- the log -------------------------------------------------------------------

    def logs_page(self, request):
        self._check(request)
        ring = self.ring
        return Response(_PAGE % (self.host, ring.total, self.host, escape(ring.text().decode())),
                        200, HTML, _NO_STORE)

    def api_logs(self, request):
        self._check(request)
        return Response(self.ring.text(), 200, TEXT, _NO_STORE)

    def log_events(self, request):
        """New lines from ?from=POS on (the position the page or the last
        event gave), then as they come. Each event's data starts with the
        position after it, so a reconnecting page asks for what it missed."""
        self._check(request)
        ring = self.ring
        try:
            start = int(request.args.get("from", ring.total))
        except ValueError:
            raise HTTPError(400, "from must be a number")
        self.pos = ring.total  # the publisher goes on from here
        first = [("log", self._event(ring.since(start)))] if start < ring.total else None
        return self.hub.response(first)

    def _event(self, data):
        return "%d\n%s" % (self.ring.total, data.decode())

    async def publish_logs(self):
        """Send new lines to the open log stream, in batches. With no stream
        open it waits on an Event: an unwatched log costs no task switches."""
        hub = self.hub
        while True:
            try:
                await hub.watched()
                self.logged.clear()
                await self.logged.wait()
                await asyncio.sleep_ms(_BATCH_MS)
                if hub.count and self.pos < self.ring.total:
                    data = self.ring.since(self.pos)
                    hub.publish("log", self._event(data))
                    self.pos = self.ring.total
            except MemoryError:  # a full heap skips a batch, never ends the stream
                gc.collect()

    # -- metrics ---------------------------------------------------------------------

    def api_metrics(self, request):
        self._check(request)
        if self.metrics is None:
            gc.collect()  # the first scrape: from .py, compiling metrics.py needs the largest free blocks
        from metrics import CONTENT_TYPE, Metrics

        if self.metrics is None:
            app = self.app
            self.metrics = Metrics(app, self.ring, lambda: app.crash is not None)
        return Response(self.metrics.text(), 200, CONTENT_TYPE)


def install(app):
    monitor = Monitor(app)
    monitor.install()
    app.monitor = monitor
    return monitor
