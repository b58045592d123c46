"""The figures of docs/ota.md: an update of the whole firmware over loopback,
its time and the live heap while it runs, on a MicroPython unix port.

    ota_measure.py [--micropython PATH] [--heap 180K] [--lib DIR]

A temporary directory is the board's flash (boot.py, main.py, config.py and
a built lib/ as make deploy leaves them); the firmware runs there under
tests/apps/ota_heap.py, which prints the live heap (after a collection,
every 20 ms) at each new high. Round 1 sends every file; round 2 changes
www/static/app.css only (the other files are kept on the board). (Until
updates kept the board's config.py, round 2 changed config.py.) The restarts are
this script starting the process again, as a board restarts itself.
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))
import build  # noqa: E402
import ota  # noqa: E402
from serverproc import free_port, micropython  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--micropython", default=micropython())
    parser.add_argument("--heap", default="180K")
    parser.add_argument("--confirm-ms", default="5000")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="ota-measure-"))
    built, flash = work / "build", work / "flash"
    build.build_lib(out=built / "lib")
    build.build_www(out=built / "www")
    flash.mkdir()
    for name in ("boot.py", "main.py", "config.py"):
        shutil.copy(ROOT / name, flash / name)
    shutil.copytree(built / "lib", flash / "lib")
    (flash / "versions").mkdir()
    port = free_port()
    env = dict(os.environ, MICROPYPATH=".frozen:lib:.", PICO_PORT=str(port), PICO_HOST="127.0.0.1",
               PICO_API_TOKEN="tok", PICO_OTA_CONFIRM_MS=args.confirm_ms)
    cmd = [args.micropython, "-X", "heapsize=" + args.heap, str(ROOT / "tests/apps/ota_heap.py")]
    print("%s, heap %s" % (subprocess.run([args.micropython, "-c", "import sys; print(sys.implementation)"],
                                          capture_output=True, text=True).stdout.strip(), args.heap))
    files = ota.collect(built / "lib", built / "www")
    total = sum(p.stat().st_size for _, p in files)
    for rnd in (1, 2):
        proc = subprocess.Popen(cmd, cwd=flash, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(400):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        if rnd == 2:
            changed = work / "app.css"
            changed.write_bytes((built / "www" / "static" / "app.css").read_bytes() + b"\n/* changed */\n")
            files = [(n, changed if n == "www/static/app.css" else p) for n, p in files]
        lines = []
        t0 = time.monotonic()
        name = ota.update("127.0.0.1", port, "tok", files, version="m%d" % rnd, wait_s=None, say=lines.append)
        upload = time.monotonic() - t0
        out = proc.communicate(timeout=30)[0]
        used = [int(m) for m in re.findall(r"HEAP used=(\d+)", out)]
        free = [int(m) for m in re.findall(r"HEAP used=\d+ free=(\d+)", out)]
        proc = subprocess.Popen(cmd, cwd=flash, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t1 = time.monotonic()
        try:
            ota.wait("127.0.0.1", port, name, 60, lambda *a: None, t1)
        finally:
            proc.terminate()
            proc.wait()
        print("round %d: %d files, %d bytes; %s; upload to commit %.2f s; restart to confirmed %.2f s; "
              "live heap idle %d, high %d (lowest free %d); out-of-memory events %d"
              % (rnd, len(files), total, [ln for ln in lines if ln.startswith("sent")][0], upload,
                 time.monotonic() - t1, used[0], max(used), min(free), out.count("out of memory")))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
