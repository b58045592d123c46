"""The board in Home Assistant through its own lwIP: the real firmware (our
test image) in rp2040js talks MQTT to Debian's mosquitto, run on the host's
end of the SLIP link (192.0.2.1, inside the link's network namespace), with
a paho-mqtt client playing Home Assistant (tests/broker.py, as the unix-port
tests in tests/test_mqtt.py). What those cannot show: the client on lwIP's
sockets, where the broker's connection is one of the 5 there are, and the
heap MQTT costs on the image, its code frozen in flash.

One boot: the image starts without a broker (MQTT off: its heap measured),
then a soft reset names the broker (tests/board/main.py reads it from the
watchdog's scratch register, which outlives the reset: the emulated board has
no filesystem for mqtt.json), and the same board runs with MQTT on. Figures
are printed (pytest -s shows them)."""

import json
import os
import re
import subprocess
import time

import pytest

from broker import Broker, HomeAssistant, configs, mosquitto
from emulator import HOST_IP, _InNetns
from test_board_net import VISITOR_BOUND_S, Visitor, get_json, request

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/net/tun"),
    reason="needs root and /dev/net/tun: the SLIP link's network namespace and TUN device")

PORT = 1883  # the namespace is the link's own: the usual port is free there
LISTENING = rb"INFO:httpd:listening on http://0\.0\.0\.0:80/"
# tests/board/main.py: "MQ" and the port, in the watchdog's SCRATCH0.
NAME_THE_BROKER = "import machine; machine.mem32[0x4005800C] = 0x4D510000 | %d" % PORT
NO_BROKER = "import machine; machine.mem32[0x4005800C] = 0"
# The heap MQTT may take on the image, its code frozen: the client's buffers
# (512 bytes in, the largest packet out), its queue, the entities and the
# tasks. 7,168 bytes measured 2026-12-07 (32-bit unix port from .py: about
# 17.5 KB, most of it code).
MQTT_HEAP_BOUND = 12_000
# What the test image keeps free with MQTT on, of 205,184: 147,952 measured
# 2026-12-07. The test image holds the SLIP link's UART buffers (12 KB,
# tests/board/slipnet.py) besides what the release image does (test_image.py
# holds that one to 168,000 free without MQTT).
FREE_WITH_MQTT = 140_000


class LinkBroker(Broker):
    """mosquitto inside the link's namespace, listening on its every address
    (the board reaches 192.0.2.1; clients in the namespace 127.0.0.1)."""

    def __init__(self, link):
        super().__init__()
        self.link = link
        self.port = PORT

    def start(self):
        path = self.dir / "mosquitto.conf"
        path.write_text("listener %d\npersistence false\nallow_anonymous true\nlog_dest stdout\n"
                        "log_type error\nlog_type warning\nlog_type notice\n" % self.port)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.link.netns, mosquitto(), "-c", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.link.connect(self.port, timeout=1, host=HOST_IP).close()
                return self
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)


def heap(link):
    """/test/heap: the board's heap after a collection."""
    return get_json(link, "/test/heap")


def mqtt_status(link):
    return get_json(link, "/api/status")["mqtt"]


def wait_status(link, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        st = mqtt_status(link)
        if check(st):
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.2)


