# The application: this firmware's routes and tasks on top of the httpd core.
# MIT license
#
# The core (lib/httpd) knows nothing of the board. This package is the
# composition root: App holds what every part needs (the server, the board,
# Wi-Fi, settings, the error answers and the token's door), and each part
# (dashboard, monitor, access, ota, a user's module) adds its own routes
# through install(app). None of them imports this package: they get all of it
# from the App instance. Building and starting the application runs once:
# that code is app/start.py, imported for build() and main() and forgotten
# after each (httpd.forget), so a serving board does not hold it.

import asyncio
import gc
from time import ticks_add, ticks_diff, ticks_ms

from micropython import const

import board as board_layer
import httpd
import otaboot
from httpd import Response, Router
from httpd.response import TEXT

VERSION = "0.1.0"

_HEALTH = Response(b"ok\n", 200, TEXT, [("Cache-Control", "no-store")])
# How long a measure of the heap in use serves. One takes a collection and a
# walk of the heap (gc.mem_alloc): 2.2 M instructions on the emulated board,
# more than a third of a page view's, so it is not made on a request's path
# (heap_used) nor every second a live page is open.
_HEAP_MS = const(5000)
# A measure asked for by a request waits this long: that request's answer,
# and the others arriving with it, go out first.
_HEAP_DEFER_MS = const(500)


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


class App:
    """Everything the routes need: the server, the board, Wi-Fi, settings."""

    def __init__(self, config, board=None, wifi=None):
        self.config = config
        self.version = VERSION  # (the parts read it here: none imports this package)
        try:  # the version of the image this runs on (tools/firmware.py freezes it)
            from picow_image import VERSION as image  # pyright: ignore[reportMissingImports] (generated)

            httpd.forget("picow_image")  # (its string stays in flash)
        except ImportError:
            image = None  # stock MicroPython (make deploy), or a PC
        # Not VERSION: a version sent over the air runs on the image it found.
        self.image = image
        self.token = getattr(config, "API_TOKEN", None) or None
        self.router = Router()
        self.server = httpd.Server(self.router, config)
        name = getattr(config, "HOSTNAME", None)
        if name:  # the names DHCP and mDNS give the board are its own
            self.server.allowed_hosts = tuple(self.server.allowed_hosts) + (name, name + ".local")
        self.board = board or board_layer.create()
        self.wifi = wifi  # a wifi.Station, or None where there is no Wi-Fi
        self.uptime = Uptime()
        self.reset_cause = self.board.reset_cause()
        self.board_id = self.board.unique_id()
        # Free and used add up to the heap's size: one walk of the heap
        # (gc.mem_alloc) gives both, and a walk is slow on a big heap.
        self.heap_size = gc.mem_free() + gc.mem_alloc()
        self._heap_used = 0
        self._heap_at = ticks_add(ticks_ms(), -_HEAP_MS)  # when the heap was last measured
        self._heap_wanted = None  # an Event while measure_heap_later() runs
        self.tasks = [self.measure_heap_later()]  # coroutines run beside the server
        self.crash = None  # the last crash record's reason and uptime (lib/monitor/)
        self.monitor = None  # logs, crash record, history, metrics (lib/monitor/)
        self.mode: "str | None" = None  # "portal" while the setup portal runs (see build)
        self.mqtt = None  # Home Assistant over MQTT (lib/mqtt/): its Node while MQTT_HOST is set
        # set_led(on), the LED's one door for MQTT and your modules, is the
        # dashboard's (its streams and Home Assistant then see the change).
        # status()'s dicts with their fixed values; it sets the rest in place
        # wifi_chip: True, False (a Pico W whose wireless chip does not answer:
        # no Wi-Fi, and "led" is only the state last asked for), None (a port
        # without such a chip). name and chip: "Raspberry Pi Pico 2 W",
        # "RP2350". image: the image's version (None without one).
        self._status = {"version": VERSION, "image": self.image, "http": {},
                        "board": {"name": self.board.name, "chip": self.board.chip, "id": self.board_id,
                                  "reset_cause": self.reset_cause, "wifi_chip": self.board.wifi_chip}}
        self.router.add("/health", lambda request: _HEALTH)
        self.router.add("/api/status", lambda request: Response.json(self.status()))

    def server_listening(self):
        """The watchdog's check of the accept task."""
        return self.server.listening

    def heap_used(self, now=False):
        """Bytes of heap in use after a collection (so not counting garbage),
        as measured up to _HEAP_MS ago: an older measure is returned while
        measure_heap_later() makes a new one. Measured at once if `now`, the
        first time, or when that task does not run (an App not served)."""
        if now or ticks_diff(ticks_ms(), self._heap_at) >= _HEAP_MS:
            if now or self._heap_wanted is None or not self._heap_used:
                gc.collect()
                self._heap_used = gc.mem_alloc()
                self._heap_at = ticks_ms()
            else:
                self._heap_wanted.set()
        return self._heap_used

    async def measure_heap_later(self):
        """The task that measures the heap when heap_used() found its figure
        old, shortly after: so an idle board measures nothing."""
        wanted = self._heap_wanted = asyncio.Event()
        while True:
            await wanted.wait()
            wanted.clear()
            await asyncio.sleep_ms(_HEAP_DEFER_MS)
            self.heap_used(True)

    def status(self):
        """What /api/status reports. The same dicts every time, refreshed in
        place (the first call adds the keys), so a status request leaves no
        garbage but its JSON text: serialise the result, do not keep it."""
        st = self._status
        used = self.heap_used()
        st["uptime_s"] = self.uptime.seconds()
        st["heap_free"] = self.heap_size - used
        st["heap_used"] = used
        board = self.board
        b = st["board"]
        b["led"] = board.led
        b["temperature_c"] = round(board.temperature_c(), 1)
        st["wifi"] = self.wifi.status() if self.wifi else None
        st["crash"] = self.crash
        st["mqtt"] = self.mqtt.status() if self.mqtt else None
        st["update"] = otaboot.report()  # the version running, the last rollback (lib/otaboot/__init__.py)
        s = self.server.stats
        h = st["http"]
        h["accepted"] = s.accepted
        h["active"] = self.server.active
        h["requests"] = s.requests
        h["bad_requests"] = s.bad_requests
        h["timed_out"] = s.timed_out
        h["idle_closed"] = s.idle_closed
        h["dropped"] = s.dropped
        h["rejected"] = s.rejected
        h["evicted"] = s.evicted
        h["errors"] = s.errors
        return st


    def check_token(self, request, form=None):
        """HTTPError 401 (429 after repeated wrong guesses) unless the request
        carries the API token (a header, form field `token` of `form`, or a
        login cookie); nothing to check, and lib/access/ not loaded, without
        API_TOKEN."""
        if self.token:
            import access

            access.require(request, self.config, form)

    def error_response(self, request, status, detail=None, headers=None):
        """The server's error_handler (the dashboard sets it; in safe mode the
        update endpoint): JSON under /api/, plain text elsewhere. `request` is
        None, or has path None, when the request line was unreadable."""
        path = request.path if request is not None else None
        if path and path.startswith("/api/"):
            from httpd.status import reason

            return Response.json({"error": detail or reason(status), "status": status}, status, headers)
        return Response.error(status, detail, headers)


