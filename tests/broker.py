"""A real MQTT broker for the tests: Debian's mosquitto, started on a free
port with a configuration of its own in a temporary directory (never the
system's service), and a paho-mqtt client that plays Home Assistant. Also a
broker that is not one: a TCP server whose answers a test writes, for a
broker that stays silent or sends what no broker may."""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import paho.mqtt.client as paho

from serverproc import free_port, picow_profile

listening = picow_profile.listening


def mosquitto():
    path = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(path):
        raise AssertionError("mosquitto is missing: install Debian's mosquitto (make test does)")
    return path


class Broker:
    """mosquitto on 127.0.0.1:port; with `users` ({name: password}) only they
    may connect. start() and stop() may be called again: the same port."""

    def __init__(self, users=None):
        # Readable by the user mosquitto runs as (it leaves root for
        # "mosquitto"): pytest's tmp_path is not.
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.users = users
        self.proc = None

    def start(self):
        conf = ["listener %d 127.0.0.1" % self.port, "persistence false", "log_dest stdout",
                "log_type error", "log_type warning", "log_type notice"]
        if self.users:
            passwords = self.dir / "passwords"
            passwords.write_text("".join("%s:%s\n" % kv for kv in self.users.items()))
            passwords.chmod(0o644)
            subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-U", str(passwords)],
                           check=True, capture_output=True)
            conf += ["allow_anonymous false", "password_file %s" % passwords]
        else:
            conf.append("allow_anonymous true")
        path = self.dir / "mosquitto.conf"
        path.write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([mosquitto(), "-c", str(path)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not listening(self.port):
            assert self.proc.poll() is None and time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class HomeAssistant:
    """A paho client subscribed to everything: `latest[topic]` is the last
    payload seen (text), `seen` every (topic, payload) in order."""

    def __init__(self, port, user=None, password=None):
        self.latest = {}
        self.retained = {}  # what came flagged retained: what the broker kept
        self.seen = []
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="ha-%d" % time.monotonic_ns())
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_message = self._message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#")
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _message(self, client, userdata, msg):
        text = msg.payload.decode("utf-8", "replace")
        with self.lock:
            self.latest[msg.topic] = text
            self.seen.append((msg.topic, text))
            if msg.retain:
                self.retained[msg.topic] = text

    def wait(self, topic, payload=None, timeout=10.0):
        """The payload of `topic` once it is `payload` (any, if None)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = self.latest.get(topic)
            if got is not None and (payload is None or got == payload):
                return got
            time.sleep(0.02)
        raise AssertionError("%s is %r, not %r after %.1f s" % (topic, self.latest.get(topic), payload, timeout))

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def retained(port, timeout=1.5):
    """What the broker keeps (retained messages): {topic: text}, read by a
    client that connects afterwards."""
    ha = HomeAssistant(port)
    try:
        time.sleep(timeout)
        with ha.lock:
            return dict(ha.retained)
    finally:
        ha.close()


def configs(port):
    """The discovery configs the broker keeps: {topic: dict}."""
    return {t: json.loads(p) for t, p in retained(port).items() if t.startswith("homeassistant/") and p}


class FakeBroker:
    """A TCP server on 127.0.0.1:port that accepts and runs answer(sock) for
    each connection (in a thread); it counts the connections it had and
    those the client closed."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.closed_by_client = 0
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        with conn:
            try:
                self.answer(conn)
                conn.settimeout(30)
                while conn.recv(4096):  # whatever the client sends, until it closes
                    pass
                self.closed_by_client += 1
            except ConnectionResetError:  # closed with our bytes unread
                self.closed_by_client += 1
            except OSError:
                pass

    def close(self):
        self._stop = True
        self.sock.close()
