"""The firmware as it runs on a Pico W: boot.py joins Wi-Fi, main.py serves,
the monitor rejoins, the watchdog is fed only while healthy, the setup portal
takes new credentials. boot.py and main.py run on the unix port with
stand-ins of `network`, `machine` and `rp2` (tests/stubs) that follow the
real rp2 API; the tests watch them through the `FAKE ...` lines they print."""

import json
import re
import socket
import struct
import time

import pytest

import client
from serverproc import PICO_LIB, board_word_size, free_port

PASSWORD = "secret-pass-123"
FAST_WIFI = {
    "WIFI_CONNECT_TIMEOUT_MS": 800,
    "WIFI_RETRY_MS": 200,
    "WIFI_CHECK_MS": 300,
    "WIFI_MAX_BACKOFF_MS": 1000,
    "WATCHDOG_MS": 0,
}


@pytest.fixture
def credentials(tmp_path):
    path = tmp_path / "wifi.json"
    path.write_text(json.dumps({"ssid": "home", "password": PASSWORD}))
    return path


def firmware(start_server, creds_path, fake=None, settings=None):
    """boot.py then main.py, in one MicroPython process, in the Pico W profile;
    `fake` sets the stand-ins' behaviour (tests/stubs/README.md)."""
    merged = dict(FAST_WIFI, WIFI_CREDENTIALS_FILE=str(creds_path))
    merged.update(settings or {})
    # On the board's word size: boot.py then the whole application, compiled
    # from .py in 180K, needs the largest free blocks of a 64-bit heap (a
    # 4.7 KB one for lib/httpd/server.py failed after boot.py's own work).
    return start_server(merged, script="tests/apps/firmware.py", path=("tests/stubs", PICO_LIB, "."),
                        env=fake, start_timeout=20, interpreter=board_word_size())


def wifi_status(srv):
    return json.loads(client.get(srv.port, "/api/status").body)["wifi"]


def fake_lines(srv, prefix):
    return [line.strip() for line in srv.lines if line.startswith(prefix)]


# -- joining at boot -------------------------------------------------------------


def test_joins_on_the_first_try_and_says_so_with_the_address(start_server, credentials):
    srv = firmware(start_server, credentials)
    srv.wait_for_log(r"connected to 'home'; got IP 192\.168\.1\.23: browse to http://192\.168\.1\.23/")
    status = wifi_status(srv)
    assert status["connected"] is True and status["mode"] == "station"
    assert status["ip"] == "192.168.1.23" and status["rssi"] == -58
    assert fake_lines(srv, "FAKE rp2: country XX") and fake_lines(srv, "FAKE network: hostname picow")
    assert "FAKE network: config pm=16" in srv.output()  # power saving off
    # The LED blinked while joining, then stayed on to say "joined", then off.
    leds = [line[-1] for line in fake_lines(srv, "FAKE machine: pin LED")]
    assert leds[:2] == ["1", "0"] and "".join(leds).endswith("10")
    assert srv.output().count("joining 'home'") == 1


def test_wrong_password_is_named_and_not_retried_then_the_portal_opens(start_server, credentials):
    srv = firmware(start_server, credentials, {"FAKE_WIFI": "wrong_password"})
    srv.wait_for_log(r"joining 'home' failed: wrong password")
    srv.wait_for_log(r"could not join 'home': starting the setup portal")
    assert srv.output().count("joining 'home' (attempt") == 1
    assert "FAKE network: ap active True" in srv.output()
    r = client.get(srv.port, "/")
    assert r.status == 200 and b"Wi-Fi setup" in r.body


def test_no_access_point_is_retried_with_backoff_then_the_portal_opens(start_server, credentials):
    t0 = time.monotonic()
    srv = firmware(start_server, credentials, {"FAKE_WIFI": "no_ap"})
    srv.wait_for_log(r"starting the setup portal")
    assert len(re.findall(r"joining 'home' failed: no access point found", srv.output())) == 3
    assert time.monotonic() - t0 > 3 * 0.3 + 0.2 + 0.4  # join time + pauses 200, 400 ms


def test_a_join_that_never_completes_times_out_and_boot_stays_bounded(start_server, credentials):
    t0 = time.monotonic()
    srv = firmware(start_server, credentials, {"FAKE_WIFI": "timeout"})
    srv.wait_for_log(r"starting the setup portal")
    assert len(re.findall(r"joining 'home' failed: timed out", srv.output())) == 3
    # 3 attempts x 0.8 s + 0.2 + 0.4 s of pauses + the fast failure blink (2 s)
    assert time.monotonic() - t0 < 3 * 0.8 + 0.6 + 2 + 4


