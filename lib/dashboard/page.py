# The dashboard's page (GET /), its form (POST /led) and the history charts
# it shows: imported at the first of those requests (dashboard/__init__.py's
# page), so a board whose page is never opened, or one answering only the
# API, keeps this code off the heap.
# MIT license
#
# The page is a bytes template filled with % and sent with the styles and
# the script between its pieces: a request allocates the filled template
# (about 1.5 KB) and a few short strings, nothing else. The styles and the
# script (www/static/app.css, app.js) are inline, allowed by their hashes in
# the page's Content-Security-Policy: a page view is one request, and the
# live values follow on the page's own connection (or, in a crowd, on a
# connection of their own a few seconds later). The board has 5 connections
# for every visitor; a stylesheet and a script of their own made each
# browser open more of them, or wait for one (docs/dashboard.md, "A room
# full of browsers").

import sys

from httpd import HTTPError, Response
from httpd.codec import escape
from httpd.response import HTML
from micropython import const

_NO_STORE = [("Cache-Control", "no-store")]
_DASH = "&mdash;"
_ACTIONS = ("on", "off", "toggle")

# Kept compact on purpose: every byte is sent on every page load. The page is
# sent in five pieces: _TOP (host name), the styles, _BODY, the script, _END;
# the styles and the script are www/static/app.css and app.js, frozen in
# flash on the image and sent from there. _BODY's values in order: body class,
# retry ms, first poll ms, host name, crash notice, LED, token field,
# temperature, uptime, free heap, Wi-Fi signal, IP address, requests,
# connections, the MQTT row (none without a broker), firmware, version,
# history. Literals (the pieces are joined by the compiler): frozen, they
# stay in flash.
_TOP = (
    b'<!doctype html><html lang=en><meta charset=utf-8>'
    b'<meta name=viewport content="width=device-width,initial-scale=1">'
    b'<title>%s</title><link rel=icon href="data:,">'
    b'<style>'
)
_BODY = (
    b'</style>'
    b'<body class="%s" data-retry=%d data-poll=%d><h1>%s</h1>%s'
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
    b'<dt>Connections<dd id=c>%s%s'
    b'<dt>Firmware<dd>%s'
    b'<dt>Version<dd>%s</dl>'
    b'<p id=s>Reload the page for new values.</p>%s'
    b'<p><a href=/logs>Log</a> &middot; <a href=/metrics>Metrics</a></p>'
)
_SCRIPT = b'<script>'
_END = b'</script>\n'
# Where writes may block (stock lwIP: httpd/aio.py's SMALL_WRITES) the
# script is a file of its own, gzip-compressed and cached: four clients that
# never read a 7 KB page filled lwIP's memory and stopped the board.
_SCRIPT_FILE = b'<script src=/static/app.js defer></script>\n'
# The MQTT link, only while a broker is named (app.js follows it).
_MQTT = '<dt>MQTT<dd id=q>%s'
# The last crash, until cleared: reason, uptime then, details, a Clear button.
_CRASH = ('<div class=crash id=x>Last crash: %s (after %s of uptime). <a href=/api/crash>Details</a>'
          '<form method=post action=/crash>%s<button>Clear</button></form></div>')
# The charts of monitor/history.py, and what they span.
_HISTORY = b'<section class=hist><h2>Last %s</h2>%s</section>'

# With API_TOKEN set: the token typed into the form, or a login that keeps it
# (access/login.py); once logged in, the form needs neither.
_TOKEN_FIELD = (
    '<input type=password name=token placeholder=Token aria-label="API token" '
    'autocomplete=current-password> <a href=/login>Log in</a>'
)
_LOGGED_IN = '<button formaction=/logout>Log out</button>'

# The core's policy for HTML pages (httpd/response.py), and the inline styles
# and script by their hashes.
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'sha256-%s'; "
        "script-src 'self' 'sha256-%s'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

_fixed = None  # (host, firmware, version, styles, script, headers, gzip headers): made at the first view
_GZIP = [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]


