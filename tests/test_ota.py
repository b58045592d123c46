"""Over-the-air updates (lib/ota/__init__.py, lib/otaboot/__init__.py, tools/ota.py) on the
unix port: a temporary directory is the board's flash (boot.py, main.py,
config.py and lib/ copied in, as `make deploy` leaves a board), the firmware
runs there as at power-up (boot.py then main.py, tests/apps/firmware.py), and
the real client sends real HTTP, on the board's word size (the 32-bit port
when it is built, as make test does: from .py at 180K the 64-bit port's
objects leave too little heap for a trial's imports and a second update). A "board restart" is the process ending
(board.reset() on the host stand-in) and the test starting it again; a hang
or a power cut is the test killing it.

Each version carries lib/probe.py, a route /probe that answers with the
version's label, so a test sees which code runs, not only what the state
file claims."""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import sys
import time

import pytest

import client
from serverproc import PICO_LIB, ROOT, ServerProcess, board_word_size, free_port

sys.path.insert(0, str(ROOT / "tools"))
import ota  # noqa: E402  (tools/ota.py)

TOKEN = "ota-test-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
FIRMWARE = ROOT / "tests" / "apps" / "firmware.py"
LIB = ROOT / PICO_LIB
PROBE = """from httpd import Response
LABEL = %r
%s
def install(app):
    app.router.add("/probe", lambda request: Response(LABEL))
"""


def probe(label, extra=""):
    return PROBE % (label, extra)


