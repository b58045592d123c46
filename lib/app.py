# The application: this firmware's routes and tasks on top of the httpd core.
# MIT license
#
# The core (lib/httpd) knows nothing of the board. This module wires the parts
# together: the board layer, the dashboard and its API, Wi-Fi status; each
# part adds its own routes through install().

import gc
from time import ticks_diff, ticks_ms

import board as board_layer
import httpd
import otaboot
from httpd import Response, Router
from httpd.response import TEXT

VERSION = "0.1.0"

_HEALTH = Response(b"ok\n", 200, TEXT, [("Cache-Control", "no-store")])


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
        self.version = VERSION  # (the parts read it here: none imports this module back)
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
        self.tasks = []  # coroutines run beside the server
        self.crash = None  # the last crash record's reason and uptime (lib/monitor.py)
        self.monitor = None  # logs, crash record, history, metrics (lib/monitor.py)
        self.mode: "str | None" = None  # "portal" while the setup portal runs (see build)
        # status()'s dicts with their fixed values; it sets the rest in place
        # wifi_chip: True, False (a Pico W whose wireless chip does not answer:
        # no Wi-Fi, and "led" is only the state last asked for), None (a port
        # without such a chip).
        self._status = {"version": VERSION, "http": {},
                        "board": {"name": self.board.name, "id": self.board_id, "reset_cause": self.reset_cause,
                                  "wifi_chip": self.board.wifi_chip}}
        self.router.add("/health", lambda request: _HEALTH)
        self.router.add("/api/status", lambda request: Response.json(self.status()))

    def status(self):
        """What /api/status reports. The same dicts every time, refreshed in
        place (the first call adds the keys), so a status request leaves no
        garbage but its JSON text: serialise the result, do not keep it."""
        st = self._status
        used = gc.mem_alloc()
        st["uptime_s"] = self.uptime.seconds()
        st["heap_free"] = self.heap_size - used
        st["heap_used"] = used
        board = self.board
        b = st["board"]
        b["led"] = board.led
        b["temperature_c"] = round(board.temperature_c(), 1)
        st["wifi"] = self.wifi.status() if self.wifi else None
        st["crash"] = self.crash
        st["update"] = otaboot.report()  # the version running, the last rollback (lib/otaboot.py)
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


def build(config, board=None, wifi=None, mode=None):
    """The application with every part installed. mode: boot.py's, "portal"
    while the setup portal runs (which leaves out what only a joined board uses)."""
    # The setup portal has a page of its own at /, and nothing to chart, log
    # to a browser or scrape: its heap is left to it (from .py at 180K it
    # needs all of it). Safe mode (lib/otaboot.py: boots kept failing) has
    # only the status page and the update endpoint.
    safe = otaboot.mode == "safe"
    portal = mode == "portal" or safe
    www = getattr(config, "WWW_ROOT", "www")
    if otaboot.root and not www.startswith("/"):  # an updated version serves its own files
        config.WWW_ROOT = otaboot.root + www
    if not portal:
        # First: from .py the biggest module needs the biggest free block.
        import dashboard

        gc.collect()  # the compiler's garbage, before the next module's code lands between it
        import monitor
    token = getattr(config, "API_TOKEN", None)
    if token:  # over-the-air updates: compiled before the server's buffers fragment the heap
        gc.collect()
        import ota
    import guard

    gc.collect()
    app = App(config, board, wifi)
    app.mode = mode
    if not portal:
        monitor.install(app)  # pyright: ignore[reportPossiblyUnbound]  # first: its log ring keeps what follows
    guard.configure(config)
    if getattr(config, "API_TOKEN", None):  # (the login page is for the token only)
        import login

        login.install(app)
    if not portal:
        dashboard.install(app)  # pyright: ignore[reportPossiblyUnbound]
    if token:  # over-the-air updates (lib/ota.py), off without a token
        ota.install(app)  # pyright: ignore[reportPossiblyUnbound]
    if otaboot.event:  # a rollback or safe mode: in the log, and as the crash record the dashboard shows
        from httpd import log

        log.get_logger("ota").error("%s", otaboot.event)
        if app.monitor is not None and app.crash is None:
            app.monitor.crashed(otaboot.event)
    for name in () if safe else getattr(config, "APP_MODULES", ()):  # the user's own routes: each module's install(app)
        __import__(name).install(app)
    return app


async def _confirm(app, delay_ms):
    """Tell lib/otaboot.py the running version is good once the server has
    listened for delay_ms and its /health answers 200: a version on trial
    that never gets here is rolled back at the next boot."""
    import asyncio

    while not app.server.listening:
        await asyncio.sleep_ms(100)
    await asyncio.sleep_ms(delay_ms)
    handler, _ = app.router.match("GET", "/health")
    if app.server.listening and handler(None).status == 200:
        otaboot.confirm(bool(app.config.WATCHDOG_MS and app.board.has_watchdog))


def main(tasks=()):
    """Build the application for the mode boot.py chose and serve until Ctrl-C.
    tasks: more coroutines to run beside the server (the test images' SLIP
    link to the host)."""
    import settings
    from httpd import log

    config = settings.load()
    log.configure(config.LOG_LEVEL)
    station = mode = None
    if board_layer.has_wifi():
        import wifi

        station, mode = wifi.handover()  # what boot.py decided
    if mode == "portal":
        # Compiled before the application: on a heap filled by it the portal's
        # code may find no block big enough (from .py, at 180K).
        import dns  # noqa: F401
        import portal
    app = build(config, station.board if station else None, station, mode)
    crashed = app.monitor.crashed if app.monitor else None  # writes the crash record
    if mode == "portal":
        portal.install(app)  # pyright: ignore[reportPossiblyUnbound]
    elif station is not None:
        app.tasks.append(station.monitor())
    app.tasks.extend(tasks)
    # Without a wireless chip (mode None) the watchdog still guards the loop
    # and the accept task: a reset would not revive the chip.
    if config.WATCHDOG_MS and app.board.has_watchdog:
        from watchdog import Watchdog

        checks = [("accept task", lambda: app.server.listening)]
        if mode == "station" and station is not None:
            checks.append(("Wi-Fi monitor", station.alive))
        app.tasks.append(Watchdog(app.board, config.WATCHDOG_MS, checks, crashed).run())
    if otaboot.mode is not None:  # boot.py chose the version: confirm it once it serves
        app.tasks.append(_confirm(app, getattr(config, "OTA_CONFIRM_MS", 5000)))
    try:
        httpd.run(app.server, *app.tasks)
    except KeyboardInterrupt:
        # A started watchdog cannot be stopped by MicroPython; without this the
        # REPL the user just reached would reset within seconds.
        app.board.stop_watchdog()
        log.get_logger("app").info("stopped by Ctrl-C")
    except Exception as e:  # kept on flash, shown after the next boot
        if crashed is not None and settings.ordinary(e) is None:  # a busy port is no crash
            crashed("uncaught %s: %s" % (type(e).__name__, e), e)
        raise
