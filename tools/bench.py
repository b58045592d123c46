"""make bench: this server, Microdot and a bare loop, side by side on the unix port.

In one run, on the same MicroPython unix port (MICROPYTHON, else the venv's):

1. Throughput. Builds lib/ to .mpy (tools/build.py), fetches Microdot 2.7.0
   from PyPI into build/bench/ and compiles it with the same mpy-cross, then
   starts in turn, for ROUNDS rounds (the order rotates each round):
     ours      this firmware's application from build/lib (app.build(config),
               config.py defaults, PICO_* overrides from the environment), with
               GET / answering the 73-byte page (tools/bench_apps/ours.py)
     ours-logged  the same with ACCESS_LOG=True: a log line per request
               (neither Microdot nor the ceiling writes one)
     microdot  Microdot 2.7.0 .mpy, the same page at /, at /api/status a JSON
               object with the same keys as ours (tools/bench_apps/microdot_app.py)
     ceiling   a bare keep-alive loop that parses nothing
               (tools/bench_apps/ceiling.py; every path gets the page)
   each with -X heapsize=180K and 5 client sockets (the Pico W profile), and
   measures requests/s of GET / and GET /api/status with 1 and 4 keep-alive
   connections for DURATION seconds each: `wrk -t1 -cN` when wrk is installed,
   else a small keep-alive load generator in Python threads (--load builtin).
   Reports the median of the rounds, ratios to Microdot and to the ceiling,
   and whether every answer was 2xx (wrk's "Non-2xx" and socket error lines).
2. Smallest heap: for each server the smallest -X heapsize of the ladder
   (16K to 180K, tools/bench.py LADDER) at which it serves 4 keep-alive clients
   (GET / then GET /api/status) with only 2xx answers and stays alive, with
   no MemoryError in its output.
3. Heap per request (ours): bytes allocated per request (micropython.mem_total
   deltas) and bytes left for the garbage collector (gc.mem_alloc deltas with
   the collector off), read by bench-only routes before and after N requests
   on one keep-alive connection, less the cost of the measuring routes (from
   back-to-back reads); heap in use after gc.collect() after 100 and after
   10,000 requests; and a part-by-part breakdown (tools/bench_apps/alloc_probe.py).
4. On the Pico W's word size: MicroPython v1.28.0's unix port built 32-bit
   from the same source as the firmware (tools/firmware.py unix32, from
   MICROPY_SRC), everything compiled with that source's own mpy-cross
   (build/bench/lib32, microdot32, apps32; the bench apps too, run with -m):
   the smallest heap of a finer ladder (4K steps) for
     ours         the whole firmware from .mpy
     ours-core    the httpd core serving Microdot's application, .mpy
     microdot     Microdot 2.7.0, .mpy
     ours-frozen  the whole firmware frozen into that port
                  (firmware/manifest.py, as the Pico W image freezes it;
                  tools/firmware.py unix32-frozen)
   the heap in use after 100, 10,000 and 20,000 requests (ours, .mpy), and
   the heap each module of lib/ keeps once imported, from .mpy and frozen,
   in dependency order (tools/bench_apps/module_heap.py).

Prints the tables, writes the same as JSON to build/bench/results.json.
`--quick` (tests/test_bench.py): one round of 1 s, one heap step (180K), on
both interpreters.
Targets are not checked here: the numbers are the output.
"""

