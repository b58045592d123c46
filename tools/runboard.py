"""Run the firmware on this PC as a board runs it (make run-board): a folder is
the board's flash, boot.py then main.py run at every start, and a reset starts
them again, so over-the-air updates (make ota HOST=127.0.0.1 PORT=8080) work
as against a board: switch, restart, trial, confirm or roll back.

    runboard.py [--flash build/flash] [--host 127.0.0.1] [--port 8080]
                [--heap 256K] [--token T] [--fresh] [--trial-s 120]

The flash folder is made on the first run (or with --fresh) as `make deploy`
leaves a board: boot.py, main.py, config.py, lib/ (the sources) and www/ (the
built web root, build/www), and an empty versions/. After that it is the
board's: it keeps the versions sent to it, and the checkout's changes reach it
only through make ota (or --fresh). --token writes API_TOKEN into the new
flash's config.py, as you would edit it before deploying.

A restart happens where a board would restart: board.reset() (after an
update's commit, a failed trial), and a version that stops on an exception
(main.py restarts a board). A trial boot that does not serve within --trial-s
is ended as the trial's watchdog guard ends it on a Pico W. Ctrl-C stops it;
so do 8 starts in a row that never served (the board itself goes to safe
mode after 3 and back to the previous version after 5).
"""

import argparse
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import picow_profile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# boot.py then main.py in one interpreter, as MicroPython does at power-up.
RUNNER = ("for n in ('boot.py', 'main.py'):\n"
          "    with open(n) as f:\n"
          "        s = f.read()\n"
          "    exec(s, {'__name__': '__main__'})\n")
_MAX_FAILED_STARTS = 8


def make_flash(flash, token=None, www=ROOT / "build" / "www"):
    """The flash folder as make deploy leaves a board."""
    if flash.exists():
        shutil.rmtree(flash)
    flash.mkdir(parents=True)
    for name in ("boot.py", "main.py", "config.py"):
        shutil.copy(ROOT / name, flash / name)
    shutil.copytree(ROOT / "lib", flash / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(www if www.is_dir() else ROOT / "www", flash / "www")
    (flash / "versions").mkdir()
    if token:
        with open(flash / "config.py", "a") as f:
            f.write("\nAPI_TOKEN = %r  # make run-board TOKEN=...\n" % token)


class Boot:
    """One start of the firmware: the process, its output echoed and watched."""

    def __init__(self, cmd, flash, env, say):
        self.reset = self.served = self.trial = False
        self.proc = subprocess.Popen(cmd, cwd=flash, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")
        self.say = say
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.say(line.rstrip("\n"))
            if "reset requested" in line:
                self.reset = True
            elif "listening on" in line:
                self.served = True
            elif line.startswith("otaboot: trial"):
                self.trial = True

    def wait(self, trial_s):
        """Until the process ends; a trial not serving within trial_s is
        ended (the watchdog). Returns why it ended, one word."""
        started = time.monotonic()
        while True:
            try:
                self.proc.wait(0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if self.trial and not self.served and time.monotonic() - started > trial_s:
                self.proc.kill()
                self.proc.wait(5)
                self.reader.join(2)
                return "watchdog"
        self.reader.join(2)
        return "reset" if self.reset else "exit"

    def stop(self):
        picow_profile.stop(self.proc)
        self.reader.join(2)


def run(flash, host, port, heap, trial_s=120, micropython=None, say=print, starts=None):
    """Start the firmware in `flash` until Ctrl-C (or `starts` starts, for
    tests); restart it where a board restarts. Returns the exit status."""
    env = dict(os.environ)
    env.update(picow_profile.environment(port, ("lib", "."), host))  # relative: the flash is the cwd
    cmd = picow_profile.command(heap, micropython) + ["-c", RUNNER]
    failed = n = 0
    while starts is None or n < starts:
        n += 1
        boot = Boot(cmd, flash, env, say)
        try:
            why = boot.wait(trial_s)
        except KeyboardInterrupt:
            boot.stop()
            say("run-board: stopped (the flash stays in %s)" % flash)
            return 0
        failed = 0 if boot.served else failed + 1
        if why == "exit" and boot.proc.returncode == 0:
            say("run-board: the firmware ended")
            return 0
        if why == "exit" and not boot.served and failed == 1 and n == 1:
            # The very first start failed on its own: most often a busy port
            # or a bad PICO_ value, said in the line above; no board loop.
            return 1
        if failed >= _MAX_FAILED_STARTS:
            say("run-board: %d starts in a row did not serve; stopping (the flash stays in %s)" % (failed, flash))
            return 1
        say("run-board: %s; restarting, as a board does" % {
            "reset": "the board reset itself",
            "watchdog": "the trial did not serve within %d s: the watchdog would reset a board" % trial_s,
            "exit": "the firmware stopped on an exception: main.py restarts a board"}[why])
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flash", default=str(ROOT / "build" / "flash"), help="the board's flash (build/flash)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--heap", default="256K",
                        help="MicroPython's heap (256K: a Pico W's 180K on this 64-bit port, whose objects are 1.4x)")
    parser.add_argument("--token", default=None, help="API_TOKEN written into a new flash's config.py")
    parser.add_argument("--fresh", action="store_true", help="start from a new flash (versions sent are lost)")
    parser.add_argument("--trial-s", type=int, default=120, help="a trial boot that does not serve by then is reset")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # as Ctrl-C: the firmware is stopped too
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background by a shell
        signal.signal(signal.SIGINT, _interrupt)
    flash = pathlib.Path(args.flash)
    if args.fresh or not (flash / "boot.py").exists():
        make_flash(flash, args.token)
        print("run-board: a new flash in %s (boot.py, main.py, config.py, lib/, www/, versions/)%s"
              % (flash, "; API_TOKEN set in its config.py" if args.token else ""))
    elif args.token:
        print("run-board: %s exists: its config.py is the board's (TOKEN= applies to a new one: FRESH=1)" % flash)
    return run(flash, args.host, args.port, args.heap, args.trial_s)


if __name__ == "__main__":
    sys.exit(main())
