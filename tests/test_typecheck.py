"""`make check` type-checks the code that runs on the board against the
Pico W's MicroPython API (micropython-rp2-rpi-pico-w-stubs). This proves the
check would catch a wrong call: the same configuration, one bad file more."""

import json
import pathlib
import subprocess

from serverproc import ROOT

TYPINGS = ROOT / "build" / "typings"
PYRIGHT = ROOT / ".venv" / "bin" / "pyright"

WRONG = '''\
import machine
import network
import rp2

machine.Pin("LED", machine.Pin.OUTPUT)  # the constant is Pin.OUT
network.WLAN(network.STA_IF).connect("ssid", "key", 6)  # no positional channel
rp2.country(44)  # a two-letter str
machine.WDT(timeout="8s")  # milliseconds, an int
'''


def run_pyright(tmp_path, extra_files):
    assert (TYPINGS / "stdlib").is_dir(), "run `make check` first: it installs the stubs"
    config = json.loads((ROOT / "pyrightconfig.json").read_text())
    for key in ("typeshedPath", "stubPath"):
        config[key] = str(TYPINGS)
    config["extraPaths"] = [str(ROOT / "lib")]
    config["include"] = [str(ROOT / p) for p in config["include"]] + [str(f) for f in extra_files]
    cfg = tmp_path / "pyrightconfig.json"
    cfg.write_text(json.dumps(config))
    out = subprocess.run([str(PYRIGHT), "-p", str(cfg), "--outputjson"], capture_output=True, text=True,
                         timeout=300)
    return json.loads(out.stdout)["generalDiagnostics"]


def test_device_code_matches_the_pico_w_api():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        errors = [e for e in run_pyright(pathlib.Path(d), []) if e["severity"] == "error"]
    assert errors == []


def test_the_check_catches_calls_that_do_not_match_the_board_api(tmp_path):
    bad = tmp_path / "wrong.py"
    bad.write_text(WRONG)
    errors = [e for e in run_pyright(tmp_path, [bad]) if e["severity"] == "error"]
    lines = sorted({e["range"]["start"]["line"] + 1 for e in errors if e["file"] == str(bad)})
    assert lines == [5, 6, 7, 8]
