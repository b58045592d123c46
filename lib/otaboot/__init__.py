# Which version of the firmware runs: the boot half of over-the-air updates.
# MIT license
#
# boot.py calls select() before it imports anything else of the firmware, so
# the modules of the chosen version are the ones imported. This package is
# the recovery path: never replaced over the air, it imports only built-in
# modules, and never raises (a bad state file means "run the base code").
# This __init__ holds the state the running firmware reads (report(), root,
# mode) and what it calls; the choosing at boot, a trial's watchdog guard and
# the confirmation are otaboot/choose.py's, imported only while they run (it
# returns what it decided; it imports nothing of this package): a serving
# board does not hold its code.
#
#   versions/state.json the pointer: {"active": "v3", "previous": "v2", "trial": ...}
#   versions/v3/     a version: lib/, www/, config.py, manifest (lib/ota/__init__.py writes them)
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

DIR = "versions"
STATE = "versions/state.json"
state = {}
root = ""  # the active version's directory with a trailing "/", "" for the base code
mode = None  # None (select() not run), "base", "version", "trial" or "safe"
event = None  # what select() did that a person should hear of (rollback, safe mode)
_switched = False  # an update was committed: the state file is the next boot's now
_CHOOSE = "otaboot.choose"


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


def select():
    """Choose the version to run and put it first on sys.path. Called once, by
    boot.py, before any other module of the firmware is imported (see
    otaboot/choose.py)."""
    global state, mode, root, event
    try:
        from otaboot import choose

        state, mode, root, event = choose.select(DIR, read, write)
    except Exception as e:  # never keep the board from booting (a missing or broken choose.py)
        print("otaboot: %r; running the base code" % e)
        mode, root = "base", ""
    _drop()


def _drop():
    """Forget otaboot/choose.py, unless a trial's guard still runs from it
    (sys.modules and this package, as an attribute, both hold it)."""
    m = sys.modules.get(_CHOOSE)
    if m is not None and not m.guarding():
        del sys.modules[_CHOOSE]
        globals().pop("choose", None)


def switch(new):
    """lib/ota/__init__.py's commit: `new` is the state for the next boot. This boot's
    own state (report(), confirm()) no longer touches the file."""
    global _switched
    write(new)
    _switched = True


def switched():
    return _switched


def confirm(keep_watchdog=False):
    """The running version serves: the boot counter starts again, a trial
    ends (this version is the one to return to from now on). Nothing to do,
    and nothing imported, for a base code that counts no boots."""
    global mode
    if mode is None or _switched:
        return
    st = state
    if _CHOOSE in sys.modules or st.get("boots") or st.get("trial") or st.get("safe"):
        from otaboot import choose

        mode = choose.confirm(st, mode, write, keep_watchdog)
        _drop()


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