def test_connect_failure_is_reported_in_words(start_server, credentials):
    srv = firmware(start_server, credentials, {"FAKE_WIFI": "fail"})
    srv.wait_for_log(r"joining 'home' failed: connect failed")


def test_an_exception_in_boot_py_does_not_keep_main_py_from_serving(start_server, credentials):
    srv = firmware(start_server, credentials, {"FAKE_WIFI": "explode"})
    srv.wait_for_log(r"boot.py: Wi-Fi setup failed; main.py runs anyway")
    assert "Traceback" in srv.output()
    assert client.get(srv.port, "/health").status == 200


def test_credentials_are_never_logged_or_served(start_server, credentials):
    srv = firmware(start_server, credentials)
    for path in ("/wifi.json", "/static/../wifi.json", "/config.py"):
        assert client.get(srv.port, path).status == 404
    assert PASSWORD not in client.get(srv.port, "/api/status").body.decode()
    assert PASSWORD not in client.get(srv.port, "/").body.decode()
    assert PASSWORD not in srv.output()


# -- while serving ---------------------------------------------------------------------


def _serving_throughout(srv, seconds):
    """Ask /health every 0.1 s for `seconds`; return the failures."""
    failures = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            if client.get(srv.port, "/health", timeout=2).status != 200:
                failures.append("status")
        except OSError as e:
            failures.append(repr(e))
        time.sleep(0.1)
    return failures


@pytest.mark.parametrize("scenario", ["drop", "zombie"])
def test_a_lost_link_is_noticed_and_rejoined_while_the_server_keeps_serving(start_server, credentials, scenario):
    """zombie: isconnected() stays True on the dead link (micropython#16290);
    the monitor goes by status() and the address instead."""
    srv = firmware(start_server, credentials, {"FAKE_WIFI": scenario, "FAKE_WIFI_DROP_MS": "1200"})
    assert _serving_throughout(srv, 3.5) == []
    srv.wait_for_log(r"Wi-Fi link lost \((connect failed|not connected)\); rejoining")
    srv.wait_for_log(r"Wi-Fi back after \d+ s; IP 192\.168\.1\.23")
    status = wifi_status(srv)
    assert status["connected"] is True
    assert status["reconnects"] >= 1
    assert status["downtime_s"] >= 0 and status["last_error"] in ("connect failed", "not connected")


# -- watchdog -------------------------------------------------------------------------


def feed_gaps(srv):
    return [int(m) for m in re.findall(r"FAKE machine: WDT feed gap=(\d+)", srv.output())]


def test_a_healthy_loop_feeds_the_watchdog_well_within_its_timeout(start_server, credentials):
    srv = firmware(start_server, credentials, settings={"WATCHDOG_MS": 2000})
    srv.wait_for_log(r"FAKE machine: WDT start timeout=2000")
    time.sleep(3)
    gaps = feed_gaps(srv)
    assert len(gaps) >= 4
    assert max(gaps) < 1000
    assert "WDT expired" not in srv.output()


def test_a_wedged_loop_stops_feeding_the_watchdog(start_server, credentials):
    # The Wi-Fi driver hangs for 3 s inside a status() call: the whole event
    # loop stands still, so nothing feeds the watchdog and the board resets.
    srv = firmware(start_server, credentials,
                   {"FAKE_WIFI_HANG_MS": "3000", "FAKE_WIFI_HANG_AFTER_MS": "3000"},
                   settings={"WATCHDOG_MS": 2000})
    srv.wait_for_log(r"FAKE machine: WDT expired: fed after \d+ ms > 2000 ms", timeout=15)
    assert max(feed_gaps(srv)) >= 3000


def test_ctrl_c_stops_the_watchdog_so_the_repl_is_not_reset(start_server, credentials):
    srv = firmware(start_server, credentials, settings={"WATCHDOG_MS": 2000})
    srv.wait_for_log(r"FAKE machine: WDT feed")
    assert srv.stop() == 0
    assert "FAKE machine: WDT stopped" in srv.output()


def test_the_reset_cause_is_recorded_at_boot_and_reported(start_server, credentials):
    srv = firmware(start_server, credentials, {"FAKE_RESET_CAUSE": "3"})
    status = json.loads(client.get(srv.port, "/api/status").body)
    assert status["board"]["reset_cause"] == "watchdog"


# -- no wireless chip --------------------------------------------------------------


