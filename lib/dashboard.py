# The dashboard people browse to, and the board's JSON API.
# MIT license
#
#   GET  /             the page, rendered with current values (works without JS)
#   POST /led          form action=on|off|toggle -> 303 See Other, Location: /
#   GET  /static/...   www/static/ (app.css, app.js), .gz copies when built
#   GET  /api/led      {"on": bool}
#   POST|PUT /api/led  {"on": bool} or {"toggle": true} -> {"on": bool}
#   GET  /api/events   Server-Sent Events: "status" (the /api/status JSON)
#
# State changes (POST/PUT) are refused when cross-site (403, by the server
# before routing: httpd/origin.py) and, when API_TOKEN is set, without the
# token (401): see guard.py, which also makes errors under /api/ JSON.
#
# The page is one bytes template filled with % : a request allocates the page
# (under 1 KB) and a few short strings, nothing else. Styles and script are
# static files, cached by the browser (ETag) and sent gzip-compressed.

import asyncio
import gc
import json
import sys

import guard
from httpd import HTTPError, Response
from httpd.codec import escape
from httpd.response import HTML
from httpd.sse import EventHub
from httpd.static import StaticFiles

_NO_STORE = [("Cache-Control", "no-store")]
_SEE_INDEX = Response.redirect("/")  # the answer to every accepted form post
_DASH = "&mdash;"
_ACTIONS = ("on", "off", "toggle")
_BAD_LED = 'send {"on": true|false} or {"toggle": true}'

# Kept compact on purpose: every byte is sent on every page load. Values in
# order: host name, body class, retry ms, backoff ms, host name, crash notice,
# LED, token field, temperature, uptime, free heap, Wi-Fi signal, IP address,
# requests, connections, firmware, version, history. One literal (the pieces
# are joined by the compiler): frozen, it stays in flash; joined at import it
# was an 865-byte copy on the heap.
_PAGE = (
    b'<!doctype html><html lang=en><meta charset=utf-8>'
    b'<meta name=viewport content="width=device-width,initial-scale=1">'
    b'<title>%s</title><link rel=icon href="data:,">'
    b'<link rel=stylesheet href=/static/app.css>'
    b'<body class="%s" data-retry=%d data-backoff=%d><h1>%s</h1>%s'
    b'<section class=led><i id=d></i>LED <b id=l>%s</b>'
    b'<form method=post action=/led id=f>'
    b'<button name=action value=on>On</button>'
    b'<button name=action value=off>Off</button>'
    b'<button name=action value=toggle>Toggle</button>%s</form></section>'
    b'<dl><dt>Temperature<dd id=t>%s'
    b'<dt>Uptime<dd id=u>%s'
    b'<dt>Free heap<dd id=m>%s'
    b'<dt>Wi-Fi signal<dd id=w>%s'
    b'<dt>IP address<dd id=i>%s'
    b'<dt>Requests<dd id=r>%d'
    b'<dt>Connections<dd id=c>%s'
    b'<dt>Firmware<dd>%s'
    b'<dt>Version<dd>%s</dl>'
    b'<p id=s>Reload the page for new values.</p>%s'
    b'<p><a href=/logs>Log</a> &middot; <a href=/metrics>Metrics</a></p>'
    b'<script src=/static/app.js defer></script>\n'
)
# The last crash, until cleared: reason, uptime then, details, a Clear button.
_CRASH = ('<div class=crash id=x>Last crash: %s (after %s of uptime). <a href=/api/crash>Details</a>'
          '<form method=post action=/crash>%s<button>Clear</button></form></div>')
# The charts of lib/history.py, and what they span.
_HISTORY = b'<section class=hist><h2>Last %s</h2>%s</section>'

# With API_TOKEN set: the token typed into the form, or a login that keeps it
# (lib/login.py); once logged in, the form needs neither.
_TOKEN_FIELD = (
    '<input type=password name=token placeholder=Token aria-label="API token" '
    'autocomplete=current-password> <a href=/login>Log in</a>'
)
_LOGGED_IN = '<button formaction=/logout>Log out</button>'


def uptime_text(s):
    """'3d 04:05:06', or '04:05:06' in the first day (app.js formats alike)."""
    days = s // 86400
    s %= 86400
    hms = "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)
    return "%dd %s" % (days, hms) if days else hms


def firmware_text():
    """'MicroPython v1.28.0 on Raspberry Pi Pico W with RP2040', or '... on
    unix'. From sys.implementation: sys.version names a build by its date or
    git hash, and the unix port's _machine is its compiler ('linux [GCC 14.2.1]
    version'), which tells a reader nothing."""
    impl = sys.implementation
    v = impl.version
    text = "MicroPython v%d.%d.%d" % (v[0], v[1], v[2])
    if len(v) > 3 and v[3]:  # a preview or release candidate
        text += "-" + v[3]
    machine = getattr(impl, "_machine", "")
    if not machine or "[" in machine:  # a compiler, not a board: a unix (or windows) build
        machine = "windows" if sys.platform == "win32" else "unix"
    return text + " on " + machine


