"""make bench's harness (tools/bench.py, tools/benchlib/), so that it cannot
rot: a quick run produces every part with numbers that say the servers were
measured serving (all 2xx, heap figures that add up), --only runs the parts
asked for, a heap ladder climbs past a step that fails, and the built-in load
generator counts what it gets. No targets here: the benchmark measures them,
`make bench`."""

import json
import subprocess
import sys

import pytest

from serverproc import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from benchlib import ladder, load, prepare, wsclient  # noqa: E402
from benchlib.servers import Server  # noqa: E402

CELLS = ("/ c1", "/ c4", "/api/status c1", "/api/status c4")
SERVERS = ("ours", "ours-logged", "microdot", "ceiling")


def bench(tmp_path, *args, timeout=280):
    """tools/bench.py ARGS: (its results, what it printed)."""
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "tools/bench.py", "--json", str(out)] + list(args),
                         cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return json.loads(out.read_text()), run.stdout


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    # (builds the 32-bit unix port from MICROPY_SRC when build/mp/unix32 lacks it: make test has)
    return bench(tmp_path_factory.mktemp("bench"), "--quick")


def test_a_quick_run_measures_every_server_in_every_cell_with_only_2xx_answers(quick):
    res, printed = quick
    env = res["environment"]
    assert env["parts"] == ["throughput", "websocket", "heap", "heap32", "modules"]
    assert env["date"] and env["micropython"]["version"] and env["machine"]["nproc"] > 0
    assert env["microdot"]["version"] == "2.7.0" and env["page_bytes"] == 73
    assert (env["heapsize"], env["client_sockets"]) == ("180K", 5)  # the Pico W profile
    assert env["ours_access_log"] == "False" and env["ours_log_level"] == "INFO"  # config.py's defaults
    for name in SERVERS:
        for cell in CELLS:
            row = res["throughput"][name][cell]
            assert row["median_rps"] > 0 and row["requests"] > 0, (name, cell, row)
            # healthy servers with 5 sockets and at most 4 clients: every answer a 2xx
            assert row["non2xx"] == 0 and row["socket_errors"] == 0, (name, cell, row)
    for key in ("ours/microdot", "ours/ceiling", "ours-logged/ceiling", "microdot/ceiling"):
        a, b = key.split("/")
        assert set(res["ratios"][key]) == set(CELLS)
        for cell, ratio in res["ratios"][key].items():
            want = res["throughput"][a][cell]["median_rps"] / res["throughput"][b][cell]["median_rps"]
            assert ratio == pytest.approx(want), (key, cell)
    assert res["status_same_keys"] is True  # Microdot's /api/status has our keys
    assert res["problems"] == []
    assert "Requests/s" in printed and "Ratios" in printed and env["micropython"]["version"] in printed
    for name in SERVERS:  # the table's row: the server, then its 4 cells, then "all 2xx: yes"
        assert any(line.split()[:1] == [name] and line.split()[-1] == "yes" for line in printed.splitlines()), name


def test_a_quick_run_echoes_websocket_messages_on_ours_and_microdot(quick):
    res, printed = quick
    assert res["websocket_message_bytes"] == 32
    for name in ("ours", "microdot"):
        for cell in ("c1", "c4"):
            row = res["websocket"][name][cell]
            assert row["median_mps"] > 0 and row["messages"] > 0, (name, cell, row)
            assert 0 < row["median_cpu_us"] < 10000, (name, cell, row)  # the server's CPU was read
            # every echo the message sent, no connection refused, cut or stalled
            assert row["wrong"] == 0 and row["errors"] == 0, (name, cell, row)
    for cell, r in res["websocket_ratios"].items():
        want = res["websocket"]["ours"][cell]["median_mps"] / res["websocket"]["microdot"][cell]["median_mps"]
        assert r["mps"] == pytest.approx(want), cell
    assert "WebSocket messages echoed per second" in printed
    for name in ("ours", "microdot"):
        assert any(line.split()[:1] == [name] and line.split()[-1] == "yes" for line in printed.splitlines()), name


def test_the_websocket_client_counts_a_refused_handshake_as_an_error():
    # The ceiling answers every request with its page: no 101.
    prepare.build_ours()
    with Server("ceiling") as srv:
        with pytest.raises(wsclient.HandshakeError, match="200"):
            wsclient.connect(srv.port, "/ws/echo")
        res = wsclient.echo_load(srv.port, "/ws/echo", 2, 1)
        assert res["messages"] == 0 and res["errors"] == 2 and res["wrong"] == 0, res


def test_a_quick_run_gives_the_heap_figures_of_the_64_bit_port(quick):
    res, printed = quick
    assert res["heap_ladder"] == ["180K"]
    for name in ladder.HEAP_NAMES:  # all serve 4 clients in the Pico W's heap
        h = res["smallest_heap"][name]
        assert h["smallest"] == "180K" and h["steps"][0]["ok"] is True, (name, h)
        assert h["steps"][0]["detail"].startswith("served "), h
    per = res["per_request"]
    for path in ("/", "/api/status"):
        # garbage is the part of what a request allocated that it left behind
        assert 0 < per[path]["allocated"] and 0 <= per[path]["garbage"] <= per[path]["allocated"], per
    assert per["/api/status"]["garbage"] > 0, per  # json.dumps' output is garbage once sent
    assert per["/api/status"]["allocated"] > per["/"]["allocated"], per
    growth = res["heap_growth"]
    for mark in ("100", "10000", "20000"):
        assert 0 < growth[mark]["in_use"] < 180 * 1024 and growth[mark]["free"] > 0, growth
    assert growth["growth"] == growth["10000"]["in_use"] - growth["100"]["in_use"]
    parts = res["breakdown"]
    assert len(parts) >= 10
    assert [p for p in parts if "error" in p] == [], "alloc_probe.py no longer fits the server core"
    for text in ("Smallest -X heapsize", "Heap per request", "Where the bytes go"):
        assert text in printed


