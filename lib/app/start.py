# Building the application and getting it ready to serve: code that runs
# once. app/__init__.py imports this module for app.build() and app.main()'s
# start, passing its App class, and forgets it after each, so a serving board
# does not hold its code.
# MIT license
#
# Nothing made here may outlive the call while pointing into this module (a
# function, lambda or coroutine defined here keeps all of its code on the
# heap): the tasks and callbacks it leaves behind are other modules', but for
# confirm_when_serving, done a few seconds after the server listens.

import gc

import board as board_layer
import httpd
import otaboot
from httpd import log

# The firmware's own top-level names (lib/'s packages): a user's module of
# one of these names would be shadowed by ours on the image (a frozen module
# wins over /lib), or shadow ours; APP_MODULES may not name them.
FIRMWARE = ("access", "app", "board", "dashboard", "httpd", "monitor", "mqtt", "ota", "otaboot", "settings", "wifi")


def build(App, config, board=None, wifi=None, mode=None):
    """app.build(): the application with every part installed. mode: boot.py's,
    "portal" while the setup portal runs (which leaves out what only a joined
    board uses)."""
    # The setup portal has a page of its own at /, and nothing to chart, log
    # to a browser or scrape: its heap is left to it (from .py at 180K it
    # needs all of it). Safe mode (lib/otaboot/: boots kept failing) has
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
    broker = login = None
    if not portal:  # mqtt.json read once: the portal's broker when config.py names none, and the login
        broker, login = _saved_mqtt(config)
    if broker:  # Home Assistant (lib/mqtt/): loaded only when a broker is named
        gc.collect()
        import mqtt
    token = getattr(config, "API_TOKEN", None)
    if token:  # over-the-air updates: compiled before the server's buffers fragment the heap
        gc.collect()
        import ota
    if broker:  # its connection holds one of lwIP's 5: the server serves one fewer, keeping its spare for a newcomer
        config.MAX_CONNECTIONS = max(1, config.MAX_CONNECTIONS - 1)
    gc.collect()
    app = App(config, board, wifi)
    app.mode = mode
    if not portal:
        monitor.install(app)  # pyright: ignore[reportPossiblyUnbound]  # first: its log ring keeps what follows
    if token:  # (the login page is for the token only)
        from access import login

        login.install(app)
    if not portal:
        dashboard.install(app)  # pyright: ignore[reportPossiblyUnbound]
    if token:  # over-the-air updates (lib/ota/), off without a token
        ota.install(app)  # pyright: ignore[reportPossiblyUnbound]
    if broker:  # before the user's modules: they may add entities to app.mqtt
        mqtt.install(app, login)  # pyright: ignore[reportPossiblyUnbound]
    if otaboot.event:  # a rollback or safe mode: in the log, and as the crash record the dashboard shows
        log.get_logger("ota").error("%s", otaboot.event)
        if app.monitor is not None and app.crash is None:
            app.monitor.crashed(otaboot.event)
    for name in () if safe else getattr(config, "APP_MODULES", ()):  # the user's own routes: each module's install(app)
        if name.split(".")[0] in FIRMWARE:
            log.get_logger("app").error("APP_MODULES: %s is not installed: the firmware has a package of that name; "
                                        "rename your module", name)
            continue
        module = httpd.load(name)
        log.bridge()  # if it imported logging: its lines, from install() on, reach /logs too
        module.install(app)
    return app


