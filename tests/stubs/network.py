# Stand-in for the rp2 port's `network` module (test path only). Behaviour is
# chosen with FAKE_WIFI (see README.md here); passwords are never printed.
import os
from time import ticks_diff, ticks_ms

STA_IF = 0
AP_IF = 1
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 3
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3

_hostname = "PicoW"
_country = "XX"


def _say(text):
    print("FAKE network:", text)


def _env(name, default):
    value = os.getenv(name)
    return default if value is None else value


def _chip_up():
    from machine import _cyw43_try  # FAKE_CYW43, shared with the LED pin

    return _cyw43_try()


def hostname(name=None):
    global _hostname
    if name is None:
        return _hostname
    _hostname = name
    _say("hostname %s" % name)


def country(code=None):
    global _country
    if code is None:
        return _country
    _country = code


class WLAN:
    PM_NONE = 16
    PM_PERFORMANCE = 10555714
    PM_POWERSAVE = 17
    _interfaces = {}

    def __new__(cls, interface_id=STA_IF):
        # Like the firmware: one object per interface.
        nic = WLAN._interfaces.get(interface_id)
        if nic is None:
            nic = object.__new__(cls)
            nic._init(interface_id)
            WLAN._interfaces[interface_id] = nic
        return nic

    def __init__(self, interface_id=STA_IF):
        pass

    def _init(self, interface_id):
        self._if = interface_id
        self._active = False
        self._dead = False  # active(True) found no chip (FAKE_CYW43=absent)
        self._since = None  # ticks of the last connect()
        self._ssid = None
        self._dropped = False
        self._config = {"pm": WLAN.PM_PERFORMANCE, "ssid": "PICO-AP" if interface_id == AP_IF else ""}
        self._scenario = _env("FAKE_WIFI", "ok")

    def active(self, is_active=None):
        if is_active is None:
            return self._active
        if self._scenario == "explode":
            raise OSError(5)
        if is_active and not _chip_up():
            # The firmware neither raises nor brings the interface up: active()
            # says True, but connect() and scan() fail with EPERM.
            self._active = True
            self._dead = True
            return
        self._active = bool(is_active)
        _say("%s active %s" % ("ap" if self._if == AP_IF else "sta", self._active))

    def connect(self, ssid=None, key=None, *, bssid=None):
        if not self._active or self._dead:
            raise OSError(1)
        self._ssid = ssid
        self._since = ticks_ms()
        if self._dropped:
            self._dropped = False
            self._scenario = "ok"  # the access point is back
        _say("connect %r" % ssid)

    def disconnect(self):
        self._since = None
        _say("disconnect")

    def _elapsed(self):
        return ticks_diff(ticks_ms(), self._since)

    def status(self, param=None):
        if param == "rssi":
            if self.status() != STAT_GOT_IP:
                raise OSError(1)
            return -58
        if self._if == AP_IF:
            return STAT_GOT_IP if self._active else STAT_IDLE
        if not self._active or self._since is None:
            return STAT_IDLE
        if self._elapsed() < int(_env("FAKE_WIFI_JOIN_MS", "300")):
            return STAT_CONNECTING
        self._maybe_hang()
        scenario = self._scenario
        if scenario == "wrong_password":
            return STAT_WRONG_PASSWORD
        if scenario == "no_ap":
            return STAT_NO_AP_FOUND
        if scenario == "fail":
            return STAT_CONNECT_FAIL
        if scenario == "timeout":
            return STAT_CONNECTING
        if self._link_lost():
            return STAT_CONNECT_FAIL if scenario == "drop" else STAT_IDLE
        return STAT_GOT_IP

    def _link_lost(self):
        if self._scenario not in ("drop", "zombie") or self._since is None:
            return False
        if not self._dropped and self._elapsed() > int(_env("FAKE_WIFI_DROP_MS", "1500")):
            self._dropped = True
            _say("link lost")
        return self._dropped

    def _maybe_hang(self):
        # FAKE_WIFI_HANG_MS: once, FAKE_WIFI_HANG_AFTER_MS after joining, the
        # driver call blocks (the whole event loop with it).
        hang = int(_env("FAKE_WIFI_HANG_MS", "0"))
        if hang and not getattr(self, "_hung", False):
            if self._elapsed() > int(_env("FAKE_WIFI_HANG_AFTER_MS", "0")):
                self._hung = True
                _say("status() hangs for %d ms" % hang)
                from time import sleep_ms

                sleep_ms(hang)

    def isconnected(self):
        if self._scenario == "zombie" and self._link_lost():
            return True  # micropython#16290: True on a dead link
        return self.status() == STAT_GOT_IP

    def ifconfig(self, config=None):
        if config is not None:
            return None
        if self._if == AP_IF:
            return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "192.168.4.1")
        if self.status() == STAT_GOT_IP:
            return ("192.168.1.23", "255.255.255.0", "192.168.1.1", "192.168.1.1")
        return ("0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0")

    def config(self, *args, **kwargs):
        if args:
            return self._config.get(args[0])
        for name, value in kwargs.items():
            self._config[name] = value
            if name in ("key", "password"):
                value = "***"
            _say("config %s=%r" % (name, value))

    def scan(self):
        if not self._active or self._dead:
            raise OSError(1)  # EPERM, as the firmware's cyw43_wifi_scan
        found = []
        spec = _env("FAKE_WIFI_NETWORKS", "home:-52:3,cafe guest:-71:0")
        for item in spec.split(","):
            if item:
                ssid, rssi, security = item.split(":")
                found.append((ssid.encode(), b"\x00\x11\x22\x33\x44\x55", 6, int(rssi), int(security), 0))
        return found
