# The routes of monitor/__init__.py: the log page and text, the live log
# stream, the metrics and the crash record. Imported at the first request to
# one of them (Monitor.route loads it), so a board that nobody asks for
# its log, metrics or crash record holds only the ring, the publisher and
# the code that writes a record.
# MIT license
#
# All of it tells a stranger about the board, so with API_TOKEN set every
# route needs the token (app.check_token), and none sends CORS headers:
# another site's page cannot read them through a visitor's browser. Clearing
# is a state change: guarded like the LED (same origin, then the token).

import gc

from httpd import HTTPError, Response
from httpd.codec import escape
from httpd.response import HTML, TEXT

from monitor import crash

_NO_STORE = [("Cache-Control", "no-store")]
_NO_CRASH = "no crash recorded"

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


# -- the crash record ------------------------------------------------------------


def api_crash(m, request):
    """GET /api/crash: the record as it is on flash; DELETE: clear it (204)."""
    m.app.check_token(request)
    if request.method == "DELETE":
        if not _clear(m):
            raise HTTPError(404, _NO_CRASH)
        return None  # 204
    size = crash.size(m.crash_file)
    if size is None:
        raise HTTPError(404, _NO_CRASH)
    return Response.from_file(m.crash_file, size, TEXT, _NO_STORE)


def crash_form(m, request):
    """POST /crash from the dashboard's Clear button (works without JavaScript)."""
    from access import form_fields

    m.app.check_token(request, form_fields(request))
    _clear(m)
    return Response.redirect("/")


def _clear(m):
    m.app.crash = None
    return crash.clear(m.crash_file)


# -- the log -------------------------------------------------------------------


def logs_page(m, request):
    m.app.check_token(request)
    ring = m.ring
    host = escape(m.app.config.HOSTNAME)
    return Response(_PAGE % (host, ring.total, host, escape(ring.text().decode())), 200, HTML, _NO_STORE)


def api_logs(m, request):
    m.app.check_token(request)
    return Response(m.ring.text(), 200, TEXT, _NO_STORE)


def log_events(m, request):
    """New lines from ?from=POS on (the position the page or the last event
    gave), then as they come (Monitor's publisher). Each event's data
    starts with the position after it, so a reconnecting page asks for what
    it missed."""
    m.app.check_token(request)
    ring = m.ring
    try:
        start = int(request.args.get("from", ring.total))
    except ValueError:
        raise HTTPError(400, "from must be a number")
    m.pos = ring.total  # the publisher goes on from here
    first = [("log", m.event(ring.since(start)))] if start < ring.total else None
    return m.hub.response(first)


# -- metrics ---------------------------------------------------------------------


def api_metrics(m, request):
    m.app.check_token(request)
    if m.metrics is None:
        gc.collect()  # the first scrape: from .py, compiling metrics.py needs the largest free blocks
    from monitor.metrics import CONTENT_TYPE, Metrics

    if m.metrics is None:
        app = m.app
        m.metrics = Metrics(app, m.ring, lambda: app.crash is not None)
    return Response(m.metrics.text(), 200, CONTENT_TYPE)


# Monitor.route sends these paths here.
_ROUTES = {"/logs": logs_page, "/api/logs": api_logs, "/api/logs/events": log_events,
           "/metrics": api_metrics, "/api/crash": api_crash, "/crash": crash_form}


def handle(m, request):
    """The answer to a request for one of the paths above (Monitor m)."""
    return _ROUTES[request.path](m, request)