class Dashboard:
    def __init__(self, app):
        config = app.config
        self.app = app
        self.token = config.API_TOKEN or None
        heartbeat = config.EVENT_HEARTBEAT_MS
        handler_timeout = app.server.handler_timeout_ms
        if heartbeat >= handler_timeout:
            # A stream silent for handler_timeout_ms is cut by the server.
            app.server.log.warning("EVENT_HEARTBEAT_MS must be below HANDLER_TIMEOUT_MS; using %d",
                                   handler_timeout // 2)
            heartbeat = handler_timeout // 2
        self.hub = EventHub(config.MAX_EVENT_STREAMS, heartbeat)
        self.interval = max(100, config.STATUS_INTERVAL_MS)
        try:  # the firmware image's web assets, frozen into flash
            from www_data import FILES as frozen  # pyright: ignore[reportMissingImports]
        except ImportError:
            frozen = None
        self.files = StaticFiles(config.WWW_ROOT + "/static", bundle=frozen)
        # Parts of the page that never change, escaped once.
        self.firmware = escape(firmware_text())
        self.version = escape(app.version)
        self.token_field = _TOKEN_FIELD if self.token else ""
        self.host = escape(config.HOSTNAME or "Pico W")

    def install(self):
        app = self.app
        add = app.router.add
        add("/", self.index)
        add("/led", self.led_form, ("POST",))
        add("/static/<path:name>", self.files.handler)
        add("/api/led", self.api_led, ("GET", "POST", "PUT"))
        add("/api/events", self.events)
        app.server.error_handler = guard.error_response
        app.tasks.append(self.publish_status())

    # -- the page -----------------------------------------------------------------

    def index(self, request):
        app = self.app
        board = app.board
        stats = app.server.stats
        on = board.led
        signal = ip = _DASH
        wifi = app.wifi.status() if app.wifi else None
        gc.collect()  # a few ms on a Pico W; makes "free heap" the real figure
        if wifi:
            if wifi.get("connected"):
                signal = "%d dBm, %s" % (wifi.get("rssi") or 0, escape(wifi.get("ssid") or ""))
            else:
                signal = "not connected"
            ip = escape(wifi.get("ip") or _DASH)
        token_field = self.token_field
        if self.token:
            import auth  # (only with a token: lib/auth.py)

            if auth.logged_in(request):
                token_field = _LOGGED_IN
        body = _PAGE % (
            self.host,
            "on" if on else "off",
            self.hub.retry_ms,
            self.hub.backoff_ms,
            self.host,
            self.crash_notice(token_field),
            "On" if on else "Off",
            token_field,
            "%.1f &deg;C" % board.temperature_c(),
            uptime_text(app.uptime.seconds()),
            "%d KB" % (gc.mem_free() // 1024),
            signal,
            ip,
            stats.requests,
            "%d open, %d total" % (app.server.active, stats.accepted),
            self.firmware,
            self.version,
            self.history_section(),
        )
        return Response(body, 200, HTML, _NO_STORE)

    def crash_notice(self, token_field):
        c = self.app.crash
        if c is None:
            return ""
        up = c.get("uptime_s")
        # (once logged in, no token to type here either: the Log out button is
        # the LED form's)
        field = "" if token_field is _LOGGED_IN else token_field
        return _CRASH % (escape(c["reason"]), uptime_text(up) if up is not None else "?", field)

    def history_section(self):
        monitor = self.app.monitor
        h = monitor.history if monitor is not None else None
        if h is None:
            return b""
        minutes = h.samples * h.interval_ms // 60000
        span = "hour" if minutes == 60 else "%d min" % minutes if minutes else "%d s" % (h.samples * h.interval_ms // 1000)
        return _HISTORY % (span, h.charts())

    def led_form(self, request):
        """POST /led from the page's form: change the LED, then back to /."""
        form = guard.form(request)
        guard.check_token(request, self.token, form)
        action = form.get("action")
        if action not in _ACTIONS:
            raise HTTPError(400, "action must be on, off or toggle")
        self.set_led(not self.app.board.led if action == "toggle" else action == "on")
        return _SEE_INDEX

    # -- JSON API -------------------------------------------------------------------

    def api_led(self, request):
        if request.method in ("GET", "HEAD"):
            return Response.json({"on": self.app.board.led}, 200, _NO_STORE)
        guard.check_token(request, self.token)
        data = request.json()  # 415 unless sent as application/json
        if not isinstance(data, dict) or len(data) != 1:
            raise HTTPError(400, _BAD_LED)
        if data.get("toggle") is True:
            on = not self.app.board.led
        elif "on" in data and isinstance(data["on"], bool):
            on = data["on"]
        else:
            raise HTTPError(400, _BAD_LED)
        self.set_led(on)
        return Response.json({"on": self.app.board.led}, 200, _NO_STORE)

    def events(self, request):
        return self.hub.response([("status", self.status_json())])

    # -- the state -------------------------------------------------------------------

    def set_led(self, on):
        self.app.board.set_led(on)
        if self.hub.count:
            self.hub.publish("status", self.status_json())

    def status_json(self):
        gc.collect()  # so that heap_free means what is free, not what is not yet collected
        return json.dumps(self.app.status())

    async def publish_status(self):
        """Push the status to open streams every `interval` ms. With no stream
        open it waits on an Event, so an idle board does no work at all."""
        hub = self.hub
        while True:
            try:
                await hub.watched()
                await asyncio.sleep_ms(self.interval)
                if hub.count:
                    hub.publish("status", self.status_json())
            except MemoryError:  # a full heap skips an update, never ends the updates
                gc.collect()


def install(app):
    dashboard = Dashboard(app)
    dashboard.install()
    app.dashboard = dashboard
    return dashboard