def _inline(files):
    """www/static/app.css and app.js, carried inline by the page (frozen in
    the image: bytes in flash, no copy on the heap), each as a pair (plain,
    deflate data of its .gz or None), and the page's headers with their
    hashes in the Content-Security-Policy, plain and gzip-encoded (None if
    the page cannot be sent so)."""
    from httpd.aio import SMALL_WRITES
    from httpd.gzjoin import deflated

    css = files.read("app.css") or b""
    css = (css, deflated(files.read("app.css", gz=True)))
    if SMALL_WRITES:
        js = None
        csp = _CSP.replace("script-src 'self' 'sha256-%s'; ", "") % _digest(css[0])
    else:
        js = files.read("app.js") or b""
        js = (js, deflated(files.read("app.js", gz=True)))
        csp = _CSP % (_digest(css[0]), _digest(js[0]))
    headers = _NO_STORE + [("Content-Security-Policy", csp)]
    joinable = css[1] is not None and (js is None or js[1] is not None)
    if joinable:
        headers.append(_GZIP[1])  # (Vary: the plain page too)
    return css, js, headers, headers + _GZIP[:1] if joinable else None


def _digest(data):
    """The SHA-256 of data, base64."""
    import binascii
    import hashlib

    return binascii.b2a_base64(hashlib.sha256(data).digest())[:-1].decode()


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


