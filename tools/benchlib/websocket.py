"""Part "websocket": WebSocket messages echoed per second, ours beside
Microdot 2.7.0's WebSocket (microdot.websocket), on the same unix port.

Each server has an echo at /ws/echo (tools/bench_apps/bench_ws.py, added to
the firmware through APP_MODULES; microdot_ws.py). A precheck speaks to it
with PyPI `websockets` (another client than ours: a text message with
non-ASCII characters, a binary one, a 32-byte one, then warm-up); the load
is tools/benchlib/wsclient.py: 1 and 4 connections, each sending a 32-byte
text message and waiting for its echo, for DURATION s, ROUNDS rounds with
the order of the servers rotating each round. Besides messages/s, the
server's CPU time per message (user + system, /proc): on a shared machine
the wall clock counts the other processes' time too, the CPU time less so.
"""

import os
import statistics

from .common import CONNECTIONS, say
from .servers import Server
from .wsclient import echo_load

SERVERS = {"ours": "ours-ws", "microdot": "microdot-ws"}  # row: servers.SERVERS entry
PATH = "/ws/echo"
MESSAGE_BYTES = 32


def _cpu_seconds(pid):
    """User + system CPU time of a process so far (the unix port runs
    inside its CPython wrapper's process: one pid)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def precheck(srv):
    """Echoes of a real client (PyPI websockets), then some warm-up."""
    from websockets.sync.client import connect

    with connect("ws://127.0.0.1:%d%s" % (srv.port, PATH), compression=None, open_timeout=5,
                 close_timeout=2) as ws:
        for msg in ("héllo, wörld ✓", b"\x00\x01\xfe\xff" * 8, "x" * MESSAGE_BYTES):
            ws.send(msg)
            got = ws.recv(timeout=5)
            if got != msg:
                raise SystemExit("error: %s echoed %r as %r at %s" % (srv.name, msg, got, PATH))
        for i in range(200):
            ws.send("warm-up %d" % i)
            ws.recv(timeout=5)


def websocket(rounds, duration):
    """({server: {"c1"/"c4": figures}}, problems seen)."""
    names = tuple(SERVERS)
    cells = {name: {c: [] for c in CONNECTIONS} for name in names}
    problems = []
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            say("round %d/%d: %s WebSocket echo" % (r + 1, rounds, name))
            with Server(SERVERS[name]) as srv:
                precheck(srv)
                for conns in CONNECTIONS:
                    cpu0 = _cpu_seconds(srv.proc.pid)
                    res = echo_load(srv.port, PATH, conns, duration, MESSAGE_BYTES)
                    res["cpu_s"] = _cpu_seconds(srv.proc.pid) - cpu0
                    cells[name][conns].append(res)
                    say("  c%d %8.0f messages/s, %5.1f us of server CPU each%s"
                        % (conns, res["mps"], _us(res),
                           "" if not (res["wrong"] or res["errors"]) else
                           "  (%d wrong echoes, %d connection errors)" % (res["wrong"], res["errors"])))
                if not srv.alive():
                    problems.append("%s died during the WebSocket round %d" % (name, r + 1))
                if srv.memory_errors():
                    problems.append("%s logged MemoryError in the WebSocket round %d" % (name, r + 1))
    out = {}
    for name in names:
        out[name] = {}
        for conns in CONNECTIONS:
            runs = cells[name][conns]
            out[name]["c%d" % conns] = {
                "median_mps": statistics.median(x["mps"] for x in runs),
                "rounds_mps": [round(x["mps"], 1) for x in runs],
                "median_cpu_us": statistics.median(_us(x) for x in runs),
                "messages": sum(x["messages"] for x in runs),
                "wrong": sum(x["wrong"] for x in runs),
                "errors": sum(x["errors"] for x in runs),
            }
    return out, problems


def _us(res):
    return res["cpu_s"] / res["messages"] * 1e6 if res["messages"] else 0.0


def ratios(results):
    """ours/microdot for each cell: messages/s, and server CPU per message."""
    ours, microdot = results["ours"], results["microdot"]
    return {cell: {"mps": ours[cell]["median_mps"] / microdot[cell]["median_mps"] if microdot[cell]["median_mps"] else None,
                   "cpu_us": ours[cell]["median_cpu_us"] / microdot[cell]["median_cpu_us"]
                   if microdot[cell]["median_cpu_us"] else None}
            for cell in ours}
