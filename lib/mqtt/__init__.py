# The board in Home Assistant: an MQTT client beside the web server, and the
# board's entities announced by MQTT discovery. Loaded only when MQTT_HOST
# is set (app/start.py): a board without MQTT holds none of this.
# MIT license
#
#   mqtt/packet.py     the packets, built and cut without I/O
#   mqtt/client.py     the connection: bounded waits, keep-alive, backoff, the queue
#   mqtt/discovery.py  Home Assistant's view: entities, configs, states, commands
#   mqtt/setup.py      reading the settings, the client and node made (run once, forgotten)
#
# app.mqtt is the Node: a module of APP_MODULES adds an entity with
# app.mqtt.sensor(...) or app.mqtt.switch(...) (docs/home-assistant.md).

import httpd
from mqtt import setup  # (compiled now with the rest, before the server's buffers fragment the heap)


def install(app, login=None):
    """app.mqtt and its tasks (mqtt/setup.py's install), with the broker's
    login, (user, password) or None; then setup.py is forgotten."""
    try:
        return setup.install(app, login)
    finally:
        httpd.forget("mqtt.setup")