def test_a_board_whose_wireless_chip_does_not_answer_says_so_once_and_serves_without_blocking(
        start_server, tmp_path):
    # Every LED access on such a board blocks 0.4 s (FAKE_CYW43_MS) while the
    # driver tries the chip again: after the probe at boot nothing may touch it.
    srv, _ = portal(start_server, tmp_path, {"FAKE_CYW43": "absent"}, settings={"WATCHDOG_MS": 2000})
    srv.wait_for_log(r"the wireless chip \(CYW43439\) does not answer: no Wi-Fi, no setup portal")
    srv.wait_for_log(r"FAKE machine: WDT start timeout=2000")  # the loop is still guarded
    probes = srv.output().count("[CYW43] Failed to start CYW43")
    assert probes <= 2
    status = json.loads(client.get(srv.port, "/api/status").body)
    assert status["board"]["wifi_chip"] is False and status["wifi"] is None
    r = client.request(srv.port, "POST", "/api/led", {"Content-Type": "application/json"}, b'{"on": true}')
    assert r.status == 200 and json.loads(r.body) == {"on": True}  # remembered, not shown
    t0 = time.monotonic()
    for _ in range(5):
        assert client.get(srv.port, "/api/status").status == 200
        assert client.get(srv.port, "/").status == 200
    assert time.monotonic() - t0 < 1.0  # one chip try alone would take 0.4 s
    time.sleep(2.5)  # more than the watchdog's timeout
    out = srv.output()
    assert out.count("[CYW43] Failed to start CYW43") == probes
    assert "FAKE network" not in out  # neither joining nor an access point was attempted
    assert "setup portal: join" not in out and "WDT expired" not in out
    assert max(feed_gaps(srv)) < 1000


# -- setup portal ------------------------------------------------------------------


def post_form(port, fields, raw=None):
    body = raw if raw is not None else "&".join("%s=%s" % kv for kv in fields.items()).encode()
    return client.request(port, "POST", "/setup",
                          {"Content-Type": "application/x-www-form-urlencoded"}, body)


def portal(start_server, tmp_path, fake=None, settings=None):
    creds = tmp_path / "wifi.json"  # absent: the portal opens
    return firmware(start_server, creds, fake, settings), creds


def test_without_credentials_the_portal_lists_networks_and_saves_a_choice(start_server, tmp_path):
    srv, creds = portal(start_server, tmp_path)
    srv.wait_for_log(r"no Wi-Fi credentials in .*: starting the setup portal")
    srv.wait_for_log(r"setup portal: join Wi-Fi 'PicoW-Setup' and browse to http://192\.168\.4\.1/")
    assert "FAKE network: config key='***'" in srv.output()  # WPA2 key set, not printed
    page = client.get(srv.port, "/").body.decode()
    assert "home (-52 dBm, secured)" in page and "cafe guest (-71 dBm, open)" in page
    r = post_form(srv.port, {"ssid": "home", "password": "a+new%26pass"})
    assert r.status == 200 and b"joins <b>home</b>" in r.body
    assert json.loads(creds.read_text()) == {"ssid": "home", "password": "a new&pass"}
    srv.wait_for_log(r"FAKE machine: reset")  # restarts to join it
    srv.proc.wait(5)
    assert "a new&pass" not in srv.output()


@pytest.mark.parametrize("fields,raw,message", [
    ({"ssid": "", "password": "longenough"}, None, b"The network name is empty."),
    ({"ssid": "home", "password": "x" * 100}, None, b"The password must be 8 to 63 characters"),
    ({"ssid": "home", "password": "short"}, None, b"The password must be 8 to 63 characters"),
    ({"ssid": "x" * 33, "password": ""}, None, b"longer than 32 bytes"),
    (None, b"ssid=%FF%FE&password=longenough", b"not valid text (UTF-8)"),
    (None, b"ssid=home&password=caf%C3%A9-caf%C3%A9", b"printable ASCII"),
])
def test_bad_setup_input_gets_a_clear_error_and_saves_nothing(start_server, tmp_path, fields, raw, message):
    srv, creds = portal(start_server, tmp_path)
    r = post_form(srv.port, fields or {}, raw)
    assert r.status == 400
    assert message in r.body
    assert not creds.exists()
    assert "FAKE machine: reset" not in srv.output()


# -- the setup portal's MQTT broker (optional) ---------------------------------------

BROKER_PW = "broker-s3cret"


def broker_portal(start_server, tmp_path):
    """The portal, writing the broker to tmp_path/mqtt.json."""
    mqtt_json = tmp_path / "mqtt.json"
    srv, creds = portal(start_server, tmp_path, settings={"MQTT_CREDENTIALS_FILE": str(mqtt_json)})
    return srv, creds, mqtt_json


