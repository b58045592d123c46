# Which version of the firmware runs: the boot half of over-the-air updates.
# MIT license
#
# boot.py calls select() before it imports anything else of the firmware, so
# the modules of the chosen version are the ones imported. This module and
# lib/otaboot_select.py are the recovery path: never replaced over the air,
# they import only built-in modules (and each other), and never raise (a bad
# state file means "run the base code"). This one holds the state the running
# firmware reads (report(), root, mode) and what it calls; the choosing at
# boot, a trial's watchdog guard and the confirmation are otaboot_select's,
# imported only while they run: a serving board does not hold their code.
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

DIR = "versions"
STATE = "versions/state.json"
state = {}
root = ""  # the active version's directory with a trailing "/", "" for the base code
mode = None  # None (select() not run), "base", "version", "trial" or "safe"
event = None  # what select() did that a person should hear of (rollback, safe mode)
_switched = False  # an update was committed: the state file is the next boot's now
_SELECT = "otaboot_select"


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
    lib/otaboot_select.py)."""
    global mode, root
    try:
        import otaboot_select

        otaboot_select.select()
    except Exception as e:  # never keep the board from booting (a missing or broken otaboot_select)
        print("otaboot: %r; running the base code" % e)
        mode, root = "base", ""
    _drop()


def _drop():
    """Forget lib/otaboot_select.py, unless a trial's guard still runs from it."""
    m = sys.modules.get(_SELECT)
    if m is not None and m._guard is None:
        del sys.modules[_SELECT]


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
    ends (this version is the one to return to from now on). Nothing to do,
    and nothing imported, for a base code that counts no boots."""
    if mode is None or _switched:
        return
    st = state
    if _SELECT in sys.modules or st.get("boots") or st.get("trial") or st.get("safe"):
        import otaboot_select

        otaboot_select.confirm(keep_watchdog)
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