import argparse
import ast
import datetime
import hashlib
import json
import os
import pathlib
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = ROOT / "tools" / "bench_apps"
BENCH = ROOT / "build" / "bench"
MICRODOT = "microdot==2.7.0"
PICO_HEAP = "180K"
PICO_CLIENT_SOCKETS = 5  # lwIP on the Pico W: 5 TCP connections
LADDER = ("16K", "24K", "32K", "48K", "64K", "72K", "80K", "96K", "112K", "128K", "144K", "160K", "180K")
SERVER_NAMES = ("ours", "ours-logged", "microdot", "ceiling")
# The heap ladder also runs ours-core: the httpd core with Microdot's own
# application, the like-for-like comparison of the two servers' heap.
HEAP_NAMES = ("ours", "ours-core", "microdot", "ceiling")
PATHS = ("/", "/api/status")
CONNECTIONS = (1, 4)
MEASURE_HEAP = "1024K"  # room for N requests' garbage while the collector is off
# Where each server's modules come from (MICROPYPATH; .frozen is the port's own).
SERVERS = {
    "ours": ("ours.py", (".frozen", ROOT / "build" / "lib", APPS, ROOT)),
    # the same with ACCESS_LOG=True: a log line per request, which neither
    # Microdot nor the ceiling writes
    "ours-logged": ("ours.py", (".frozen", ROOT / "build" / "lib", APPS, ROOT), {"PICO_ACCESS_LOG": "true"}),
    # the server core alone, with Microdot's application: the like-for-like heap
    "ours-core": ("ours_core.py", (".frozen", ROOT / "build" / "lib", APPS)),
    "microdot": ("microdot_app.py", (".frozen", BENCH / "lib", APPS)),
    "ceiling": ("ceiling.py", (".frozen", APPS)),
}
# 4. The 32-bit unix port of MicroPython v1.28.0 (tools/firmware.py unix32).
UNIX32 = ROOT / "build" / "mp" / "unix32"
MP32 = UNIX32 / "micropython"
MP32_FROZEN = UNIX32 / "micropython-frozen"
MPY_CROSS32 = UNIX32 / "mpy-cross"
LIB32 = BENCH / "lib32"  # lib/ compiled by MPY_CROSS32
MICRODOT32 = BENCH / "microdot32"
APPS32 = BENCH / "apps32"  # the bench apps compiled by MPY_CROSS32, run with -m
STUBS32 = BENCH / "stubs32"  # tests/stubs/network.py alone: wifi and portal import it
LADDER32 = tuple("%dK" % k for k in range(16, 132, 4)) + ("180K",)
HEAP32_NAMES = ("ours", "ours-core", "microdot", "ours-frozen")
# name: (module run with -m, MICROPYPATH, interpreter)
SERVERS32 = {
    "ours": ("ours", (".frozen", LIB32, APPS32, ROOT), MP32),  # ROOT: config.py stays .py on a board
    "ours-core": ("ours_core", (".frozen", LIB32, APPS32), MP32),
    "microdot": ("microdot_app", (".frozen", MICRODOT32, APPS32), MP32),
    "ours-frozen": ("ours", (".frozen", APPS32), MP32_FROZEN),
}
BENCH_APPS32 = ("ours", "ours_core", "microdot_app", "benchpage", "module_heap", "pkgstub")


def page():
    """The 73-byte page, read from tools/bench_apps/benchpage.py."""
    tree = ast.parse((APPS / "benchpage.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "PAGE":
            return ast.literal_eval(node.value)
    raise SystemExit("error: no PAGE in tools/bench_apps/benchpage.py")


PAGE = page()


def config_default(name):
    """A setting's value in config.py (what the firmware runs with)."""
    tree = ast.parse((ROOT / "config.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == name:
            return ast.literal_eval(node.value)
    return None


def fresh_dir(name):
    """An empty working directory for one process: the board's flash, where
    the firmware keeps its files (crash.txt ...), as on a new board; the web
    assets are build/www (PICO_WWW_ROOT)."""
    d = BENCH / "run" / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def micropython():
    return os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")


def say(*args):
    print(*args, flush=True)


# -- preparing: the .mpy build and Microdot ----------------------------------------


def build_ours():
    sys.path.insert(0, str(ROOT / "tools"))
    import build

    build.main()
    return build


def prepare_microdot(build, out=BENCH / "lib"):
    """Microdot 2.7.0 from PyPI (pip download into build/bench/), compiled to
    .mpy into OUT/microdot with the mpy-cross that builds lib/ (MPY_CROSS)."""
    name, version = MICRODOT.split("==")
    wheels = sorted(BENCH.glob("%s-%s-*.whl" % (name, version)))
    if not wheels:
        BENCH.mkdir(parents=True, exist_ok=True)
        say("downloading %s from PyPI into build/bench/" % MICRODOT)
        run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                              "--only-binary=:all:", MICRODOT, "-d", str(BENCH)],
                             capture_output=True, text=True)
        wheels = sorted(BENCH.glob("%s-%s-*.whl" % (name, version)))
        if run.returncode != 0 or not wheels:
            raise SystemExit("error: could not download %s from PyPI:\n%s"
                             % (MICRODOT, (run.stdout + run.stderr).strip()))
    wheel = wheels[0]
    src = BENCH / "src"
    for d in (src, out):
        if d.exists():
            shutil.rmtree(d)
    with zipfile.ZipFile(wheel) as z:
        members = [m for m in z.namelist() if m.startswith("microdot/") and m.endswith(".py")]
        z.extractall(src, members)
    init = (src / "microdot" / "__init__.py").read_text()
    if "__version__ = '%s'" % version not in init:
        raise SystemExit("error: %s is not Microdot %s" % (wheel.name, version))
    for py in sorted((src / "microdot").glob("*.py")):
        target = out / "microdot" / (py.stem + ".mpy")
        target.parent.mkdir(parents=True, exist_ok=True)
        cmd = build.mpy_cross_command() + ["-s", "microdot/" + py.name, "-o", str(target), str(py)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit("error: mpy-cross could not compile %s:\n%s" % (py, run.stdout + run.stderr))
    return {"version": version, "wheel": wheel.name,
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}


def prepare_unix32(build):
    """The 32-bit unix port (built from MICROPY_SRC by tools/firmware.py when
    missing; the frozen one is brought up to date with lib/ each time: make is
    incremental) and everything it runs compiled by the same source's mpy-cross."""
    src = os.environ.get("MICROPY_SRC")
    if not src:  # the Makefile's default: the offline bundle beside this checkout
        shared = ROOT.parent / "shared" / "micropython"
        src = str(shared) if shared.is_dir() else ""
    cmd = [sys.executable, str(ROOT / "tools" / "firmware.py"), "--src", src]
    if not MP32.exists():
        subprocess.run(cmd + ["unix32"], check=True)
    subprocess.run(cmd + ["unix32-frozen"], check=True)
    old = os.environ.get("MPY_CROSS")
    os.environ["MPY_CROSS"] = str(MPY_CROSS32)
    try:
        build.build_lib(out=LIB32)
        info = prepare_microdot(build, MICRODOT32)
        if APPS32.exists():
            shutil.rmtree(APPS32)
        APPS32.mkdir(parents=True)
        if STUBS32.exists():
            shutil.rmtree(STUBS32)
        STUBS32.mkdir(parents=True)
        for py, out in [(APPS / (n + ".py"), APPS32) for n in BENCH_APPS32] + \
                [(ROOT / "tests" / "stubs" / "network.py", STUBS32)]:
            run = subprocess.run(build.mpy_cross_command() + ["-s", py.name, "-o", str(out / (py.stem + ".mpy")),
                                                             str(py)], capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit("error: mpy-cross could not compile %s:\n%s" % (py, run.stdout + run.stderr))
    finally:
        if old is None:
            del os.environ["MPY_CROSS"]
        else:
            os.environ["MPY_CROSS"] = old
    return info


# -- a server process ---------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One bench app on the unix port, its output in build/bench/logs/."""

    def __init__(self, name, heap=PICO_HEAP, client_sockets=PICO_CLIENT_SOCKETS, bits=None):
        self.name = name
        if bits == 32:  # the 32-bit port: a module compiled to .mpy, run with -m
            module, self.path, interp = SERVERS32[name]
            self.argv = [str(interp), "-X", "heapsize=" + heap, "-m", module]
            self.env = {}
        else:
            self.script, self.path = SERVERS[name][:2]
            self.env = SERVERS[name][2] if len(SERVERS[name]) > 2 else {}
            self.argv = [micropython(), "-X", "heapsize=" + heap, str(APPS / self.script)]
        self.heap = heap
        self.client_sockets = client_sockets
        self.port = None
        self.proc = None
        self.log_path = BENCH / "logs" / ("%s%s-%s.log" % (name, "-32" if bits == 32 else "", heap))
        self._log = None

    def start(self, timeout=15):
        """Start and wait until it listens. Returns None, or why it did not start."""
        self.port = free_port()
        env = dict(os.environ)
        env["MICROPYPATH"] = ":".join(str(p) for p in self.path)
        env["PICO_HOST"] = "127.0.0.1"
        env["PICO_PORT"] = str(self.port)
        env.setdefault("PICO_WWW_ROOT", str(ROOT / "build" / "www"))
        env.update(self.env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, cwd=fresh_dir(self.log_path.stem), env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return "did not start: " + self.last_error()
            if self._listening():
                break
            time.sleep(0.02)
        else:
            self.stop()
            return "did not listen within %d s" % timeout
        if self.client_sockets is not None:
            # The Pico W profile: descriptors open now + 5 client sockets.
            n = len(os.listdir("/proc/%d/fd" % self.proc.pid)) + self.client_sockets
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (n, n))
        return None

    def _listening(self):
        want = ":%04X" % self.port
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(want) and fields[3] == "0A":
                    return True
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def memory_errors(self):
        return self.output().count("MemoryError")

    def last_error(self):
        lines = [l for l in self.output().splitlines() if l.strip()]
        for line in reversed(lines):
            if "Error" in line:
                return line.strip()
        return lines[-1].strip() if lines else "no output (exit %s)" % self.proc.poll()

    def __enter__(self):
        reason = self.start()
        if reason:
            raise SystemExit("error: %s %s at %s:\n%s" % (self.name, reason, self.heap, self.output()[-2000:]))
        return self

    def __exit__(self, *exc):
        self.stop()


# -- HTTP from the client side ----------------------------------------------------------

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")
_CONNECTION = re.compile(rb"\r\nconnection:[ \t]*([^\r]*)")


def request_bytes(path, port):
    # What wrk sends: the request line and Host, nothing else (HTTP/1.1 keeps
    # the connection open by default).
    return b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path.encode(), port)


class Conn:
    """One keep-alive client connection; get() reads one whole response."""

    def __init__(self, port, timeout=2.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(65536)
        self.view = memoryview(self.buf)
        self.have = 0

    def close(self):
        self.sock.close()

    def _fill(self):
        if self.have == len(self.buf):
            self.buf.extend(bytes(len(self.buf)))
            self.view = memoryview(self.buf)
        n = self.sock.recv_into(self.view[self.have:])
        if n == 0:
            raise ConnectionError("server closed the connection")
        self.have += n

    def send(self, data):
        self.sock.sendall(data)

    def response(self):
        """(status, body, keep_alive) of the next response."""
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n", 0, self.have)
            if end >= 0:
                break
            self._fill()
        head = bytes(buf[:end]).lower()
        status = int(head[9:12])
        keep = not head.startswith(b"http/1.0")
        m = _CONNECTION.search(head)
        if m:
            if b"close" in m.group(1):
                keep = False
            elif b"keep-alive" in m.group(1):
                keep = True
        start = end + 4
        m = _LENGTH.search(head)
        if m:
            stop = start + int(m.group(1))
            while self.have < stop:
                self._fill()
        else:  # the body ends when the connection does
            keep = False
            try:
                while True:
                    self._fill()
            except ConnectionError:
                pass
            stop = self.have
        body = bytes(buf[start:stop])
        left = self.have - stop
        buf[0:left] = buf[stop:self.have]
        self.have = left
        return status, body, keep

    def get(self, path):
        self.send(request_bytes(path, self.port))
        return self.response()


class Client:
    """Sequential requests over keep-alive connections, reconnecting when the
    server closes one (Microdot closes every connection)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        if self.conn is None:
            self.conn = Conn(self.port)
        status, body, keep = self.conn.get(path)
        if not keep:
            self.close()
        return status, body

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# -- load generators -------------------------------------------------------------------------


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


# -- 1. throughput -----------------------------------------------------------------------------


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


def throughput(args, load):
    cells = {name: {p: {c: [] for c in CONNECTIONS} for p in PATHS} for name in SERVER_NAMES}
    shapes = {}
    problems = []
    for r in range(args.rounds):
        k = r % len(SERVER_NAMES)
        order = SERVER_NAMES[k:] + SERVER_NAMES[:k]
        for name in order:
            say("round %d/%d: %s" % (r + 1, args.rounds, name))
            with Server(name) as srv:
                shapes[name] = precheck(srv)
                for path in PATHS:
                    for conns in CONNECTIONS:
                        res = load(srv.port, path, conns, args.duration)
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


# -- 2. smallest heap ------------------------------------------------------------------------------


def heap_step(name, heap, load, seconds, bits=None):
    """Serve 4 keep-alive clients at this heap: (passed, why)."""
    srv = Server(name, heap, bits=bits)
    try:
        reason = srv.start()
        if reason:
            return False, reason
        served = 0
        for path in PATHS:
            try:
                res = load(srv.port, path, 4, seconds)
            except SystemExit as e:  # wrk could not connect at all: the server is gone
                return False, "GET %s: %s" % (path, str(e).splitlines()[-1] if str(e) else "no answer")
            served += res["requests"]
            if res["non2xx"] or res["socket_errors"]:
                return False, "GET %s: %d non-2xx, %d socket errors of %d answers" % (
                    path, res["non2xx"], res["socket_errors"], res["requests"])
            if not srv.alive():
                return False, "died under load: " + srv.last_error()
        time.sleep(0.2)
        if not srv.alive():
            return False, "died after the load: " + srv.last_error()
        if srv.memory_errors():
            return False, "MemoryError in its output: " + srv.last_error()
        if served == 0:
            return False, "answered nothing"
        client = Client(srv.port)
        try:
            status, _ = client.get("/")
        except OSError as e:
            return False, "no answer after the load: %s" % e
        finally:
            client.close()
        if status != 200:
            return False, "answered %d after the load" % status
        return True, "served %d requests" % served
    finally:
        srv.stop()


def smallest_heaps(args, load, names=HEAP_NAMES, ladder=None, bits=None):
    out = {}
    for name in names:
        steps = []
        smallest = None
        for heap in ladder or args.heaps:
            ok, why = heap_step(name, heap, load, args.heap_seconds, bits)
            steps.append({"heap": heap, "ok": ok, "detail": why})
            say("heap%s %-11s %5s: %s, %s" % (" 32-bit" if bits else "", name, heap, "ok" if ok else "FAIL", why))
            if ok:
                smallest = heap
                break
        out[name] = {"smallest": smallest, "steps": steps}
    return out


# -- 3. heap per request (ours) ----------------------------------------------------------------------


def _numbers(client, path):
    status, body = client.get(path)
    if status != 200:
        raise SystemExit("error: %s answered %d" % (path, status))
    return [int(x) for x in body.split()]


def per_request(n, repeats):
    """Bytes allocated and bytes left for the collector per request, for GET /
    and GET /api/status, over one keep-alive connection."""
    with Server("ours", MEASURE_HEAP) as srv:
        client = Client(srv.port)
        for _ in range(200):  # first-use allocations are not per request
            client.get("/")
            client.get("/api/status")

        def window(path, count):
            t0, a0 = _numbers(client, "/bench/gc-off")
            for _ in range(count):
                status, _ = client.get(path)
                if status != 200:
                    raise SystemExit("error: GET %s answered %d" % (path, status))
            t1, a1 = _numbers(client, "/bench/mem")
            _numbers(client, "/bench/gc-on")
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
            return _numbers(client, "/bench/heap")
        finally:
            client.close()
            time.sleep(0.1)

    with Server("ours", PICO_HEAP, bits=bits) as srv:
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
    env = dict(os.environ, MICROPYPATH=":".join(str(p) for p in SERVERS["ours"][1]),
               PICO_WWW_ROOT=str(ROOT / "build" / "www"))
    run = subprocess.run([micropython(), "-X", "heapsize=" + PICO_HEAP, str(APPS / "alloc_probe.py")],
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


# -- 4. heap per module (32-bit) ---------------------------------------------------------------------


def lib_modules():
    """{module name: its top-level imports among lib/'s modules} for every
    module of lib/ (a package's __init__ named as the package), and config."""
    files = {}
    for py in sorted((ROOT / "lib").rglob("*.py")):
        rel = py.relative_to(ROOT / "lib").with_suffix("")
        parts = [x for x in rel.parts if x != "__pycache__"]
        if len(parts) != len(rel.parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = py
    files["config"] = ROOT / "config.py"
    deps = {}
    for name, py in files.items():
        package = name if py.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        body = list(ast.parse(py.read_text()).body)
        while body:  # top-level statements, and those of top-level if/try blocks
            node = body.pop(0)
            if isinstance(node, (ast.If, ast.Try)):
                body += node.body + node.orelse + getattr(node, "finalbody", [])
                for h in getattr(node, "handlers", []):
                    body += h.body
            elif isinstance(node, ast.Import):
                for a in node.names:
                    found.add(a.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                found.add(base)
                for a in node.names:
                    found.add(base + "." + a.name)
        # importing a.b imports a first
        full = set()
        for f in found:
            bits = f.split(".")
            full |= {".".join(bits[:i]) for i in range(1, len(bits) + 1)}
        deps[name] = sorted(d for d in full if d in files and d != name)
    return deps


def module_order(deps):
    """Every module after the modules it imports at its top level; a package's
    submodules before the package itself (module_heap.py stands a stub in for it)."""
    packages = {n.rpartition(".")[0] for n in deps if "." in n}
    order = []
    done = set()

    def visit(name, stack=()):
        if name in done or name in stack:
            return
        for d in deps[name]:
            if d in packages and name.startswith(d + "."):
                continue  # the stub stands in for the package
            visit(d, stack + (name,))
        if name in packages:  # its submodules first, then its __init__
            for sub in sorted(n for n in deps if n.startswith(name + ".")):
                visit(sub, stack + (name,))
        done.add(name)
        order.append(name)

    for name in sorted(deps, key=lambda n: (n.count(".") == 0 and n not in packages, n)):
        visit(name)
    return order


def module_heap(interp, lib, label):
    """Rows of tools/bench_apps/module_heap.py: asyncio, then every module of
    lib/ in dependency order, on the 32-bit port from LIB (None: frozen)."""
    deps = lib_modules()
    order = module_order(deps)
    packages = sorted({n.rpartition(".")[0] for n in deps if "." in n})
    argv = ["^network", "asyncio"]  # network: the Pico W's, stood in for by tests/stubs
    for name in order:
        pkg = name.rpartition(".")[0]
        if pkg in packages and "@" + pkg not in " ".join(argv):
            argv.append("@%s=%s/%s" % (pkg, lib if lib else ".frozen", pkg.replace(".", "/")))
        argv.append(name)
    path = [".frozen"] + ([str(lib), str(ROOT)] if lib else []) + [str(APPS32), str(STUBS32)]
    env = dict(os.environ, MICROPYPATH=":".join(path), PICO_WWW_ROOT=str(ROOT / "build" / "www"))
    run = subprocess.run([str(interp), "-X", "heapsize=" + PICO_HEAP, "-m", "module_heap"] + argv,
                         cwd=fresh_dir("probe"), env=env, capture_output=True, text=True, timeout=120)
    rows = []
    for line in run.stdout.splitlines():
        q = _QSTR.match(line)
        if q and rows:
            rows[-1]["qstr"] = {k: int(v) for k, v in _QSTR_FIELD.findall(line)}
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    # The interned names' table grows in doubling chunks, paid for by the
    # module that overflows it: take the table out of each row and charge the
    # module its own names instead, each at the table's average cost per name
    # at the end (the spare room of the last chunk shared out).
    last = rows[-1]["qstr"] if rows and "qstr" in rows[-1] else None
    if last and last["n_qstr"]:
        per_name = (last["n_total_bytes"] - last["n_str_data_bytes"]) / last["n_qstr"]
        for prev, row in zip(rows, rows[1:]):
            a, b = prev["qstr"], row["qstr"]
            row["names"] = b["n_qstr"] - a["n_qstr"]
            row["raw_bytes"] = row["bytes"]
            row["bytes"] = round(row["bytes"] - (b["n_total_bytes"] - a["n_total_bytes"])
                                 + row["names"] * per_name + (b["n_str_data_bytes"] - a["n_str_data_bytes"]))
    if run.returncode != 0:
        raise SystemExit("error: module_heap.py (%s) failed:\n%s" % (label, (run.stdout + run.stderr)[-2000:]))
    return rows


_QSTR = re.compile(r"qstr pool: ")
_QSTR_FIELD = re.compile(r"(n_\w+)=(\d+)")


def started_modules():
    """The modules the whole firmware (ours, 32-bit, .mpy) has loaded once it
    serves, and its heap in use then (after GET / and GET /api/status)."""
    with Server("ours", PICO_HEAP, bits=32) as srv:
        client = Client(srv.port)
        try:
            client.get("/")
            client.get("/api/status")
            status, body = client.get("/bench/modules")
            if status != 200:
                raise SystemExit("error: /bench/modules answered %d" % status)
            modules = sorted(body.decode().split())
            in_use, free = _numbers(client, "/bench/heap")
        finally:
            client.close()
    return {"modules": modules, "in_use": in_use, "free": free}


def modules_table():
    mpy = {r["module"]: r for r in module_heap(MP32, LIB32, ".mpy")}
    frozen = {r["module"]: r for r in module_heap(MP32_FROZEN, None, "frozen")}
    started = started_modules()
    rows = []
    for name, r in mpy.items():
        if name == "(start)":
            continue
        src = ROOT / "lib" / (name.replace(".", "/") + ".py")
        if not src.exists():
            src = ROOT / "lib" / name.replace(".", "/") / "__init__.py"
        mpy_file = LIB32 / src.relative_to(ROOT / "lib").with_suffix(".mpy") if src.exists() else None
        f = frozen.get(name, {})
        rows.append({"module": name, "mpy": r["bytes"], "frozen": f.get("bytes"),
                     "error": r.get("error") or f.get("error"),
                     "mpy_file": mpy_file.stat().st_size if mpy_file and mpy_file.exists() else None,
                     "at_start": name in started["modules"]})
    return {"rows": rows,
            "total_mpy": sum(r["mpy"] for r in rows), "total_frozen": sum(r["frozen"] or 0 for r in rows),
            "at_start_mpy": sum(r["mpy"] for r in rows if r["at_start"]),
            "at_start_frozen": sum(r["frozen"] or 0 for r in rows if r["at_start"]),
            "serving_in_use": started["in_use"], "started_modules": started["modules"]}


# -- the report ----------------------------------------------------------------------------------------


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    return {"nproc": cpus, "cpu": model, "arch": platform.machine(), "kernel": platform.release()}


def interpreter(command=None):
    command = command or micropython()
    code = ("import sys; i = sys.implementation; print(sys.version); print(i._machine); "
            "print('.'.join(str(n) for n in i.version[:3]) + ('-' + i.version[3] if len(i.version) > 3 and i.version[3] else '')); "
            "print(64 if sys.maxsize > 1 << 32 else 32)")
    run = subprocess.run([command, "-c", code], capture_output=True, text=True, timeout=30)
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or len(lines) < 4:
        raise SystemExit("error: cannot run %s:\n%s" % (command, run.stderr))
    return {"version": lines[0], "machine": lines[1], "release": lines[2], "bits": int(lines[3]),
            "command": os.path.relpath(command, ROOT) if str(command).startswith(str(ROOT)) else command}


def source():
    """The commit measured, and whether lib/ differs from it."""
    def git(*args):
        run = subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", "lib")
    return {"commit": commit or "?", "lib_changed": bool(changed)}


def fmt(n):
    return "{:,.0f}".format(n)


def render(res):
    lines = []
    add = lines.append
    env = res["environment"]
    add("Benchmark, %s" % env["date"])
    add("MicroPython %s unix port (sys.version: %s; %s)" % (env["micropython"]["release"], env["micropython"]["version"],
                                                          env["micropython"]["machine"]))
    add("machine: %d CPUs, %s (%s), Linux %s" % (env["machine"]["nproc"], env["machine"]["cpu"],
                                                  env["machine"]["arch"], env["machine"]["kernel"]))
    add("load: %s; %d round(s) of %d s per cell, median shown; -X heapsize=%s, 5 client sockets"
        % (env["load"], env["rounds"], env["duration_s"], PICO_HEAP))
    add("ours: .mpy build of commit %s%s, LOG_LEVEL=%s, ACCESS_LOG=%s (ours-logged: the same, ACCESS_LOG=True);"
        % (env["source"]["commit"], " with lib/ changed" if env["source"]["lib_changed"] else "",
           env["ours_log_level"], env["ours_access_log"]))
    add("microdot %s .mpy; ceiling: bare loop, same page for every path" % env["microdot"]["version"])
    add("")
    cells = ["%s c%d" % (p, c) for p in PATHS for c in CONNECTIONS]
    heads = ["GET / c1", "GET / c4", "status c1", "status c4"]
    add("Requests/s (c1, c4: keep-alive connections; status: GET /api/status)")
    add("%-11s" % "server" + "".join("%11s" % h for h in heads) + "   all 2xx")
    for name in SERVER_NAMES:
        row = res["throughput"][name]
        bad = sum(row[c]["non2xx"] + row[c]["socket_errors"] for c in cells)
        add("%-11s" % name + "".join("%11s" % fmt(row[c]["median_rps"]) for c in cells)
            + "   " + ("yes" if not bad else "NO (%d)" % bad))
    add("")
    add("Ratios")
    add("%-19s" % "" + "".join("%11s" % h for h in heads))
    for key, row in res["ratios"].items():
        add("%-19s" % key + "".join("%10.2fx" % row[c] if c in row else "%11s" % "-" for c in cells))
    add("")
    add("Smallest -X heapsize serving 4 keep-alive clients (ladder %s)" % " ".join(res["heap_ladder"]))
    for name in HEAP_NAMES:
        h = res["smallest_heap"][name]
        fails = [s for s in h["steps"] if not s["ok"]]
        note = ""
        if fails:
            note = "  (%s: %s)" % (fails[-1]["heap"], fails[-1]["detail"])
        add("%-10s %6s%s" % (name, h["smallest"] or "none", note))
    add("")
    per = res["per_request"]
    add("Heap per request, ours (%d windows of %d requests on one keep-alive connection, median;"
        % (per["windows"], per["requests_per_window"]))
    add("  measuring routes' own cost subtracted: %s B allocated, %s B garbage)"
        % (fmt(per["measuring_cost"]["allocated"]), fmt(per["measuring_cost"]["garbage"])))
    add("%-18s %16s %16s" % ("", "allocated B/req", "garbage B/req"))
    for path in PATHS:
        add("%-18s %16s %16s" % ("GET " + path, fmt(per[path]["allocated"]), fmt(per[path]["garbage"])))
    g = res["heap_growth"]
    add("Heap in use after gc.collect(), ours at -X heapsize=%s (least of 3 readings):" % PICO_HEAP)
    add("  after 100 requests %s B, after 10,000 %s B (growth %s B), after 20,000 %s B (%s B more)"
        % (fmt(g["100"]["in_use"]), fmt(g["10000"]["in_use"]), fmt(g["growth"]),
           fmt(g["20000"]["in_use"]), fmt(g["growth_after"])))
    add("")
    add("Where the bytes go (tools/bench_apps/alloc_probe.py, per call, at -X heapsize=%s)" % PICO_HEAP)
    add("%-74s %10s %9s %8s" % ("part", "allocated", "garbage", "us"))
    for p in res["breakdown"]:
        if "error" in p:
            add("%-74s %s" % (p["part"], p["error"]))
        else:
            add("%-74s %10s %9s %8.1f" % (p["part"], fmt(p["allocated"]), fmt(p["garbage"]), p["us"]))
    if "smallest_heap32" in res:
        render32(res, add)
    if res["problems"]:
        add("")
        add("Problems:")
        for p in res["problems"]:
            add("  " + p)
    return "\n".join(lines)


def render32(res, add):
    env = res["environment"]
    m32 = env["micropython32"]
    add("")
    add("32-bit: MicroPython %s unix port built %d-bit from its source (%s; sys.version: %s),"
        % (m32["release"], m32["bits"], m32["command"], m32["version"]))
    add("  everything compiled by that source's mpy-cross; ours-frozen: firmware/manifest.py frozen into that port")
    add("Smallest -X heapsize serving 4 keep-alive clients, 32-bit (ladder %s ... %s, 4K steps)"
        % (res["heap_ladder32"][0], res["heap_ladder32"][-1]))
    labels = {"ours": "the whole firmware, .mpy", "ours-core": "httpd core + Microdot's application, .mpy",
              "microdot": "Microdot %s, .mpy" % env["microdot32"]["version"],
              "ours-frozen": "the whole firmware, frozen"}
    for name in HEAP32_NAMES:
        h = res["smallest_heap32"][name]
        fails = [s for s in h["steps"] if not s["ok"]]
        note = "  (%s: %s)" % (fails[-1]["heap"], fails[-1]["detail"]) if fails else ""
        add("%-12s %6s  %s%s" % (name, h["smallest"] or "none", labels[name], note))
    g = res["heap_growth32"]
    add("Heap in use after gc.collect(), ours 32-bit .mpy at -X heapsize=%s (least of 3 readings):" % PICO_HEAP)
    add("  after 100 requests %s B, after 10,000 %s B (growth %s B), after 20,000 %s B (%s B more)"
        % (fmt(g["100"]["in_use"]), fmt(g["10000"]["in_use"]), fmt(g["growth"]),
           fmt(g["20000"]["in_use"]), fmt(g["growth_after"])))
    t = res["modules32"]
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS") or 3))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION") or 3),
                    help="seconds per measurement (whole seconds, as wrk takes them)")
    ap.add_argument("--heaps", default=",".join(LADDER), help="the heap ladder, smallest first")
    ap.add_argument("--heaps32", default=",".join(LADDER32), help="the 32-bit heap ladder, smallest first")
    ap.add_argument("--heap-seconds", type=int, default=2, help="seconds of load per path per heap step")
    ap.add_argument("--load", choices=("auto", "wrk", "builtin"), default="auto",
                    help="wrk if installed (auto), or the built-in Python load generator")
    ap.add_argument("--requests", type=int, default=50, help="requests per heap-per-request window")
    ap.add_argument("--json", default=str(BENCH / "results.json"))
    ap.add_argument("--quick", action="store_true", help="smoke mode: 1 round of 1 s, one heap step (180K)")
    args = ap.parse_args(argv)
    args.heaps = [h.strip() for h in args.heaps.split(",") if h.strip()]
    if args.quick:
        args.rounds, args.duration, args.heap_seconds, args.heaps = 1, 1, 1, [PICO_HEAP]
    if args.rounds < 1 or args.duration < 1:
        raise SystemExit("error: ROUNDS and DURATION must be at least 1")

    use_wrk = args.load == "wrk" or (args.load == "auto" and have_wrk())
    if use_wrk and not have_wrk():
        raise SystemExit("error: wrk is not installed (Debian: apt-get install wrk)")
    if use_wrk:
        load, load_name = run_wrk, "wrk %s (-t1 -c1 / -t1 -c4)" % wrk_version()
    else:
        load, load_name = run_builtin, "built-in Python keep-alive generator (threads)"
        if args.load == "auto":
            say("note: wrk is not installed; using the built-in load generator "
                "(slower than wrk: compare ratios, not absolute numbers)")

    build = build_ours()
    microdot = prepare_microdot(build)
    microdot32 = prepare_unix32(build)
    env = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "micropython": interpreter(),
        "micropython32": interpreter(str(MP32)),
        "machine": machine(),
        "load": load_name,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "heapsize": PICO_HEAP,
        "client_sockets": PICO_CLIENT_SOCKETS,
        "ours_log_level": os.environ.get("PICO_LOG_LEVEL") or config_default("LOG_LEVEL"),
        "ours_access_log": os.environ.get("PICO_ACCESS_LOG") or str(config_default("ACCESS_LOG")),
        "microdot": microdot,
        "microdot32": microdot32,
        "page_bytes": len(PAGE),
        "source": source(),
    }
    say("MicroPython %s; %s" % (env["micropython"]["version"], load_name))

    results, same_shape, problems = throughput(args, load)
    res = {"environment": env, "throughput": results, "ratios": ratios(results),
           "status_same_keys": same_shape, "heap_ladder": args.heaps, "problems": problems}
    res["smallest_heap"] = smallest_heaps(args, load)
    say("heap per request (ours)")
    res["per_request"] = per_request(args.requests, 5 if not args.quick else 3)
    res["heap_growth"] = heap_growth()
    res["breakdown"] = breakdown()
    say("32-bit: heap ladder, heap growth, heap per module")
    heaps32 = [PICO_HEAP] if args.quick else [h.strip() for h in args.heaps32.split(",") if h.strip()]
    res["heap_ladder32"] = heaps32
    res["smallest_heap32"] = smallest_heaps(args, load, HEAP32_NAMES, heaps32, bits=32)
    res["heap_growth32"] = heap_growth(bits=32)
    res["modules32"] = modules_table()

    path = pathlib.Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=2) + "\n")
    say("")
    say(render(res))
    say("")
    say("results: %s" % os.path.relpath(path, os.getcwd()))
    return res


if __name__ == "__main__":
    main()
