"""The tables make bench prints, from its results (the same as results.json):
a section for each part that ran."""

import picow_profile

from .common import PATHS
from .ladder import HEAP32_NAMES, HEAP_NAMES
from .throughput import SERVER_NAMES

CELLS = ["%s c%d" % (p, c) for p in PATHS for c in (1, 4)]
CELL_HEADS = ["GET / c1", "GET / c4", "status c1", "status c4"]


def fmt(n):
    return "{:,.0f}".format(n)


def render(res):
    lines = []
    add = lines.append
    _environment(res["environment"], add)
    if "throughput" in res:
        _throughput(res, add)
    if "websocket" in res:
        _websocket(res, add)
    if "smallest_heap" in res:
        _heap(res, add)
    if "smallest_heap32" in res or "modules32" in res:
        _header32(res["environment"], add)
    if "smallest_heap32" in res:
        _heap32(res, add)
    if "modules32" in res:
        _modules32(res["modules32"], add)
    if res["problems"]:
        add("")
        add("Problems:")
        for p in res["problems"]:
            add("  " + p)
    return "\n".join(lines)


def _environment(env, add):
    add("Benchmark, %s (parts: %s)" % (env["date"], ", ".join(env["parts"])))
    add("MicroPython %s unix port (sys.version: %s; %s)" % (env["micropython"]["release"], env["micropython"]["version"],
                                                          env["micropython"]["machine"]))
    add("machine: %d CPUs, %s (%s), Linux %s" % (env["machine"]["nproc"], env["machine"]["cpu"],
                                                  env["machine"]["arch"], env["machine"]["kernel"]))
    add("load: %s; %d round(s) of %d s per cell, median shown; -X heapsize=%s, %d client sockets"
        % (env["load"], env["rounds"], env["duration_s"], env["heapsize"], env["client_sockets"]))
    add("ours: .mpy build of commit %s%s, LOG_LEVEL=%s, ACCESS_LOG=%s (ours-logged: the same, ACCESS_LOG=True);"
        % (env["source"]["commit"], " with lib/ changed" if env["source"]["lib_changed"] else "",
           env["ours_log_level"], env["ours_access_log"]))
    if "microdot" in env:
        add("microdot %s .mpy; ceiling: bare loop, same page for every path" % env["microdot"]["version"])


def _throughput(res, add):
    add("")
    add("Requests/s (c1, c4: keep-alive connections; status: GET /api/status)")
    add("%-11s" % "server" + "".join("%11s" % h for h in CELL_HEADS) + "   all 2xx")
    for name in SERVER_NAMES:
        row = res["throughput"][name]
        bad = sum(row[c]["non2xx"] + row[c]["socket_errors"] for c in CELLS)
        add("%-11s" % name + "".join("%11s" % fmt(row[c]["median_rps"]) for c in CELLS)
            + "   " + ("yes" if not bad else "NO (%d)" % bad))
    add("")
    add("Ratios")
    add("%-19s" % "" + "".join("%11s" % h for h in CELL_HEADS))
    for key, row in res["ratios"].items():
        add("%-19s" % key + "".join("%10.2fx" % row[c] if c in row else "%11s" % "-" for c in CELLS))


def _websocket(res, add):
    add("")
    add("WebSocket messages echoed per second (c1, c4: connections, each sending a %d-byte text message"
        % res["websocket_message_bytes"])
    add("  and waiting for its echo; us: the server's CPU time per message, user + system)")
    add("%-11s%11s%11s%11s%11s   all echoed" % ("server", "c1", "c4", "us c1", "us c4"))
    for name, row in res["websocket"].items():
        bad = sum(row[c]["wrong"] + row[c]["errors"] for c in ("c1", "c4"))
        add("%-11s" % name + "".join("%11s" % fmt(row[c]["median_mps"]) for c in ("c1", "c4"))
            + "".join("%11.1f" % row[c]["median_cpu_us"] for c in ("c1", "c4"))
            + "   " + ("yes" if not bad else "NO (%d)" % bad))
    r = res["websocket_ratios"]
    add("%-11s" % "ours/micro" + "".join("%10.2fx" % r[c]["mps"] if r[c]["mps"] else "%11s" % "-" for c in ("c1", "c4"))
        + "".join("%10.2fx" % r[c]["cpu_us"] if r[c]["cpu_us"] else "%11s" % "-" for c in ("c1", "c4")))


def _failed_step(h):
    """'  (HEAP: why)' of the last step that failed below the smallest, or ''."""
    fails = [s for s in h["steps"] if not s["ok"]]
    return "  (%s: %s)" % (fails[-1]["heap"], fails[-1]["detail"]) if fails else ""