class Board:
    """The flash directory and the firmware process that runs in it."""

    def __init__(self, tmp_path, settings=None, base_probe=None, token_in_config=False, wifi=None):
        self.flash = tmp_path / "flash"
        self.flash.mkdir()
        # wifi: the Pico W's network stand-in (tests/stubs) with saved
        # credentials, each start joining as FAKE_WIFI says (self.wifi).
        self.wifi = wifi
        # What the process prints as the board resets: the stand-in's
        # machine.reset(), or the host's (lib/board/pc.py).
        self.reset_line = "reset requested"
        if wifi is not None:
            (self.flash / "wifi.json").write_text(json.dumps({"ssid": "home", "password": "secret-pass-123"}))
            self.reset_line = "FAKE machine: reset"
        for name in ("boot.py", "main.py", "config.py"):
            shutil.copy(ROOT / name, self.flash / name)
        if token_in_config:  # the board's own config.py sets the token (not the environment)
            with open(self.flash / "config.py", "a") as f:
                f.write("\nAPI_TOKEN = %r\n" % TOKEN)
        shutil.copytree(LIB, self.flash / "lib", ignore=shutil.ignore_patterns("__pycache__"))
        (self.flash / "lib" / "probe.py").write_text(base_probe or probe("base"))
        (self.flash / "versions").mkdir()
        self.port = free_port()
        self.settings = {"API_TOKEN": TOKEN, "OTA_CONFIRM_MS": 300, "APP_MODULES": "probe"}
        if token_in_config:
            del self.settings["API_TOKEN"]
        self.settings.update(settings or {})
        self.procs = []
        self.proc = None

    def start(self, listen=True):
        path, env = ("lib", "."), None
        if self.wifi is not None:
            path, env = (str(ROOT / "tests" / "stubs"), "lib", "."), {"FAKE_WIFI": self.wifi}
        self.proc = ServerProcess(script=FIRMWARE, settings=self.settings, cwd=self.flash, path=path, env=env,
                                  port=self.port, start_timeout=20, interpreter=board_word_size())
        self.procs.append(self.proc)
        if listen:
            self.proc.start()
        else:  # a version that cannot start: let it end on its own
            try:
                self.proc.start(timeout=8)
            except AssertionError:
                pass
        return self

    def stop(self):
        for p in self.procs:
            p.stop()

    def kill(self):
        """A power cut, or the watchdog firing."""
        self.proc.proc.send_signal(signal.SIGKILL)
        self.proc.proc.wait(5)

    def wait_exit(self, timeout=10):
        self.proc.proc.wait(timeout)
        self.proc._reader.join(2)
        return self.proc.output()

    def get(self, path, headers=None):
        return client.get(self.port, path, headers)

    def label(self):
        r = self.get("/probe")
        return r.body.decode() if r.status == 200 else r.status

    def update_report(self):
        return json.loads(self.get("/api/status").body)["update"]

    def wait_confirmed(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            up = self.update_report()
            if not up["trial"] and up["mode"] != "trial":
                return up
            time.sleep(0.1)
        raise AssertionError("not confirmed: %r" % up)

    def state(self):
        return json.loads((self.flash / "versions" / "state.json").read_text())

    def tree(self, name):
        """{path: sha256} of every file under flash/name."""
        top = self.flash / name
        return {p.relative_to(top).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(top.rglob("*")) if p.is_file()}

    def request(self, method, path, body=b"", headers=None):
        h = dict(AUTH)
        h.update(headers or {})
        return client.request(self.port, method, path, h, body)


@pytest.fixture
def board(tmp_path):
    made = []

    def make(**kwargs):
        b = Board(tmp_path, **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


def version(tmp_path, label, probe_text=None, config_extra=None, lib_extra=None):
    """A version's files [(name, path)]: the firmware's lib/ and www/, a probe
    of its own, more lib/ files {name: text} if given, and a config.py (the
    checkout's + config_extra) only if config_extra is given: as make ota, a
    version does not carry the settings unless asked to."""
    top = tmp_path / ("src-" + label)
    config = top / "config.py" if config_extra is not None else None
    if top.exists():
        return ota.collect(lib=top / "lib", www=ROOT / "www", config=config)
    shutil.copytree(LIB, top / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    (top / "lib" / "probe.py").write_text(probe_text or probe(label))
    for name, text in (lib_extra or {}).items():
        (top / "lib" / name).write_text(text)
    if config is not None:
        config.write_text((ROOT / "config.py").read_text() + config_extra)
    return ota.collect(lib=top / "lib", www=ROOT / "www", config=config)


def send(b, files, label, lines=None, token=TOKEN, settings=False):
    """Upload and switch (tools/ota.py); returns the version's full name."""
    more = {"settings": True} if settings else {}
    return ota.update("127.0.0.1", b.port, token, files, version=label, wait_s=None,
                      say=(lines.append if lines is not None else lambda *a: None), **more)


def restart_after_switch(b, listen=True, timeout=10):
    out = b.wait_exit(timeout)  # board.reset() on the host stand-in ends the process
    assert b.reset_line in out
    b.start(listen)


def begin(b, files, label="x", sha=None):
    """POST /api/update and the manifest, by hand (with `sha` as its SHA-256
    if given); returns the last answer and the entries."""
    text, entries = ota.manifest(files)
    sha = sha or hashlib.sha256(text).hexdigest()
    r = b.request("POST", "/api/update", json.dumps({
        "version": label, "files": len(entries), "bytes": sum(e[1] for e in entries),
        "size": len(text), "sha256": sha}).encode(), {"Content-Type": "application/json"})
    assert r.status == 201, r
    off = 0
    for _ in range(20):  # a board short of memory may answer 503: the client sends again
        r = b.request("PUT", "/api/update/manifest?offset=%d" % off, text[off:off + 2048])
        if r.status == 200:
            off += 2048
            if off >= len(text):
                break
        elif r.status != 503:
            break
    return r, entries


# -- a good update --------------------------------------------------------------


def test_a_good_update_switches_version_after_a_restart_and_is_confirmed_once_it_serves(board, tmp_path):
    b = board().start()
    assert b.label() == "base" and b.update_report()["mode"] == "base"
    lines = []
    name = send(b, version(tmp_path, "B"), "B", lines)
    assert any("board flash:" in ln for ln in lines)
    restart_after_switch(b)
    assert b.label() == "B"  # the new code runs, not only the pointer says so
    up = b.wait_confirmed()
    assert up["version"] == name and up["previous"] is None and up["rollback"] is None
    st = b.state()
    assert st["active"] == "v1" and st["trial"] is False and st["boots"] == 0
    assert not (b.flash / "versions" / "new").exists()
    # The running version's manifest is served, and matches its files on flash.
    text = b.get("/api/update/manifest", AUTH).body.decode()
    files = b.tree("versions/v1")
    for line in text.splitlines():
        digest, _, fname = line.split(" ", 2)
        assert files[fname] == digest
    assert "otaboot: trial " + name in b.proc.output()


def test_two_updates_back_to_back_then_a_failed_one_restores_the_previous_not_an_older_one(board, tmp_path):
    b = board().start()
    send(b, version(tmp_path, "B"), "B")
    restart_after_switch(b)
    b.wait_confirmed()
    lines = []
    c = send(b, version(tmp_path, "C"), "C", lines)
    summary = [ln for ln in lines if ln.startswith("sent ")][0]
    changed = [ln for ln in lines if ln.startswith("  [")]
    assert [ln.split()[1] for ln in changed] == ["lib/probe.py"]  # only what changed was sent
    assert "unchanged, kept on the board" in summary
    restart_after_switch(b)
    assert b.label() == "C"
    b.wait_confirmed()
    c_files = b.tree("versions/v2")
    # D raises at import: main.py records why and the process ends (a board restarts).
    send(b, version(tmp_path, "D", probe("D", "raise RuntimeError('D is broken')")), "D")
    restart_after_switch(b, listen=False)  # D's first boot: it fails before serving
    assert "RuntimeError: D is broken" in b.wait_exit()
    b.start()  # the next boot rolls back by itself
    assert b.label() == "C"
    up = b.update_report()
    assert up["version"] == c and up["rollback"]["to"] == c
    assert up["rollback"]["from"].startswith("D+") and "RuntimeError: D is broken" in up["rollback"]["reason"]
    assert b.tree("versions/v2") == c_files  # C's files are the ones it had
    assert "rolled back from D+" in b.proc.output()  # the log
    crash = b.get("/api/crash", AUTH)  # the dashboard shows the crash record
    assert crash.status == 200 and b"rolled back from D+" in crash.body
    # The client's report of it, as make ota prints it:
    with pytest.raises(ota.OtaError, match=r"ROLLED BACK to C\+.*RuntimeError: D is broken"):
        ota.wait("127.0.0.1", b.port, up["rollback"]["from"], 5, lambda *a: None, time.monotonic())


def test_a_version_that_hangs_before_serving_is_rolled_back_at_the_next_boot(board, tmp_path):
    b = board().start()
    b_name = send(b, version(tmp_path, "B"), "B")
    restart_after_switch(b)
    b.wait_confirmed()
    send(b, version(tmp_path, "H", probe("H", "import time\ntime.sleep(3600)")), "H")
    b.wait_exit()
    b.start(listen=False)
    time.sleep(2)
    assert not b.proc.listening()  # hung in its import: never serves
    b.kill()  # the watchdog resets the board (on a Pico W: lib/otaboot/choose.py's trial guard)
    b.start()
    assert b.label() == "B"
    up = b.update_report()
    assert up["version"] == b_name and "did not reach serving" in up["rollback"]["reason"]


def test_repeated_failed_boots_end_in_safe_mode_which_still_takes_an_update(board, tmp_path):
    # A setting that breaks the start (here a module it names raises), with no update involved.
    b = board(base_probe=probe("base", "raise ValueError('bad setting')"))
    for boot in range(3):
        b.start(listen=False)
        assert "ValueError: bad setting" in b.wait_exit()
    b.start()
    up = b.update_report()
    assert up["mode"] == "safe" and "3 boots in a row" in up["safe"]
    assert b.get("/health").status == 200
    assert b.get("/probe").status == 404  # the user's modules are left out
    assert "safe mode: 3 boots in a row did not reach serving" in b.proc.output()
    send(b, version(tmp_path, "fixed"), "fixed")
    restart_after_switch(b)
    assert b.label() == "fixed"
    up = b.wait_confirmed()
    assert up["mode"] == "version" and up["safe"] is None


def test_a_setting_that_breaks_even_safe_mode_sends_the_board_back_to_the_previous_version(board, tmp_path):
    b = board().start()
    send(b, version(tmp_path, "B"), "B")
    restart_after_switch(b)
    b.wait_confirmed()
    b.stop()
    with open(b.flash / "versions" / "v1" / "config.py", "a") as f:  # edited on the board, badly
        f.write("\nraise ValueError('a bad setting')\n")
    for boot in range(5):  # 3 boots, then 2 in safe mode: none serves
        b.start(listen=False)
        assert "ValueError: a bad setting" in b.wait_exit()
    assert "otaboot: safe" in b.proc.output()
    b.start()
    assert b.label() == "base"
    up = b.update_report()
    assert up["mode"] == "base" and "safe mode included" in up["rollback"]["reason"]


# -- no lockout: the board keeps its settings -----------------------------------------


def led_without_token(b):
    return client.request(b.port, "POST", "/api/led", {"Content-Type": "application/json"}, b'{"on": true}').status


def test_an_update_from_a_checkout_without_a_token_keeps_the_boards_token_and_updates(board, tmp_path):
    # The scenario: the board's config.py sets API_TOKEN, the
    # checkout's has None (the default); make ota sends lib/ and www/.
    b = board(token_in_config=True).start()
    assert led_without_token(b) == 401
    lines = []
    send(b, ota.collect(lib=LIB, www=ROOT / "www"), "B", lines)
    restart_after_switch(b)
    b.wait_confirmed()
    assert led_without_token(b) == 401  # the LED still protected
    assert b.request("GET", "/api/update").status == 200  # updates still there
    assert any("the board kept" in ln for ln in lines), lines  # its config.py (and lib/probe.py)
    assert (b.flash / "versions" / "v1" / "config.py").read_bytes() == (b.flash / "config.py").read_bytes()
    send(b, version(tmp_path, "C"), "C")  # and the next one works
    restart_after_switch(b)
    assert b.label() == "C"
    b.wait_confirmed()
    assert led_without_token(b) == 401


def test_a_config_py_that_differs_from_the_boards_is_refused_unless_sent_on_purpose(board, tmp_path):
    b = board(token_in_config=True).start()
    changed = version(tmp_path, "C", config_extra="LOG_LEVEL = 'DEBUG'\n")
    with pytest.raises(ota.OtaError, match="ALLOW_SETTINGS=1"):  # the client
        send(b, changed, "C")
    r, _ = begin(b, changed)  # the board, to a client that sends it anyway
    assert r.status == 403 and b"changes config.py" in r.body and b"ALLOW_SETTINGS=1" in r.body
    # On purpose, without a token: the client refuses (updates would be off) ...
    with pytest.raises(ota.OtaError, match="no API_TOKEN: the board would turn updates off"):
        send(b, changed, "C", settings=True)
    # ... with the token, the settings travel.
    ok = version(tmp_path, "D", config_extra="API_TOKEN = %r\nLOG_LEVEL = 'DEBUG'\n" % TOKEN)
    send(b, ok, "D", settings=True)
    restart_after_switch(b)
    assert b.label() == "D"
    b.wait_confirmed()
    assert b"LOG_LEVEL = 'DEBUG'" in (b.flash / "versions" / "v1" / "config.py").read_bytes()


def test_a_version_that_turns_updates_off_is_rolled_back_by_its_trial(board, tmp_path, monkeypatch):
    # A hand-made client that says "settings" and sends a config.py without a
    # token: the board takes it, and its trial finds no update endpoint.
    b = board(token_in_config=True).start()
    files = version(tmp_path, "C", config_extra="")
    monkeypatch.setattr(ota, "check_settings", lambda files, token: None)  # (the real client refuses it: above)
    send(b, files, "C", settings=True)
    restart_after_switch(b)
    assert "reset requested" in b.wait_exit()  # the trial fails: the board restarts
    b.start()
    assert b.label() == "base"
    up = b.update_report()
    assert "turns over-the-air updates off" in up["rollback"]["reason"]
    assert led_without_token(b) == 401


FAST_WIFI = {"WIFI_CONNECT_TIMEOUT_MS": 800, "WIFI_RETRY_MS": 200, "WIFI_CONNECT_ATTEMPTS": 1, "WATCHDOG_MS": 0}


def test_a_version_that_does_not_join_the_wifi_is_rolled_back_by_its_trial(board, tmp_path):
    # Kept, a version that ends in the setup portal could be updated again
    # only by joining PicoW-Setup, or over USB. (Here the network refuses it
    # during the trial: a version whose Wi-Fi code is broken ends the same way.)
    b = board(settings=FAST_WIFI, wifi="ok").start()
    assert b.update_report()["mode"] == "base"
    send(b, version(tmp_path, "C"), "C")
    b.wifi = "wrong_password"  # (for the next start)
    restart_after_switch(b)
    b.proc.wait_for_log(r"starting the setup portal")
    assert b.reset_line in b.wait_exit()  # the trial fails: the board restarts
    b.wifi = "ok"
    b.start()
    assert b.label() == "base"
    assert "did not join the Wi-Fi" in b.update_report()["rollback"]["reason"]


def test_an_update_sent_through_the_setup_portal_is_kept_in_the_portal(board, tmp_path):
    # A board that cannot join (no network, or a wrong password) is updated
    # through its portal: the version's trial runs in the portal too.
    b = board(settings=FAST_WIFI, wifi="wrong_password").start()
    b.proc.wait_for_log(r"starting the setup portal")
    send(b, version(tmp_path, "C"), "C")
    restart_after_switch(b)
    b.proc.wait_for_log(r"starting the setup portal")
    assert b.label() == "C"
    b.wait_confirmed()


# -- the trial: every module the version ships is imported ------------------------------


# (lib/access/token.py is loaded at the start when API_TOKEN is set, as updates need:
# a version that breaks it fails as one that raises at import, tested above.)
@pytest.mark.parametrize("module", ["dashboard.page", "monitor.routes", "monitor.metrics"])
def test_a_version_whose_module_loaded_on_first_use_raises_is_rolled_back_by_its_trial(board, tmp_path, module):
    b = board().start()
    path = module.replace(".", "/") + ".py"
    text = (LIB / path).read_text() + "\nraise RuntimeError('%s is broken')\n" % module
    send(b, version(tmp_path, "C", lib_extra={path: text}), "C")
    # Without the trial's imports it would start, serve and be confirmed;
    # with them the first boot ends before serving.
    restart_after_switch(b, listen=False)
    assert "the trial's import of module %s" % module in b.wait_exit()
    b.start()
    assert b.label() == "base"
    reason = b.update_report()["rollback"]["reason"]
    assert "module %s: RuntimeError: %s is broken" % (module, module) in reason, reason


PROBE_LAZY = """from httpd import Response
def install(app):
    app.router.add("/probe", lambda request: Response(__import__("probe_page").LABEL))
"""


def test_a_version_whose_app_module_loads_a_broken_module_on_first_use_is_rolled_back(board, tmp_path):
    b = board().start()
    send(b, version(tmp_path, "C", PROBE_LAZY, lib_extra={"probe_page.py": "LABEL = 'C'\n"}), "C")
    restart_after_switch(b)
    assert b.label() == "C"
    b.wait_confirmed()  # a good one is confirmed
    broken = "raise ValueError('probe_page is broken')\nLABEL = 'D'\n"
    send(b, version(tmp_path, "D", PROBE_LAZY, lib_extra={"probe_page.py": broken}), "D")
    restart_after_switch(b, listen=False)
    assert "the trial's import of module probe_page" in b.wait_exit()
    b.start()
    assert b.label() == "C"
    reason = b.update_report()["rollback"]["reason"]
    assert "module probe_page: ValueError: probe_page is broken" in reason, reason


# -- a version is complete ----------------------------------------------------------


def test_a_version_with_one_file_under_www_static_keeps_every_other_file_of_the_running_one(board, tmp_path):
    import gzip

    b = board().start()
    old_gz = tmp_path / "app.css.gz"  # B's web root has app.css with its .gz, as make build makes it
    old_gz.write_bytes(gzip.compress((ROOT / "www" / "static" / "app.css").read_bytes()))
    send(b, version(tmp_path, "B") + [("www/static/app.css.gz", old_gz)], "B")
    restart_after_switch(b)
    b.wait_confirmed()
    js = b.get("/static/app.js").body
    assert js and b.get("/static/app.css").status == 200
    css = tmp_path / "app.css"
    css.write_bytes(b"body { color: red }\n")
    lines = []
    send(b, [("www/static/app.css", css)], "C", lines)
    assert any("kept" in ln for ln in lines), lines
    restart_after_switch(b)
    b.wait_confirmed()
    assert b.get("/static/app.css").body == b"body { color: red }\n"  # the new file
    # not B's .gz of the old one, to a browser that takes gzip:
    r = b.get("/static/app.css", {"Accept-Encoding": "gzip"})
    assert r.header("content-encoding") is None and r.body == b"body { color: red }\n"
    r = b.get("/static/app.js")
    assert r.status == 200 and r.body == js  # the others, the running version's
    assert b.label() == "B"  # its code too
    text = b.get("/api/update/manifest", AUTH).body.decode()
    names = [ln.split(" ", 2)[2] for ln in text.splitlines()]
    assert names == sorted(names) and "lib/probe.py" in names and "config.py" in names
    files = b.tree("versions/v2")
    for line in text.splitlines():
        digest, _, fname = line.split(" ", 2)
        assert files[fname] == digest


# -- a server that cannot restart into an update --------------------------------------


def test_an_update_sent_to_make_run_is_refused_up_front_with_words(tmp_path):
    # make run: main.py only, no boot.py, so no version was chosen at start.
    proc = ServerProcess(script=ROOT / "main.py", settings={"API_TOKEN": TOKEN}, cwd=tmp_path,
                         path=(str(LIB), str(ROOT)))
    with proc:
        with pytest.raises(ota.OtaError, match="cannot restart into an update.*make run-board"):
            ota.update("127.0.0.1", proc.port, TOKEN, version(tmp_path, "B"), version="B", wait_s=None,
                       say=lambda *a: None)
        r = client.request(proc.port, "POST", "/api/update", dict(AUTH, **{"Content-Type": "application/json"}),
                           b'{"version": "x", "files": 1, "bytes": 1, "size": 1, "sha256": "%s"}' % (b"00" * 32))
        assert r.status == 409 and b"make run-board" in r.body
    assert not (tmp_path / "versions").exists()


# -- refused: the active version untouched ------------------------------------------


@pytest.fixture
def updated(board, tmp_path):
    """A board running version B (confirmed), and B's files."""
    b = board().start()
    send(b, version(tmp_path, "B"), "B")
    restart_after_switch(b)
    b.wait_confirmed()
    return b, b.tree("versions/v1")


def untouched(b, files):
    assert b.tree("versions/v1") == files
    assert b.state()["active"] == "v1" and b.label() == "B"


def test_a_corrupted_file_is_refused_with_422_and_cannot_be_committed(updated, tmp_path):
    b, before = updated
    files = version(tmp_path, "C")
    _, entries = begin(b, files)
    name, size, _, path = [e for e in entries if e[0] == "lib/probe.py"][0]
    data = bytearray(path.read_bytes())
    data[5] ^= 1  # one bit flipped on the way
    r = b.request("PUT", "/api/update/files/%s?offset=0" % name, bytes(data))
    assert r.status == 422 and b"SHA-256 differs" in r.body
    assert not (b.flash / "versions" / "new" / name).exists()
    r = b.request("POST", "/api/update/commit")
    assert r.status == 409 and b"not staged and verified" in r.body
    untouched(b, before)


def test_a_truncated_upload_is_not_committed_and_a_piece_past_the_end_gets_413(updated, tmp_path):
    b, before = updated
    _, entries = begin(b, version(tmp_path, "C"))
    name, size, _, path = [e for e in entries if 200 < e[1] < 3000][0]  # a piece within MAX_BODY
    data = path.read_bytes()
    assert b.request("PUT", "/api/update/files/%s?offset=0" % name, data[:100]).status == 200
    r = b.request("PUT", "/api/update/files/%s?offset=100" % name, data[100:] + b"extra")
    assert r.status == 413
    r = b.request("PUT", "/api/update/files/%s?offset=7" % name, data[7:50])
    assert r.status == 409 and r.header("x-offset") == "100"  # where to resume
    r = b.request("POST", "/api/update/commit")
    assert r.status == 409
    untouched(b, before)


def test_a_manifest_that_does_not_match_its_hash_is_refused(updated, tmp_path):
    b, before = updated
    r, _ = begin(b, version(tmp_path, "C"), sha="00" * 32)
    assert r.status == 422 and b"SHA-256 differs" in r.body
    untouched(b, before)


def test_a_client_that_vanishes_mid_file_leaves_the_board_serving_and_the_next_try_succeeds(updated, tmp_path):
    b, before = updated
    _, entries = begin(b, version(tmp_path, "C"))
    name, size, _, path = entries[0]
    with socket.create_connection(("127.0.0.1", b.port)) as s:  # says 4000 bytes, sends 1000, goes
        s.sendall(("PUT /api/update/files/%s?offset=0 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
                   "Content-Length: 4000\r\n\r\n" % (name, TOKEN)).encode() + path.read_bytes()[:1000])
    assert b.get("/health").status == 200
    untouched(b, before)
    send(b, version(tmp_path, "C"), "C")  # starts over: the staging area is cleaned first
    restart_after_switch(b)
    assert b.label() == "C"


def test_a_power_cut_mid_upload_leaves_the_active_version_and_the_next_try_cleans_the_staging(updated, tmp_path):
    b, before = updated
    _, entries = begin(b, version(tmp_path, "C"))
    name, size, _, path = entries[0]
    assert b.request("PUT", "/api/update/files/%s?offset=0" % name, path.read_bytes()[:500]).status == 200
    b.kill()
    assert (b.flash / "versions" / "new" / name).exists()
    b.start()
    untouched(b, before)
    assert b.update_report()["rollback"] is None
    begin(b, version(tmp_path, "C"))
    assert not (b.flash / "versions" / "new" / name).exists()  # the half file is gone


def test_an_upload_can_be_dropped_with_delete_and_its_staging_is_gone(updated, tmp_path):
    b, before = updated
    begin(b, version(tmp_path, "C"))
    assert (b.flash / "versions" / "new" / "manifest").exists()
    assert b.request("DELETE", "/api/update").status == 204
    assert not (b.flash / "versions" / "new").exists()
    assert b.request("POST", "/api/update/commit").status == 409  # nothing under way
    untouched(b, before)


def test_a_full_flash_is_refused_with_507_before_anything_is_written(board, tmp_path):
    vfs = os.statvfs(str(tmp_path))
    b = board(settings={"OTA_RESERVE_BYTES": vfs.f_bavail * vfs.f_frsize + 1}).start()
    text, entries = ota.manifest(version(tmp_path, "C"))
    r = b.request("POST", "/api/update", json.dumps({
        "version": "C", "files": len(entries), "bytes": sum(e[1] for e in entries),
        "size": len(text), "sha256": hashlib.sha256(text).hexdigest()}).encode(),
        {"Content-Type": "application/json"})
    assert r.status == 507 and b"not enough free flash" in r.body
    assert os.listdir(b.flash / "versions") == ["state.json"]  # the boot counter only
    assert b.label() == "base"


@pytest.mark.parametrize("name", ["../boot.py", "lib/../../boot.py", "boot.py", "main.py", "wifi.json",
                                  "www/wifi.json", "mqtt.json", "lib/mqtt.json", "lib/otaboot/__init__.py", "lib/otaboot/choose.mpy", "/config.py", "secrets.txt",
                                  "lib//x.py", "lib/./x.py"])
def test_a_name_outside_the_firmware_is_refused_403_in_the_manifest(updated, tmp_path, name):
    b, before = updated
    evil = tmp_path / "evil"
    evil.write_bytes(b"print('owned')\n")
    files = version(tmp_path, "C") + [(name, evil)]
    r, _ = begin(b, files)
    assert r.status == 403
    for f in ("boot.py", "main.py"):
        assert (b.flash / f).read_bytes() == (ROOT / f).read_bytes()
    assert not (b.flash / "wifi.json").exists() and not (b.flash / "secrets.txt").exists()
    assert b.request("POST", "/api/update/commit").status == 409
    untouched(b, before)


@pytest.mark.parametrize("name", ["wifi.json", "mqtt.json", "www/mqtt.json", "lib/mqtt.json"])
def test_the_boards_own_password_files_are_refused_403_saying_who_writes_them(updated, tmp_path, name):
    """wifi.json and mqtt.json (the broker's login) are the board's own: an
    update neither replaces nor carries them, wherever it puts them."""
    b, before = updated
    secret = tmp_path / "secret.json"
    secret.write_text('{"user": "x", "password": "from-an-update"}')
    text, entries = ota.manifest([(name, secret)])  # (one line: one piece)
    r = b.request("POST", "/api/update", json.dumps({
        "version": "C", "files": len(entries), "bytes": sum(e[1] for e in entries),
        "size": len(text), "sha256": hashlib.sha256(text).hexdigest()}).encode(),
        {"Content-Type": "application/json"})
    if r.status == 201:  # the names are checked as the manifest arrives
        r = b.request("PUT", "/api/update/manifest?offset=0", text)
    assert r.status == 403, r
    base = name.rsplit("/", 1)[-1]
    assert json.loads(r.body)["error"] == \
        "%s is not updated over the air (the setup portal or make deploy writes it)" % base
    assert not list(b.flash.rglob("mqtt.json")) and not (b.flash / "wifi.json").exists()
    untouched(b, before)


@pytest.mark.parametrize("path", ["/api/update/files/../boot.py", "/api/update/files/%2e%2e/boot.py",
                                  "/api/update/files/lib/%2e%2e/%2e%2e/boot.py", "/api/update/files/wifi.json",
                                  "/api/update/files/mqtt.json"])
def test_a_file_url_outside_the_firmware_is_refused(updated, tmp_path, path):
    b, before = updated
    begin(b, version(tmp_path, "C"))
    r = b.request("PUT", path + "?offset=0", b"print('owned')\n")
    assert r.status in (400, 403, 404), r
    assert (b.flash / "boot.py").read_bytes() == (ROOT / "boot.py").read_bytes()
    assert not (b.flash / "wifi.json").exists()
    untouched(b, before)


def test_a_missing_or_wrong_token_gets_401_and_a_cross_site_request_403(updated):
    b, before = updated
    body = b'{"version": "x", "files": 1, "bytes": 1, "size": 1, "sha256": "00"}'
    json_type = {"Content-Type": "application/json"}
    assert client.request(b.port, "POST", "/api/update", json_type, body).status == 401
    assert client.request(b.port, "POST", "/api/update", dict(json_type, Authorization="Bearer nope"),
                          body).status == 401
    assert client.request(b.port, "GET", "/api/update/manifest").status == 401
    r = b.request("POST", "/api/update/commit", b"", {"Origin": "http://evil.example"})
    assert r.status == 403
    r = b.request("POST", "/api/update", body, dict(json_type, **{"Sec-Fetch-Site": "cross-site"}))
    assert r.status == 403
    untouched(b, before)


def test_without_a_token_there_is_no_update_endpoint(board):
    b = board(settings={"API_TOKEN": ""}).start()
    assert b.get("/api/update").status == 404
    assert client.request(b.port, "POST", "/api/update/commit").status in (403, 404)


# -- memory: the Pico W profile, other clients served meanwhile ----------------------


def test_an_update_at_the_pico_w_heap_leaves_other_clients_answered(board, tmp_path):
    import threading

    b = board().start()
    answers, stop = [], threading.Event()  # (status, when it came)

    def visitor():
        while not stop.is_set():
            try:
                answers.append((client.get(b.port, "/api/status", timeout=5).status, time.monotonic()))
            except OSError as e:
                answers.append((repr(e), time.monotonic()))
            time.sleep(0.02)

    t = threading.Thread(target=visitor)
    t.start()
    try:
        send(b, version(tmp_path, "B"), "B")
        sent = time.monotonic()
    finally:
        stop.set()
        t.join()
    assert answers and {status for status, _ in answers} == {200}, answers
    # Answered while the update was under way, not held until it was done.
    # (How many depends on the machine's load: one is the proof.)
    assert any(when < sent for _, when in answers), answers
    restart_after_switch(b)
    assert b.label() == "B"


# -- trying updates on a PC: make run-board (tools/runboard.py) -----------------------


class RunBoard:
    """tools/runboard.py (make run-board) on a flash of its own, as a
    terminal runs it: its output collected, Ctrl-C at the end."""

    def __init__(self, tmp_path, *args):
        import subprocess
        import threading

        self.port = free_port()
        self.flash = tmp_path / "flash"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tools" / "runboard.py"), "--flash",
                                      str(self.flash), "--port", str(self.port), "--token", TOKEN, *args],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def output(self):
        return "".join(self.lines)

    def wait_listening(self, timeout=20):
        deadline = time.monotonic() + timeout
        while not any("listening on" in ln for ln in self.lines):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def stop(self):
        """Ctrl-C, as in a terminal; returns the exit status."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(2)
        return self.proc.returncode


def test_run_board_restarts_into_an_update_as_a_board_does_and_ctrl_c_stops_it(tmp_path):
    rb = RunBoard(tmp_path)
    try:
        rb.wait_listening()
        assert "API_TOKEN = %r" % TOKEN in (rb.flash / "config.py").read_text()
        up = ota.update("127.0.0.1", rb.port, TOKEN, ota.collect(lib=LIB, www=ROOT / "www"), version="B",
                        wait_s=30, say=lambda *a: None)  # waits until confirmed: as make ota does
        assert up["mode"] == "version" and up["version"].startswith("B+")
        out = rb.output()
        assert "run-board: the board reset itself; restarting, as a board does" in out
        assert "otaboot: trial B+" in out and "confirmed" in out
        assert (rb.flash / "versions" / "v1" / "config.py").exists()
        assert client.request(rb.port, "POST", "/api/led", {"Content-Type": "application/json", "Host": "127.0.0.1"},
                              b'{"on": true}').status == 401  # the flash's token still guards it
    finally:
        status = rb.stop()
    assert status == 0 and "run-board: stopped" in rb.output(), rb.output()


def test_run_board_ends_a_trial_that_does_not_serve_as_the_watchdog_would_and_the_board_rolls_back(tmp_path):
    # On a Pico W the trial's guard stops feeding the watchdog after 120 s
    # (--trial-s); run-board ends such a boot itself and starts it again.
    rb = RunBoard(tmp_path, "--trial-s", "3")
    try:
        rb.wait_listening()
        hangs = version(tmp_path, "H", probe("H", "import time\ntime.sleep(3600)"))
        with pytest.raises(ota.OtaError, match=r"ROLLED BACK to .*did not reach serving") as failed:
            ota.update("127.0.0.1", rb.port, TOKEN, hangs, version="H", wait_s=60, say=lambda *a: None)
        out = rb.output()
        assert "run-board: the trial did not serve within 3 s: the watchdog would reset a board" in out, out
        assert client.get(rb.port, "/health", {"Host": "127.0.0.1"}).status == 200  # the base code serves again
    finally:
        rb.stop()


def test_versions_and_run_boards_flash_are_ignored_by_git():
    import subprocess

    for path in ("versions/state.json", "build/flash/boot.py", "build/flash/versions/v1/config.py"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path


def test_make_ota_fails_with_the_exit_statuses_docs_ota_md_gives():
    """docs/ota.md says what a failed make ota exits with (make's own status
    when its recipe fails, whatever the recipe's) and what tools/ota.py
    itself exits with. Both checked against a failure: no board at the
    address."""
    import re
    import subprocess

    text = " ".join((ROOT / "docs" / "ota.md").read_text().split())
    said_make = set(re.findall(r"exit status (\d+)", text))
    assert said_make, "docs/ota.md says no exit status"
    port = free_port()  # nothing listens there
    make = subprocess.run(["make", "ota", "HOST=127.0.0.1", "PORT=%d" % port, "TOKEN=" + TOKEN], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert "error: cannot reach the board" in make.stderr, make.stdout + make.stderr
    assert said_make == {str(make.returncode)}, said_make
    said_tool = set(re.findall(r"`tools/ota.py` itself exits with (\d+)", text))
    tool = subprocess.run([sys.executable, "tools/ota.py", "--host", "127.0.0.1", "--port", str(port),
                           "--token", TOKEN, "--no-build"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "error: cannot reach the board" in tool.stderr, tool.stderr
    assert said_tool == {str(tool.returncode)}, said_tool