def put_led(link, on):
    """PUT /api/led as the dashboard's script does: {"on": ...}."""
    body = json.dumps({"on": on}).encode()
    s = link.connect(80, 10)
    try:
        s.settimeout(10)
        s.sendall(b"PUT /api/led HTTP/1.1\r\nHost: picow\r\nConnection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    finally:
        s.close()
    assert data.startswith(b"HTTP/1.1 200 "), data[:200]
    return json.loads(data.partition(b"\r\n\r\n")[2])


def to_repl(board):
    """Ctrl-C: the application stops (and its watchdog); the REPL prompt.
    Again if it runs on: a Ctrl-C that lands in the SLIP link's interrupt
    callback (tests/board/slipnet.py) ends that call only, and while the
    MQTT client retries a broker gone the link is busy."""
    for _ in range(5):
        board.write(b"\x03")
        try:
            board.wait_for(rb"stopped by Ctrl-C", 3)
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("Ctrl-C did not stop the application: %r" % board.console_text()[-1000:])
    board.wait_for(rb">>> $", 10)


def soft_reset(board, cmd):
    """Ctrl-C, `cmd` at the REPL, then a soft reset (main.py again); returns
    once the server listens, with the console's offset from there."""
    to_repl(board)
    board.run_nowait(cmd, wait=True)
    board.write(b"\x04")
    board.wait_for(LISTENING, 60)
    return len(board.console_text())


def test_the_image_in_home_assistant_through_its_own_lwip_and_its_heap_with_mqtt_off_and_on(ours):
    board, link = ours
    assert mqtt_status(link) is None  # no broker named: no MQTT
    off = heap(link)

    broker = LinkBroker(link).start()
    ha = None
    try:
        with _InNetns(link.netns):  # (paho's socket is made in the namespace)
            ha = HomeAssistant(PORT)
        t0 = time.monotonic()
        mark = soft_reset(board, NAME_THE_BROKER)  # main.py again, now with the broker
        board.wait_for(rb"connected to broker 192\.0\.2\.1:%d" % PORT, 30)
        connected_s = time.monotonic() - t0
        board_id = get_json(link, "/api/status")["board"]["id"]
        base, node = "picow/" + board_id, "picow_" + board_id
        # Connected, and what it announces at a connect sent: the configs,
        # `online`, the states.
        st = wait_status(link, lambda st: st["connected"] and st["sent"] >= 9)
        on = heap(link)

        visitor = Visitor(link, 20.0)  # a person reloading a page while the rest goes on
        visitor.start()
        ha.wait(base + "/status", "online")
        with _InNetns(link.netns):
            found = configs(PORT)  # retained: a client that connects now gets them
        keys = {t.split("/")[1] + "/" + t.split("/")[3] for t in found}
        assert {"switch/led", "sensor/temperature", "sensor/uptime", "sensor/heap_free"} <= keys, sorted(found)
        devices = set()
        for topic, c in found.items():
            assert c["unique_id"] == "%s_%s" % (node, topic.split("/")[3]), c
            assert c["availability_topic"] == base + "/status", c
            assert {"identifiers", "name", "model", "sw_version", "configuration_url"} <= set(c["device"]), c
            devices.add(json.dumps(c["device"], sort_keys=True))
        assert len(devices) == 1, devices  # one device, the board
        device = json.loads(devices.pop())
        assert device["model"] == "Raspberry Pi Pico W", device
        assert found["homeassistant/switch/%s/led/config" % node]["command_topic"] == base + "/led/set"

        # The LED: Home Assistant switches it, the board's API shows it, and
        # a change by the API reaches Home Assistant.
        ha.wait(base + "/led", "OFF")
        ha.publish(base + "/led/set", "ON")
        ha.wait(base + "/led", "ON")
        assert get_json(link, "/api/led") == {"on": True}
        assert put_led(link, False) == {"on": False}
        ha.wait(base + "/led", "OFF")

        # Home Assistant restarted: the configs again.
        config_topic = "homeassistant/switch/%s/led/config" % node
        before = sum(1 for t, _ in ha.seen if t == config_topic)
        ha.publish("homeassistant/status", "online")
        board.wait_for(rb"Home Assistant is online: sending the configs again", 15)
        deadline = time.monotonic() + 15
        while sum(1 for t, _ in ha.seen if t == config_topic) == before:
            assert time.monotonic() < deadline, "the config was not sent again"
            time.sleep(0.1)

        times = visitor.check()  # every request served, each within VISITOR_BOUND_S
        st = mqtt_status(link)
        assert st["connected"] and st["connects"] == 1 and st["last_error"] is None, st
        assert st["received"] >= 2 and st["dropped"] == 0 and st["refused"] == 0, st
        # (The rp2 port's _boot.py fails before: rp2040js has no flash to mount.)
        assert not re.search(r"Traceback|MemoryError", board.console_text()[mark:]), board.console_text()[mark:]
    finally:
        if ha is not None:
            ha.close()
        broker.close()

    # MQTT off again, after a soft reset as MQTT on was: the same start but
    # for the broker.
    soft_reset(board, NO_BROKER)
    assert mqtt_status(link) is None
    off_again = heap(link)
    cost = on["used"] - off_again["used"]
    print("\nthe image's heap after a collection (/test/heap), emulator, before any page view: MQTT off %d used, "
          "%d free (after the boot), %d used, %d free (after a soft reset); MQTT on, connected to mosquitto: %d "
          "used, %d free: %d bytes more. Soft reset to connected %.1f s; a visitor meanwhile: %d requests, "
          "slowest %.2f s (bound %.1f)"
          % (off["used"], off["free"], off_again["used"], off_again["free"], on["used"], on["free"], cost,
             connected_s, len(times), max(times), VISITOR_BOUND_S))
    assert abs(off_again["used"] - off["used"]) <= 512, (off, off_again)  # a soft reset is a fresh start
    assert 0 < cost < MQTT_HEAP_BOUND, (off_again, on)
    assert on["free"] > FREE_WITH_MQTT, on