def _growth(g, add):
    add("  after 100 requests %s B, after 10,000 %s B (growth %s B), after 20,000 %s B (%s B more)"
        % (fmt(g["100"]["in_use"]), fmt(g["10000"]["in_use"]), fmt(g["growth"]),
           fmt(g["20000"]["in_use"]), fmt(g["growth_after"])))


def _heap(res, add):
    add("")
    add("Smallest -X heapsize serving 4 keep-alive clients (ladder %s)" % " ".join(res["heap_ladder"]))
    for name in HEAP_NAMES:
        h = res["smallest_heap"][name]
        add("%-10s %6s%s" % (name, h["smallest"] or "none", _failed_step(h)))
    add("")
    per = res["per_request"]
    add("Heap per request, ours (%d windows of %d requests on one keep-alive connection, median;"
        % (per["windows"], per["requests_per_window"]))
    add("  measuring routes' own cost subtracted: %s B allocated, %s B garbage)"
        % (fmt(per["measuring_cost"]["allocated"]), fmt(per["measuring_cost"]["garbage"])))
    add("%-18s %16s %16s" % ("", "allocated B/req", "garbage B/req"))
    for path in PATHS:
        add("%-18s %16s %16s" % ("GET " + path, fmt(per[path]["allocated"]), fmt(per[path]["garbage"])))
    add("Heap in use after gc.collect(), ours at -X heapsize=%s (least of 3 readings):" % picow_profile.HEAP)
    _growth(res["heap_growth"], add)
    add("")
    add("Where the bytes go (tools/bench_apps/alloc_probe.py, per call, at -X heapsize=%s)" % picow_profile.HEAP)
    add("%-74s %10s %9s %8s" % ("part", "allocated", "garbage", "us"))
    for p in res["breakdown"]:
        if "error" in p:
            add("%-74s %s" % (p["part"], p["error"]))
        else:
            add("%-74s %10s %9s %8.1f" % (p["part"], fmt(p["allocated"]), fmt(p["garbage"]), p["us"]))


def _header32(env, add):
    m32 = env["micropython32"]
    add("")
    add("32-bit: MicroPython %s unix port built %d-bit from its source (%s; sys.version: %s),"
        % (m32["release"], m32["bits"], m32["command"], m32["version"]))
    add("  everything compiled by that source's mpy-cross; ours-frozen: firmware/manifest.py frozen into that port")


def _heap32(res, add):
    add("Smallest -X heapsize serving 4 keep-alive clients, 32-bit (ladder %s ... %s, 4K steps)"
        % (res["heap_ladder32"][0], res["heap_ladder32"][-1]))
    labels = {"ours": "the whole firmware, .mpy", "ours-core": "httpd core + Microdot's application, .mpy",
              "microdot": "Microdot %s, .mpy" % res["environment"]["microdot32"]["version"],
              "ours-frozen": "the whole firmware, frozen"}
    for name in HEAP32_NAMES:
        h = res["smallest_heap32"][name]
        add("%-12s %6s  %s%s" % (name, h["smallest"] or "none", labels[name], _failed_step(h)))
    add("Heap in use after gc.collect(), ours 32-bit .mpy at -X heapsize=%s (least of 3 readings):"
        % picow_profile.HEAP)
    _growth(res["heap_growth32"], add)


def _modules32(t, add):
    add("")
    add("Heap per module, 32-bit (heap in use after its import less before, gc.collect() both times; modules")
    add("  imported in dependency order, so a row is the module's own cost; * = loaded by the serving firmware)")
    add("%-18s %9s %9s %9s" % ("module", ".mpy B", "frozen B", "file B"))
    for r in t["rows"]:
        add("%-18s %9s %9s %9s%s" % (r["module"] + (" *" if r["at_start"] else ""), fmt(r["mpy"]),
                                      "-" if r["frozen"] is None else fmt(r["frozen"]),
                                      "-" if r["mpy_file"] is None else fmt(r["mpy_file"]),
                                      "  " + r["error"] if r["error"] else ""))
    add("%-18s %9s %9s" % ("all of lib/", fmt(t["total_mpy"]), fmt(t["total_frozen"])))
    add("%-18s %9s %9s" % ("loaded (*)", fmt(t["at_start_mpy"]), fmt(t["at_start_frozen"])))
    add("heap in use by the whole firmware serving (.mpy, after gc.collect()): %s B" % fmt(t["serving_in_use"]))
