"""What a run was measured on: the machine, the interpreters, the commit."""

import os
import platform
import subprocess

import picow_profile

from .common import ROOT


def machine():
    """CPUs this process may use, their model, the architecture and kernel."""
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
    """A unix port's version, build, release and word size (32 or 64)."""
    command = str(command or picow_profile.micropython())
    code = ("import sys; i = sys.implementation; print(sys.version); print(i._machine); "
            "print('.'.join(str(n) for n in i.version[:3]) + ('-' + i.version[3] if len(i.version) > 3 and i.version[3] else '')); "
            "print(64 if sys.maxsize > 1 << 32 else 32)")
    run = subprocess.run([command, "-c", code], capture_output=True, text=True, timeout=30)
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or len(lines) < 4:
        raise SystemExit("error: cannot run %s:\n%s" % (command, run.stderr))
    return {"version": lines[0], "machine": lines[1], "release": lines[2], "bits": int(lines[3]),
            "command": os.path.relpath(command, ROOT) if command.startswith(str(ROOT)) else command}


def source():
    """The commit measured, and whether lib/ differs from it."""
    def git(*args):
        run = subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    changed = git("status", "--porcelain", "--", "lib")
    return {"commit": commit or "?", "lib_changed": bool(changed)}
