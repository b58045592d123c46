# Which version of the firmware runs: the choosing at boot, a trial's
# watchdog guard and the confirmation (otaboot/__init__.py holds the state).
# MIT license
#
# Part of the recovery path with otaboot/__init__.py: never replaced over the
# air, imports only built-in modules, never raises. otaboot imports it for
# select() at boot and confirm() once the firmware serves, and forgets it
# after each (unless a trial's guard runs from it): a serving board does not
# hold this code. It imports nothing of otaboot: it is given the state
# file's folder and its read() and write(), and returns what it decided.

import sys

from micropython import const

_SAFE_AFTER = const(3)  # boots in a row that did not reach serving, then safe mode
_SAFE_TRIES = const(2)  # safe-mode boots that do not serve either, then back to the previous version
_TRIAL_MS = const(120000)  # board only: a new version not serving by then is reset (joining Wi-Fi takes up to ~60 s)

_guard = None  # board only: the timer that feeds the watchdog during a trial
_until = 0  # ticks_ms until which the guard feeds the watchdog


def _exists(path):
    import os

    try:
        os.stat(path)
        return True
    except OSError:
        return False


def select(folder, read, write):
    """otaboot.select(): choose the version and put it first on sys.path.
    Returns (state, mode, root, event): the state file's contents as now
    written, "base", "version", "trial" or "safe", the version's directory
    with a trailing "/" ("" for the base code), and what a person should hear
    of (a rollback, safe mode) or None."""
    st, mode, root, event = {}, "base", "", None
    try:
        if not _exists(folder):  # no update yet, nor make deploy: nothing to choose or count
            return st, mode, root, event
        st = read()
        st["boots"] = st.get("boots", 0) + 1  # counted before anything can fail
        if st.get("trial") and st["boots"] > 1:
            event = _roll_back(st, st.get("failure") or "it did not reach serving (a hang, a watchdog reset or a power cut)")
        active = st.get("active")
        if active and not _exists(folder + "/" + active):
            event = _roll_back(st, "its files are missing")
        elif active and st["boots"] > _SAFE_AFTER + _SAFE_TRIES:  # e.g. a config.py that raises
            event = _roll_back(st, "%d boots in a row did not reach serving, safe mode included" % (st["boots"] - 1))
        active = st.get("active")
        if st.get("boots", 0) > _SAFE_AFTER and not st.get("trial"):
            st["safe"] = "%d boots in a row did not reach serving" % (st["boots"] - 1)
            event = "safe mode: " + st["safe"]
        else:
            st.pop("safe", None)
        try:
            write(st)
        except OSError as e:  # a full or failing flash: still run the version chosen
            print("otaboot: cannot write the state file: %r" % e)
        mode = "safe" if st.get("safe") else "trial" if st.get("trial") else "version" if active else "base"
        if active:
            root = folder + "/" + active + "/"
            sys.path.insert(0, root + "lib")
            sys.path.insert(0, root[:-1])  # its config.py before one in /
        print("otaboot: %s %s%s" % (mode, st.get("version") or "base",
                                     "; " + event if event else ""))
        if mode == "trial":
            _start_guard()
    except Exception as e:  # never keep the board from booting
        print("otaboot: %r; running the base code" % e)
        mode, root = "base", ""
    return st, mode, root, event


def _roll_back(st, why):
    failed = st.get("version") or st.get("active")
    st["active"] = st.get("previous")
    st["version"] = st.get("previous_version")
    st["previous"] = st["previous_version"] = None
    st["trial"] = False
    st["boots"] = 1  # this boot, of a version that served before
    st.pop("failure", None)
    st["rollback"] = {"from": failed, "to": st["version"] or "base", "reason": why}
    return "rolled back from %s to %s: %s" % (failed, st["version"] or "base", why)


def confirm(st, mode, write, keep_watchdog=False):
    """otaboot.confirm(): the running version serves, so the boot counter in
    state `st` starts again and a trial ends (this version is the one to
    return to). Returns the mode from now on."""
    _stop_guard(keep_watchdog)
    if st.get("boots") or st.get("trial") or st.get("safe"):
        st["boots"] = 0
        st["trial"] = False
        st.pop("safe", None)
        write(st)
        if mode == "trial":
            print("otaboot: version %s confirmed" % st.get("version"))
            mode = "version"
    return mode


def guarding():
    """Whether a trial's watchdog guard runs from this module (it must stay)."""
    return _guard is not None


# -- board only: a hang before serving ------------------------------------------


def _start_guard():
    """A hardware watchdog fed by a timer until _TRIAL_MS have passed: a
    version that hangs before confirm() (in a Python loop or a driver) resets
    the board, and the next boot rolls it back. Not on ports without them."""
    global _guard, _until
    try:
        from machine import WDT, Timer
    except ImportError:
        return
    from time import ticks_add, ticks_diff, ticks_ms

    wdt = WDT(timeout=8388)  # MicroPython's longest, on the RP2040 and the RP2350
    _until = ticks_add(ticks_ms(), _TRIAL_MS)

    def feed(_):
        if ticks_diff(_until, ticks_ms()) > 0:
            wdt.feed()

    _guard = Timer(-1, mode=Timer.PERIODIC, period=1000, callback=feed)  # a software timer: runs between bytecodes


def _stop_guard(keep_watchdog):
    global _guard
    if _guard is None:
        return
    _guard.deinit()
    _guard = None
    if not keep_watchdog:  # the application does not feed it: turn it off
        from board import stop_hardware_watchdog  # (each chip has its register)

        stop_hardware_watchdog()
