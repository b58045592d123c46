"""Start the application on the MicroPython unix port, in the Pico W profile.

The Pico W profile: `-X heapsize=180K` (the free heap of a Pico W after
Wi-Fi is up) and at most 5 client sockets, like lwIP's 5 TCP connections.
The socket limit is applied to the running process with RLIMIT_NOFILE once it
listens: descriptors open at that moment + 5. A sixth client then waits in
the kernel's queue, as it would wait unserved on the board.
"""

import os
import pathlib
import re
import resource
import signal
import socket
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
PICO_HEAP = "180K"
PICO_CLIENT_SOCKETS = 5
# Where the server's modules come from: lib (the sources) by default;
# PICO_LIB=build/lib runs the same tests against the .mpy build (make test).
PICO_LIB = os.environ.get("PICO_LIB") or "lib"
# The host names the tests send (`Host: a`, `Host: pico.test` ...) stand for
# the board's own name: allowed in every server the tests start, unless a test
# sets ALLOWED_HOSTS itself (tests/test_security.py tests the default).
TEST_HOSTS = "a,b,t,x,host,pico.test"


def micropython():
    return os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")


# MicroPython v1.28.0's unix port built 32-bit, the Pico W's word size (make
# test builds it first: tools/firmware.py unix32). The 64-bit port's objects
# are about 1.4 times a board's, so at 180K it runs out of heap where a board
# has room: the application with every part on (a token, a browser's live
# stream) is tested here.
UNIX32 = ROOT / "build" / "mp" / "unix32" / "micropython"


def board_word_size():
    """The 32-bit port if it is built, else the configured interpreter."""
    return str(UNIX32) if UNIX32.exists() else micropython()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        env["MICROPYPATH"] = ":".join((".frozen",) + tuple(str(p) for p in self.path))
        env["PICO_HOST"] = "127.0.0.1"
        env["PICO_PORT"] = str(self.port)
        env["PICO_ALLOWED_HOSTS"] = TEST_HOSTS
        # A crash record of its own for every server: one left in the checkout
        # by another test (a watchdog reset cause, say) is not on this one's page.
        env["PICO_CRASH_FILE"] = self.crash_file
        for name, value in self.settings.items():
            env["PICO_" + name] = str(value)
        cmd = [self.interpreter or micropython()]
        if self.heap:
            cmd += ["-X", "heapsize=" + self.heap]
        cmd.append(str(self.script))
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        self.wait_listening(timeout)
        if self.client_sockets is not None:
            self.base_fds = len(self.fds())
            limit = self.base_fds + self.client_sockets
            resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (limit, limit))
        return self

    def _read_output(self):
        for line in self.proc.stdout:
            self.arrived.append(time.monotonic())  # (first: a line is never without its time)
            self.lines.append(line)

    def stop(self, timeout=5):
        """Ctrl-C, as on a board; kill if it does not end. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
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
        """True if a socket is in LISTEN state on our port (read from
        /proc/net/tcp, so checking does not open a connection)."""
        want = ":%04X" % self.port
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(want) and fields[3] == "0A":
                    return True
        return False

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