def index(dashboard, request):
    """GET /: the page with current values (dashboard/__init__.py's Dashboard)."""
    global _fixed
    app = dashboard.app
    if _fixed is None:
        _fixed = (escape(app.config.HOSTNAME or "Pico W"), escape(firmware_text()), escape(app.version)) \
            + _inline(dashboard.files)
    host, firmware, version, css, js, headers, gz_headers = _fixed
    board = app.board
    stats = app.server.stats
    on = board.led
    signal = ip = _DASH
    wifi = app.wifi.status() if app.wifi else None
    if wifi:
        if wifi.get("connected"):
            signal = "%d dBm, %s" % (wifi.get("rssi") or 0, escape(wifi.get("ssid") or ""))
        else:
            signal = "not connected"
        ip = escape(wifi.get("ip") or _DASH)
    token_field = ""
    if app.token:
        from access.token import logged_in  # (only with a token)

        token_field = _LOGGED_IN if logged_in(request) else _TOKEN_FIELD
    hub = dashboard.hub
    # Others connected too (a crowd may be arriving: lwIP drops the SYNs
    # the server never sees): the script asks for live values only after
    # the polling interval (these are fresh), and this connection is not
    # kept, so the next browser gets it. Alone, it opens its stream at once.
    poll = hub.next_poll_ms() if app.server.open > 1 or hub.polls() else 0
    body = _BODY % (
        "on" if on else "off",
        hub.retry_ms,
        poll,
        host,
        _crash_notice(app.crash, token_field),
        "On" if on else "Off",
        token_field,
        "%.1f &deg;C" % board.temperature_c(),
        uptime_text(app.uptime.seconds()),
        "%d KB" % ((app.heap_size - app.heap_used()) // 1024),
        signal,
        ip,
        stats.requests,
        "%d open, %d total" % (app.server.active, stats.accepted),
        _MQTT % escape(app.mqtt.summary()) if app.mqtt else "",
        firmware,
        version,
        _history_section(app.monitor),
    )
    top = _TOP % host
    if gz_headers is not None and "gzip" in request.header_value("accept-encoding", ""):
        # About 4.5 KB on the wire instead of 7.7: in a crowd each page
        # frees its connection sooner (docs/dashboard.md).
        from httpd.gzjoin import join

        if js is None:
            pieces = join((top, css, body, _SCRIPT_FILE))
        else:
            pieces = join((top, css, body, _SCRIPT, js, _END))
        r = Response(pieces, 200, HTML, gz_headers)
    elif js is None:
        r = Response((top, css[0], body, _SCRIPT_FILE), 200, HTML, headers)
    else:
        r = Response((top, css[0], body, _SCRIPT, js[0], _END), 200, HTML, headers)
    r.close = poll > 0
    return r


def led_form(dashboard, request):
    """POST /led from the page's form: change the LED, then back to /."""
    from access import form_fields

    form = form_fields(request)
    dashboard.app.check_token(request, form)
    action = form.get("action")
    if action not in _ACTIONS:
        raise HTTPError(400, "action must be on, off or toggle")
    dashboard.set_led(not dashboard.app.board.led if action == "toggle" else action == "on")
    return Response.redirect("/")


def handle(dashboard, request):
    """dashboard/__init__.py's page(): the page, or its form's post."""
    return (led_form if request.method == "POST" else index)(dashboard, request)


def _crash_notice(c, token_field):
    if c is None:
        return ""
    up = c.get("uptime_s")
    # (once logged in, no token to type here either: the Log out button is
    # the LED form's)
    field = "" if token_field is _LOGGED_IN else token_field
    return _CRASH % (escape(c["reason"]), uptime_text(up) if up is not None else "?", field)


def _history_section(monitor):
    h = monitor.history if monitor is not None else None
    if h is None:
        return b""
    minutes = h.samples * h.interval_ms // 60000
    span = "hour" if minutes == 60 else "%d min" % minutes if minutes else "%d s" % (h.samples * h.interval_ms // 1000)
    return _HISTORY % (span, history_charts(h))


def history_charts(h):
    """The charts of History h, drawn once per sample whatever the number of
    views: kept in h.svg, which the next sample clears."""
    if h.svg is None:
        h.svg = charts(h)
    return h.svg


# -- the history charts (monitor/history.py keeps the samples) -------------------------

_NONE = const(-32768)  # no sample (monitor/history.py's)
_H = const(24)  # chart height in viewBox units (y resolution)

# (title, unit, divisor of the stored number): temperature in tenths of a degree
_SERIES = (("Temperature", " &deg;C", 10), ("Free heap", " KB", 1),
           ("Wi-Fi signal", " dBm", 1), ("Requests", "/min", 1))


def series(h, k):
    """Series k (0..3) of History h oldest first, as a list of numbers or None."""
    data = (h.temp, h.heap, h.rssi, h.rate)[k]
    n = min(h.count, h.samples)
    out = []
    for j in range(h.count - n, h.count):
        v = data[j % h.samples]
        out.append(None if v == _NONE else v)
    return out


def charts(h):
    """The four charts of History h as one HTML fragment (bytes)."""
    return "".join([_chart(h, k) for k in range(4)]).encode()


def _chart(h, k):
    title, unit, div = _SERIES[k]
    values = series(h, k)
    known = [v for v in values if v is not None]
    if not known:
        return "<div><p>%s<b>&mdash;</b></p></div>" % title
    lo = min(known)
    hi = max(known)
    last = known[-1]
    if div == 10:
        text = "%.1f%s" % (last / 10, unit)
    else:
        text = "%d%s" % (last, unit)
    span = hi - lo or 1
    # x: one unit per sample slot, the newest at the right edge.
    x0 = h.samples - len(values)
    # Only the points where the line bends: a flat stretch is one segment
    # (fewer bytes per page); a gap (no sample) starts a new subpath.
    path = []
    prev = None  # (x, y) of the last point seen on the current subpath
    drawn = False  # whether prev has been written
    move = "M"
    for j, v in enumerate(values):
        if v is None:
            if prev is not None and not drawn:
                path.append(" %d %d" % prev)
            prev = None
            move = "M"
            continue
        y = _H - 2 - (v - lo) * (_H - 4) // span if hi != lo else _H // 2
        if prev is not None and prev[1] == y:
            prev = (x0 + j, y)
            drawn = False
            continue
        if prev is not None and not drawn:
            path.append(" %d %d" % prev)
        path.append("%s%d %d" % (move, x0 + j, y))
        move = "L" if move == "M" else " "
        prev = (x0 + j, y)
        drawn = True
    if prev is not None and not drawn:
        path.append(" %d %d" % prev)
    if len(path) == 1:  # one sample: a dot-sized line
        path.append("h-1")
    return ('<div><p>%s<b>%s</b></p><svg viewBox="0 0 %d %d" preserveAspectRatio=none>'
            '<path d="%s"/></svg></div>' % (title, text, h.samples - 1, _H, "".join(path)))