def _once(name, *args):
    """app/start.py's function `name`, called with App and args; then that
    module is forgotten: building runs once, and its code need not stay on
    the heap."""
    from app import start

    try:
        return getattr(start, name)(App, *args)
    finally:
        httpd.forget("app.start")


def build(config, board=None, wifi=None, mode=None):
    """The application with every part installed. mode: boot.py's, "portal"
    while the setup portal runs (which leaves out what only a joined board
    uses). See app/start.py."""
    return _once("build", config, board, wifi, mode)


def main(tasks=()):
    """Build the application for the mode boot.py chose and serve until Ctrl-C.
    tasks: more coroutines to run beside the server (the test images' SLIP
    link to the host)."""
    app, crashed = _once("start", tasks)  # (app/start.py)
    try:
        httpd.run(app.server, *app.tasks)
    except KeyboardInterrupt:
        try:
            # A started watchdog cannot be stopped by MicroPython; without this the
            # REPL the user just reached would reset within seconds.
            app.board.stop_watchdog()
            from httpd import log

            log.get_logger("app").info("stopped by Ctrl-C")
        except MemoryError:
            # The unix port raises Ctrl-C at once from any C code: one that lands
            # in a garbage collection leaves the heap locked, and nothing can be
            # allocated any more. Stop without the line. (A board's Ctrl-C
            # waits for the interpreter, and its heap is never left locked.)
            pass
    except Exception as e:  # kept on flash, shown after the next boot
        import settings

        if crashed is not None and settings.ordinary(e) is None:  # a busy port is no crash
            crashed("uncaught %s: %s" % (type(e).__name__, e), e)
        raise
