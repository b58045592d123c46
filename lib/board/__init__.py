# The board layer: the one module of the application that touches the Pico W's
# or Pico 2 W's hardware (onboard LED, on-chip temperature sensor, identity,
# reset cause, watchdog). On a port without that hardware (the unix port
# behind `make run`) a stand-in with the same interface (board/pc.py,
# imported only there) keeps the LED state in memory and reports a plausible
# temperature.
# MIT license
#
# The two boards differ here in one register only: the watchdog's. Their LED
# (through the same CYW43439), temperature sensor (ADC 4, the same formula)
# and MicroPython's watchdog (8388 ms at most on both) are alike.

import sys

import machine  # every port has one; the unix port's has no Pin, ADC or WDT
from micropython import const
from time import ticks_diff, ticks_ms

_RESET_CAUSES = (
    ("PWRON_RESET", "power-on"),
    ("WDT_RESET", "watchdog"),
    ("HARD_RESET", "hard reset"),
    ("SOFT_RESET", "soft reset"),
    ("DEEPSLEEP_RESET", "deep sleep"),
)

# The watchdog's control register; bit 30 enables it. MicroPython has no way
# to stop a started WDT, but a user who presses Ctrl-C must get a REPL that is
# not reset 8 s later, so we clear the bit ourselves. The RP2350 has it
# elsewhere (its 0x40058000 is the USB PLL's).
_RP2040_WATCHDOG_CTRL = const(0x40058000)
_RP2350_WATCHDOG_CTRL = const(0x400D8000)
_WATCHDOG_ENABLE = const(1 << 30)
WATCHDOG_MAX_MS = 8388  # MicroPython's longest watchdog timeout on both chips (0xffffff / 2 us)

# 'Raspberry Pi Pico 2 W with RP2350' on a Pico 2 W ('... with RP2350-RISCV'
# in RISC-V mode), '... Pico W with RP2040' on a Pico W; a compiler's name on a PC.
MACHINE = getattr(sys.implementation, "_machine", "")
RP2350 = "RP2350" in MACHINE


def stop_hardware_watchdog():
    """Stop a started watchdog (boards only: machine.mem32)."""
    machine.mem32[_RP2350_WATCHDOG_CTRL if RP2350 else _RP2040_WATCHDOG_CTRL] &= ~_WATCHDOG_ENABLE

# The onboard LED is wired to the wireless chip (CYW43439), not to the RP2040.
# When that chip does not answer (a faulty board, an emulator), the driver
# tries to power it up again on every LED access, and each try blocks the
# whole program for 0.4-1 s. A chip that is up answers an LED read in a few
# ms; a try on a dead one cannot take less than the 70 ms of its power-cycle
# delays (cyw43_ensure_up). So the second LED read, timed, tells them apart.
_CHIP_SILENT_MS = 50
_chip_answers = None  # the probe's result, once per boot (boot.py and main.py share it)


def wireless_chip_answers():
    """Whether the CYW43439 answers; probed once (at most two tries of the
    driver's, about 1-2 s on a dead chip), then remembered."""
    global _chip_answers
    if _chip_answers is None:
        led = machine.Pin("LED")  # no mode given: does not touch the chip yet
        led.value()  # powers the chip up, or tries to
        start = ticks_ms()
        led.value()
        _chip_answers = ticks_diff(ticks_ms(), start) < _CHIP_SILENT_MS
    return _chip_answers


# Temperature sensor (RP2040 datasheet): volts = raw * 3.3 / 65535, degrees C
# = 27 - (volts - 0.706) / 0.001721; folded into one multiply and one subtract
# of the sum of 8 readings, because each float made is a heap block on the
# board, and /api/status reads the sensor on every call.
_TEMP_AT_ZERO = 27 + 0.706 / 0.001721
_TEMP_PER_COUNT = 3.3 / 65535 / 8 / 0.001721


class PicoW:
    """The real board: a Pico W or a Pico 2 W."""

    has_watchdog = True

    def __init__(self):
        # 'Raspberry Pi Pico 2 W' and 'RP2350', from MicroPython's own name of
        # the board it was built for.
        self.name, _, self.chip = MACHINE.partition(" with ")
        # True, or False for a board whose wireless chip does not answer: then
        # it has no Wi-Fi, and the LED pin is never touched again.
        self.wifi_chip = wireless_chip_answers()
        self._led_pin = machine.Pin("LED", machine.Pin.OUT, value=0) if self.wifi_chip else None
        # The LED's state as last set, kept here because reading the pin is a
        # bus transfer to the chip (and without a chip no LED shows it).
        self.led = False
        self._adc = machine.ADC(4)  # the on-chip temperature sensor
        self._wdt = None

    def set_led(self, on):
        self.led = bool(on)
        if self._led_pin is not None:
            self._led_pin.value(1 if on else 0)

    def temperature_c(self):
        # Average a few readings: the sensor is noisy by a degree or two. The
        # ADC answers in microseconds, so this runs on the request path.
        total = 0
        for _ in range(8):
            total += self._adc.read_u16()
        return _TEMP_AT_ZERO - total * _TEMP_PER_COUNT

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
            stop_hardware_watchdog()
            self._wdt = None

    def reset(self):
        machine.reset()


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
    from board.pc import HostStandIn  # (a board never loads it)

    return HostStandIn()
