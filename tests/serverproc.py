"""Start the application on the MicroPython unix port, in the Pico W profile
(tools/picow_profile.py, shared with make bench and make run-board):
`-X heapsize=180K` and at most 5 client sockets, like lwIP's 5 TCP
connections, applied to the running process once it listens.
"""

import os
import pathlib
import re
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
if str(ROOT / "tools") not in sys.path:
    sys.path.append(str(ROOT / "tools"))
import picow_profile  # noqa: E402
from picow_profile import UNIX32, board_word_size, free_port, micropython  # noqa: E402,F401 (the tests' names)

PICO_HEAP = picow_profile.HEAP
PICO_CLIENT_SOCKETS = picow_profile.CLIENT_SOCKETS
# Where the server's modules come from: lib (the sources) by default;
# PICO_LIB=build/lib runs the same tests against the .mpy build (make test).
PICO_LIB = os.environ.get("PICO_LIB") or "lib"
# The host names the tests send (`Host: a`, `Host: pico.test` ...) stand for
# the board's own name: allowed in every server the tests start, unless a test
# sets ALLOWED_HOSTS itself (tests/test_security.py tests the default).
TEST_HOSTS = "a,b,t,x,host,pico.test"


class ServerProcess:
    """One server process; settings are config.py names without PICO_."""

    def __init__(self, script="main.py", settings=None, heap=PICO_HEAP,
                 client_sockets=PICO_CLIENT_SOCKETS, path=(PICO_LIB, "."), cwd=ROOT, port=None,
                 env=None, start_timeout=10, interpreter=None):
        self.script = script
        self.settings = dict(settings or {})
        self.heap = heap
        self.client_sockets = client_sockets
        self.path = path
        self.cwd = pathlib.Path(cwd)
        self.port = port or free_port()
        self.env = dict(env or {})  # extra environment, e.g. for the hardware stand-ins
        self.start_timeout = start_timeout
        self.interpreter = interpreter  # None: micropython()
        self.proc = None
        self.lines = []
        self.crash_file = "/tmp/picow-test-crash-%d-%d.txt" % (os.getpid(), self.port)
        self.arrived = []  # time.monotonic() when each line came, for timing from the server's own events
        self.base_fds = None
        self._reader = None

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout=None):
        timeout = timeout or self.start_timeout
        env = dict(os.environ)
        env.update(self.env)
        env.update(picow_profile.environment(self.port, self.path))
        env["PICO_ALLOWED_HOSTS"] = TEST_HOSTS
        # A crash record of its own for every server: one left in the checkout
        # by another test (a watchdog reset cause, say) is not on this one's page.
        env["PICO_CRASH_FILE"] = self.crash_file
        for name, value in self.settings.items():
            env["PICO_" + name] = str(value)
        cmd = picow_profile.command(self.heap, self.interpreter) + [str(self.script)]
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self.wait_listening(timeout)
        if self.client_sockets is not None:
            self.base_fds = picow_profile.limit_client_sockets(self.proc.pid, self.client_sockets)
        return self

    def _read_output(self):
        for line in self.proc.stdout:
            self.arrived.append(time.monotonic())  # (first: a line is never without its time)
            self.lines.append(line)

    def stop(self, timeout=5):
        """Ctrl-C, as on a board; kill if it does not end. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        picow_profile.stop(self.proc, timeout)
        self._reader.join(2)
        try:
            os.remove(self.crash_file)
        except OSError:
            pass
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- observing -----------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        return "".join(self.lines)

    def log_time(self, pattern):
        """When the first line matching pattern came (time.monotonic())."""
        regex = re.compile(pattern)
        for when, line in zip(self.arrived, list(self.lines)):
            if regex.search(line):
                return when
        raise AssertionError("no log line matching %r" % pattern)

    def wait_for_log(self, pattern, timeout=5.0):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if regex.search(line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("no log line matching %r; output:\n%s" % (pattern, self.output()))

    def listening(self):
        return picow_profile.listening(self.port)

    def wait_listening(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.listening():
                return
            time.sleep(0.02)
        raise AssertionError("server did not listen on %d; output:\n%s" % (self.port, self.output()))

    def fds(self):
        d = "/proc/%d/fd" % self.pid
        out = []
        for name in os.listdir(d):
            try:
                out.append(os.readlink(os.path.join(d, name)))
            except OSError:
                pass
        return out

    def socket_count(self):
        """Open sockets of the process: the listener plus client connections."""
        return sum(1 for target in self.fds() if target.startswith("socket:"))

    def client_sockets_open(self):
        return self.socket_count() - 1

    def wait_client_sockets(self, count, timeout=5.0):
        """Wait until at most `count` client sockets are open; return the number."""
        deadline = time.monotonic() + timeout
        n = self.client_sockets_open()
        while n > count and time.monotonic() < deadline:
            time.sleep(0.005)
            n = self.client_sockets_open()
        return n

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks
