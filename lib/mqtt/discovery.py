# The board as a Home Assistant device over MQTT: its entities, their
# discovery configs (homeassistant/<component>/<node>/<object>/config,
# retained), their states, and the commands Home Assistant sends them.
# MIT license
#
#   node.switch("led", "LED", read, command)       # read() -> bool, command(bool)
#   node.sensor("temperature", "Temperature", read, unit_of_measurement="°C")
#   node.changed("led")                            # publish its state now
#
# Topics live under MQTT_PREFIX/<board id>: <key> (state), <key>/set
# (commands), status (availability: "online", the last will "offline").
# Configs are built when sent (on connect and when Home Assistant says it
# is online again), never kept.

import asyncio
import json

from httpd import load, log

_log = log.get_logger("mqtt")
_HA_STATUS = b"homeassistant/status"  # Home Assistant's birth and will (its default)


class Entity:
    def __init__(self, component, key, name, read, command, fields, qos):
        self.component = component
        self.key = key
        self.name = name
        self.read = read
        self.command = command
        self.fields = fields  # more of Home Assistant's keys for its config
        self.qos = qos


class Node:
    def __init__(self, app, client, node_id, base, device, discovery_prefix=None, interval_s=60):
        self.app = app
        self.client = client
        self.node_id = node_id
        self.base = base  # MQTT_PREFIX/<board id>
        self.device = device  # Home Assistant's device block, the same in every config
        self.discovery_prefix = discovery_prefix  # None: no discovery configs
        self.interval_s = interval_s
        self.entities = []
        client.on_connect = self.sync
        client.on_message = self.message
        if discovery_prefix is not None:
            client.topics.append(_HA_STATUS)

    # -- what a module calls ---------------------------------------------------------

    def sensor(self, key, name, read, **fields):
        """A sensor: read() -> a number or text (None: nothing to publish);
        published every MQTT_STATE_INTERVAL_S and at each connect. fields:
        Home Assistant's keys (unit_of_measurement, device_class, ...)."""
        return self.add("sensor", key, name, read, None, fields)

    def switch(self, key, name, read, command, **fields):
        """A switch: read() -> bool, command(bool) from Home Assistant; its
        state is published after each command and at each change you report
        with changed(key)."""
        return self.add("switch", key, name, read, command, fields, 1)

    def add(self, component, key, name, read, command=None, fields=None, qos=0):
        entity = Entity(component, key, name, read, command, fields or {}, qos)
        self.entities.append(entity)
        if command is not None:
            self.client.topics.append(self.topic(entity, "/set"))
        return entity

    def changed(self, key):
        """Publish the state of entity `key` now (queued: never waits)."""
        for e in self.entities:
            if e.key == key:
                self.publish_state(e)

    def status(self):
        return self.client.status()

    def summary(self):
        """The link in words for the dashboard's row, as www/static/app.js
        words it: 'connected, 2 in, 9 out' or 'not connected: why, 2 in, 9 out'.
        (Here, not in dashboard/page.py: a board without a broker compiles none of it.)"""
        st = self.client.status()
        why = st["last_error"]
        state = "connected" if st["connected"] else "not connected: " + why if why else "not connected"
        return "%s, %d in, %d out" % (state, st["received"], st["sent"])

    def metrics(self):
        """The link's series for /metrics (mqtt/metrics.py, loaded at the first scrape)."""
        return load("mqtt.metrics").text(self.client.status())

    # -- states and configs -------------------------------------------------------------

    def topic(self, entity, suffix=""):
        return ("%s/%s%s" % (self.base, entity.key, suffix)).encode()

    def state(self, entity):
        value = entity.read()
        if value is None:
            return None
        if entity.component == "switch":
            return b"ON" if value else b"OFF"
        return str(value).encode()

    def publish_state(self, entity):
        payload = self.state(entity)
        if payload is not None:
            self.client.publish(self.topic(entity), payload, True, entity.qos)

    def config(self, entity):
        """The entity's discovery config as JSON text."""
        c = {"name": entity.name, "unique_id": "%s_%s" % (self.node_id, entity.key),
             "state_topic": self.topic(entity).decode(), "availability_topic": self.base + "/status",
             "device": self.device}
        if entity.command is not None:
            c["command_topic"] = self.topic(entity, "/set").decode()
        c.update(entity.fields)
        return json.dumps(c)

    async def sync(self, client):
        """At each connect, and when Home Assistant comes back: online, every
        config, every state (the client's writer task runs this)."""
        await client.send((self.base + "/status").encode(), b"online", True, 1)
        prefix = self.discovery_prefix
        if prefix is not None:
            for e in self.entities:
                topic = "%s/%s/%s/%s/config" % (prefix, e.component, self.node_id, e.key)
                await client.send(topic.encode(), self.config(e).encode(), True, 1)
        for e in self.entities:
            payload = self.state(e)
            if payload is not None:
                await client.send(self.topic(e), payload, True, e.qos)

    # -- what the broker sends ------------------------------------------------------------

    def message(self, topic, payload):
        if topic == _HA_STATUS:
            if payload == b"online":
                _log.info("Home Assistant is online: sending the configs again")
                self.client.resync()
            return
        for e in self.entities:
            if e.command is not None and topic == self.topic(e, "/set"):
                if payload in (b"ON", b"OFF"):
                    e.command(payload == b"ON")
                else:
                    _log.warning("%s: %r is neither ON nor OFF", e.key, payload)
                self.publish_state(e)  # (Home Assistant shows what the board did)
                return

    async def run(self):
        """Publish the sensors' states every interval_s while connected."""
        while True:
            await asyncio.sleep(self.interval_s)
            if self.client.connected:
                for e in self.entities:
                    if e.command is None:
                        self.publish_state(e)


def board_entities(app, node):
    """The LED, the temperature, and uptime, free heap and Wi-Fi signal as
    diagnostics."""
    board = app.board
    node.switch("led", "LED", lambda: board.led, app.set_led)
    node.sensor("temperature", "Temperature", lambda: "%.1f" % board.temperature_c(), device_class="temperature",
                unit_of_measurement="°C", state_class="measurement")
    diagnostic = "diagnostic"
    node.sensor("uptime", "Uptime", app.uptime.seconds, device_class="duration", unit_of_measurement="s",
                entity_category=diagnostic)
    node.sensor("heap_free", "Free heap", lambda: app.heap_size - app.heap_used(), device_class="data_size",
                unit_of_measurement="B", state_class="measurement", entity_category=diagnostic)
    if app.wifi is not None:
        node.sensor("rssi", "Wi-Fi signal", app.wifi.rssi, device_class="signal_strength",
                    unit_of_measurement="dBm", state_class="measurement", entity_category=diagnostic)
