"""The real Pico W firmware in the rp2040js emulator, reachable from CPython.

    link = SlipLink()                      # netns + TUN, host 192.0.2.1
    board = Board(image, uart=link.board_end)
    board.start()
    board.wait_for(">>> ", 10)
    board.repl("import slipnet")
    ...
    with link.connect(80, timeout=5) as s: ...
    board.stop(); link.close()

Board runs tools/emulator/run.mjs under node: its USB-CDC console (the REPL)
is the runner's stdin/stdout, its UART0 the runner's fd 3. SlipLink carries IP
packets between UART0 (SLIP framing, RFC 1055) and a TUN device that lives in
a network namespace of its own, so 192.0.2.1/192.0.2.2 exist only there and
no test traffic can reach any other network. Both need root (netns, TUN).
No pytest here: the test modules wrap these in fixtures.
"""

import atexit
import ctypes
import fcntl
import os
import pathlib
import re
import select
import socket
import struct
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tools" / "emulator" / "run.mjs"

HOST_IP = "192.0.2.1"
BOARD_IP = "192.0.2.2"
# lwIP's slipif takes frames up to SLIP_MAX_SIZE = 1500 bytes (its netif MTU).
SLIP_MTU = 1500


def _board_priority():
    """In the runner's process before it starts: ahead of the host's other
    work (root may raise a priority; EMULATOR_NICE=0 leaves it as it is). A
    real board has its CPU to itself; here the emulated one shares two CPUs
    with the browsers of a crowd test, and ran at a fifth of its speed while
    they started (3-4 M instructions/s instead of 13-18: tools/emulator/run.mjs
    says so with RUNNER_STATS=1)."""
    try:
        os.nice(int(os.environ.get("EMULATOR_NICE", "-10")))
    except (OSError, ValueError):
        pass  # not root: as it is


