"""Load generators: wrk when it is installed, else a small keep-alive one in
Python threads. Each is load(port, path, connections, seconds) -> {requests,
seconds, rps, non2xx, socket_errors}."""

import re
import shutil
import subprocess
import threading
import time

from .httpclient import Conn, request_bytes


def have_wrk():
    return shutil.which("wrk") is not None


def wrk_version():
    run = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    m = re.search(r"wrk (\S+)", run.stdout + run.stderr)
    return m.group(1) if m else "?"


def run_wrk(port, path, conns, seconds):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % max(1, round(seconds)), "--timeout", "2s",
           "http://127.0.0.1:%d%s" % (port, path)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:  # seen once against a server out of heap at 32K
        raise SystemExit("error: wrk did not finish within %d s (%s)" % (seconds + 60, " ".join(cmd)))
    out = run.stdout + run.stderr
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if run.returncode != 0 or not m or not rps:
        raise SystemExit("error: could not read wrk's output (%s):\n%s" % (" ".join(cmd), out))
    elapsed = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests": int(m.group(1)), "seconds": elapsed, "rps": float(rps.group(1)),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0}


class _Worker(threading.Thread):
    def __init__(self, port, path, start, deadline):
        super().__init__(daemon=True)
        self.port = port
        self.request = request_bytes(path, port)
        self.start_event = start
        self.deadline = deadline
        self.ok = self.non2xx = self.errors = 0

    def run(self):
        self.start_event.wait()
        conn = None
        deadline = self.deadline[0]
        while time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = Conn(self.port)
                conn.send(self.request)
                status, _, keep = conn.response()
                if time.monotonic() > deadline:
                    break
                if 200 <= status < 300:
                    self.ok += 1
                else:
                    self.non2xx += 1
                if not keep:
                    conn.close()
                    conn = None
            except OSError:  # refused, reset, closed mid-response, timed out
                if time.monotonic() < deadline:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()


def run_builtin(port, path, conns, seconds):
    """`conns` threads, each one keep-alive connection sending a request as
    soon as the previous answer is read, for `seconds`."""
    start = threading.Event()
    deadline = [0.0]
    workers = [_Worker(port, path, start, deadline) for _ in range(conns)]
    for w in workers:
        w.start()
    t0 = time.monotonic()
    deadline[0] = t0 + seconds
    start.set()
    for w in workers:
        w.join(seconds + 10)
    elapsed = max(seconds, time.monotonic() - t0) if any(w.is_alive() for w in workers) else seconds
    done = sum(w.ok + w.non2xx for w in workers)
    return {"requests": done, "seconds": elapsed, "rps": done / elapsed,
            "non2xx": sum(w.non2xx for w in workers), "socket_errors": sum(w.errors for w in workers)}


def choose(kind):
    """(load, its description) for --load auto, wrk or builtin."""
    use_wrk = kind == "wrk" or (kind == "auto" and have_wrk())
    if use_wrk and not have_wrk():
        raise SystemExit("error: wrk is not installed (Debian: apt-get install wrk)")
    if use_wrk:
        return run_wrk, "wrk %s (-t1 -c1 / -t1 -c4)" % wrk_version()
    return run_builtin, "built-in Python keep-alive generator (threads)"
