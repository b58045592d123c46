"""Heap in use by ours, the whole firmware: bytes per request, the heap in use
after 100, 10,000 and 20,000 requests (a leak shows as growth), and where the
bytes of one request go, part by part (tools/bench_apps/alloc_probe.py)."""

import json
import os
import statistics
import subprocess
import time

import picow_profile

from .common import APPS, PATHS, WWW, fresh_dir
from .httpclient import Client, numbers
from .servers import SERVERS, Server

MEASURE_HEAP = "1024K"  # room for N requests' garbage while the collector is off


def per_request(n, repeats):
    """Bytes allocated and bytes left for the collector per request, for GET /
    and GET /api/status, over one keep-alive connection."""
    with Server("ours", MEASURE_HEAP) as srv:
        client = Client(srv.port)
        for _ in range(200):  # first-use allocations are not per request
            client.get("/")
            client.get("/api/status")

        def window(path, count):
            t0, a0 = numbers(client, "/bench/gc-off")
            for _ in range(count):
                status, _ = client.get(path)
                if status != 200:
                    raise SystemExit("error: GET %s answered %d" % (path, status))
            t1, a1 = numbers(client, "/bench/mem")
            numbers(client, "/bench/gc-on")
            return t1 - t0, a1 - a0

        window("/", 1)
        overhead = [window(None, 0) for _ in range(repeats)]
        cost_total = statistics.median(x[0] for x in overhead)
        cost_alloc = statistics.median(x[1] for x in overhead)
        out = {"requests_per_window": n, "windows": repeats, "heapsize": MEASURE_HEAP,
               "measuring_cost": {"allocated": cost_total, "garbage": cost_alloc}}
        for path in PATHS:
            runs = [window(path, n) for _ in range(repeats)]
            out[path] = {
                "allocated": (statistics.median(x[0] for x in runs) - cost_total) / n,
                "garbage": (statistics.median(x[1] for x in runs) - cost_alloc) / n,
            }
        client.close()
        if srv.memory_errors():
            raise SystemExit("error: MemoryError while measuring:\n" + srv.output()[-2000:])
        return out


def heap_growth(marks=(100, 10000, 20000), bits=None):
    """Heap in use after gc.collect() after `marks` requests (GET / and GET
    /api/status in turn, a new connection every 100), in the Pico W profile.
    Each figure is the least of 3 readings: the collector scans stacks
    conservatively, so a stale pointer can keep a few hundred bytes of
    garbage alive for one reading. A leak shows as growth from each mark to
    the next; a table that grows once to its size shows as one step."""
    out = {}

    def reading(port):
        client = Client(port)
        try:
            return numbers(client, "/bench/heap")
        finally:
            client.close()
            time.sleep(0.1)

    with Server("ours", picow_profile.HEAP, bits=bits) as srv:
        done = 0
        paths = PATHS
        for mark in marks:
            while done < mark:
                client = Client(srv.port)
                for _ in range(min(100, mark - done)):
                    status, _ = client.get(paths[done % 2])
                    if status != 200:
                        raise SystemExit("error: GET %s answered %d" % (paths[done % 2], status))
                    done += 1
                client.close()
            time.sleep(0.2)  # the server closes the last connection
            readings = [reading(srv.port) for _ in range(3)]
            alloc, free = min(readings)
            out[str(mark)] = {"in_use": alloc, "free": free, "readings": [r[0] for r in readings]}
        if not srv.alive() or srv.memory_errors():
            raise SystemExit("error: the server failed during the heap growth run:\n" + srv.output()[-2000:])
    out["growth"] = out[str(marks[1])]["in_use"] - out[str(marks[0])]["in_use"]
    out["growth_after"] = out[str(marks[2])]["in_use"] - out[str(marks[1])]["in_use"]
    return out


def breakdown():
    """tools/bench_apps/alloc_probe.py's parts, at the Pico W heap."""
    env = dict(os.environ, MICROPYPATH=picow_profile.micropypath(SERVERS["ours"][1]), PICO_WWW_ROOT=str(WWW))
    run = subprocess.run(picow_profile.command() + [str(APPS / "alloc_probe.py")],
                         cwd=fresh_dir("probe"), env=env, capture_output=True, text=True, timeout=120)
    parts = []
    for line in run.stdout.splitlines():
        try:
            parts.append(json.loads(line))
        except ValueError:
            pass
    if run.returncode != 0:
        parts.append({"part": "alloc_probe.py", "error": (run.stderr.strip().splitlines() or ["exit %d" % run.returncode])[-1]})
    return parts
