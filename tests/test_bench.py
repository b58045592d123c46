"""make bench's harness (tools/bench.py), so that it cannot rot: a smoke run
produces every row with sane numbers, and the built-in load generator works
without wrk. No targets here: the benchmark measures them, `make bench`."""

import json
import subprocess
import sys

from serverproc import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import bench  # noqa: E402

CELLS = ("/ c1", "/ c4", "/api/status c1", "/api/status c4")


def test_a_quick_bench_run_reports_every_server_every_cell_and_the_heap_figures(tmp_path):
    # (builds the 32-bit unix port from MICROPY_SRC when build/mp/unix32 lacks it: make test has)
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "tools/bench.py", "--quick", "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    res = json.loads(out.read_text())

    env = res["environment"]
    assert env["date"] and env["micropython"]["version"] and env["machine"]["nproc"] > 0
    assert env["microdot"]["version"] == "2.7.0" and env["page_bytes"] == 73
    for name in ("ours", "microdot", "ceiling"):
        for cell in CELLS:
            row = res["throughput"][name][cell]
            assert row["median_rps"] > 0 and row["requests"] > 0, (name, cell, row)
            assert row["non2xx"] >= 0 and row["socket_errors"] >= 0
        step = res["smallest_heap"][name]["steps"][0]
        assert step["heap"] == "180K" and isinstance(step["ok"], bool) and step["detail"]
    for cell in CELLS:  # the same application with its access log
        assert res["throughput"]["ours-logged"][cell]["median_rps"] > 0, cell
    for key in ("ours/microdot", "ours/ceiling", "ours-logged/ceiling", "microdot/ceiling"):
        assert set(res["ratios"][key]) == set(CELLS)
        assert all(v > 0 for v in res["ratios"][key].values())
    assert res["status_same_keys"] is True  # Microdot's /api/status has our keys

    per = res["per_request"]
    for path in ("/", "/api/status"):
        assert per[path]["allocated"] > 0 and per[path]["garbage"] >= 0, per
    growth = res["heap_growth"]
    for mark in ("100", "10000", "20000"):
        assert growth[mark]["in_use"] > 0 and growth[mark]["free"] > 0
    parts = res["breakdown"]
    assert len(parts) >= 10
    assert [p for p in parts if "error" in p] == [], "alloc_probe.py no longer fits the server core"

    for text in ("Requests/s", "Ratios", "Smallest -X heapsize", "Heap per request", "Where the bytes go",
                 "ours", "microdot", "ceiling", env["micropython"]["version"]):
        assert text in run.stdout

    # On the Pico W's word size: MicroPython v1.28.0's unix port built 32-bit
    # from the firmware's own source, with .mpy files from its own mpy-cross.
    m32 = env["micropython32"]
    assert m32["bits"] == 32 and m32["release"] == "1.28.0" and env["micropython"]["bits"] == 64, env
    assert env["microdot32"]["version"] == "2.7.0"
    for name in ("ours", "ours-core", "microdot", "ours-frozen"):
        step = res["smallest_heap32"][name]["steps"][0]
        assert step["heap"] == "180K" and step["ok"] is True, (name, step)
        assert res["smallest_heap32"][name]["smallest"] == "180K"
    growth = res["heap_growth32"]
    for mark in ("100", "10000", "20000"):
        assert growth[mark]["in_use"] > 0 and growth[mark]["free"] > 0
    # less heap in use than on the 64-bit port, after the same requests
    assert growth["100"]["in_use"] < res["heap_growth"]["100"]["in_use"]

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
    for text in ("32-bit", "Heap per module", "ours-frozen", "ours-core", m32["version"]):
        assert text in run.stdout


def test_the_built_in_load_generator_counts_answers_refusals_and_reconnects():
    # Microdot closes every connection (HTTP/1.0): the generator reconnects;
    # ours (from the sources) answers 404 for an unknown path: counted as non-2xx.
    bench.prepare_microdot(bench.build_ours())
    for name in ("ceiling", "microdot"):
        with bench.Server(name) as srv:
            for conns in (1, 4):
                res = bench.run_builtin(srv.port, "/", conns, 1)
                assert res["requests"] > 0 and res["rps"] > 0, (name, conns, res)
                assert res["non2xx"] == 0 and res["socket_errors"] == 0, (name, conns, res)
    srv = bench.Server("ours")
    srv.path = (".frozen", ROOT / "lib", bench.APPS, ROOT)
    with srv:
        res = bench.run_builtin(srv.port, "/no-such-page", 2, 1)
        assert res["requests"] > 0 and res["non2xx"] == res["requests"], res
        res = bench.run_builtin(srv.port, "/api/status", 4, 1)
        assert res["requests"] > 0 and res["non2xx"] == 0 and res["socket_errors"] == 0, res
