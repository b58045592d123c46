# The board layer's stand-in on a computer (the unix port behind `make run`
# and the tests): the interface of board.PicoW, touching no hardware. In a
# module of its own so that a Pico W never loads its code (board.create()
# imports it only on a port without machine.Pin).
# MIT license

from time import time


class HostStandIn:
    """The same interface on a computer: nothing here touches hardware."""

    name = "MicroPython unix port (host stand-in)"
    chip = None  # no microcontroller's
    has_watchdog = False
    wifi_chip = None  # this port has no such chip (not a fault, unlike False)

    led = False  # the LED's state as last set

    def __init__(self):
        self._wdt = None

    def set_led(self, on):
        self.led = bool(on)

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