def test_the_portal_saves_an_optional_broker_to_mqtt_json_and_never_shows_its_password(start_server, tmp_path):
    srv, creds, mqtt_json = broker_portal(start_server, tmp_path)
    page = client.get(srv.port, "/").body.decode()
    for name in ("mqtt_host", "mqtt_port", "mqtt_user", "mqtt_password"):
        assert 'name="%s"' % name in page
    assert 'name="mqtt_password" type="password"' in page
    r = post_form(srv.port, {"ssid": "home", "password": PASSWORD, "mqtt_host": "192.168.1.10",
                             "mqtt_port": "", "mqtt_user": "board", "mqtt_password": BROKER_PW})
    assert r.status == 200 and b"joins <b>home</b>, then connects to the MQTT broker 192.168.1.10:1883" in r.body
    assert BROKER_PW.encode() not in r.body
    assert json.loads(creds.read_text()) == {"ssid": "home", "password": PASSWORD}
    assert json.loads(mqtt_json.read_text()) == {"host": "192.168.1.10", "port": 1883, "user": "board",
                                                 "password": BROKER_PW}
    srv.wait_for_log(r"FAKE machine: reset")
    srv.proc.wait(5)
    assert "MQTT broker 192.168.1.10:1883 saved" in srv.output()
    assert BROKER_PW not in srv.output() and PASSWORD not in srv.output()


def test_a_broker_left_empty_keeps_mqtt_json_as_it_is(start_server, tmp_path):
    srv, creds, mqtt_json = broker_portal(start_server, tmp_path)
    r = post_form(srv.port, {"ssid": "home", "password": PASSWORD, "mqtt_host": "", "mqtt_port": "",
                             "mqtt_user": "", "mqtt_password": ""})
    assert r.status == 200 and b"MQTT" not in r.body
    assert json.loads(creds.read_text()) == {"ssid": "home", "password": PASSWORD}
    assert not mqtt_json.exists()  # none on a new board: MQTT stays off
    srv.wait_for_log(r"FAKE machine: reset")
    srv.proc.wait(5)
    kept = '{"user": "board", "password": "kept"}'  # one written by hand stays
    mqtt_json.write_text(kept)
    creds.unlink()  # (the portal again)
    srv, creds, _ = broker_portal(start_server, tmp_path)
    assert post_form(srv.port, {"ssid": "home", "password": PASSWORD}).status == 200
    assert mqtt_json.read_text() == kept


@pytest.mark.parametrize("fields,message", [
    ({"mqtt_host": "", "mqtt_user": "board"}, b"Give the broker's address, or leave every broker field empty."),
    ({"mqtt_host": "", "mqtt_port": "1884"}, b"Give the broker's address"),
    ({"mqtt_host": "my broker", "mqtt_user": "board"}, b"must be an IP address or a host name"),
    ({"mqtt_host": "h" * 65, "mqtt_user": "board"}, b"must be an IP address or a host name"),
    ({"mqtt_host": "10.0.0.2", "mqtt_port": "0", "mqtt_user": "board"}, b"a number from 1 to 65535"),
    ({"mqtt_host": "10.0.0.2", "mqtt_port": "65536", "mqtt_user": "board"}, b"a number from 1 to 65535"),
    ({"mqtt_host": "10.0.0.2", "mqtt_port": "-1", "mqtt_user": "board"}, b"a number from 1 to 65535"),
    ({"mqtt_host": "10.0.0.2", "mqtt_user": ""}, b"A broker password needs a user name."),
    ({"mqtt_host": "10.0.0.2", "mqtt_user": "u" * 65}, b"at most 64 characters"),
])
def test_a_bad_broker_gets_a_clear_error_saves_nothing_and_keeps_what_was_typed_but_the_password(
        start_server, tmp_path, fields, message):
    srv, creds, mqtt_json = broker_portal(start_server, tmp_path)
    form = dict({"ssid": "home", "password": PASSWORD, "mqtt_port": "", "mqtt_password": BROKER_PW}, **fields)
    if "password needs" not in message.decode() and not fields.get("mqtt_user"):
        form["mqtt_password"] = ""
    r = post_form(srv.port, form)
    assert r.status == 400, r
    assert message in r.body, r.body
    assert not creds.exists() and not mqtt_json.exists()
    page = r.body.decode()
    assert 'value="home"' in page and BROKER_PW not in page and PASSWORD not in page
    if fields["mqtt_host"]:
        assert 'name="mqtt_host" maxlength="64" autocapitalize="none" autocorrect="off" placeholder="192.168.1.10" ' \
            'value="%s"' % fields["mqtt_host"] in page
        assert "<details open>" in page  # the broker's fields shown, with the error
    assert "FAKE machine: reset" not in srv.output() and BROKER_PW not in srv.output()


