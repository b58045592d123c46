"""The board in Home Assistant: the server's MQTT client against a real
broker (Debian's mosquitto, started here) with a paho-mqtt client playing
Home Assistant, in the Pico W profile (180K, 5 client sockets, of which the
MQTT connection holds one). And against brokers that are not: one that
accepts and says nothing, and ones that send what no broker may."""

import html
import json
import re
import signal
import socket
import time

import pytest

import client
from serverproc import PICO_LIB, board_word_size
from broker import Broker, FakeBroker, HomeAssistant, configs, retained

BASE = "picow/host"  # MQTT_PREFIX / the board's id ("host" on the unix port)
NODE = "picow_host"
FAST = {"MQTT_KEEPALIVE_S": 2, "MQTT_TIMEOUT_MS": 1000, "MQTT_RETRY_MS": 200, "MQTT_MAX_BACKOFF_MS": 1000}


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.close()


@pytest.fixture
def home_assistant(broker):
    ha = HomeAssistant(broker.port)
    yield ha
    ha.close()


def board(start_server, port, tmp_path, **settings):
    merged = dict(FAST, MQTT_HOST="127.0.0.1", MQTT_PORT=port,
                  MQTT_CREDENTIALS_FILE=str(tmp_path / "mqtt.json"))
    merged.update(settings)
    # On the board's word size (the 32-bit port when built, as make test
    # builds it): from .py the client's code and names take about 18 KB of
    # a 32-bit heap, 26 KB of a 64-bit one, where the page's first view
    # then finds no room to compile (frozen in the image, they stay in flash).
    # (tests/board: the test images' heaproute, for a measure of the heap now)
    return start_server(merged, interpreter=board_word_size(), path=(PICO_LIB, ".", "tests/apps", "tests/board"))


def mqtt_status(srv):
    return json.loads(client.get(srv.port, "/api/status").body)["mqtt"]


def wait_status(srv, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        st = mqtt_status(srv)
        if check(st):
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.05)


def test_the_configs_appear_retained_as_json_with_one_device_and_the_board_says_online(
        start_server, broker, tmp_path):
    srv = board(start_server, broker.port, tmp_path)
    wait_status(srv, lambda st: st["connected"] and st["sent"] >= 9)
    found = configs(broker.port)
    assert sorted(found) == ["homeassistant/sensor/%s/%s/config" % (NODE, k)
                             for k in ("heap_free", "temperature", "uptime")] + \
        ["homeassistant/switch/%s/led/config" % NODE]
    devices = set()
    for topic, c in found.items():
        key = topic.split("/")[3]
        assert c["unique_id"] == "%s_%s" % (NODE, key)
        assert c["state_topic"] == "%s/%s" % (BASE, key) and c["availability_topic"] == BASE + "/status"
        d = c["device"]
        assert {"identifiers", "name", "model", "sw_version", "configuration_url"} <= set(d), d
        assert d["configuration_url"] == "http://127.0.0.1:%d/" % srv.port
        devices.add(json.dumps(d, sort_keys=True))
    assert len(devices) == 1  # one device, the board
    led = found["homeassistant/switch/%s/led/config" % NODE]
    assert led["command_topic"] == BASE + "/led/set" and led["name"] == "LED"
    temperature = found["homeassistant/sensor/%s/temperature/config" % NODE]
    assert temperature["device_class"] == "temperature" and temperature["unit_of_measurement"] == "°C"
    assert "entity_category" not in temperature
    for key in ("uptime", "heap_free"):
        assert found["homeassistant/sensor/%s/%s/config" % (NODE, key)]["entity_category"] == "diagnostic"
    kept = retained(broker.port)
    assert kept[BASE + "/status"] == "online" and kept[BASE + "/led"] == "OFF"
    assert 20 < float(kept[BASE + "/temperature"]) < 30 and int(kept[BASE + "/heap_free"]) > 10000


def test_without_discovery_no_configs_but_the_states(start_server, broker, tmp_path):
    srv = board(start_server, broker.port, tmp_path, MQTT_DISCOVERY=0)
    wait_status(srv, lambda st: st["connected"] and st["sent"] >= 5)
    kept = retained(broker.port)
    assert not [t for t in kept if t.startswith("homeassistant/")] and kept[BASE + "/led"] == "OFF"


