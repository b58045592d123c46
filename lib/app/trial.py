# A new version's trial, before it is confirmed: every module it ships must
# import, and it must keep the way to the next update open. app/start.py
# calls imports() at the start of a trial boot, before the application is
# built (the heap is at its emptiest), and update_path() once the server
# serves, before confirming; it forgets this module after each: a serving
# board does not hold this code.
# MIT license
#
# Why: a version is confirmed once its server answers /health, but much of the
# firmware is loaded on first use (lib/dashboard/page.py at the first view of /,
# lib/monitor/routes.py, lib/monitor/metrics.py, lib/access/token.py, a user's own modules).
# A version with a broken one of those would be confirmed and become the one
# later rollbacks return to. So the trial imports each module the version
# ships that is not loaded yet, one at a time with a garbage collection
# before, and forgets it again (with whatever it imported), so the heap is as
# it was: what runs on first use is loaded again then.
#
# A failure ends the trial: an import's as an exception main.py hands to
# otaboot.failed(), the update path's through fail(); either way the reason is
# written into the state file as the trial's "failure" and the board restarts:
# otaboot/choose.py rolls the version back at the next boot and reports
# that reason. (Only otaboot's state, write(), root and failed() are used: a
# board's recovery path may be older than this version.)

import gc
import sys

import otaboot
from httpd import forget

# Modules a port may lack: a version module that imports one of them cannot be
# imported on a port without it (lib/wifi/__init__.py on the unix port), which says
# nothing about the version.
_PORT_ONLY = ("'network'", "'rp2'", "'machine'", "'bluetooth'", "'cyw43'", "'network.", "'rp2.")


def update_path(app):
    """The way to the next update: the version joined the Wi-Fi (unless the
    update came through the setup portal), the update endpoint is installed,
    and the token is the one the update was sent with (unless it was sent
    with "settings": true, on purpose)."""
    st = otaboot.state
    if app.mode == "portal" and not st.get("portal"):
        # Kept, it would be reachable only by joining PicoW-Setup, or by USB.
        # (A network that is down just then rolls a good version back too:
        # send it again once the Wi-Fi is up.)
        return ("this version did not join the Wi-Fi (the setup portal opened instead): the board could be "
                "updated again only through the portal or USB")
    try:
        app.router.match("POST", "/api/update")
    except Exception:
        return ("this version turns over-the-air updates off (no API_TOKEN, or lib/ota/__init__.py not installed): "
                "the board could not be updated again without USB. Turn updates off over USB (make deploy)")
    want = st.get("token")
    if want and not st.get("settings"):
        import binascii
        import hashlib

        token = getattr(app.config, "API_TOKEN", None) or ""
        if binascii.hexlify(hashlib.sha256(token.encode()).digest()).decode() != want:
            return ("this version changes API_TOKEN: send it with ALLOW_SETTINGS=1 (tools/ota.py --settings) "
                    "to change the token on purpose")
    return None


def module_name(name):
    """The module a manifest name is, or None: lib/a/b.mpy -> "a.b",
    lib/a/__init__.py -> "a"; not a module (www/..., config.py) -> None."""
    if not name.startswith("lib/"):
        return None
    for ext in (".mpy", ".py"):
        if name.endswith(ext):
            name = name[4:-len(ext)].replace("/", ".")
            if name.endswith(".__init__"):
                name = name[:-9]
            return name
    return None


def imports():
    """Import each module of the running version's manifest that is not
    loaded yet, and forget it again; RuntimeError naming the first that fails
    (main.py keeps it as the trial's failure and restarts the board)."""
    last = None
    try:
        f = open(otaboot.root + "manifest")
    except OSError:
        return None  # the base code: nothing was sent
    try:
        while True:
            line = f.readline(256)
            if not line:
                return None
            name = module_name(line.rstrip("\n").split(" ", 2)[-1])
            if name is None or name == last or name in sys.modules or name.startswith("otaboot"):
                continue
            last = name
            why = _try(name)
            if why:
                raise RuntimeError(why)
    finally:
        f.close()


def _try(name):
    before = set(sys.modules)
    gc.collect()  # from .py, compiling needs the largest free blocks
    try:
        __import__(name)
        why = None
    except ImportError as e:
        text = str(e)
        why = None if any(m in text for m in _PORT_ONLY) else "%s: ImportError: %s" % (name, text)
    except Exception as e:  # a module that raises at import, a MemoryError ...
        why = "%s: %s: %s" % (name, type(e).__name__, e)
    for m in list(sys.modules):
        if m not in before:
            forget(m)
    gc.collect()
    if why:
        return "the trial's import of module " + why
    return None


def fail(app, why):
    """Write why the trial failed into the state file and restart: the next
    boot rolls the version back and reports it."""
    from httpd import log

    log.get_logger("ota").error("trial failed, rolling back: %s", why)
    st = otaboot.state
    st["failure"] = why
    try:
        otaboot.write(st)
    except OSError:
        pass  # the rollback still happens (the trial's boot count), with a vaguer reason
    app.board.reset()
