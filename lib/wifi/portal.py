# The setup portal: with no Wi-Fi credentials, or when joining failed, the
# board opens its own access point and serves a page to choose a network.
# MIT license
#
# The page lists the networks a scan found and takes a name and password,
# and optionally an MQTT broker (docs/home-assistant.md). A valid choice is
# saved to the credentials files (wifi.json, mqtt.json) and the board
# restarts to join it. A DNS responder answers every name with the board's address, so phones
# open the page by themselves. After PORTAL_TIMEOUT_S the board restarts and
# tries the saved network again (the router may simply have been down).

import asyncio

import network
import wifi
from httpd import HTTPError, Response, forget, load, log
from httpd.codec import escape

_log = log.get_logger("portal")

# Where phones and computers check for a captive portal.
_PROBES = ("/generate_204", "/gen_204", "/hotspot-detect.html", "/library/test/success.html",
           "/connecttest.txt", "/ncsi.txt", "/redirect", "/success.txt", "/canonical.html")

# The page fits a 360 px phone screen; its style and script are routes of
# their own (/setup.css, /setup.js), since the server's Content-Security-Policy
# allows no inline ones. Without the script the page still works: each
# network found is a link (/?ssid=NAME) that comes back with the name filled in.
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Pico W setup</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/setup.css"><script src="/setup.js" defer></script>
</head><body>
<h1>Wi-Fi setup</h1>%s
<p>Choose the network this board should join. Tap one found nearby, or type its name.</p>
<form method="post" action="/setup">
<label for="ssid">Network name</label>
<input id="ssid" name="ssid" list="nets" maxlength="32" required autocapitalize="none" autocorrect="off" value="%s">
<datalist id="nets">%s</datalist>
<label for="pw">Password (empty for an open network)</label>
<input id="pw" name="password" type="password" maxlength="64" autocapitalize="none" autocorrect="off">
<label class="show" hidden><input type="checkbox" id="show"> Show password</label>
<details%s><summary>Home Assistant (MQTT broker, optional)</summary>
<p>Left empty, the broker stays as it is: none on a new board.</p>
<label for="mh">Broker address</label>
<input id="mh" name="mqtt_host" maxlength="64" autocapitalize="none" autocorrect="off" placeholder="192.168.1.10" value="%s">
<label for="mp">Port</label>
<input id="mp" name="mqtt_port" inputmode="numeric" maxlength="5" placeholder="1883" value="%s">
<label for="mu">User (empty: no login)</label>
<input id="mu" name="mqtt_user" maxlength="64" autocapitalize="none" autocorrect="off" value="%s">
<label for="mw">Password</label>
<input id="mw" name="mqtt_password" type="password" maxlength="64" autocapitalize="none" autocorrect="off">
</details>
<button>Save and restart</button></form>
<h2>Networks found</h2><ul class="nets">%s</ul>
<p><a href="/?rescan=1">Scan again</a></p></body></html>
"""

_CSS = b"""*{box-sizing:border-box}
body{font:16px/1.4 sans-serif;max-width:28em;margin:0 auto;padding:1em;overflow-wrap:anywhere}
label{display:block;margin:.9em 0 .2em}
input,button{display:block;width:100%;padding:.6em;font-size:1em}
label.show{display:flex;align-items:center;gap:.5em}
label.show[hidden]{display:none}
label.show input{width:auto}
button{margin-top:1.2em}
details{margin-top:1.2em}
ul.nets{list-style:none;padding:0}
ul.nets a{display:block;padding:.7em;margin:.4em 0;border:1px solid #bbb;border-radius:.4em;color:inherit;text-decoration:none}
.err{color:#b00}
"""

_JS = b"""var n=document.getElementById("ssid"),p=document.getElementById("pw"),s=document.getElementById("show");
s.parentNode.hidden=false;
s.onchange=function(){p.type=s.checked?"text":"password"};
document.querySelectorAll("a[data-ssid]").forEach(function(a){a.onclick=function(e){
e.preventDefault();n.value=a.getAttribute("data-ssid");p.focus()}});
"""

_SAVED = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Saved</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/setup.css"></head><body>
<h1>Saved</h1><p>The board restarts now and joins <b>%s</b>%s. Its light blinks slowly
while it joins, then stays on for 2 seconds: joined (ten quick blinks: it could not
join, and this setup network opens again).</p>
<p>Put this phone back on that network, then open the board:</p><ul>
<li><b>http://%s.local/</b> (works on most phones and computers, not on every Android)</li>
<li>or the address your router's list of devices shows for it (under the same name)</li>
<li>or, on a computer with the board on USB, the line <code>connected to ...; got IP ...:
browse to http://ADDRESS/</code> that <code>make repl</code> shows after a reset</li></ul>
</body></html>
"""


def _quote(text):
    """text -> its percent-encoded UTF-8, for a link's query."""
    out = []
    for c in text.encode():
        if 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"-._~":
            out.append(chr(c))
        else:
            out.append("%%%02X" % c)
    return "".join(out)


def start_access_point(config):
    ap = network.WLAN(network.AP_IF)
    ap.config(ssid=config.PORTAL_SSID, key=config.PORTAL_PASSWORD)
    ap.active(True)
    ip = ap.ifconfig()[0]
    _log.warning("setup portal: join Wi-Fi %r and browse to http://%s/", config.PORTAL_SSID, ip)
    return ip


class Portal:
    def __init__(self, app, ip):
        self.app = app
        self.ip = ip
        self.networks = []  # (ssid, rssi, secured), strongest first
        self.saved = None

    def scan(self):
        # Scanning needs the station interface up; it blocks for a second or
        # two, so it happens at start and when the user asks for it.
        try:
            sta = network.WLAN(network.STA_IF)
            sta.active(True)
            found = {}
            for ssid, _bssid, _channel, rssi, security, _hidden in sta.scan():
                try:
                    name = ssid.decode()
                except UnicodeError:
                    continue
                if name and (name not in found or found[name][0] < rssi):
                    found[name] = (rssi, security != 0)
            self.networks = sorted(((n, r, s) for n, (r, s) in found.items()), key=lambda x: -x[1])
        except OSError as e:
            _log.error("scan failed: %s", e)

    def page(self, error=None, ssid="", status=200, form=None):
        items = "".join('<li><a href="/?ssid=%s" data-ssid="%s">%s (%d dBm%s)</a></li>'
                        % (_quote(n), escape(n), escape(n), r, ", secured" if s else ", open")
                        for n, r, s in self.networks) or "<li>none</li>"
        options = "".join('<option value="%s">' % escape(n) for n, _r, _s in self.networks)
        message = '<p class="err">%s</p>' % escape(error) if error else ""
        # A form sent back with an error keeps what was typed, but never a password.
        form = form or {}
        mqtt = [escape(form.get(k, "")) for k in ("mqtt_host", "mqtt_port", "mqtt_user")]
        opened = " open" if any(mqtt) else ""
        return Response.html(_PAGE % (message, escape(ssid), options, opened, mqtt[0], mqtt[1], mqtt[2], items),
                             status)

    def show(self, request):
        args = request.args
        if "rescan" in args:
            self.scan()
        return self.page(ssid=args.get("ssid", ""))  # a tapped network (/?ssid=NAME)

    def save(self, request):
        # (A form posted by a page of another site was refused by the server.)
        try:
            form = request.form()
        except HTTPError:
            return self.page("The form data is not valid text (UTF-8).", "", 400)
        ssid = form.get("ssid", "")
        password = form.get("password", "")
        try:  # (loaded for a post only, and forgotten: the portal's heap is tight from .py)
            mqtt, problem = load("wifi.broker").read(form)
        finally:
            forget("wifi.broker")
        problem = wifi.validate(ssid, password) or problem
        if problem:  # nothing saved, neither file
            return self.page(problem, ssid, 400, form)
        config = self.app.config
        wifi.save_json(config.WIFI_CREDENTIALS_FILE, {"ssid": ssid, "password": password})
        also = ""
        if mqtt:
            wifi.save_json(getattr(config, "MQTT_CREDENTIALS_FILE", "mqtt.json"), mqtt)  # (as app/start.py)
            also = "%s:%d" % (mqtt["host"], mqtt["port"])
            _log.warning("MQTT broker %s saved", also)
            also = ", then connects to the MQTT broker " + also
        _log.warning("credentials for %r saved; restarting", ssid)
        self.saved = ssid
        asyncio.create_task(self._restart(1000))
        return Response.html(_SAVED % (escape(ssid), escape(also), escape(config.HOSTNAME)))

    def to_portal(self, request):
        return Response.redirect("http://%s/" % self.ip, 302)

    async def _restart(self, delay_ms):
        await asyncio.sleep_ms(delay_ms)  # let the answer reach the browser
        self.app.board.reset()

    async def expire(self):
        await asyncio.sleep(self.app.config.PORTAL_TIMEOUT_S)
        _log.warning("setup portal open for %d s without a new network: restarting to try the saved one",
                     self.app.config.PORTAL_TIMEOUT_S)
        self.app.board.reset()


def install(app):
    """Turn the application into the setup portal: access point, setup page,
    captive-portal redirects, DNS responder, time limit."""
    from wifi.dns import CaptiveDNS

    config = app.config
    ip = start_access_point(config)
    portal = Portal(app, ip)
    portal.scan()
    router = app.router
    router.add("/", portal.show)
    router.add("/setup", portal.show)
    router.add("/setup.css", lambda request: Response(_CSS, 200, "text/css; charset=utf-8"))
    router.add("/setup.js", lambda request: Response(_JS, 200, "text/javascript; charset=utf-8"))
    router.add("/setup", portal.save, ("POST",))
    for path in _PROBES:
        router.add(path, portal.to_portal)
    # Any other unknown page sends the browser to the setup page too.
    plain = app.server.error_handler

    def errors(request, status, detail=None, headers=None):
        # A phone checking for a captive portal asks for its own host names
        # (421 from the server's Host check) and pages the portal lacks.
        if (status == 404 or status == 421) and request is not None and request.method in ("GET", "HEAD"):
            return portal.to_portal(request)
        return plain(request, status, detail, headers)

    app.server.error_handler = errors
    app.tasks.append(CaptiveDNS(ip, config.PORTAL_DNS_PORT).run())
    app.tasks.append(portal.expire())
    return portal
