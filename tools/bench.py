"""make bench: this server, Microdot and a bare loop, side by side on the unix port.

    bench.py [--rounds 3] [--duration 3] [--only PART[,PART]] [--quick] [--json FILE]

Builds lib/ to .mpy (tools/build.py), fetches Microdot 2.7.0 from PyPI into
build/bench/ and compiles it with the same mpy-cross, and measures, every
server in the Pico W profile (-X heapsize=180K, 5 client sockets:
tools/picow_profile.py), in five parts (--only runs some of them):

  throughput  requests/s of GET / and GET /api/status with 1 and 4 keep-alive
              connections, ROUNDS rounds of DURATION s (the order of the
              servers rotates each round): ours (this firmware from .mpy),
              ours-logged (the same, ACCESS_LOG=True), microdot, ceiling (a
              bare loop); the medians, the ratios, whether every answer was 2xx
  websocket   WebSocket messages echoed per second, ours beside Microdot's
              WebSocket (an echo at /ws/echo in each): 1 and 4 connections,
              each sending a 32-byte text message and waiting for its echo,
              ROUNDS rounds of DURATION s (the order rotates); the medians,
              the server's CPU time per message, the ratios, whether every
              echo was right
  heap        the smallest -X heapsize of the ladder (16K to 180K) serving 4
              keep-alive clients, for ours, ours-core (the httpd core serving
              Microdot's application), microdot, ceiling; ours' bytes
              allocated and left as garbage per request, its heap in use after
              100, 10,000 and 20,000 requests, and where the bytes of a
              request go (tools/bench_apps/alloc_probe.py)
  heap32      on the Pico W's word size, MicroPython v1.28.0's unix port built
              32-bit from MICROPY_SRC (tools/firmware.py unix32), everything
              compiled by its own mpy-cross: the smallest heap in 4K steps for
              ours, ours-core, microdot from .mpy and ours-frozen (the
              firmware frozen in as the image freezes it), and ours' heap in
              use after 100, 10,000 and 20,000 requests
  modules     on the same port, the heap each module of lib/ keeps once
              imported, from .mpy and frozen, in dependency order, and which
              ones the serving firmware has loaded

Prints the tables, writes the same as JSON to build/bench/results.json.
`--quick` (tests/test_bench.py): one round of 1 s, one heap step (180K).
Targets are not checked here: the numbers are the output. The parts are in
tools/benchlib/ (its __init__ lists the modules).
"""

import argparse
import datetime
import json
import os
import pathlib

import picow_profile
from benchlib import environment, heapuse, ladder, load, modules, prepare, report, throughput, websocket
from benchlib.common import BENCH, PAGE, config_default, say

PARTS = ("throughput", "websocket", "heap", "heap32", "modules")


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(PARTS),
                    help="the parts to run, comma-separated: %s (default: all)" % ", ".join(PARTS))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS") or 3))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION") or 3),
                    help="seconds per measurement (whole seconds, as wrk takes them)")
    ap.add_argument("--heaps", default=",".join(ladder.LADDER), help="the heap ladder, smallest first")
    ap.add_argument("--heaps32", default=",".join(ladder.LADDER32), help="the 32-bit heap ladder, smallest first")
    ap.add_argument("--heap-seconds", type=int, default=2, help="seconds of load per path per heap step")
    ap.add_argument("--load", choices=("auto", "wrk", "builtin"), default="auto",
                    help="wrk if installed (auto), or the built-in Python load generator")
    ap.add_argument("--requests", type=int, default=50, help="requests per heap-per-request window")
    ap.add_argument("--json", default=str(BENCH / "results.json"))
    ap.add_argument("--quick", action="store_true", help="smoke mode: 1 round of 1 s, one heap step (180K)")
    args = ap.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [p for p in args.only if p not in PARTS]
    if unknown or not args.only:
        ap.error("--only %s: the parts are %s" % (",".join(unknown) or "(nothing)", ", ".join(PARTS)))
    args.heaps = [h.strip() for h in args.heaps.split(",") if h.strip()]
    args.heaps32 = [h.strip() for h in args.heaps32.split(",") if h.strip()]
    if args.quick:
        args.rounds, args.duration, args.heap_seconds = 1, 1, 1
        args.heaps = args.heaps32 = [picow_profile.HEAP]
    if args.rounds < 1 or args.duration < 1:
        ap.error("ROUNDS and DURATION must be at least 1")
    return args


def main(argv=None):
    args = parse(argv)
    only = set(args.only)
    run_load, load_name = load.choose(args.load)
    if args.load == "auto" and run_load is load.run_builtin:
        say("note: wrk is not installed; using the built-in load generator "
            "(slower than wrk: compare ratios, not absolute numbers)")

    # Build only what the chosen parts run.
    build = prepare.build_ours()
    env = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "parts": [p for p in PARTS if p in only],
        "micropython": environment.interpreter(),
        "machine": environment.machine(),
        "load": load_name,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "heapsize": picow_profile.HEAP,
        "client_sockets": picow_profile.CLIENT_SOCKETS,
        "ours_log_level": os.environ.get("PICO_LOG_LEVEL") or config_default("LOG_LEVEL"),
        "ours_access_log": os.environ.get("PICO_ACCESS_LOG") or str(config_default("ACCESS_LOG")),
        "page_bytes": len(PAGE),
        "source": environment.source(),
    }
    if only & {"throughput", "websocket", "heap"}:
        env["microdot"] = prepare.prepare_microdot(build)
    if only & {"heap32", "modules"}:
        env["microdot32"] = prepare.prepare_unix32(build)
        env["micropython32"] = environment.interpreter(prepare.MP32)
    say("MicroPython %s; %s" % (env["micropython"]["version"], load_name))

    res = {"environment": env, "problems": []}
    if "throughput" in only:
        results, same_shape, problems = throughput.throughput(args.rounds, args.duration, run_load)
        res.update(throughput=results, ratios=throughput.ratios(results), status_same_keys=same_shape)
        res["problems"] += problems
    if "websocket" in only:
        results, problems = websocket.websocket(args.rounds, args.duration)
        res.update(websocket=results, websocket_ratios=websocket.ratios(results),
                   websocket_message_bytes=websocket.MESSAGE_BYTES)
        res["problems"] += problems
    if "heap" in only:
        res["heap_ladder"] = args.heaps
        res["smallest_heap"] = ladder.smallest_heaps(ladder.HEAP_NAMES, args.heaps, run_load, args.heap_seconds)
        say("heap per request (ours)")
        res["per_request"] = heapuse.per_request(args.requests, 3 if args.quick else 5)
        res["heap_growth"] = heapuse.heap_growth()
        res["breakdown"] = heapuse.breakdown()
    if "heap32" in only:
        say("32-bit: heap ladder, heap growth")
        res["heap_ladder32"] = args.heaps32
        res["smallest_heap32"] = ladder.smallest_heaps(ladder.HEAP32_NAMES, args.heaps32, run_load,
                                                       args.heap_seconds, bits=32)
        res["heap_growth32"] = heapuse.heap_growth(bits=32)
    if "modules" in only:
        say("32-bit: heap per module")
        res["modules32"] = modules.modules_table()

    path = pathlib.Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=2) + "\n")
    say("")
    say(report.render(res))
    say("")
    say("results: %s" % os.path.relpath(path, os.getcwd()))
    return res


if __name__ == "__main__":
    main()
