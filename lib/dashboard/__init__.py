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
# token (401): app.check_token (lib/access/, loaded only with a token); errors
# under /api/ are JSON (App.error_response).
#
# The page itself (GET /) is dashboard/page.py, loaded at the first view.

import asyncio
import json
from time import ticks_diff, ticks_ms

from micropython import const

from httpd import HTTPError, Response, load
from httpd.sse import EventHub
from httpd.static import StaticFiles

_NO_STORE = [("Cache-Control", "no-store")]
_BAD_LED = 'send {"on": true|false} or {"toggle": true}'
# A status this young answers a poll or a new stream as it is: a crowd's
# polls share the work (about 0.3 M instructions on the emulated board).
_SHARED_MS = const(1000)


class Dashboard:
    def __init__(self, app):
        config = app.config
        self.app = app
        heartbeat = config.EVENT_HEARTBEAT_MS
        handler_timeout = app.server.handler_timeout_ms
        if heartbeat >= handler_timeout:
            # A stream silent for handler_timeout_ms is cut by the server.
            app.server.log.warning("EVENT_HEARTBEAT_MS must be below HANDLER_TIMEOUT_MS; using %d",
                                   handler_timeout // 2)
            heartbeat = handler_timeout // 2
        self.interval = max(100, config.STATUS_INTERVAL_MS)
        # Pages beyond MAX_EVENT_STREAMS poll: as often as the streams get
        # the status, less often the more pages there are (httpd/sse.py).
        server = app.server
        self.hub = EventHub(config.MAX_EVENT_STREAMS, heartbeat, poll_ms=self.interval,
                            crowded=lambda: server.crowded)
        try:  # the firmware image's web assets, frozen into flash
            from www_data import FILES as frozen  # pyright: ignore[reportMissingImports]
        except ImportError:
            frozen = None
        self.files = StaticFiles(config.WWW_ROOT + "/static", bundle=frozen)
        self._json = None  # the last status_json() and when it was made
        self._json_at = 0

    def install(self):
        app = self.app
        add = app.router.add
        add("/", self.page)
        add("/led", self.page, ("POST",))
        add("/static/<path:name>", self.files.handler)
        add("/api/led", self.api_led, ("GET", "POST", "PUT"))
        add("/api/events", self.events)
        app.server.error_handler = app.error_response
        app.set_led = self.set_led  # pyright: ignore[reportAttributeAccessIssue] (the LED's one door: App's comment)
        app.tasks.append(self.hub.feed(self.publish_status))

    # -- the page -----------------------------------------------------------------

    def page(self, request):
        """GET / and the page's form (POST /led): dashboard/page.py's, loaded
        at the first of them."""
        return load("dashboard.page").handle(self, request)

    # -- JSON API -------------------------------------------------------------------

    def api_led(self, request):
        if request.method in ("GET", "HEAD"):
            return Response.json({"on": self.app.board.led}, 200, _NO_STORE)
        self.app.check_token(request)
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
        return self.hub.response([("status", self.status_json(_SHARED_MS))])

    # -- the state -------------------------------------------------------------------

    def set_led(self, on):
        """Change the LED (from the page, the API or Home Assistant): the open
        streams and Home Assistant see it now."""
        self.app.board.set_led(on)
        if self.hub.count:
            self.hub.publish("status", self.status_json())
        if self.app.mqtt:
            self.app.mqtt.changed("led")

    def status_json(self, shared_ms=0):
        """The /api/status JSON; with shared_ms, the last one if it was made
        within that many ms (polls in a crowd: see _SHARED_MS)."""
        now = ticks_ms()
        if shared_ms and self._json is not None and ticks_diff(now, self._json_at) < shared_ms:
            return self._json
        self._json = json.dumps(self.app.status())
        self._json_at = now
        return self._json

    async def publish_status(self):
        """One step of the status feed (hub.feed runs it while a stream is
        open): wait `interval` ms, then push the status to the streams."""
        await asyncio.sleep_ms(self.interval)
        if self.hub.count:
            self.hub.publish("status", self.status_json())


def install(app):
    dashboard = Dashboard(app)
    dashboard.install()
    return dashboard
