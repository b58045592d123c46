# The board layer: the one module of the application that touches the Pico W's
# hardware (onboard LED, on-chip temperature sensor, identity, reset cause,
# watchdog). On a port without that hardware (the unix port behind `make run`)
# a stand-in with the same interface keeps the LED state in memory and reports
# a plausible temperature.
# MIT license

import machine  # every port has one; the unix port's has no Pin, ADC or WDT
from time import time

_RESET_CAUSES = (
    ("PWRON_RESET", "power-on"),
    ("WDT_RESET", "watchdog"),
    ("HARD_RESET", "hard reset"),
    ("SOFT_RESET", "soft reset"),
    ("DEEPSLEEP_RESET", "deep sleep"),
)

# RP2040 watchdog control register; bit 30 enables the watchdog. MicroPython
# has no way to stop a started WDT, but a user who presses Ctrl-C must get a
# REPL that is not reset 8 s later, so we clear the bit ourselves.
_RP2040_WATCHDOG_CTRL = 0x40058000
_WATCHDOG_ENABLE = 1 << 30
WATCHDOG_MAX_MS = 8388  # the RP2040's longest watchdog timeout


class PicoW:
    """The real board."""

    name = "Raspberry Pi Pico W"
    has_watchdog = True

    def __init__(self):
        self._led = machine.Pin("LED", machine.Pin.OUT)
        self._adc = machine.ADC(4)  # the on-chip temperature sensor
        self._wdt = None

    @property
    def led(self):
        return bool(self._led.value())

    def set_led(self, on):
        self._led.value(1 if on else 0)

    def temperature_c(self):
        # Average a few readings: the sensor is noisy by a degree or two.
        total = 0
        for _ in range(8):
            total += self._adc.read_u16()
        volts = total / 8 * 3.3 / 65535
        return 27 - (volts - 0.706) / 0.001721

    def unique_id(self):
        return "".join("%02x" % b for b in machine.unique_id())

    def reset_cause(self):
        cause = machine.reset_cause()
        for name, words in _RESET_CAUSES:
            if getattr(machine, name, None) == cause:
                return words
        return "unknown (%d)" % cause

    def start_watchdog(self, timeout_ms):
        """Start the hardware watchdog; from then on feed_watchdog() must be
        called within timeout_ms, or the board resets."""
        self._wdt = machine.WDT(timeout=min(timeout_ms, WATCHDOG_MAX_MS))

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()

    def stop_watchdog(self):
        if self._wdt is not None:
            machine.mem32[_RP2040_WATCHDOG_CTRL] &= ~_WATCHDOG_ENABLE
            self._wdt = None

    def reset(self):
        machine.reset()


class HostStandIn:
    """The same interface on a computer: nothing here touches hardware."""

    name = "MicroPython unix port (host stand-in)"
    has_watchdog = False

    def __init__(self):
        self._led = False
        self._wdt = None

    @property
    def led(self):
        return self._led

    def set_led(self, on):
        self._led = bool(on)

    def temperature_c(self):
        # Room temperature with the small wobble of a real sensor.
        return 24.0 + (int(time()) % 7) * 0.1

    def unique_id(self):
        return "host"

    def reset_cause(self):
        return "power-on"

    def start_watchdog(self, timeout_ms):
        pass  # no watchdog on a computer

    def feed_watchdog(self):
        pass

    def stop_watchdog(self):
        pass

    def reset(self):
        raise SystemExit("reset requested")


def has_wifi():
    """Whether this port has Wi-Fi (asked before importing wifi.py, so a port
    without it does not spend heap compiling that module)."""
    try:
        import network  # noqa: F401
    except ImportError:
        return False
    return True


def create():
    """The board this code runs on."""
    if hasattr(machine, "Pin"):
        return PicoW()
    return HostStandIn()
