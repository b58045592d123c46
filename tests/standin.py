"""A stand-in for a Pico W on a serial link: the MicroPython unix port behind
socat, reached with `mpremote connect socket://127.0.0.1:PORT resume ...`.

    socat TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr,fork EXEC:"micropython",pty,raw,echo=0

runs in a fresh temporary directory, which is the board's flash: what
mpremote copies to `:lib/x.mpy` lands in FLASH/lib/x.mpy. Each connection
gets its own micropython process (socat forks), so nothing but the files
outlives one mpremote command. `resume` matters: a soft reset would end the
unix-port process, and with it the connection.

A stand-in can also pretend to be a different board: `pretend=` is
MicroPython code run before the REPL starts (`micropython -i wrapper.py`),
and the helpers below use it to report another `sys.implementation`
(an older firmware) or another `os.statvfs` (a full filesystem).
"""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from serverproc import ROOT, free_port, micropython

MPREMOTE = [sys.executable, "-m", "mpremote"]

# Replaces the modules `import sys` / `import os` return (MicroPython looks in
# sys.modules first) with proxies that answer some names differently.
_PROXY = '''
import sys, os
class _Proxy:
    def __init__(self, real, over):
        self._real = real
        self._over = over
    def __getattr__(self, name):
        if name in self._over:
            return self._over[name]
        return getattr(self._real, name)
class _Impl:
    pass
def _pretend_implementation(**names):
    impl = _Impl()
    for k in ("name", "version", "_machine", "_mpy", "_build"):
        if hasattr(sys.implementation, k):
            setattr(impl, k, getattr(sys.implementation, k))
    for k, v in names.items():
        setattr(impl, k, v)
    sys.modules["sys"] = _Proxy(sys, {"implementation": impl})
def _pretend_statvfs(answer):
    sys.modules["os"] = _Proxy(os, {"statvfs": lambda path: answer})
'''


def older_firmware(mpy, version):
    """Stand-in code: a board whose sys.implementation reports _mpy and version."""
    return _PROXY + "_pretend_implementation(_mpy=%r, version=%r)\n" % (mpy, tuple(version))


def full_filesystem(free_blocks, block=4096, total_blocks=352):
    """Stand-in code: a board whose filesystem has free_blocks blocks free
    (352 x 4 KB is the size of a Pico W's filesystem)."""
    answer = (block, block, total_blocks, free_blocks, free_blocks, 0, 0, 0, 0, 255)
    return _PROXY + "_pretend_statvfs(%r)\n" % (answer,)


class StandIn:
    """A board stand-in on 127.0.0.1; `flash` is its filesystem."""

    def __init__(self, pretend=None, command=None):
        self.pretend = pretend
        self.command = command  # a command line to run instead of micropython
        self.port = free_port()
        self.device = "socket://127.0.0.1:%d" % self.port
        self._tmp = pathlib.Path(tempfile.mkdtemp(prefix="standin-"))
        self.flash = self._tmp / "flash"
        self.flash.mkdir()
        self.proc = None

    def start(self, timeout=10):
        if shutil.which("socat") is None:
            raise AssertionError("socat is not installed; `make test` installs it "
                                 "(tools/ensure-system-packages socat:socat)")
        command = self.command or micropython()
        if self.pretend is not None:
            wrapper = self._tmp / "pretend.py"
            wrapper.write_text(textwrap.dedent(self.pretend))
            command += " -i " + str(wrapper)
        listen = "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % self.port
        self.proc = subprocess.Popen(["socat", listen, "EXEC:%s,pty,raw,echo=0" % command],
                                     cwd=self.flash, start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not self._listening():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("socat did not listen on %d: %s"
                                     % (self.port, self.proc.stderr.read().decode(errors="replace")))
            time.sleep(0.02)
        return self

    def _listening(self):
        want = ":%04X" % self.port
        with open("/proc/net/tcp") as f:
            return any(line.split()[1].endswith(want) and line.split()[3] == "0A"
                       for line in f.readlines()[1:])

    def mpremote(self, *args, timeout=60):
        """Run `mpremote connect DEVICE resume ARGS...`."""
        return subprocess.run(MPREMOTE + ["connect", self.device, "resume"] + list(args),
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)

    def exec(self, code):
        """Run code on the stand-in; its printed output."""
        run = self.mpremote("exec", code)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    def files(self):
        """{relative path: bytes} of everything on the stand-in's flash."""
        return {p.relative_to(self.flash).as_posix(): p.read_bytes()
                for p in sorted(self.flash.rglob("*")) if p.is_file()}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # socat and every micropython it forked share one process group
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self.proc.stderr.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
