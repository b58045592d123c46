# The trial's guard in lib/otaboot/choose.py, which needs machine.Timer and
# machine.WDT (a Pico W has them, the unix port not): stand-ins record what
# the guard does with them. The rest of otaboot is tested end to end by
# tests/test_ota.py.
import sys
from time import ticks_add, ticks_ms

from otaboot import choose as otaboot  # (where the guard lives)


class _WDT:
    fed = 0

    def __init__(self, *, id=0, timeout=5000):
        _WDT.timeout = timeout

    def feed(self):
        _WDT.fed += 1


class _Timer:
    PERIODIC = 1
    made = None

    def __init__(self, id, *, mode=1, period=None, callback=None):
        self.callback = callback
        self.period = period
        self.stopped = False
        _Timer.made = self

    def deinit(self):
        self.stopped = True


class _Machine:
    WDT = _WDT
    Timer = _Timer
    mem32 = {0x40058000: 1 << 30 | 5}


def _with_machine():
    real = sys.modules.get("machine")
    sys.modules["machine"] = _Machine
    return real


def _restore(real):
    if real is None:
        del sys.modules["machine"]
    else:
        sys.modules["machine"] = real


def test_the_guard_feeds_the_watchdog_until_the_trial_time_then_stops_so_the_board_resets():
    real = _with_machine()
    try:
        otaboot._start_guard()
        timer = _Timer.made
        assert _WDT.timeout == 8388 and timer.period == 1000
        timer.callback(timer)
        assert _WDT.fed == 1
        otaboot._until = ticks_add(ticks_ms(), -1)  # the trial's time has passed
        timer.callback(timer)
        timer.callback(timer)
        assert _WDT.fed == 1  # no more feeding: the watchdog resets the board
    finally:
        otaboot._guard = None
        _restore(real)


def test_confirmed_without_an_application_watchdog_the_guard_turns_the_watchdog_off():
    real = _with_machine()
    try:
        otaboot._start_guard()
        timer = _Timer.made
        otaboot._stop_guard(False)
        assert timer.stopped and otaboot._guard is None
        assert _Machine.mem32[0x40058000] == 5  # ENABLE (bit 30) cleared, the rest kept
        _Machine.mem32[0x40058000] = 1 << 30
        otaboot._start_guard()
        otaboot._stop_guard(True)  # the application feeds it from now on
        assert _Timer.made.stopped and _Machine.mem32[0x40058000] == 1 << 30
    finally:
        otaboot._guard = None
        _restore(real)
