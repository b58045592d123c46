# Setting the MQTT client and Home Assistant's entities up: code that runs
# once, at start. mqtt/__init__.py imports this module for install() and
# forgets it after, so a serving board does not hold its code.
# MIT license

import httpd
from mqtt.client import Client
from mqtt.discovery import Node, board_entities


def read_settings(config):
    """The MQTT settings config.py does not set get lib/mqtt/defaults.py's;
    then, on a PC, their PICO_ overrides."""
    from mqtt import defaults

    names = [name for name in dir(defaults) if name.startswith("MQTT_")]
    for name in names:
        if not hasattr(config, name):
            setattr(config, name, getattr(defaults, name))
    httpd.forget("mqtt.defaults")
    try:
        from os import getenv  # noqa: F401
    except ImportError:  # a board has no environment
        return
    from settings.pc import override  # PICO_<NAME> (a PC only), as settings.load() does

    override(config, names)
    httpd.forget("settings.pc")


def install(app, login=None):
    """mqtt.install(): the client, the node and the board's entities; their
    tasks. login: (user, password) for the broker, or None: mqtt.json's,
    which app/start.py read."""
    config = app.config
    read_settings(config)
    user, password = login or (None, None)
    if password and app.monitor is not None:  # blanked out of /logs should a line ever hold it
        app.monitor.ring.secrets.append(password)
    node_id = "picow_" + app.board_id
    base = "%s/%s" % (config.MQTT_PREFIX, app.board_id)
    wifi = app.wifi
    client = Client(config, "picow-" + app.board_id, base + "/status", wifi.up if wifi else None, user, password)
    discovery = config.MQTT_DISCOVERY_PREFIX if config.MQTT_DISCOVERY else None
    node = Node(app, client, node_id, base, device(app), discovery, config.MQTT_STATE_INTERVAL_S)
    board_entities(app, node)  # (in discovery.py: what its functions read must outlive this module)
    app.mqtt = node
    app.tasks.append(client.run())
    app.tasks.append(node.run())
    return node


def device(app):
    """Home Assistant's device block: one device, the board."""
    config = app.config
    if app.wifi is not None:
        host = app.wifi.ip()
    elif config.HOST not in ("0.0.0.0", ""):
        host = config.HOST
    else:
        host = config.HOSTNAME + ".local"
    port = "" if config.PORT == 80 else ":%d" % config.PORT
    return {"identifiers": ["picow_" + app.board_id], "name": config.HOSTNAME, "manufacturer": "Raspberry Pi",
            "model": app.board.name, "sw_version": app.version, "configuration_url": "http://%s%s/" % (host, port)}