def read_led_events(sock, want, timeout=5.0):
    """Read the dashboard's event stream until a status event with the LED
    at `want` (what a dashboard page shows)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data += sock.recv(4096)
        for block in data.split(b"\n\n"):
            if b"event: status" in block:
                status = json.loads(block.split(b"data: ", 1)[1])
                if status["board"]["led"] is want:
                    return status
    raise AssertionError("no status with led %r in %r" % (want, data[-300:]))


def test_home_assistant_switches_the_led_and_the_dashboard_shows_it_and_back(
        start_server, broker, home_assistant, tmp_path):
    ha = home_assistant
    srv = board(start_server, broker.port, tmp_path)
    ha.wait(BASE + "/led", "OFF")
    stream = socket.create_connection(("127.0.0.1", srv.port))
    try:
        stream.sendall(b"GET /api/events HTTP/1.1\r\nHost: a\r\n\r\n")
        read_led_events(stream, False)
        ha.publish(BASE + "/led/set", "ON")
        ha.wait(BASE + "/led", "ON")
        read_led_events(stream, True)  # the dashboard saw Home Assistant's change
    finally:
        stream.close()
    assert json.loads(client.get(srv.port, "/api/led").body) == {"on": True}
    # ... and the dashboard's change reaches Home Assistant
    r = client.request(srv.port, "PUT", "/api/led", {"Content-Type": "application/json", "Host": "a"}, b'{"on": false}')
    assert r.status == 200
    ha.wait(BASE + "/led", "OFF")
    r = client.request(srv.port, "POST", "/led", {"Content-Type": "application/x-www-form-urlencoded", "Host": "a"},
                       b"action=toggle")
    assert r.status == 303
    ha.wait(BASE + "/led", "ON")
    ha.publish(BASE + "/led/set", "bogus")  # neither ON nor OFF: nothing changes, the state is told again
    srv.wait_for_log(r"led: b'bogus' is neither ON nor OFF")
    assert json.loads(client.get(srv.port, "/api/led").body) == {"on": True}
    st = mqtt_status(srv)
    assert st["received"] == 2 and st["last_error"] is None


def test_home_assistant_coming_back_online_gets_the_configs_again(start_server, broker, home_assistant, tmp_path):
    ha = home_assistant
    srv = board(start_server, broker.port, tmp_path)
    config_topic = "homeassistant/switch/%s/led/config" % NODE
    ha.wait(config_topic)
    before = sum(1 for t, _ in ha.seen if t == config_topic)
    ha.publish("homeassistant/status", "online")
    srv.wait_for_log("Home Assistant is online: sending the configs again")
    deadline = time.monotonic() + 5
    while sum(1 for t, _ in ha.seen if t == config_topic) == before:
        assert time.monotonic() < deadline, "the config was not sent again"
        time.sleep(0.05)


def test_the_broker_says_offline_within_the_keepalive_when_the_board_dies_and_online_after_it_restarts(
        start_server, broker, home_assistant, tmp_path):
    ha = home_assistant
    srv = board(start_server, broker.port, tmp_path)
    ha.wait(BASE + "/status", "online")
    srv.proc.send_signal(signal.SIGKILL)  # no goodbye: the power cut
    killed = time.monotonic()
    ha.wait(BASE + "/status", "offline", timeout=6)
    assert time.monotonic() - killed <= 2 * 1.5 + 1.0  # mosquitto: 1.5 x the keep-alive of 2 s
    assert retained(broker.port)[BASE + "/status"] == "offline"
    srv = board(start_server, broker.port, tmp_path)
    ha.wait(BASE + "/status", "online")


def test_a_broker_restart_is_survived_without_leaking_sockets_or_heap(start_server, broker, home_assistant, tmp_path):
    srv = board(start_server, broker.port, tmp_path, APP_MODULES="heaproute")
    wait_status(srv, lambda st: st["connected"])
    assert srv.wait_client_sockets(1) == 1  # the broker's connection
    heap = []
    for cycle in range(4):
        broker.stop()
        wait_status(srv, lambda st: not st["connected"])
        time.sleep(0.5)  # a few failed attempts against a closed port
        broker.start()
        wait_status(srv, lambda st: st["connected"] and st["connects"] == cycle + 2)
        assert srv.wait_client_sockets(1) == 1  # the new one, and no old one left behind
        heap.append(json.loads(client.get(srv.port, "/test/heap").body)["used"])  # after a collection
    st = mqtt_status(srv)
    assert st["last_error"] is None and st["refused"] == 0
    assert max(heap[1:]) - heap[1] <= 512, heap  # no growth cycle over cycle (the first warms up)
    ha = HomeAssistant(broker.port)  # the restarted broker kept nothing: the board told it all again
    try:
        ha.wait(BASE + "/led", "OFF")
        ha.wait("homeassistant/switch/%s/led/config" % NODE)
    finally:
        ha.close()


def test_a_broker_that_accepts_and_says_nothing_does_not_stall_a_visitor(start_server, tmp_path):
    silent = FakeBroker(lambda conn: None)
    try:
        srv = board(start_server, silent.port, tmp_path)
        slowest = 0.0
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            t = time.monotonic()
            assert client.get(srv.port, "/health").status == 200
            slowest = max(slowest, time.monotonic() - t)
            time.sleep(0.05)
        assert slowest < 0.5, slowest
        st = mqtt_status(srv)
        assert st["connected"] is False and st["last_error"] == "no CONNACK within 1000 ms", st
        assert silent.accepted >= 2  # it tried again ...
        assert silent.closed_by_client >= silent.accepted - 1  # ... having closed each silent connection
        assert srv.socket_count() <= 2  # the listener, and at most the attempt under way
    finally:
        silent.close()


CONNACK = b"\x20\x02\x00\x00"
BAD = {
    "a 10 MB packet": CONNACK + b"\x30\x80\xad\xe2\x04" + b"\x00\x01t" + b"x" * 2000,
    "a 5-byte remaining length": CONNACK + b"\x30\xff\xff\xff\xff\x01",
    "a packet type no broker sends": CONNACK + b"\x82\x02\x00\x01",
    "a PUBLISH at QoS 2": CONNACK + b"\x34\x05\x00\x01t\x00\x01",
    "a topic past the end": CONNACK + b"\x30\x03\x00\x09a",
    "a CONNACK refusing": b"\x20\x02\x00\x05",
    "a PUBLISH before CONNACK": b"\x30\x03\x00\x01a",
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_malformed_or_huge_packets_from_the_broker_are_refused_without_a_crash(start_server, tmp_path, what):
    bad = FakeBroker(lambda conn: conn.sendall(BAD[what]))
    try:
        srv = board(start_server, bad.port, tmp_path)
        st = wait_status(srv, lambda st: bad.accepted >= 2 and st["last_error"], timeout=10)
        assert srv.alive() and client.get(srv.port, "/health").status == 200
        assert st["connected"] is False
        if what == "a CONNACK refusing":
            assert st["last_error"] == "the broker refused the connection: not authorized"
        elif what == "a PUBLISH before CONNACK":
            assert st["last_error"].startswith("refused: a packet of type 3 before CONNACK")
        else:
            assert st["last_error"].startswith("refused: "), st
            assert st["refused"] >= 1
        assert st["received"] == 0
    finally:
        bad.close()


def test_a_login_from_mqtt_json_is_used_and_never_shown(start_server, tmp_path):
    secret = "s3cret-broker-pw"
    b = Broker(users={"board": secret}).start()
    try:
        (tmp_path / "mqtt.json").write_text(json.dumps({"user": "board", "password": "wrong"}))
        srv = board(start_server, b.port, tmp_path)
        st = wait_status(srv, lambda st: st["last_error"])
        assert st["last_error"] == "the broker refused the connection: not authorized" or \
            st["last_error"] == "the broker refused the connection: bad user name or password", st
        srv.stop()
        (tmp_path / "mqtt.json").write_text(json.dumps({"user": "board", "password": secret}))
        srv = board(start_server, b.port, tmp_path)
        wait_status(srv, lambda st: st["connected"])
        for path in ("/api/status", "/metrics", "/api/logs", "/mqtt.json", "/static/../mqtt.json"):
            assert secret.encode() not in client.get(srv.port, path).body, path
        assert secret not in srv.output()
    finally:
        b.close()


def test_metrics_show_the_link_and_its_counters(start_server, broker, tmp_path):
    srv = board(start_server, broker.port, tmp_path)
    wait_status(srv, lambda st: st["connected"] and st["sent"] >= 9)
    text = client.get(srv.port, "/metrics").body.decode()
    assert "\npicow_mqtt_connected 1\n" in text
    assert "\npicow_mqtt_connects_total 1\n" in text
    sent = int(text.split("\npicow_mqtt_messages_sent_total ")[1].split("\n")[0])
    assert sent >= 9
    assert "\npicow_mqtt_messages_received_total 0\n" in text


def test_without_a_broker_named_there_is_no_mqtt(server):
    status = json.loads(client.get(server.port, "/api/status").body)
    assert status["mqtt"] is None
    assert "picow_mqtt" not in client.get(server.port, "/metrics").body.decode()
    page = client.get(server.port, "/").body.decode()
    assert "MQTT" not in page and "id=q" not in page  # no row, not even an empty one


def test_the_broker_the_setup_portal_saved_is_used_when_config_py_names_none(start_server, broker, tmp_path):
    """mqtt.json as lib/wifi/portal.py writes it: host and port, no login."""
    (tmp_path / "mqtt.json").write_text(json.dumps({"host": "127.0.0.1", "port": broker.port}))
    srv = start_server(dict(FAST, MQTT_CREDENTIALS_FILE=str(tmp_path / "mqtt.json")),  # no MQTT_HOST, no MQTT_PORT
                       interpreter=board_word_size())
    st = wait_status(srv, lambda st: st["connected"])
    assert st["broker"] == "127.0.0.1:%d" % broker.port
    assert "does not hold a user" not in srv.output()  # no login is no mistake


def test_config_py_names_the_broker_before_mqtt_json_and_a_bad_one_leaves_mqtt_off(start_server, broker, tmp_path):
    (tmp_path / "mqtt.json").write_text(json.dumps({"host": "10.255.255.1", "port": 1}))
    srv = board(start_server, broker.port, tmp_path)  # MQTT_HOST set
    assert wait_status(srv, lambda st: st["connected"])["broker"] == "127.0.0.1:%d" % broker.port
    srv.stop()
    (tmp_path / "mqtt.json").write_text(json.dumps({"host": "127.0.0.1", "port": "1883"}))
    srv = board(start_server, broker.port, tmp_path, MQTT_HOST="")
    assert mqtt_status(srv) is None
    assert "mqtt.json: host and port are not a broker's address; no MQTT" in srv.output()


def mqtt_row(srv):
    page = client.get(srv.port, "/").body.decode()
    m = re.search(r"<dt>MQTT<dd id=q>([^<]*)<", page)
    assert m, page
    return m.group(1)


def test_the_dashboard_shows_the_link_its_last_error_and_the_messages_in_and_out(start_server, broker, tmp_path):
    srv = board(start_server, broker.port, tmp_path)
    st = wait_status(srv, lambda st: st["connected"] and st["sent"] >= 9)
    m = re.fullmatch(r"connected, (\d+) in, (\d+) out", mqtt_row(srv))
    assert m and int(m.group(1)) == st["received"] and int(m.group(2)) >= st["sent"], m
    broker.stop()
    st = wait_status(srv, lambda st: not st["connected"] and st["last_error"])
    row = html.unescape(mqtt_row(srv))
    assert re.fullmatch(r"not connected: (.+), %d in, (\d+) out" % st["received"], row), row
    assert row.split(": ", 1)[1].rsplit(", ", 2)[0] == mqtt_status(srv)["last_error"]
    # The page's script writes the same text from the status it follows
    # (www/static/app.js): the keys it reads are the status's.
    assert {"connected", "last_error", "received", "sent"} <= set(st)


def test_a_users_module_adds_a_sensor_and_a_switch_in_a_few_lines(start_server, broker, home_assistant, tmp_path):
    ha = home_assistant
    board(start_server, broker.port, tmp_path, APP_MODULES="mqtt_entity")  # (tests/apps/mqtt_entity.py)
    ha.wait(BASE + "/door", "closed")
    ha.wait(BASE + "/relay", "OFF")
    found = configs(broker.port)
    relay = found["homeassistant/switch/%s/relay/config" % NODE]
    assert relay["icon"] == "mdi:power-socket-eu" and relay["command_topic"] == BASE + "/relay/set"
    assert found["homeassistant/sensor/%s/door/config" % NODE]["device"]["identifiers"] == [NODE]
    ha.publish(BASE + "/relay/set", "ON")
    ha.wait(BASE + "/relay", "ON")
