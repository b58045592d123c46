"""The Pico W profile: how the MicroPython unix port is run as a board.

One definition for everything that starts the firmware on this PC: the tests
(tests/serverproc.py), make bench (tools/benchlib/servers.py) and make
run-board (tools/runboard.py).

  HEAP            -X heapsize=180K: the free heap of a Pico W once Wi-Fi is up
  CLIENT_SOCKETS  5 client sockets, like lwIP's 5 TCP connections on the
                  board; applied to the running process as RLIMIT_NOFILE once
                  it listens (descriptors open then + 5), so a sixth client
                  waits in the kernel's queue, as it waits unserved on a board
  micropython()   the interpreter: MICROPYTHON, else the venv's unix port
  UNIX32          MicroPython v1.28.0's unix port built 32-bit, the board's
                  word size (tools/firmware.py unix32)

A process started here stops as a board's firmware does on Ctrl-C
(KeyboardInterrupt): stop() sends SIGINT and kills only what does not end.
"""

import os
import pathlib
import resource
import signal
import socket
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAP = "180K"
CLIENT_SOCKETS = 5
# The 64-bit port's objects are about 1.4 times a board's: at 180K it runs out
# of heap where a board has room. Tests of the whole application with every
# part on, and the bench's heap figures, run on this one.
UNIX32 = ROOT / "build" / "mp" / "unix32" / "micropython"


def micropython():
    """The unix port to run: MICROPYTHON, else the one make setup installs."""
    return os.environ.get("MICROPYTHON") or str(ROOT / ".venv" / "bin" / "micropython")


def board_word_size():
    """The 32-bit port if it is built, else micropython()."""
    return str(UNIX32) if UNIX32.exists() else micropython()


def command(heap=HEAP, interpreter=None):
    """The interpreter and its heap limit; arguments follow (a script, -m ...)."""
    cmd = [str(interpreter or micropython())]
    if heap:
        cmd += ["-X", "heapsize=" + heap]
    return cmd


def micropypath(path):
    """MICROPYPATH for modules from `path`: .frozen first (the port's own
    asyncio), as frozen modules come first on a board."""
    return ":".join((".frozen",) + tuple(str(p) for p in path))


def environment(port, path, host="127.0.0.1"):
    """The variables that place a server: where its modules come from and
    where it listens (PICO_HOST, PICO_PORT)."""
    return {"MICROPYPATH": micropypath(path), "PICO_HOST": host, "PICO_PORT": str(port)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True if a socket listens on this port, read from /proc/net/tcp so that
    checking opens no connection (a server would count it as a client)."""
    want = ":%04X" % port
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(want) and fields[3] == "0A":
                return True
    return False


def limit_client_sockets(pid, sockets=CLIENT_SOCKETS):
    """Lower the running server's descriptor limit to what it holds now plus
    `sockets`; returns how many it held. Counted after it listens: how many
    it holds at start depends on how it was launched."""
    held = len(os.listdir("/proc/%d/fd" % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (held + sockets, held + sockets))
    return held


def stop(proc, timeout=5):
    """Ctrl-C, as on a board; kill it if it has not ended within `timeout`
    seconds. Returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
