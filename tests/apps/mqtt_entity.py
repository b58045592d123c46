# The example of docs/home-assistant.md ("Adding your own entity") on a PC:
# a sensor and a switch of a user's module, without machine.Pin.
relay = {"on": False}


def install(app):
    if app.mqtt is None:  # no MQTT_HOST
        return
    app.mqtt.sensor("door", "Door", lambda: "closed")
    app.mqtt.switch("relay", "Relay", lambda: relay["on"], lambda on: relay.update(on=on), icon="mdi:power-socket-eu")
