# Stand-in for the rp2 port's `machine` module (test path only).
import os
import sys
from time import ticks_diff, ticks_ms

PWRON_RESET = 1
WDT_RESET = 3


def _say(text):
    print("FAKE machine:", text)


def _cyw43_try():
    """FAKE_CYW43=absent: the wireless chip does not answer. Like the
    firmware, every access to a pin of the chip (the LED) tries to power it
    up again, prints the driver's warning and blocks FAKE_CYW43_MS."""
    if os.getenv("FAKE_CYW43") != "absent":
        return True
    from time import sleep_ms

    sleep_ms(int(os.getenv("FAKE_CYW43_MS") or 400))
    print("[CYW43] Failed to start CYW43")
    return False


class Pin:
    IN = 0
    OUT = 1
    _levels = {}

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self._id = id
        if id == "LED" and mode != -1:  # configuring the chip's pin writes it
            _cyw43_try()
        if value is not None:
            Pin._levels[id] = value

    def value(self, x=None):
        if self._id == "LED" and not _cyw43_try():
            if x is None:
                return 0
            _say("pin LED = %d (the chip did not answer)" % (1 if x else 0))
            return None
        if x is None:
            return Pin._levels.get(self._id, 0)
        Pin._levels[self._id] = 1 if x else 0
        _say("pin %s = %d" % (self._id, Pin._levels[self._id]))

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(1 - self.value())


class ADC:
    def __init__(self, id):
        self._id = id

    def read_u16(self):
        # Channel 4 is the temperature sensor: 0.7 V is about 30.9 degrees C.
        return int(0.7 / 3.3 * 65535) if self._id == 4 else 0


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        self._timeout = timeout
        self._fed = ticks_ms()
        _say("WDT start timeout=%d" % timeout)

    def feed(self):
        now = ticks_ms()
        gap = ticks_diff(now, self._fed)
        if gap > self._timeout:
            _say("WDT expired: fed after %d ms > %d ms, the board would have reset" % (gap, self._timeout))
        self._fed = now
        _say("WDT feed gap=%d" % gap)


class _Mem:
    """mem32: the watchdog control register is the only one we emulate."""

    def __init__(self):
        self._words = {0x40058000: 1 << 30}

    def __getitem__(self, addr):
        return self._words.get(addr, 0)

    def __setitem__(self, addr, value):
        self._words[addr] = value & 0xFFFFFFFF
        if addr == 0x40058000 and not value & (1 << 30):
            _say("WDT stopped")


mem32 = _Mem()


def reset_cause():
    return int(os.getenv("FAKE_RESET_CAUSE") or PWRON_RESET)


def unique_id():
    return b"\xe6\x61\x41\x04\x03\x2b\x57\x2c"


def reset():
    _say("reset")
    sys.exit(0)


def idle():
    pass