def test_a_quick_run_gives_the_heap_on_the_boards_word_size(quick):
    # MicroPython v1.28.0's unix port built 32-bit from the firmware's own
    # source, with .mpy files from its own mpy-cross.
    res, printed = quick
    env = res["environment"]
    m32 = env["micropython32"]
    assert m32["bits"] == 32 and m32["release"] == "1.28.0" and env["micropython"]["bits"] == 64, env
    assert env["microdot32"]["version"] == "2.7.0"
    for name in ladder.HEAP32_NAMES:
        step = res["smallest_heap32"][name]["steps"][0]
        assert step["heap"] == "180K" and step["ok"] is True, (name, step)
        assert res["smallest_heap32"][name]["smallest"] == "180K"
    growth = res["heap_growth32"]
    for mark in ("100", "10000", "20000"):
        assert growth[mark]["in_use"] > 0 and growth[mark]["free"] > 0
    # less heap in use than on the 64-bit port, after the same requests
    assert growth["100"]["in_use"] < res["heap_growth"]["100"]["in_use"]
    for text in ("32-bit", "ours-frozen", "ours-core", m32["version"]):
        assert text in printed


def test_a_quick_run_gives_the_heap_of_every_module_of_lib(quick):
    res, printed = quick
    mods = res["modules32"]
    rows = {r["module"]: r for r in mods["rows"]}
    lib = {p.relative_to(ROOT / "lib").with_suffix("").as_posix().replace("/", ".").replace(".__init__", "")
           for p in (ROOT / "lib").rglob("*.py") if "__pycache__" not in p.parts}
    assert lib | {"asyncio", "config"} == set(rows), set(rows) ^ lib
    assert [r for r in mods["rows"] if r["error"]] == []
    for name in ("httpd.server", "httpd.request", "app"):  # frozen code stays out of the heap
        assert rows[name]["mpy"] > 2 * rows[name]["frozen"] > 0, rows[name]
    assert rows["app"]["at_start"] and rows["httpd.server"]["at_start"]
    assert {"app", "httpd", "httpd.server", "settings"} <= set(mods["started_modules"])
    assert mods["total_frozen"] < mods["at_start_mpy"] <= mods["total_mpy"]
    assert mods["serving_in_use"] > mods["at_start_mpy"]
    assert "Heap per module" in printed


def test_only_runs_the_parts_asked_for(tmp_path):
    res, printed = bench(tmp_path, "--quick", "--only", "modules", timeout=200)
    assert res["environment"]["parts"] == ["modules"]
    assert "modules32" in res and res["modules32"]["rows"]
    for other in ("throughput", "smallest_heap", "per_request", "smallest_heap32", "heap_growth32"):
        assert other not in res, other
    assert "microdot" not in res["environment"]  # the 64-bit Microdot is not even built
    assert "Heap per module" in printed and "Requests/s" not in printed and "Smallest" not in printed


def test_an_unknown_part_is_refused_with_the_names_of_the_parts():
    run = subprocess.run([sys.executable, "tools/bench.py", "--only", "heap,speed"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--only speed: the parts are throughput, websocket, heap, heap32, modules" in run.stderr


def test_a_heap_ladder_climbs_past_a_step_that_fails_and_says_why():
    prepare.build_ours()
    res = ladder.smallest_heaps(("ceiling",), ["4K", "180K"], load.run_builtin, 1)["ceiling"]
    failed, served = res["steps"]
    assert failed["heap"] == "4K" and failed["ok"] is False and "MemoryError" in failed["detail"], failed
    assert served["ok"] is True and res["smallest"] == "180K", res


def test_the_built_in_load_generator_counts_answers_refusals_and_reconnects():
    # Microdot closes every connection (HTTP/1.0): the generator reconnects;
    # ours (from the sources) answers 404 for an unknown path: counted as non-2xx.
    prepare.prepare_microdot(prepare.build_ours())
    for name in ("ceiling", "microdot"):
        with Server(name) as srv:
            for conns in (1, 4):
                res = load.run_builtin(srv.port, "/", conns, 1)
                assert res["requests"] > 0 and res["rps"] > 0, (name, conns, res)
                assert res["non2xx"] == 0 and res["socket_errors"] == 0, (name, conns, res)
    srv = Server("ours")
    srv.path = (ROOT / "lib",) + srv.path[1:]
    with srv:
        res = load.run_builtin(srv.port, "/no-such-page", 2, 1)
        assert res["requests"] > 0 and res["non2xx"] == res["requests"], res
        res = load.run_builtin(srv.port, "/api/status", 4, 1)
        assert res["requests"] > 0 and res["non2xx"] == 0 and res["socket_errors"] == 0, res
