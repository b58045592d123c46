# The MQTT link's series for /metrics (lib/monitor/metrics.py adds them
# while a broker is named), in the same exposition format. Loaded at the
# first scrape of a board with MQTT: a board without it holds none of this.
# MIT license

_MQTT = (
    b"# HELP picow_mqtt_connected 1 while the MQTT broker's connection is up.\n"
    b"# TYPE picow_mqtt_connected gauge\n"
    b"picow_mqtt_connected %d\n"
    b"# HELP picow_mqtt_connects_total Connections the broker accepted since start.\n"
    b"# TYPE picow_mqtt_connects_total counter\n"
    b"picow_mqtt_connects_total %d\n"
    b"# HELP picow_mqtt_messages_sent_total MQTT messages published.\n"
    b"# TYPE picow_mqtt_messages_sent_total counter\n"
    b"picow_mqtt_messages_sent_total %d\n"
    b"# HELP picow_mqtt_messages_received_total MQTT messages received (commands, Home Assistant's status).\n"
    b"# TYPE picow_mqtt_messages_received_total counter\n"
    b"picow_mqtt_messages_received_total %d\n"
    b"# HELP picow_mqtt_dropped_total Queued MQTT messages dropped for newer ones while the queue was full.\n"
    b"# TYPE picow_mqtt_dropped_total counter\n"
    b"picow_mqtt_dropped_total %d\n"
    b"# HELP picow_mqtt_refused_total Connections left because the broker sent a malformed or oversized packet.\n"
    b"# TYPE picow_mqtt_refused_total counter\n"
    b"picow_mqtt_refused_total %d\n"
)


def text(st):
    """The series of the client's status() dict, as bytes."""
    return _MQTT % (1 if st["connected"] else 0, st["connects"], st["sent"], st["received"], st["dropped"],
                    st["refused"])