def _saved_mqtt(config):
    """mqtt.json (MQTT_CREDENTIALS_FILE), the one reading of it at a start:
    (broker, login). broker: MQTT_HOST of config.py, else the host the setup
    portal saved there, set with its port as MQTT_HOST and MQTT_PORT; None
    without one (no MQTT). login: (user, password) for the broker, or None
    (no file, no user: the portal's broker without a login)."""
    import json

    path = getattr(config, "MQTT_CREDENTIALS_FILE", "mqtt.json")  # (a config.py older than the setting has none)
    broker = getattr(config, "MQTT_HOST", None)
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError:
        return broker, None
    except ValueError:  # not JSON: said below when a broker is named
        data = None
    saved = isinstance(data, dict)
    data = data if saved else {}
    if not broker:
        host = data.get("host")
        port = data.get("port", 1883)
        if host is None:  # none, or a login only, for MQTT_HOST (docs/home-assistant.md)
            return None, None
        if not (host and isinstance(host, str) and isinstance(port, int) and 0 < port < 65536):
            log.get_logger("mqtt").error("%s: host and port are not a broker's address; no MQTT", path)
            return None, None
        config.MQTT_HOST = broker = host
        config.MQTT_PORT = port
    user = data.get("user")
    password = data.get("password")
    if user is None and password is None and saved:
        return broker, None
    if not isinstance(user, str) or not (password is None or isinstance(password, str)):
        log.get_logger("mqtt").error("%s does not hold a user and password; connecting without them", path)
        return broker, None
    return broker, (user, password)


def start(App, tasks):
    """app.main()'s start: the application built for the mode boot.py chose,
    with its tasks. Returns (app, the function that writes a crash record or None)."""
    import settings

    config = settings.load()
    log.configure(config.LOG_LEVEL)
    if otaboot.mode == "trial":  # every module the new version ships must import (app/trial.py)
        _trial("imports")
    station = mode = None
    if board_layer.has_wifi():
        import wifi

        station, mode = wifi.handover()  # what boot.py decided
    if mode == "portal":
        # Compiled before the application: on a heap filled by it the portal's
        # code may find no block big enough (from .py, at 180K).
        from wifi import dns, portal  # noqa: F401
    app = build(App, config, station.board if station else None, station, mode)
    crashed = app.monitor.crashed if app.monitor else None  # writes the crash record
    if mode == "portal":
        portal.install(app)  # pyright: ignore[reportPossiblyUnbound]
    elif station is not None:
        app.tasks.append(station.monitor())
    app.tasks.extend(tasks)
    # Without a wireless chip (mode None) the watchdog still guards the loop
    # and the accept task: a reset would not revive the chip.
    if config.WATCHDOG_MS and app.board.has_watchdog:
        from board.watchdog import Watchdog

        checks = [("accept task", app.server_listening)]
        if mode == "station" and station is not None:
            checks.append(("Wi-Fi monitor", station.alive))
        app.tasks.append(Watchdog(app.board, config.WATCHDOG_MS, checks, crashed).run())
    if otaboot.mode is not None:  # boot.py chose the version: confirm it once it serves
        app.tasks.append(confirm_when_serving(app, getattr(config, "OTA_CONFIRM_MS", 5000)))
    return app, crashed


def _trial(name, *args):
    """app/trial.py's function `name`, called; then that module is forgotten."""
    from app import trial

    try:
        return getattr(trial, name)(*args)
    finally:
        httpd.forget("app.trial")


async def confirm_when_serving(app, delay_ms):
    """Tell lib/otaboot/ the running version is good once the server has
    listened for delay_ms and its /health answers 200, and, on a trial,
    app/trial.py found the way to the next update open (start() had it
    import every module of the version first): a version on trial that never gets here is rolled back at the
    next boot. (This coroutine
    holds this module's code until it is done: a few seconds after start.)"""
    import asyncio

    while not app.server.listening:
        await asyncio.sleep_ms(100)
    await asyncio.sleep_ms(delay_ms)
    handler, _ = app.router.match("GET", "/health")
    if not (app.server.listening and handler(None).status == 200):
        return
    if otaboot.mode == "trial":  # before it is kept: the way to the next update (app/trial.py)
        why = _trial("update_path", app)
        if why:
            _trial("fail", app, why)
            return
    otaboot.confirm(bool(app.config.WATCHDOG_MS and app.board.has_watchdog))
