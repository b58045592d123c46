"""What one request of each kind costs the emulated board, in instructions.

    RUNNER_STATS=1 python tests/board/costs.py [--image FILE.uf2] [--seconds 20] [--only page,poll]
                                               [--profile]

For each kind, one request a second for --seconds on a new connection (as a
browser's first request: Chromium's headers, `Connection: close`), beside
an idle phase; the runner's instruction counts (tools/emulator/run.mjs,
RUNNER_STATS=1, every 5 s) give the board's work per request over idle.
Counts of emulated instructions do not depend on how busy the host is (as
long as nothing times out), so two images compare fairly on a busy machine,
which timings do not. Polls are measured with two streams held open, so that
the server answers each with a single event (httpd/sse.py).

--profile also names where each kind's instructions go, by the firmware's C
function (the runner samples the program counter: tests/board/pcprofile.py),
in thousands of instructions a request over idle.

Figures: docs/lwip.md, "A room full of browsers". Needs root, like every
test of the image.
"""
import argparse
import os
import pathlib
import re
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import crowd  # noqa: E402
import pcprofile  # noqa: E402

# A browser's first request on a connection of its own (Chromium 131's headers).
_HEADERS = (b"Host: 192.0.2.2\r\nConnection: close\r\n"
            b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            b"Chrome/131.0.0.0 Safari/537.36\r\n"
            b"Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n")
_NAVIGATE = (b"Upgrade-Insecure-Requests: 1\r\n"
             b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
             b"image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n")
_EVENTS = b"Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
_PLAIN = b"Accept-Encoding: gzip, deflate\r\n"
# kind -> the request; "poll" is asked with two streams open.
KINDS = {
    "health": b"GET /health HTTP/1.1\r\nHost: 192.0.2.2\r\nConnection: close\r\n\r\n",
    "health-chromium": b"GET /health HTTP/1.1\r\n" + _HEADERS + _NAVIGATE + b"\r\n",
    "heap": b"GET /test/heap HTTP/1.1\r\nHost: 192.0.2.2\r\nConnection: close\r\n\r\n",
    "head": b"HEAD / HTTP/1.1\r\n" + _HEADERS + _NAVIGATE + b"\r\n",
    "page": b"GET / HTTP/1.1\r\n" + _HEADERS + _NAVIGATE + b"\r\n",
    "page-plain": b"GET / HTTP/1.1\r\n" + _HEADERS.replace(_PLAIN, b"") + _NAVIGATE + b"\r\n",
    "poll": b"GET /api/events HTTP/1.1\r\n" + _HEADERS + _EVENTS + b"\r\n",
}
_RATE = re.compile(r"stats: ([\d.]+) M instructions/s")


def ask(link, raw):
    """One request on a new connection, read to its end: (first byte s, all s, bytes)."""
    t0 = time.monotonic()
    s = link.connect(80, 10)
    try:
        s.settimeout(10)
        s.sendall(raw)
        data = b""
        first = None
        while True:
            chunk = s.recv(65536)
            if first is None:
                first = time.monotonic() - t0
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return first, time.monotonic() - t0, len(data)


def phase(board, link, raw, seconds):
    """Millions of instructions a second over the phase (its first 5 s window
    dropped: it straddles the start), and the answers."""
    k = len(board.runner_log())
    sampled = pcprofile.load(os.environ["RUNNER_PROFILE"]) if os.environ.get("RUNNER_PROFILE") else None
    t0 = time.monotonic()
    answers = []
    while time.monotonic() - t0 < seconds:
        t = time.monotonic()
        if raw:
            answers.append(ask(link, raw))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
    rates = [float(m.group(1)) for line in board.runner_log()[k:] for m in [_RATE.search(line)] if m][1:]
    if not rates:
        sys.exit("no runner stats: run with RUNNER_STATS=1")
    if sampled is not None:
        time.sleep(1.2)  # the runner's next write of the samples
        sampled = (sampled, pcprofile.load(os.environ["RUNNER_PROFILE"]))
    return sum(rates) / len(rates), answers, sampled


def _hold_stream(link):
    s = link.connect(80, 10)
    s.settimeout(60)
    s.sendall(KINDS["poll"].replace(b"Connection: close", b"Connection: keep-alive"))
    s.recv(4096)

    def drain():
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default=str(crowd.IMAGES["ours"]))
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--only", default=",".join(KINDS), help="kinds, comma-separated: " + ", ".join(KINDS))
    ap.add_argument("--profile", action="store_true", help="where the instructions go, by C function")
    args = ap.parse_args(argv)
    kinds = args.only.split(",")
    symbols = None
    if args.profile:
        symbols = pcprofile.Symbols(pathlib.Path(args.image).with_suffix(".elf"))
        os.environ["RUNNER_PROFILE"] = str(pathlib.Path(args.image).with_suffix(".profile.json"))

    def funcs(sampled):
        return pcprofile.by_function(symbols, sampled[1], sampled[0])

    with crowd.booted(pathlib.Path(args.image)) as (board, link):
        crowd.warm_up(link)
        time.sleep(2)
        idle, _, idle_sampled = phase(board, link, None, args.seconds)
        print("%-16s %5.2f M instructions/s" % ("idle", idle), flush=True)
        held = []
        for kind in kinds:
            if kind == "poll":
                held = [_hold_stream(link) for _ in range(2)]
                idle, _, idle_sampled = phase(board, link, None, args.seconds)
                print("%-16s %5.2f M instructions/s" % ("two streams", idle), flush=True)
            rate, answers, sampled = phase(board, link, KINDS[kind], args.seconds)
            firsts = sorted(a[0] for a in answers)
            print("%-16s %5.2f M instructions a request over idle (%d requests, %d bytes, first byte p50 %.0f ms)"
                  % (kind, (rate - idle) * args.seconds / len(answers), len(answers), answers[0][2],
                     firsts[len(firsts) // 2] * 1000), flush=True)
            if symbols is not None:
                # Samples (about 1000 instructions each) a request, over idle.
                over = funcs(sampled)
                for name, n in funcs(idle_sampled).items():
                    over[name] = over.get(name, 0) - n
                rows = sorted(over.items(), key=lambda kv: -kv[1])[:25]
                print("\n".join("    %6.0f K  %s" % (n / len(answers), name) for name, n in rows if n > 0), flush=True)
        for s in held:
            s.close()


if __name__ == "__main__":
    main()