class Board:
    """One emulated board: the runner process and what it printed."""

    def __init__(self, image, uart=None, bootrom=None, node="node"):
        self.image = str(image)
        self.uart = uart  # a socket: the runner's end of UART0, or None
        self.bootrom = bootrom
        self.node = node
        self.proc = None
        self._out = bytearray()  # everything the console printed
        self._cursor = 0  # where wait_for() searches from
        self._log = []  # the runner's stderr lines
        self._log_at = []  # when each came (time.monotonic())
        self._cond = threading.Condition()
        self.watchdog_resets = 0  # "[runner] watchdog reset" lines seen
        self.resets = 0  # any chip reset (watchdog or machine.reset())

    def start(self):
        cmd = [self.node, str(RUNNER), self.image]
        if self.bootrom:
            cmd += ["--bootrom", str(self.bootrom)]
        pass_fds = ()
        if self.uart is not None:
            fd = self.uart.fileno()
            cmd += ["--uart-fd", str(fd)]
            pass_fds = (fd,)
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, pass_fds=pass_fds, bufsize=0,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to pass on
            preexec_fn=_board_priority)
        if self.uart is not None:
            self.uart.close()  # the runner holds it now
        self._readers = [threading.Thread(target=f, daemon=True) for f in (self._read_out, self._read_err)]
        for t in self._readers:
            t.start()
        return self

    def _read_out(self):
        while True:
            data = self.proc.stdout.read(65536)  # unbuffered: what is there
            if not data:
                break
            with self._cond:
                self._out += data
                self._cond.notify_all()

    def _read_err(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._log.append(line)
                self._log_at.append(time.monotonic())
                if line.startswith("[runner] watchdog"):
                    self.watchdog_resets += 1
                if "reset" in line and line.startswith("[runner]"):
                    self.resets += 1
                self._cond.notify_all()

    # ---- console -----------------------------------------------------------

    def console_text(self):
        with self._cond:
            return self._out.decode("utf-8", "replace")

    def runner_log(self):
        with self._cond:
            return list(self._log)

    def runner_log_since(self, t):
        """The runner's lines that came after time.monotonic() t, as (s after t, line)."""
        with self._cond:
            return [(round(at - t, 1), line) for at, line in zip(self._log_at, self._log) if at > t]

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_for(self, pattern, timeout=10):
        """Wait until the console prints `pattern` (a regex, str or bytes)
        after the previous match; return the re.Match (on the bytes)."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._out, self._cursor)
                if m:
                    self._cursor = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = self._out[self._cursor:][-500:].decode("utf-8", "replace")
                    raise TimeoutError(
                        f"console did not print {pattern!r} within {timeout}s "
                        f"(runner {'exited' if self.proc.poll() is not None else 'running'}); "
                        f"unmatched output: {tail!r}; runner log: {self._log[-5:]}")
                self._cond.wait(left)

    def skip_output(self):
        """Forget what was printed so far for wait_for()."""
        with self._cond:
            self._cursor = len(self._out)

    def repl(self, cmd, timeout=10):
        """Interrupt whatever runs (Ctrl-C), run `cmd` at the REPL (paste mode
        if it has several lines) and return what it printed."""
        self.write(b"\x03")
        self.wait_for(rb">>> $", timeout)
        return self.run_nowait(cmd, timeout, wait=True)

    def run_nowait(self, cmd, timeout=10, wait=False):
        """Type `cmd` at the prompt; with wait=True return its output once the
        next prompt appears, else return at once (e.g. a server that runs on)."""
        if "\n" in cmd.strip():
            self.write(b"\x05")  # paste mode: no auto-indent, runs on Ctrl-D
            self.wait_for(rb"paste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n", timeout)
            self.write(cmd.encode().replace(b"\n", b"\r") + b"\x04")
        else:
            self.write(cmd.encode() + b"\r")
            self.wait_for(re.escape(cmd.encode()) + rb"\r\n", timeout)  # the echo
        if not wait:
            return None
        start = self._cursor
        m = self.wait_for(rb">>> ", timeout)
        with self._cond:
            text = self._out[start:m.start()].decode("utf-8", "replace")
        # Paste mode echoes each line as "=== line": not output.
        return "".join(l for l in text.splitlines(True) if not l.startswith("=== "))

    def stop(self):
        """Stop the runner (always safe to call)."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            self.proc.terminate()
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            for t in self._readers:  # they end at the pipes' EOF: before closing them
                t.join(2)
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass


# ---- network namespace -------------------------------------------------------

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_NETNS_PREFIX = "picow-"
_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class _InNetns:
    """with _InNetns(name): this thread's new sockets/TUNs belong to netns
    `name`; the thread returns to its own namespace afterwards. (A socket
    keeps the namespace it was created in.)"""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
        except BaseException:
            os.close(self.home)
            raise
        finally:
            os.close(target)

    def __exit__(self, *exc):
        try:
            _setns(self.home)
        finally:
            os.close(self.home)


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _sweep_stale_netns():
    """Remove picow-<pid>-<n> namespaces whose process is gone (a killed run)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(rf"{_NETNS_PREFIX}(\d+)-\d+\b", line)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            subprocess.run(["ip", "netns", "del", m.group(0)], capture_output=True)


def _slip_encode(packet):
    # RFC 1055: END, the bytes with END/ESC escaped, END.
    return b"\xc0" + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


class _SlipDecoder:
    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        """Return the complete packets in data (and earlier bytes)."""
        self.buf += data
        *frames, rest = self.buf.split(b"\xc0")
        self.buf = bytearray(rest)
        return [bytes(f).replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
                for f in frames if f]


class SlipLink:
    """A netns holding a TUN device (host 192.0.2.1, peer 192.0.2.2) bridged
    to a socketpair whose other end (board_end) becomes the runner's UART0."""

    _count = 0

    def __init__(self, tun_name="slip0"):
        _sweep_stale_netns()
        SlipLink._count += 1
        self.netns = f"{_NETNS_PREFIX}{os.getpid()}-{SlipLink._count}"
        self.tun_name = tun_name
        self._tun = None
        self._closed = False
        self.stats = {"to_board": 0, "from_board": 0}
        self.trace = None  # a list: (time.monotonic(), "in" to the board or "out", IP header and TCP's first 20 bytes)
        _ip("netns", "add", self.netns)
        atexit.register(self.close)
        try:
            with _InNetns(self.netns):
                self._tun = os.open("/dev/net/tun", os.O_RDWR)
                fcntl.ioctl(self._tun, _TUNSETIFF,
                            struct.pack("16sH", tun_name.encode(), _IFF_TUN | _IFF_NO_PI))
            n = ["-n", self.netns]
            _ip(*n, "link", "set", "lo", "up")
            _ip(*n, "addr", "add", HOST_IP, "peer", BOARD_IP, "dev", tun_name)
            _ip(*n, "link", "set", tun_name, "mtu", str(SLIP_MTU), "up")
            self._sock, self.board_end = socket.socketpair()
            self._stop_r, self._stop_w = os.pipe()
            self._thread = threading.Thread(target=self._bridge, daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def _bridge(self):
        decoder = _SlipDecoder()
        tun, sock = self._tun, self._sock
        while True:
            ready, _, _ = select.select([tun, sock, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            if tun in ready:
                packet = os.read(tun, 65536)
                self.stats["to_board"] += 1
                if self.trace is not None:
                    self.trace.append((time.monotonic(), "in", packet[:40]))
                try:
                    sock.sendall(_slip_encode(packet))
                except OSError:
                    return  # the runner is gone
            if sock in ready:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return  # the runner is gone
                if not data:
                    return
                for packet in decoder.feed(data):
                    self.stats["from_board"] += 1
                    if self.trace is not None:
                        self.trace.append((time.monotonic(), "out", bytes(packet[:40])))
                    try:
                        os.write(tun, packet)
                    except OSError:
                        pass  # a garbled frame: the kernel refuses it, TCP retransmits

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        """A socket inside the namespace (it can only reach the board)."""
        with _InNetns(self.netns):
            return socket.socket(family, type)

    def connect(self, port, timeout=10, host=BOARD_IP):
        """A TCP connection to the board's `port`, made from the namespace."""
        s = self.socket()
        try:
            s.settimeout(timeout)
            s.connect((host, port))
        except BaseException:
            s.close()
            raise
        return s

    def close(self):
        """Stop the bridge and remove the namespace (always safe to call)."""
        if self._closed:
            return
        self._closed = True
        if hasattr(self, "_stop_w"):
            os.write(self._stop_w, b"x")
            self._thread.join(5)
            for fd in (self._stop_r, self._stop_w):
                os.close(fd)
            self._sock.close()
            try:
                self.board_end.close()
            except OSError:
                pass
        if self._tun is not None:
            os.close(self._tun)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        atexit.unregister(self.close)