def test_the_board_connects_to_the_broker_the_portal_saved(start_server, tmp_path):
    """Portal, then the restart: the board joins the Wi-Fi and, with no
    MQTT_HOST in config.py, the broker of mqtt.json (a real mosquitto)."""
    from broker import Broker

    b = Broker(users={"board": BROKER_PW}).start()
    try:
        srv, creds, mqtt_json = broker_portal(start_server, tmp_path)
        r = post_form(srv.port, {"ssid": "home", "password": PASSWORD, "mqtt_host": "127.0.0.1",
                                 "mqtt_port": str(b.port), "mqtt_user": "board", "mqtt_password": BROKER_PW})
        assert r.status == 200, r
        srv.wait_for_log(r"FAKE machine: reset")
        srv.proc.wait(5)
        srv = firmware(start_server, creds, settings={"MQTT_CREDENTIALS_FILE": str(mqtt_json), "MQTT_RETRY_MS": 200})
        deadline = time.monotonic() + 10
        while True:
            st = json.loads(client.get(srv.port, "/api/status").body)
            if st["mqtt"] and st["mqtt"]["connected"]:
                break
            assert time.monotonic() < deadline, st
            time.sleep(0.1)
        assert st["wifi"]["connected"] and st["mqtt"]["broker"] == "127.0.0.1:%d" % b.port
        assert BROKER_PW not in srv.output()
    finally:
        b.close()


def test_phones_checking_for_a_captive_portal_are_sent_to_the_setup_page(start_server, tmp_path):
    srv, _ = portal(start_server, tmp_path)
    for path in ("/generate_204", "/hotspot-detect.html", "/connecttest.txt", "/some/unknown/page"):
        r = client.get(srv.port, path)
        assert r.status == 302 and r.header("location") == "http://192.168.4.1/", path


def test_the_portal_gives_up_after_its_time_and_restarts_to_try_again(start_server, tmp_path):
    srv, _ = portal(start_server, tmp_path, settings={"PORTAL_TIMEOUT_S": 2})
    srv.wait_for_log(r"FAKE machine: reset", timeout=10)
    # Timed from the portal's own start (its first line), not from when the
    # test got to see it: on a loaded machine that can be a second later.
    took = srv.log_time(r"FAKE machine: reset") - srv.log_time(r"setup portal: join Wi-Fi")
    assert 1.5 < took < 6, took
    srv.wait_for_log(r"setup portal open for 2 s without a new network")


# -- captive DNS -------------------------------------------------------------------


def dns_query(name, qtype=1, ident=0x1234):
    q = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def ask(port, packet, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ("127.0.0.1", port))
        try:
            return s.recv(1024)
        except socket.timeout:
            return None


def test_the_dns_responder_answers_every_name_with_the_board(start_server, tmp_path):
    port = free_port()
    srv, _ = portal(start_server, tmp_path, settings={"PORTAL_DNS_PORT": port})
    reply = ask(port, dns_query("connectivitycheck.gstatic.com"))
    assert reply is not None
    ident, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", reply[:12])
    assert (ident, qd, an) == (0x1234, 1, 1)
    assert flags & 0x8000 and flags & 0x000F == 0  # a response, no error
    assert reply.endswith(bytes([192, 168, 4, 1]))
    # AAAA: no error, no address (the board has no IPv6 address to give).
    reply = ask(port, dns_query("example.com", qtype=28))
    assert struct.unpack(">HHHHHH", reply[:12])[3] == 0


@pytest.mark.parametrize("packet", [
    b"",
    b"\x12\x34",
    dns_query("example.com")[:15],  # truncated in the name
    dns_query("example.com")[:-2],  # truncated in the question's class
    struct.pack(">HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\x00\x00\x01\x00\x01",  # a response
    struct.pack(">HHHHHH", 1, 0x0100, 2, 0, 0, 0) + b"\x00\x00\x01\x00\x01" * 2,  # two questions
    struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",  # compression
    b"\xff" * 600,  # larger than DNS over UDP allows
])
def test_malformed_dns_packets_are_dropped_without_disturbing_the_responder(start_server, tmp_path, packet):
    port = free_port()
    srv, _ = portal(start_server, tmp_path, settings={"PORTAL_DNS_PORT": port})
    assert ask(port, packet, timeout=0.5) is None
    assert ask(port, dns_query("still.works"))[-4:] == bytes([192, 168, 4, 1])
    assert srv.alive()
