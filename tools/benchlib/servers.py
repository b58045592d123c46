"""The servers make bench measures, each one a process on the unix port in the
Pico W profile (tools/picow_profile.py), its output in build/bench/logs/."""

import os
import subprocess
import time

import picow_profile

from .common import APPS, BENCH, ROOT, WWW, fresh_dir
from .prepare import APPS32, LIB32, MICRODOT32, MP32, MP32_FROZEN

# name: (script in tools/bench_apps, where its modules come from, extra environment)
SERVERS = {
    "ours": ("ours.py", (ROOT / "build" / "lib", APPS, ROOT), {}),
    # the same with ACCESS_LOG=True: a log line per request, which neither
    # Microdot nor the ceiling writes
    "ours-logged": ("ours.py", (ROOT / "build" / "lib", APPS, ROOT), {"PICO_ACCESS_LOG": "true"}),
    # the server core alone, with Microdot's application: the like-for-like heap
    "ours-core": ("ours_core.py", (ROOT / "build" / "lib", APPS), {}),
    "microdot": ("microdot_app.py", (BENCH / "lib", APPS), {}),
    "ceiling": ("ceiling.py", (APPS,), {}),
    # part "websocket": the same two with an echo at /ws/echo (bench_ws.py
    # added as a maker adds a module; microdot_ws.py). Ours with room for 4
    # WebSockets: by default 2 are open at once, and a third closes the
    # one silent longest.
    "ours-ws": ("ours.py", (ROOT / "build" / "lib", APPS, ROOT),
                {"PICO_APP_MODULES": "bench_ws", "PICO_MAX_WEBSOCKETS": "4"}),
    "microdot-ws": ("microdot_app.py", (BENCH / "lib", APPS), {"BENCH_WEBSOCKET": "1"}),
}
# On the 32-bit port, name: (module run with -m, where modules come from, interpreter)
SERVERS32 = {
    "ours": ("ours", (LIB32, APPS32, ROOT), MP32),  # ROOT: config.py stays .py on a board
    "ours-core": ("ours_core", (LIB32, APPS32), MP32),
    "microdot": ("microdot_app", (MICRODOT32, APPS32), MP32),
    "ours-frozen": ("ours", (APPS32,), MP32_FROZEN),
}


class Server:
    """One bench app. `with Server(name) as srv:` starts it and waits until it
    listens (or stops the bench with its output); start() says why not."""

    def __init__(self, name, heap=picow_profile.HEAP, client_sockets=picow_profile.CLIENT_SOCKETS, bits=None):
        self.name = name
        if bits == 32:  # the 32-bit port: a module compiled to .mpy, run with -m
            module, self.path, interp = SERVERS32[name]
            self.argv = picow_profile.command(heap, interp) + ["-m", module]
            self.env = {}
        else:
            script, self.path, self.env = SERVERS[name]
            self.argv = picow_profile.command(heap) + [str(APPS / script)]
        self.heap = heap
        self.client_sockets = client_sockets
        self.port = None
        self.proc = None
        self.log_path = BENCH / "logs" / ("%s%s-%s.log" % (name, "-32" if bits == 32 else "", heap))
        self._log = None

    def start(self, timeout=15):
        """Start and wait until it listens. Returns None, or why it did not start."""
        self.port = picow_profile.free_port()
        env = dict(os.environ)
        env.update(picow_profile.environment(self.port, self.path))
        env.setdefault("PICO_WWW_ROOT", str(WWW))
        env.update(self.env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, cwd=fresh_dir(self.log_path.stem), env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return "did not start: " + self.last_error()
            if picow_profile.listening(self.port):
                break
            time.sleep(0.02)
        else:
            self.stop()
            return "did not listen within %d s" % timeout
        if self.client_sockets is not None:
            picow_profile.limit_client_sockets(self.proc.pid, self.client_sockets)
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        picow_profile.stop(self.proc)
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
