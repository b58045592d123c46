"""make deploy against a board stand-in: the MicroPython unix port behind
socat, driven by the real mpremote (see standin.py). No Pico W needed.

A first deploy to the stand-in takes a while (mpremote writes a file in
256-byte pieces, one REPL round trip each), so the tests of a deployed board
share one, in file order: each leaves it deployed as it found it."""

import json
import os
import re
import subprocess

import pytest

import client
from serverproc import ROOT, ServerProcess, free_port, micropython
from standin import StandIn, full_filesystem, older_firmware

TOP = ("boot.py", "main.py", "config.py")
CREDENTIALS = {"ssid": "test-network", "password": "not-a-real-pass-7Qz"}


def make(*args, timeout=300, stdin=None):
    run = subprocess.run(["make", "--no-print-directory"] + list(args), cwd=ROOT, capture_output=True,
                         text=True, timeout=timeout, input=stdin)
    run.output = run.stdout + run.stderr
    return run


@pytest.fixture(scope="module")
def wifi_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("credentials") / "wifi.json"
    path.write_text(json.dumps(CREDENTIALS))
    return path


@pytest.fixture(scope="module")
def deployed(wifi_file):
    """A stand-in with a first deploy done: (board, that deploy's run)."""
    with StandIn() as b:
        # the stand-in answers mpremote before any test relies on it
        assert b.exec("print(1)").strip() == "1"
        run = deploy(b, wifi_file)
        assert run.returncode == 0, run.output
        yield b, run


@pytest.fixture
def board():
    with StandIn() as b:
        # the stand-in answers mpremote before any test relies on it
        assert b.exec("print(1)").strip() == "1"
        yield b


def deploy(board, wifi_file, *extra):
    return make("deploy", "DEVICE=" + board.device, "WIFI_FILE=%s" % wifi_file, *extra)


def expected_files(wifi_file):
    files = {p.relative_to(ROOT / "build").as_posix(): p.read_bytes()
             for p in sorted((ROOT / "build" / "lib").rglob("*")) if p.is_file()}
    if (ROOT / "build" / "www").is_dir():
        files.update({p.relative_to(ROOT / "build").as_posix(): p.read_bytes()
                      for p in sorted((ROOT / "build" / "www").rglob("*")) if p.is_file()})
    for name in TOP:
        files[name] = (ROOT / name).read_bytes()
    files["wifi.json"] = wifi_file.read_bytes()
    return files


def assert_clear_refusal(run):
    assert run.returncode != 0
    assert "Traceback" not in run.output
    assert "error: " in run.stderr


def mtimes(board):
    return {p.relative_to(board.flash).as_posix(): p.stat().st_mtime_ns
            for p in board.flash.rglob("*") if p.is_file()}


# -- a working board -------------------------------------------------------------------


def test_deploy_copies_the_build_entry_points_and_credentials_and_installs_nothing_else(deployed, wifi_file):
    board, run = deployed
    expected = expected_files(wifi_file)
    assert board.files() == expected  # no lib/logging.mpy: the firmware needs no dependency
    assert not any(name.endswith(".py") for name in board.files() if name.startswith("lib/"))
    assert "mip" not in run.output
    assert "copied %d files, 0 up to date" % len(expected) in run.output
    assert CREDENTIALS["password"] not in run.output and CREDENTIALS["ssid"] not in run.output


def test_deployed_board_serves_the_application_like_the_source_tree(deployed):
    board, _ = deployed
    # the stand-in's flash, served by the unix port in the Pico W profile
    with ServerProcess(cwd=board.flash, path=("lib", ".")) as on_board, \
            ServerProcess(path=("lib", ".")) as source:
        for path in ("/", "/health", "/api/status"):
            a = client.get(on_board.port, path)
            b = client.get(source.port, path)
            assert (a.status, a.header("content-type")) == (b.status, b.header("content-type")), path
            if path == "/api/status":
                sa, sb = json.loads(a.body), json.loads(b.body)
                assert sa.keys() == sb.keys() and sa["version"] == sb["version"]
                assert sa["http"].keys() == sb["http"].keys()
            else:  # the page shows live figures (uptime, free heap): compare all but numbers
                assert re.sub(rb"\d+", b"0", a.body) == re.sub(rb"\d+", b"0", b.body), path
        assert b"ok" in client.get(on_board.port, "/health").body
        assert "Traceback" not in on_board.output()


