"""The firmware's RAM architecture: which of its modules are on the heap at
each moment. A serving board holds the always-needed parts only; the rest
is loaded at its first use (the page, the monitor's routes, metrics, the
token's checks) or runs once and is forgotten (building the app, choosing
the version at boot, the PC-only settings code). A repackaging that imports
a lazily loaded part early, or forgets to forget one, fails here instead of
silently costing a board its heap.

The server runs main.py (or boot.py then main.py) on the unix port with the
test route /test/modules (tests/apps/modules_app.py), which lists
sys.modules. lib/httpd is the core, always loaded: left out of the sets."""

import json

import pytest

import client
from serverproc import PICO_LIB

# Each part of the firmware by its role -> the module that holds it.
PART = {
    "app": "app",  # the composition root: App, build, main
    "start": "app.start",  # building and starting: run once, forgotten
    "trial": "app.trial",  # a new version's first boot only
    "board": "board",
    "board stand-in": "board.pc",  # the unix port's board (never on a Pico W)
    "watchdog": "board.watchdog",
    "settings": "settings",
    "settings pc": "settings.pc",  # PICO_ overrides and a PC's error messages
    "settings board": "settings.board",  # the defaults by board: run once, forgotten
    "version": "otaboot",  # which version runs (the recovery path)
    "version choice": "otaboot.choose",  # choosing it at boot: forgotten after
    "dashboard": "dashboard",
    "page": "dashboard.page",  # GET /: loaded at the first view
    "monitor": "monitor",
    "log ring": "monitor.ring",
    "crash record": "monitor.crash",
    "history": "monitor.history",
    "monitor routes": "monitor.routes",  # /logs, /metrics, /api/crash: loaded at the first
    "metrics": "monitor.metrics",  # loaded at the first scrape
    "access": "access",  # the token's door: only with API_TOKEN
    "token": "access.token",  # the token's checks
    "login": "access.login",
    "update": "ota",  # the update endpoint: only with API_TOKEN
    "update stage": "ota.stage",  # the staging area's files
    "update files": "ota.files",  # an upload's checks: loaded for an upload
    "wifi": "wifi",
    "mqtt": "mqtt",  # Home Assistant over MQTT: only with MQTT_HOST
    "mqtt packets": "mqtt.packet",
    "mqtt client": "mqtt.client",
    "mqtt discovery": "mqtt.discovery",
    "mqtt setup": "mqtt.setup",  # reading the settings: run once, forgotten
}
USER = "modules_app"
SERVING = {"app", "board", "board stand-in", "settings", "version", "dashboard", "monitor",
           "log ring", "crash record", "history"}
WITH_TOKEN = SERVING | {"access", "token", "login", "update", "update stage"}
WITH_MQTT = SERVING | {"mqtt", "mqtt packets", "mqtt client", "mqtt discovery"}


def names(parts):
    return {PART[p] for p in parts}


def firmware_modules(srv):
    """The firmware's modules imported now (not lib/httpd, not asyncio, not
    the user's): what the server's /test/modules lists."""
    r = client.request(srv.port, "GET", "/test/modules")
    assert r.status == 200, r
    ours = set(PART.values())
    return {m for m in json.loads(r.body)["modules"] if m.split(".")[0] in {o.split(".")[0] for o in ours}}


def start(start_server, script="main.py", **settings):
    settings["APP_MODULES"] = USER
    return start_server(settings, script=script, path=(PICO_LIB, ".", "tests/apps"))


def test_a_serving_board_holds_only_what_every_request_may_need(start_server):
    srv = start(start_server)
    assert firmware_modules(srv) == names(SERVING)


def test_the_page_is_loaded_at_its_first_view_and_the_monitor_routes_at_theirs(start_server):
    srv = start(start_server)
    assert client.request(srv.port, "GET", "/").status == 200
    assert firmware_modules(srv) == names(SERVING | {"page"})
    assert client.request(srv.port, "GET", "/metrics").status == 200
    assert firmware_modules(srv) == names(SERVING | {"page", "monitor routes", "metrics"})


def test_the_log_page_loads_the_monitor_routes_but_not_metrics(start_server):
    srv = start(start_server)
    assert client.request(srv.port, "GET", "/api/logs").status == 200
    assert firmware_modules(srv) == names(SERVING | {"monitor routes"})


@pytest.mark.parametrize("script", ["main.py", "tests/apps/boot_main.py"])
def test_with_a_token_the_update_endpoint_and_the_door_are_loaded_and_boot_leaves_nothing(start_server, script):
    """boot.py's choice of the version (and a trial's imports) and building
    the application run once: their code is gone once the board serves."""
    srv = start(start_server, script=script, API_TOKEN="secret-token")
    assert firmware_modules(srv) == names(WITH_TOKEN)


def test_mqtt_is_loaded_only_with_a_broker_named_and_its_setup_is_forgotten(start_server):
    """No broker (the default): none of lib/mqtt (the first test). With one
    named, the client, its packets and Home Assistant's discovery; not the
    code that read the settings. (No broker listens: the client retries.)"""
    srv = start(start_server, MQTT_HOST="127.0.0.1", MQTT_PORT=1)
    assert firmware_modules(srv) == names(WITH_MQTT)


def test_a_user_module_named_like_a_firmware_package_is_refused_with_words(start_server):
    """On the image a frozen package wins over a file in /lib: a user's module
    named like one of ours would silently be ours. Named in APP_MODULES it
    is not installed, and the log says why; the rest starts."""
    srv = start_server({"APP_MODULES": "monitor,modules_app"}, path=(PICO_LIB, ".", "tests/apps"))
    srv.wait_for_log("ERROR:app:APP_MODULES: monitor is not installed: the firmware has a package of that name")
    assert client.request(srv.port, "GET", "/test/modules").status == 200  # the next one was installed


def test_the_firmwares_package_names_are_lib_s_entries():
    """app/start.py's FIRMWARE, the names APP_MODULES may not take, is what
    lib/ holds."""
    import ast
    import pathlib

    lib = pathlib.Path(__file__).resolve().parent.parent / "lib"
    tree = ast.parse((lib / "app" / "start.py").read_text())
    names = [n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "FIRMWARE"][0]
    assert sorted(ast.literal_eval(names)) == sorted(p.name for p in lib.iterdir() if p.name != "__pycache__")
