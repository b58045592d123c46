# Which version of the firmware runs: the boot half of over-the-air updates.
# MIT license
#
# boot.py calls select() before it imports anything else of the firmware, so
# the modules of the chosen version are the ones imported. This module is the
# recovery path: it is never replaced over the air, imports only built-in
# modules, and never raises (a bad state file means "run the base code").
#
#   versions/state.json the pointer: {"active": "v3", "previous": "v2", "trial": ...}
#   versions/v3/     a version: lib/, www/, config.py, manifest (lib/ota.py writes them)
#   versions/new/    the staging area of an upload
#
# Without a versions/ folder (no update yet; make deploy makes it) boots are not
# counted: the base code runs.
#
# A new version is on trial for one boot: if that boot does not reach
# "serving" (confirm(), from app.main once the server answers its own
# /health), the next boot goes back to the previous version by itself.
# Boots that fail in a row without an update end in safe mode: app.build then
# installs only the status page and the update endpoint. If safe mode does not
# serve either (a config.py that raises), the previous version (or the base
# code) runs again.

import sys

from micropython import const

DIR = "versions"
STATE = "versions/state.json"
_SAFE_AFTER = const(3)  # boots in a row that did not reach serving, then safe mode
_SAFE_TRIES = const(2)  # safe-mode boots that do not serve either, then back to the previous version
_TRIAL_MS = const(120000)  # board only: a new version not serving by then is reset (joining Wi-Fi takes up to ~60 s)

state = {}
root = ""  # the active version's directory with a trailing "/", "" for the base code
mode = None  # None (select() not run), "base", "version", "trial" or "safe"
event = None  # what select() did that a person should hear of (rollback, safe mode)
_guard = None  # board only: the timer that feeds the watchdog during a trial
_switched = False  # an update was committed: the state file is the next boot's now
_until = 0  # ticks_ms until which the guard feeds the watchdog


def read():
    """The state file's contents; {} when there is none or it cannot be read."""
    import json

    try:
        with open(STATE) as f:
            st = json.load(f)
        return st if isinstance(st, dict) else {}
    except Exception:  # no file, or a torn one: the base code
        return {}


def write(st):
    """Replace the state file in one step: a new file renamed over the old
    (a rename is atomic on littlefs), so a power cut leaves one or the other."""
    import json
    import os

    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.rename(tmp, STATE)


def _exists(path):
    import os

    try:
        os.stat(path)
        return True
    except OSError:
        return False


def select():
    """Choose the version to run and put it first on sys.path. Called once, by
    boot.py, before any other module of the firmware is imported."""
    global state, root, mode, event
    try:
        if not _exists(DIR):  # no update yet, nor make deploy: nothing to choose or count
            mode = "base"
            return
        st = read()
        st["boots"] = st.get("boots", 0) + 1  # counted before anything can fail
        if st.get("trial") and st["boots"] > 1:
            _roll_back(st, st.get("failure") or "it did not reach serving (a hang, a watchdog reset or a power cut)")
        active = st.get("active")
        if active and not _exists(DIR + "/" + active):
            _roll_back(st, "its files are missing")
        elif active and st["boots"] > _SAFE_AFTER + _SAFE_TRIES:  # e.g. a config.py that raises
            _roll_back(st, "%d boots in a row did not reach serving, safe mode included" % (st["boots"] - 1))
        active = st.get("active")
        if st.get("boots", 0) > _SAFE_AFTER and not st.get("trial"):
            st["safe"] = "%d boots in a row did not reach serving" % (st["boots"] - 1)
            event = "safe mode: " + st["safe"]
        else:
            st.pop("safe", None)
        try:
            write(st)
        except OSError as e:  # a full or failing flash: still run the version chosen
            print("otaboot: cannot write %s: %r" % (STATE, e))
        state = st
        mode = "safe" if st.get("safe") else "trial" if st.get("trial") else "version" if active else "base"
        if active:
            root = DIR + "/" + active + "/"
            sys.path.insert(0, root + "lib")
            sys.path.insert(0, root[:-1])  # its config.py before one in /
        print("otaboot: %s %s%s" % (mode, st.get("version") or "base",
                                     "; " + event if event else ""))
        if mode == "trial":
            _start_guard()
    except Exception as e:  # never keep the board from booting
        print("otaboot: %r; running the base code" % e)
        mode, root = "base", ""


def _roll_back(st, why):
    global event
    failed = st.get("version") or st.get("active")
    st["active"] = st.get("previous")
    st["version"] = st.get("previous_version")
    st["previous"] = st["previous_version"] = None
    st["trial"] = False
    st["boots"] = 1  # this boot, of a version that served before
    st.pop("failure", None)
    st["rollback"] = {"from": failed, "to": st["version"] or "base", "reason": why}
    event = "rolled back from %s to %s: %s" % (failed, st["version"] or "base", why)


def switch(new):
    """lib/ota.py's commit: `new` is the state for the next boot. This boot's
    own state (report(), confirm()) no longer touches the file."""
    global _switched
    write(new)
    _switched = True


def switched():
    return _switched


def confirm(keep_watchdog=False):
    """The running version serves: the boot counter starts again, a trial
    ends (this version is the one to return to from now on)."""
    global mode
    if mode is None or _switched:
        return
    _stop_guard(keep_watchdog)
    st = state
    if st.get("boots") or st.get("trial") or st.get("safe"):
        st["boots"] = 0
        st["trial"] = False
        st.pop("safe", None)
        write(st)
        if mode == "trial":
            print("otaboot: version %s confirmed" % st.get("version"))
            mode = "version"


def failed(exc):
    """main.py's last word when the firmware could not start or stopped on an
    exception: the reason is kept for the report after a rollback; on a board,
    restart now (the REPL would leave it unreachable) so the next boot decides."""
    try:
        if state.get("trial") and not _switched:
            state["failure"] = "%s: %s" % (type(exc).__name__, exc)
            write(state)
    except Exception:
        pass
    import machine

    if hasattr(machine, "reset") and mode is not None:
        sys.print_exception(exc)
        machine.reset()
    raise exc


_report = {}  # report()'s dict, refreshed in place: a status request leaves no garbage


def report():
    """What /api/status shows under "update"."""
    st = state
    r = _report
    r["mode"] = mode
    r["version"] = st.get("version")
    r["trial"] = bool(st.get("trial"))
    r["previous"] = st.get("previous_version")
    r["rollback"] = st.get("rollback")
    r["safe"] = st.get("safe")
    return r


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

    wdt = WDT(timeout=8388)  # the RP2040's longest
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
        import machine

        machine.mem32[0x40058000] &= ~(1 << 30)  # RP2040 watchdog CTRL, ENABLE