def test_second_deploy_copies_nothing_and_leaves_the_files_untouched(deployed, wifi_file):
    board, first = deployed
    before = mtimes(board)
    run = deploy(board, wifi_file)
    assert run.returncode == 0, run.output
    assert "copied 0 files, %d up to date" % len(before) in run.output
    assert "  copied " not in run.output
    assert mtimes(board) == before


def test_deploy_copies_only_what_differs_and_removes_a_shadowing_source(deployed, wifi_file):
    board, _ = deployed
    (board.flash / "lib" / "app" / "__init__.mpy").write_bytes(b"stale")
    (board.flash / "lib" / "settings" / "__init__.py").write_text("raise ImportError('old source copy')\n")
    run = deploy(board, wifi_file)
    assert run.returncode == 0, run.output
    assert "copied 1 file, " in run.output and "  copied lib/app/__init__.mpy" in run.output
    assert "removed lib/settings/__init__.py" in run.output
    assert board.files() == expected_files(wifi_file)


def test_deploy_sets_a_version_sent_over_wifi_aside_so_the_deployed_files_run(deployed, wifi_file):
    board, _ = deployed
    assert (board.flash / "versions").is_dir()  # where make ota puts versions; boots are counted
    (board.flash / "versions" / "state.json").write_text('{"active": "v1", "version": "0.0.9+x"}')
    run = deploy(board, wifi_file)
    assert run.returncode == 0, run.output
    assert "from now on it runs these files" in run.output
    assert not (board.flash / "versions" / "state.json").exists()


def test_make_deps_without_internet_fails_in_one_sentence_and_leaves_the_board_as_it_was(deployed):
    board, _ = deployed
    before = board.files()
    run = make("deps", "DEVICE=" + board.device)
    if "mip install logging: done" in run.output:  # this computer reached micropython-lib
        assert run.returncode == 0 and "lib/logging.mpy" in board.files()
        return
    assert run.returncode != 0, run.output  # (make says 2 when the command failed)
    assert "Traceback" not in run.output
    assert "mip install logging failed" in run.output and "needs the internet" in run.output
    assert board.files() == before


# -- boards deploy refuses, before copying anything ----------------------------------------


@pytest.mark.parametrize("mpy,version,words", [
    (4614, (1, 22, 2), "MicroPython 1.22.2 (.mpy format 6.2"),  # armv6m, .mpy 6.2: a Pico W on 1.22
    (5 | 4 << 10, (1, 18, 0), "MicroPython 1.18.0, whose .mpy format 5.0 is older"),
], ids=["micropython_1_22", "mpy_format_5"])
def test_board_with_older_firmware_is_refused_with_the_firmware_to_flash(wifi_file, mpy, version, words):
    with StandIn(pretend=older_firmware(mpy, version)) as board:
        run = deploy(board, wifi_file)
        assert_clear_refusal(run)
        assert words in run.stderr
        assert "RPI_PICO_W" in run.stderr and "MicroPython 1.23 or newer" in run.stderr
        assert "Nothing was written to the board." in run.stderr
        assert board.files() == {}


def test_board_with_a_full_filesystem_is_refused(wifi_file):
    with StandIn(pretend=full_filesystem(free_blocks=3)) as board:
        run = deploy(board, wifi_file)
        assert_clear_refusal(run)
        assert "filesystem is too full" in run.stderr and "only 12 KB is free" in run.stderr
        assert board.files() == {}


def test_no_board_at_the_address_is_a_sentence_not_a_traceback(wifi_file):
    run = make("deploy", "DEVICE=socket://127.0.0.1:%d" % free_port(),
               "WIFI_FILE=%s" % wifi_file)
    assert_clear_refusal(run)
    assert "Cannot open socket://127.0.0.1:" in run.stderr


def test_no_usb_board_connected_is_a_sentence(wifi_file):
    from serial.tools import list_ports  # pyserial, mpremote's dependency

    if any(p.vid is not None for p in list_ports.comports()):
        pytest.skip("a USB serial device is connected here")
    run = make("deploy", "WIFI_FILE=%s" % wifi_file)
    assert_clear_refusal(run)
    assert "No board found" in run.stderr


def test_board_that_does_not_answer_the_repl_is_a_sentence(wifi_file):
    with StandIn(command="sleep 60") as silent:
        run = deploy(silent, wifi_file)
        assert_clear_refusal(run)
        assert "does not answer as a MicroPython REPL" in run.stderr


