"""Part "throughput": requests/s of GET / and GET /api/status with 1 and 4
keep-alive connections, each server in turn for a number of rounds (the
order rotates each round), the median of the rounds and the ratios."""

import json
import statistics

from .common import CONNECTIONS, PAGE, PATHS, say
from .httpclient import Client
from .servers import Server

SERVER_NAMES = ("ours", "ours-logged", "microdot", "ceiling")


def keys(obj):
    """The shape of a JSON value: its keys, recursively."""
    if isinstance(obj, dict):
        return {k: keys(v) for k, v in obj.items()}
    return None


def precheck(srv):
    """The page at /, a JSON object at /api/status; some warm-up requests."""
    client = Client(srv.port)
    try:
        status, body = client.get("/")
        if status != 200 or body != PAGE:
            raise SystemExit("error: %s answered GET / with %d %r, not the 73-byte page" % (srv.name, status, body[:80]))
        status, body = client.get("/api/status")
        if status != 200:
            raise SystemExit("error: %s answered GET /api/status with %d" % (srv.name, status))
        shape = None
        if srv.name != "ceiling":
            shape = keys(json.loads(body))
        for _ in range(100):
            client.get("/")
            client.get("/api/status")
        return shape
    finally:
        client.close()


def throughput(rounds, duration, load):
    """({server: {cell: figures}}, whether Microdot's /api/status has our keys, problems seen)."""
    cells = {name: {p: {c: [] for c in CONNECTIONS} for p in PATHS} for name in SERVER_NAMES}
    shapes = {}
    problems = []
    for r in range(rounds):
        k = r % len(SERVER_NAMES)
        order = SERVER_NAMES[k:] + SERVER_NAMES[:k]
        for name in order:
            say("round %d/%d: %s" % (r + 1, rounds, name))
            with Server(name) as srv:
                shapes[name] = precheck(srv)
                for path in PATHS:
                    for conns in CONNECTIONS:
                        res = load(srv.port, path, conns, duration)
                        cells[name][path][conns].append(res)
                        say("  GET %-11s c%d  %8.0f req/s%s" % (path, conns, res["rps"],
                            "" if not (res["non2xx"] or res["socket_errors"]) else
                            "  (%d non-2xx, %d socket errors)" % (res["non2xx"], res["socket_errors"])))
                if not srv.alive():
                    problems.append("%s died during round %d" % (name, r + 1))
                if srv.memory_errors():
                    problems.append("%s logged MemoryError in round %d" % (name, r + 1))
    out = {}
    for name in SERVER_NAMES:
        rows = {}
        for path in PATHS:
            for conns in CONNECTIONS:
                runs = cells[name][path][conns]
                rows["%s c%d" % (path, conns)] = {
                    "median_rps": statistics.median(x["rps"] for x in runs),
                    "rounds_rps": [round(x["rps"], 1) for x in runs],
                    "requests": sum(x["requests"] for x in runs),
                    "non2xx": sum(x["non2xx"] for x in runs),
                    "socket_errors": sum(x["socket_errors"] for x in runs),
                }
        out[name] = rows
    same_shape = shapes.get("ours") is not None and shapes.get("ours") == shapes.get("microdot")
    if not same_shape:
        problems.append("Microdot's /api/status has not the same keys as ours")
    return out, same_shape, problems


def ratios(results):
    out = {}
    for a, b in (("ours", "microdot"), ("ours", "ceiling"), ("ours-logged", "ceiling"),
                 ("microdot", "ceiling")):
        out["%s/%s" % (a, b)] = {cell: results[a][cell]["median_rps"] / results[b][cell]["median_rps"]
                                 for cell in results[a] if results[b][cell]["median_rps"]}
    return out