def test_deploy_without_credentials_says_the_board_will_open_its_setup_network(deployed, wifi_file):
    board, _ = deployed
    on_board = board.flash / "wifi.json"
    on_board.unlink()
    try:
        assert not (ROOT / "wifi.json").exists() or pytest.skip("this checkout has a wifi.json")
        run = make("deploy", "DEVICE=" + board.device)
        assert run.returncode == 0, run.output
        assert ('note: no wifi.json here and none on the board, so after the reset the board cannot '
                'join your Wi-Fi: it opens the setup network "PicoW-Setup" (password "picosetup"'
                in run.output), run.output
        assert "http://192.168.4.1/" in run.output
        assert "wifi.json" not in board.files()
        on_board.write_bytes(wifi_file.read_bytes())  # the board has credentials: no warning
        run = make("deploy", "DEVICE=" + board.device)
        assert run.returncode == 0, run.output
        assert "the board keeps the Wi-Fi credentials it has" in run.output
        assert "setup network" not in run.output
    finally:
        on_board.write_bytes(wifi_file.read_bytes())


@pytest.mark.parametrize("credentials,words", [
    ({"ssid": "home", "password": "short"}, "The password must be 8 to 63 characters"),
    ({"ssid": "x" * 33, "password": "long-enough"}, "The network name is longer than 32 bytes."),
    ({"ssid": "home", "password": "caf\u00e9-caf\u00e9"}, "only printable ASCII characters"),
    ({"ssid": "home", "password": "g" * 64}, "A 64-character password must be hexadecimal."),
    ({"ssid": "home", "password": 12345678}, "has a \"password\" that is not a string"),
], ids=["short_password", "long_ssid", "non_ascii", "bad_hex_key", "number"])
def test_credentials_the_board_would_refuse_are_not_deployed(tmp_path, credentials, words):
    path = tmp_path / "wifi.json"
    path.write_text(json.dumps(credentials))
    # nothing listens at this address: the file is refused before the board is asked
    run = make("deploy", "DEVICE=socket://127.0.0.1:%d" % free_port(), "WIFI_FILE=%s" % path)
    assert_clear_refusal(run)
    assert words in run.stderr and "Nothing was written to the board." in run.stderr
    assert str(credentials["password"]) not in run.output


def test_deploy_checks_credentials_by_the_same_rule_as_the_board():
    """tools/deploy.py (CPython) re-implements lib/wifi/__init__.py's validate() (MicroPython):
    both give the same answer, word for word, for each of these pairs."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import deploy

    cases = [["", ""], ["home", ""], ["x" * 32, ""], ["x" * 33, ""], ["\u00e9" * 16, ""],
             ["\u00e9" * 17, ""], ["home", "1234567"], ["home", "12345678"], ["home", "x" * 63],
             ["home", "x" * 65], ["home", "aB3" * 21 + "f"], ["home", "0x" + "a" * 62],
             ["home", "a_" * 32], ["home", " " + "a" * 63], ["home", "g" * 64],
             ["home", "tab\tpassword"], ["home", "caf\u00e9-caf\u00e9"], ["home", "~!@#$%^&*() ok"]]
    code = ("import json, sys, wifi\n"
            "print(json.dumps([wifi.validate(s, p) for s, p in json.loads(sys.stdin.read())]))")
    env = dict(os.environ, MICROPYPATH=":".join(("tests/stubs", "lib", ".frozen")))
    run = subprocess.run([micropython(), "-c", code], cwd=ROOT, env=env, input=json.dumps(cases),
                         capture_output=True, text=True, timeout=20)
    assert run.returncode == 0, run.stdout + run.stderr
    on_board = json.loads(run.stdout.splitlines()[-1])
    here = [deploy.validate_wifi(s, p) for s, p in cases]
    assert here == on_board
    assert here.count(None) == 7  # the rule accepts some and refuses others


def test_repl_over_a_socket_says_what_mpremote_cannot_do(board):
    run = make("repl", "DEVICE=" + board.device, timeout=60)
    assert_clear_refusal(run)
    assert "mpremote cannot open an interactive console over %s" % board.device in run.stderr
    assert "resume exec" in run.stderr and "AttributeError" not in run.output


def test_credentials_file_that_is_not_json_is_refused_without_showing_it(board, tmp_path):
    bad = tmp_path / "wifi.json"
    bad.write_text('ssid = "secret-ssid-9"')
    run = deploy(board, bad)
    assert_clear_refusal(run)
    assert "not valid JSON" in run.stderr and "secret-ssid-9" not in run.output
    assert board.files() == {}


# -- wipe ---------------------------------------------------------------------------------


def put(board, files):
    """Lay files onto the stand-in's flash directly, as a deploy leaves them."""
    for name, data in files.items():
        (board.flash / name).parent.mkdir(parents=True, exist_ok=True)
        (board.flash / name).write_bytes(data)


def test_wipe_asks_first_and_an_answer_of_no_removes_nothing_and_is_not_an_error(board, wifi_file):
    put(board, expected_files(wifi_file))
    before = board.files()
    run = make("wipe", "DEVICE=" + board.device, stdin="n\n")
    assert run.returncode == 0 and "Nothing removed" in run.output, run.output
    assert "Error" not in run.output
    assert board.files() == before


def test_wipe_removes_our_files_and_keeps_others(board, wifi_file):
    put(board, expected_files(wifi_file))
    (board.flash / "lib" / "logging.mpy").write_bytes(b"M\x06\x00\x1f")
    (board.flash / "notes.txt").write_text("mine")
    (board.flash / "versions" / "v1" / "lib").mkdir(parents=True)  # over-the-air versions (make ota)
    (board.flash / "versions" / "v1" / "lib" / "app.mpy").write_bytes(b"M\x06\x00\x1f")
    (board.flash / "versions" / "state.json").write_text('{"active": "v1"}')
    run = make("wipe", "DEVICE=" + board.device, "YES=1")
    assert run.returncode == 0, run.output
    assert board.files() == {"lib/logging.mpy": b"M\x06\x00\x1f", "notes.txt": b"mine"}


# -- the commands are documented ----------------------------------------------------------


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())
    run = make("help")
    listed = [ln.split()[1] for ln in run.stdout.splitlines() if ln.startswith("make ")]
    assert targets == set(listed) and len(listed) == len(set(listed)), run.stdout


def test_credentials_file_is_ignored_by_git_and_the_example_is_committed():
    assert json.loads((ROOT / "wifi.example.json").read_text()).keys() == {"ssid", "password"}
    ignored = subprocess.run(["git", "check-ignore", "-q", "wifi.json"], cwd=ROOT)
    assert ignored.returncode == 0
    assert os.path.exists(ROOT / "wifi.example.json")


def test_mpy_version_arithmetic_agrees_with_the_unix_port_and_the_built_files():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import deploy

    run = subprocess.run([micropython(), "-c", "import sys; print(sys.implementation._mpy)"],
                         capture_output=True, text=True)
    mpy = int(run.stdout)
    assert mpy == 2822 and deploy.decode_sys_mpy(mpy) == (6, 3, "x64")
    assert deploy.decode_sys_mpy(4870) == (6, 3, "armv6m")  # a Pico W on MicroPython 1.23+
    assert make("build").returncode == 0
    built = sorted((ROOT / "build" / "lib").rglob("*.mpy"))
    assert built
    assert deploy.build_format(built) == (6, None, None)  # bytecode only, .mpy version 6
    deploy.check_format({"mpy": mpy, "version": [1, 29, 0]}, deploy.build_format(built))


def test_deploy_reports_each_file_as_it_is_copied_with_its_count_and_a_total(board, wifi_file, tmp_path):
    """The first deploy takes a while (46 s for 47 files over a real board's
    link): each file is named with its count as soon as it is on the board,
    not all at the end. (tools/deploy.py itself, as make deploy runs it.)"""
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "tools/deploy.py", "deploy", "--device", board.device,
                             "--wifi-file", str(wifi_file)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []  # (when it came, text)
    try:
        for text in proc.stdout:
            lines.append((time.monotonic(), text.rstrip("\n")))
        proc.wait(300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "\n".join(t for _, t in lines)
    assert proc.returncode == 0, out
    expected = expected_files(wifi_file)
    n = len(expected)
    assert "copying %d files" % n in out
    done = [(when, re.match(r"  copied (\S+)  \((\d+)/(\d+), (\d+) bytes", t)) for when, t in lines]
    done = [(when, m) for when, m in done if m]
    assert [int(m.group(2)) for _, m in done] == list(range(1, n + 1))
    assert {m.group(1) for _, m in done} == set(expected) and {int(m.group(3)) for _, m in done} == {n}
    assert "copied %d files, 0 up to date (%d bytes)" % (n, sum(len(v) for v in expected.values())) in out
    # As they came: the first file was reported well before the last.
    assert done[-1][0] - done[0][0] > 1.0, out
