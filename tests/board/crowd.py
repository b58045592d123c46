"""A crowd of real browsers opening the dashboard at the same moment, through
the real Pico W firmware in rp2040js and the board's own lwIP (SLIP link in a
network namespace: tests/board/emulator.py).

One Debian Chromium runs inside the link's namespace (Playwright starts it
through a two-line wrapper, `ip netns exec NETNS /usr/bin/chromium "$@"`:
it talks to Playwright over a pipe, so only its network is in there); each
visitor is a browser context of its own (its own cookies, cache and socket
pool, like a separate person) with one page. All pages start
`goto("http://192.0.2.2/", wait_until="load")` together, then stay open for
a window (60 s) while app.js follows the board's Server-Sent Events.

Per page: time to the load event; whether the first navigation failed (an
exception, a status >= 400, or a further main-frame navigation: Chromium
reloading an error page itself); every failed request and every status
>= 400; and how fresh the shown values were: a MutationObserver records each
change of #r (the board's request count) and #c (its connections), which
only the board changes; the load counts as a change (the page is rendered
with current values); values are fresh at time t if the last change was at
most 10 s before t. Also the share of the window #s said "Live", #s at the
end (Live / Live, every N s / Paused ... / Offline ...), and the page's
requests still unanswered at the end (a page stuck on its GET /: its SYNs
dropped, the host retrying them 1, 3, 7, 15, 31 s later). A page that loads
after the load timeout (a slow one, or an error page Chromium reloaded by
itself) is measured over what is left of the watch.

Per run: the board's watchdog resets, heap in use (/test/heap of the test
image, after a collection) before the crowd (after one request of each kind:
first uses) and after it (the pages closed, 5 s later), a newcomer (GET
/health on a new connection, timed from before its connect) in the middle of
the window, right after the pages closed and after those 5 s; the board's
uptime (a reset starts it again) and request counters; the host's TCP
counters in the namespace (connections opened: one per socket Chromium
opens, which shows that the contexts do not share a pool; SYN
retransmissions) and Chromium's own NetLog (sockets to the board, resets it
read, and requests it restarted by itself after an error, which no page
event shows; its own background requests, which find no DNS here, left out).

    python tests/board/crowd.py --image ours --browsers 15 --runs 3

boots build/firmware/test/picow-server-slip.uf2 (ours), picow-stock-slip.uf2
(stock) or a .uf2 path for each run, as built (`make test-board` or
python3 tools/firmware.py test-ours test-stock builds them; nothing here
rebuilds a stale one), and prints a line per run; --verbose adds a line per
page, --json FILE keeps everything. Needs root (netns, TUN), node with
rp2040js and /usr/bin/chromium. test_crowd.py runs the same function and
asserts the issue's targets.
"""

import argparse
import asyncio
import contextlib
import json
import os
import pathlib
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
for _p in (HERE, HERE.parent):  # emulator, test_board_net; chromium (tests/)
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from emulator import BOARD_IP, Board, SlipLink  # noqa: E402
from test_board_net import get_json, heap_used, request  # noqa: E402

ROOT = HERE.parents[1]
IMAGES = {
    "ours": ROOT / "build" / "firmware" / "test" / "picow-server-slip.uf2",
    "stock": ROOT / "build" / "firmware" / "test" / "picow-stock-slip.uf2",
}
URL = "http://%s/" % BOARD_IP
STREAM_PATH = "/api/events"  # app.js's EventSource: reported apart from the page's own requests
FRESH_S = 10.0  # values this old or newer count as fresh
WINDOW_S = 60.0  # how long each page is watched after its load
SETTLE_S = 5.0  # after the pages are closed, before the heap is read


# -- the board ---------------------------------------------------------------------


@contextlib.contextmanager
def booted(image, boot_timeout=60):
    """A board running `image` on a new SLIP link: yields (board, link);
    stops the runner and removes the namespace afterwards."""
    link = SlipLink()
    board = Board(image, uart=link.board_end)  # run.mjs finds the bootrom
    try:
        board.start()
        board.wait_for(r"listening on http://", boot_timeout)
        yield board, link
    finally:
        board.stop()
        link.close()


def newcomer(link, timeout=10.0):
    """GET /health on a new connection: (seconds, status or error text). The
    time runs from before the connect, so a dropped SYN counts."""
    t0 = time.monotonic()
    try:
        code, _, took = request(link, "/health", timeout=timeout)
        return took, code
    except (OSError, AssertionError) as e:
        return time.monotonic() - t0, "%s: %s" % (type(e).__name__, e)


def read_first_event(link, timeout=10.0):
    """Open /api/events, read up to its first status event, close."""
    s = link.connect(80, timeout)
    try:
        s.settimeout(timeout)
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: picow\r\n\r\n")
        data = b""
        while b"\n\n" not in data.partition(b"event: status")[2]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()


def warm_up(link):
    """One request of each kind the crowd makes (the first GET / imports
    lib/dashboard/page.py, the first stream its feed): the heap before the crowd is
    then measured after the first uses, as the heap after it is."""
    for path in ("/", "/static/app.css", "/static/app.js", "/api/status", "/test/heap"):
        request(link, path)
    read_first_event(link)
    time.sleep(1.0)  # the stream's end reaches the board


def tcp_counters(netns):
    """The namespace's TCP counters (what the host side did): connections
    opened, SYNs retransmitted, resets received, segments retransmitted."""
    out = subprocess.run(["ip", "netns", "exec", netns, "cat", "/proc/net/snmp", "/proc/net/netstat"],
                         capture_output=True, text=True, check=True).stdout
    values = {}
    lines = out.splitlines()
    for head, vals in zip(lines, lines[1:]):
        h, v = head.split(), vals.split()
        if (len(h) > 1 and len(v) > 1 and h[0] == v[0] and h[0] in ("Tcp:", "TcpExt:")
                and not h[1].lstrip("-").isdigit() and v[1].lstrip("-").isdigit()):
            for name, val in zip(h[1:], v[1:]):
                values[h[0][:-1] + "." + name] = int(val)
    return {
        "opens": values.get("Tcp.ActiveOpens", 0),
        "syn_retrans": values.get("TcpExt.TCPSynRetrans", 0),
        "estab_resets": values.get("Tcp.EstabResets", 0),  # reset either way: by the board or by the host
        "rsts_out": values.get("Tcp.OutRsts", 0),  # resets the host sent
        "retrans": values.get("Tcp.RetransSegs", 0),
    }


def _delta(after, before):
    return {k: after[k] - before[k] for k in after}


# -- the page ----------------------------------------------------------------------

# Installed in every document before its scripts run. Date.now(): the same
# clock as Python's time.time(), so the runner can compare them.
WATCH_JS = r"""
(() => {
  const C = window.__crowd = {load: null, dash: false, changes: [], status: []};
  function watch() {  // readyState "interactive": before app.js (deferred) runs
    const els = ["r", "c"].map(id => document.getElementById(id)).filter(Boolean);
    C.dash = els.length == 2;
    const seen = els.map(e => e.textContent);
    els.forEach((e, k) => new MutationObserver(() => {
      if (e.textContent !== seen[k]) { seen[k] = e.textContent; C.changes.push(Date.now()); }
    }).observe(e, {childList: true, characterData: true, subtree: true}));
    const s = document.getElementById("s");
    if (s) {
      let last = s.textContent;
      C.status.push([Date.now(), last]);
      new MutationObserver(() => {
        if (s.textContent !== last) { last = s.textContent; C.status.push([Date.now(), last]); }
      }).observe(s, {childList: true, characterData: true, subtree: true});
    }
  }
  document.addEventListener("readystatechange", () => {
    if (document.readyState == "interactive") watch();
  });
  window.addEventListener("load", () => {
    C.load = Date.now();
    C.origin = performance.timeOrigin;  // this page's navigation start (a reload's, after an error page)
    const n = performance.getEntriesByType("navigation")[0];
    if (n) C.connect = n.connectEnd;  // ms after it: the SYN answered (after dropped ones)
  });
})();
"""

STATE_JS = """() => ({crowd: window.__crowd || null, url: location.href,
  visibility: document.visibilityState,
  s: (document.getElementById("s") || {}).textContent || null})"""


def covered(load, changes, window=WINDOW_S, fresh=FRESH_S):
    """Share of [load, load + window] (seconds) within `fresh` s after the
    load or a change."""
    end = load + window
    total, reach = 0.0, load
    for c in sorted([load] + [c for c in changes if load <= c <= end]):
        a, b = max(c, reach), min(c + fresh, end)
        if b > a:
            total += b - a
        reach = max(reach, c + fresh)
    return total / window


def share_live(load, status, window=WINDOW_S):
    """Share of [load, load + window] during which #s said "Live" (or
    "Live, every N s": the board's polling answers)."""
    end = load + window
    total = 0.0
    for k, (t, text) in enumerate(status):
        t_next = status[k + 1][0] if k + 1 < len(status) else end
        a, b = max(t, load), min(t_next, end)
        if text.startswith("Live") and b > a:
            total += b - a
    return total / window


def _text(e):
    """An exception's first line, never empty."""
    lines = str(e).strip().splitlines()
    return (lines[0][:200] if lines else "") or type(e).__name__


def _path(url):
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


class Visit:
    """One visitor: a context, its page and what the page events said."""

    def __init__(self, i, context, page, t0):
        self.i, self.context, self.page = i, context, page
        self.t0 = t0  # set again at the start
        self.recording = True
        self.requests = []  # (t, method, path)
        self.failed = []  # (t, path, failure text)
        self.statuses = []  # (t, path, status)
        self.navigations = []  # (t, url) of the main frame
        self.pending = {}  # request -> path: asked, neither finished nor failed
        self.goto_error = None
        self.goto_timed_out = False  # no load event within the runner's load timeout
        self.goto_s = None
        self.main_status = None
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        page.on("framenavigated", self._navigated)
        page.on("requestfinished", self._finished)

    def _t(self):
        return round(time.time() - self.t0, 3)

    def _request(self, req):
        if self.recording:
            self.requests.append((self._t(), req.method, _path(req.url)))
            self.pending[req] = (self._t(), _path(req.url))

    def _finished(self, req):
        self.pending.pop(req, None)

    def _failed(self, req):
        self.pending.pop(req, None)
        if self.recording:
            self.failed.append((self._t(), _path(req.url), req.failure))

    def _response(self, resp):
        if self.recording:
            self.statuses.append((self._t(), _path(resp.url), resp.status))

    def _navigated(self, frame):
        if self.recording and frame == self.page.main_frame:
            self.navigations.append((self._t(), frame.url))

    async def go(self, timeout_s):
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            resp = await self.page.goto(URL, wait_until="load", timeout=timeout_s * 1000)
            self.main_status = resp.status if resp else None
        except PlaywrightTimeout:  # slow, not failed: its load time is the page's own
            self.goto_timed_out = True
        except Exception as e:  # playwright's Error: net::ERR_...
            self.goto_error = _text(e)
        self.goto_s = time.time() - self.t0

    async def state(self, timeout=5.0):
        """What the page recorded (None for a page still loading or gone)."""
        try:
            return await asyncio.wait_for(self.page.evaluate(STATE_JS), timeout)
        except Exception as e:
            return {"crowd": None, "url": self.page.url, "visibility": None, "s": None, "error": _text(e)}

    def result(self, state, window, fresh, observed_end):
        c = state.get("crowd") or {}
        dash = bool(c.get("dash"))
        load_ms = c.get("load")
        # Loaded: the dashboard's load event, even after a failed first
        # navigation (Chromium reloading an error page): first_nav_failed
        # says that; the window and its freshness run from this load.
        loaded = dash and load_ms is not None
        t0_ms = self.t0 * 1000
        page_reqs = [r for r in self.requests if r[2] != STREAM_PATH]
        bad = [(t, p, s) for t, p, s in self.statuses if s >= 400]
        main_navs = [n for n in self.navigations if not n[1].startswith("about:")]
        # The first navigation failed: an exception, an error status, an
        # error page, or a further navigation (a reload by Chromium itself).
        first_failed = bool(self.goto_error or (self.main_status or 0) >= 400 or not dash
                            or len(main_navs) > 1 or state.get("url", "").startswith("chrome-error"))
        out = {
            "i": self.i,
            "loaded": loaded,
            "load_s": round((load_ms - t0_ms) / 1000, 3) if load_ms is not None else None,
            # From the page's own navigation start: what a visitor on a device
            # of their own sees. The rig's Chromium starts N navigations on
            # two CPUs, seconds apart for 30, before any SYN is sent.
            "nav_load_s": round((load_ms - c["origin"]) / 1000, 3) if load_ms is not None and c.get("origin") else None,
            "start_s": round((c["origin"] - t0_ms) / 1000, 3) if c.get("origin") else None,
            "connect_s": round(c["connect"] / 1000, 3) if c.get("connect") is not None else None,
            "goto_s": round(self.goto_s, 3) if self.goto_s is not None else None,
            "goto_error": self.goto_error,
            "goto_timed_out": self.goto_timed_out,
            "main_status": self.main_status,
            "first_nav_failed": first_failed,
            "navigations": main_navs,
            "requests": self.requests,
            "page_requests": sorted({p for _, _, p in page_reqs}),
            "failed": [f for f in self.failed if f[1] != STREAM_PATH],
            "stream_failed": [f for f in self.failed if f[1] == STREAM_PATH],
            "bad_status": [b for b in bad if b[1] != STREAM_PATH],
            "stream_bad_status": [b for b in bad if b[1] == STREAM_PATH],
            "streams": sum(1 for r in self.requests if r[2] == STREAM_PATH),
            "changes": len(c.get("changes") or ()),
            "status_end": state.get("s"),
            "visibility": state.get("visibility"),
            "url_end": state.get("url"),
            "state_error": state.get("error"),
            # page requests still unanswered at the end of the watch (t asked, path)
            "pending": sorted(v for v in self.pending.values() if v[1] != STREAM_PATH),
            "fresh": 0.0,
            "live": 0.0,
            "max_stale_s": None,
            "window_s": 0.0,
            "watched_all": False,
        }
        if loaded:
            # The window: 60 s from the load, or to the end of the watch for
            # a page that loaded after the others' windows were set (its
            # goto timed out): the shares are of the part watched.
            load = load_ms / 1000
            watched = max(0.1, min(window, observed_end - load))
            changes = [x / 1000 for x in c.get("changes") or ()]
            out["window_s"] = round(watched, 1)
            out["watched_all"] = watched >= window - 0.5
            out["fresh"] = round(covered(load, changes, watched, fresh), 3)
            out["live"] = round(share_live(load, [(t / 1000, s) for t, s in c.get("status") or ()], watched), 3)
            pts = sorted([load] + [x for x in changes if load <= x <= load + watched]) + [load + watched]
            out["max_stale_s"] = round(max(b - a for a, b in zip(pts, pts[1:])), 1)
        return out


# -- Chromium's NetLog --------------------------------------------------------------


def _netlog_events(text):
    """(constants, events) of a NetLog; a log cut short (the file is
    completed on exit) is read line by line: one event a line."""
    try:
        log = json.loads(text)
        return log["constants"], log.get("events") or []
    except ValueError:
        pass
    head, _, rest = text.partition("\n\"events\": [")
    constants = json.loads(head.strip().rstrip(",") + "}")["constants"]
    events = []
    for row in rest.splitlines():
        try:
            events.append(json.loads(row.strip().rstrip(",")))
        except ValueError:
            continue
    return constants, events


def netlog_summary(path):
    """What Chromium's NetLog says about its traffic with the board (its own
    background requests, which find no DNS in the namespace, left out):
    sockets connected; requests Chromium restarted by itself after an error
    (it retries a request whose reused connection was closed or reset,
    and no page event shows it); errors on the board's sockets; requests
    that ended in an error, by path and error."""
    try:
        constants, events = _netlog_events(pathlib.Path(path).read_text(errors="replace"))
    except (OSError, ValueError, KeyError) as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    types = {v: k for k, v in constants.get("logEventTypes", {}).items()}
    errors = {v: k for k, v in constants.get("netError", {}).items()}
    urls = {}  # URL_REQUEST source id -> path, for the board's URLs
    sockets = set()  # SOCKET source ids connected to the board
    out = {"sockets": 0, "restarts": {}, "socket_errors": {}, "request_errors": {}}

    def bump(d, key):
        d[key] = d.get(key, 0) + 1

    for ev in events:
        name = types.get(ev.get("type"))
        params = ev.get("params") or {}
        src = (ev.get("source") or {}).get("id")
        if name == "URL_REQUEST_START_JOB" and BOARD_IP in str(params.get("url", "")):
            urls[src] = _path(params["url"])
        elif name == "TCP_CONNECT" and ev.get("phase") == 1 and any(
                BOARD_IP in a for a in params.get("address_list") or ()):
            sockets.add(src)
            out["sockets"] += 1
        err = params.get("net_error")
        if not err:
            continue
        err = errors.get(err, str(err))
        if name == "HTTP_TRANSACTION_RESTART_AFTER_ERROR" and src in urls:
            bump(out["restarts"], "%s %s" % (urls[src], err))
        elif src in sockets:
            bump(out["socket_errors"], "%s %s" % (name, err))
        elif name == "REQUEST_ALIVE" and src in urls:
            bump(out["request_errors"], "%s %s" % (urls[src], err))
    out["restarted"] = sum(out["restarts"].values())
    return out


# -- the crowd -----------------------------------------------------------------------


def _wrapper(netns, directory):
    # Chromium at a lower priority than the emulator: a real board has its
    # CPU to itself, and here 15-30 browsers on the same two CPUs slowed the
    # emulated board between their first packets (gaps of 450 ms in its
    # answers, where a page alone takes 0.25 s in all). Without CAP_SYS_NICE:
    # run as root, Chromium raises its browser process's threads to nice -8
    # (display and I/O threads), ahead of the emulator, which then ran at
    # 3-4 M instructions/s instead of 13-18 while the pages loaded.
    path = pathlib.Path(directory) / "chromium-in-netns"
    path.write_text('#!/bin/sh\nexec nice -n 10 setpriv --bounding-set -sys_nice ip netns exec %s %s "$@"\n' % (netns, CHROMIUM))
    path.chmod(0o755)
    return str(path)


async def _crowd(link, n, window, fresh, load_timeout, workdir, log):
    from playwright.async_api import async_playwright

    netlog = pathlib.Path(workdir) / "netlog.json"
    out = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=_wrapper(link.netns, workdir), headless=True,
            args=CHROMIUM_ARGS + ["--log-net-log=%s" % netlog], timeout=60000)
        try:
            t_setup = time.monotonic()

            async def visitor(i):
                ctx = await browser.new_context(viewport={"width": 420, "height": 560})
                await ctx.add_init_script(WATCH_JS)
                return Visit(i, ctx, await ctx.new_page(), time.time())

            visits = await asyncio.gather(*(visitor(i) for i in range(n)))
            out["setup_s"] = round(time.monotonic() - t_setup, 1)
            tcp0 = await asyncio.to_thread(tcp_counters, link.netns)
            t0 = time.time()
            out["t0_monotonic"] = time.monotonic()
            for v in visits:
                v.t0 = t0
            await asyncio.gather(*(v.go(load_timeout) for v in visits))
            out["all_settled_s"] = round(time.time() - t0, 2)
            out["tcp_load"] = _delta(await asyncio.to_thread(tcp_counters, link.netns), tcp0)
            log("  %d pages settled in %.1f s; host TCP during the load: %s"
                % (n, out["all_settled_s"], out["tcp_load"]))
            # Watch until the last page's window is over; a newcomer in the middle.
            loads = []
            for st in await asyncio.gather(*(v.state() for v in visits)):
                ld = (st.get("crowd") or {}).get("load")
                loads.append(ld / 1000 if ld else time.time())
            end = max(loads) + window + 0.5
            mid = t0 + (end - t0) / 2
            await asyncio.sleep(max(0.0, mid - time.time()))
            took, code = await asyncio.to_thread(newcomer, link)
            out["newcomer_during_s"], out["newcomer_during"] = round(took, 3), code
            await asyncio.sleep(max(0.0, end - time.time()))
            states = await asyncio.gather(*(v.state() for v in visits))
            observed_end = time.time()
            out["tcp_all"] = _delta(await asyncio.to_thread(tcp_counters, link.netns), tcp0)
            for v in visits:
                v.recording = False
            out["pages"] = [v.result(st, window, fresh, observed_end) for v, st in zip(visits, states)]
            out["window_end_s"] = round(time.time() - t0, 1)
            await asyncio.gather(*(v.context.close() for v in visits))
        finally:
            await browser.close()
    out["netlog"] = netlog_summary(netlog)
    return out


def run_crowd(board, link, n, window=WINDOW_S, fresh=FRESH_S, load_timeout=30.0, settle=SETTLE_S, log=print):
    """Open the dashboard in n browsers at once on a served board; return
    the figures (a dict: see summary())."""
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("%s is missing: install Debian's chromium" % CHROMIUM)
    t_run = time.monotonic()
    warm_up(link)
    res = {"browsers": n, "window_s": window, "fresh_s": fresh}
    res["heap_before"] = heap_used(link)
    status = get_json(link, "/api/status")
    res["http_before"], res["uptime_before"] = status["http"], status["uptime_s"]
    slip0 = dict(link.stats)
    workdir = tempfile.mkdtemp(prefix="crowd-")
    try:
        res.update(asyncio.run(_crowd(link, n, window, fresh, load_timeout, workdir, log)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    took, code = newcomer(link)  # the pages are closed: their connections end now
    res["newcomer_at_close_s"], res["newcomer_at_close"] = round(took, 3), code
    time.sleep(settle)
    took, code = newcomer(link)
    res["newcomer_s"], res["newcomer"] = round(took, 3), code
    try:  # a board that no longer answers: the figures are kept, the heap unknown
        res["heap_after"] = heap_used(link)
        status = get_json(link, "/api/status")
        http = res["http_after"] = status["http"]
        res["uptime_after"] = status["uptime_s"]
        res["http_delta"] = {k: http[k] - res["http_before"].get(k, 0) for k in http if k != "active"}
    except (OSError, AssertionError) as e:
        res.setdefault("heap_after", None)
        res["http_after"] = res["http_delta"] = "no answer: %s" % _text(e)
    res["slip_packets"] = _delta(dict(link.stats), slip0)  # IP packets over the SLIP link, each way
    res["watchdog_resets"] = board.watchdog_resets
    res["resets"] = board.resets
    res["runner_resets"] = [l for l in board.runner_log() if "reset" in l]
    # With RUNNER_STATS=1: how busy the emulated core was, a line per 5 s from the load on
    res["runner_stats"] = [(t, line.split("stats: ", 1)[1]) for t, line in board.runner_log_since(res.get("t0_monotonic", t_run))
                           if "stats: " in line][:8]
    res["took_s"] = round(time.monotonic() - t_run, 1)
    return res


# -- figures ------------------------------------------------------------------------


def figures(res):
    """The run's figures over its pages."""
    pages = res["pages"]
    loaded = [p for p in pages if p["loaded"]]
    loads = sorted(p["load_s"] for p in loaded)
    navs = sorted(p["nav_load_s"] for p in loaded if p.get("nav_load_s") is not None)
    starts = [p["start_s"] for p in loaded if p.get("start_s") is not None]
    fresh = sorted(p["fresh"] for p in pages)
    status_end = {}
    for p in pages:
        key = (p["status_end"] or "?").split(";")[0]
        status_end[key] = status_end.get(key, 0) + 1
    failures = {}
    for p in pages:
        for _, path, text in p["failed"]:
            key = "%s %s" % (path, text)
            failures[key] = failures.get(key, 0) + 1
        for _, path, status in p["bad_status"]:
            key = "%s %d" % (path, status)
            failures[key] = failures.get(key, 0) + 1
    stream_failures = {}
    for p in pages:
        for _, path, text in p["stream_failed"]:
            stream_failures[text] = stream_failures.get(text, 0) + 1
        for _, path, status in p["stream_bad_status"]:
            stream_failures[str(status)] = stream_failures.get(str(status), 0) + 1
    return {
        "loaded": len(loaded),
        "load_p50": statistics.median(loads) if loads else None,
        "load_max": max(loads) if len(loaded) == len(pages) and loads else None,
        "nav_load_p50": statistics.median(navs) if navs else None,
        "nav_load_max": max(navs) if len(navs) == len(pages) else None,
        "start_max": max(starts) if starts else None,
        "nav_failed": sum(p["first_nav_failed"] for p in pages),
        "failed_requests": sum(len(p["failed"]) + len(p["bad_status"]) for p in pages),
        "failures": failures,
        "stream_failures": stream_failures,
        "fresh_min": fresh[0] if fresh else None,
        "fresh_p50": statistics.median(fresh) if fresh else None,
        "live_p50": statistics.median(sorted(p["live"] for p in pages)) if pages else None,
        "status_end": status_end,
        "streams": sum(p["streams"] for p in pages),
    }


# The table's columns: pages loaded (the dashboard's load event); load time
# p50/max from the common start (max "-": not all loaded); first navigations
# failed; failed page requests (not /api/events) and statuses >= 400; share
# of its window each page's values were fresh, lowest/median; median share
# #s said Live; host TCP over the run: connections opened, SYNs
# retransmitted (the board dropped them); NetLog: resets Chromium read on the
# board's sockets, requests it restarted by itself; the newcomers' times
# (middle of the window, right after the pages closed, 5 s later); heap in
# use before/after; watchdog resets; the run's seconds (without the boot).
HEADER = ("image    n  loaded  load p50/max s  navfail  reqfail  fresh min/p50  live p50  "
          "opens synrtx rst rtry  newcomer mid/close/after s  heap before->after  wd  took s")


def _s(x, fmt="%.1f"):
    return "-" if x is None else fmt % x


def line(res, image=""):
    """One table line of a run (HEADER names the columns)."""
    f = figures(res)
    tcp = res.get("tcp_all", {})
    netlog = res.get("netlog") or {}
    resets = sum(v for k, v in (netlog.get("socket_errors") or {}).items() if "RESET" in k)
    return "%-6s %3d  %3d/%-3d  %5s/%-6s  %7d  %7d  %5s/%-5s   %5s    %5s %5s %3s %4s   %5s/%5s/%5s          %6d->%-6d  %2d  %6s" % (
        image, res["browsers"], f["loaded"], res["browsers"], _s(f["load_p50"]), _s(f["load_max"]),
        f["nav_failed"], f["failed_requests"], _s(f["fresh_min"], "%.2f"), _s(f["fresh_p50"], "%.2f"),
        _s(f["live_p50"], "%.2f"), tcp.get("opens", "-"), tcp.get("syn_retrans", "-"), resets, netlog.get("restarted", "-"),
        _s(res["newcomer_during_s"], "%.2f"), _s(res["newcomer_at_close_s"], "%.2f"), _s(res["newcomer_s"], "%.2f"),
        res["heap_before"], res["heap_after"] or -1, res["watchdog_resets"], _s(res["took_s"]))


def page_line(p):
    return ("  page %2d: %s load %5s s (navigation at %5s, connected %5s, loaded %5s s after it)  fresh %.2f  live %.2f  max stale %5s s  changes %3d  events %3d  "
            "#s %r%s%s%s%s%s" % (
                p["i"], "ok  " if not p["first_nav_failed"] else "FAIL", _s(p["load_s"], "%.2f"),
                _s(p.get("start_s"), "%.2f"), _s(p.get("connect_s"), "%.2f"), _s(p.get("nav_load_s"), "%.2f"), p["fresh"],
                p["live"], _s(p["max_stale_s"]), p["changes"], p["streams"], (p["status_end"] or "")[:60],
                "  goto: %s" % p["goto_error"] if p["goto_error"] else
                "  (no load event within the load timeout)" if p["goto_timed_out"] else "",
                "  unanswered: %s" % p["pending"] if p.get("pending") else "",
                "  failed: %s" % [(path, text) for _, path, text in p["failed"]] if p["failed"] else "",
                "  status: %s" % [(path, s) for _, path, s in p["bad_status"]] if p["bad_status"] else "",
                "  (watched %.0f s of its window)" % p["window_s"] if p["loaded"] and not p["watched_all"] else ""))


def summary(res, image="", pages=True):
    """The run as text: its table line, the run's details, a line per page."""
    f = figures(res)
    out = [HEADER, line(res, image)]
    out.append("  requests the pages made: %s" % sorted({r for p in res["pages"] for r in p["page_requests"]}))
    out.append("  failures (page requests): %s" % (f["failures"] or "none"))
    out.append("  /api/events requests (streams and polls): %d; their failures: %s" % (f["streams"], f["stream_failures"] or "none"))
    out.append("  #s at the end: %s; visibility: %s" % (
        f["status_end"], sorted({p["visibility"] for p in res["pages"]}, key=str)))
    out.append("  host TCP: load %s, whole run %s" % (res.get("tcp_load"), res.get("tcp_all")))
    out.append("  separate pools: %d contexts opened %s connections during the load (one shared pool: "
               "at most 6 to a host)" % (res["browsers"], (res.get("tcp_load") or {}).get("opens")))
    out.append("  Chromium NetLog: %s" % res.get("netlog"))
    out.append("  board http (delta): %s; uptime %s -> %s s; SLIP packets %s" % (
        res.get("http_delta"), res.get("uptime_before"), res.get("uptime_after"), res.get("slip_packets")))
    if res.get("runner_resets"):
        out.append("  RESETS: %s" % res["runner_resets"])
    out.append("  newcomers: during %s (%s), at close %s (%s), after %.0f s %s (%s)" % (
        res["newcomer_during_s"], res["newcomer_during"], res["newcomer_at_close_s"], res["newcomer_at_close"],
        SETTLE_S, res["newcomer_s"], res["newcomer"]))
    out.append("  from each page's own navigation start (its browser's start, not the rig's): load p50 %s s, "
               "max %s s; the last navigation started %s s after the common start" % (
                   _s(f["nav_load_p50"], "%.2f"), _s(f["nav_load_max"], "%.2f"), _s(f["start_max"], "%.2f")))
    out.append("  contexts set up in %s s; pages settled %s s after the start; window ended at %s s" % (
        res.get("setup_s"), res.get("all_settled_s"), res.get("window_end_s")))
    if pages:
        out += ["  board at %5.1f s: %s" % st for st in res.get("runner_stats") or ()]
        out += [page_line(p) for p in res["pages"]]
    return "\n".join(out)


def _page_load(p):
    """A loaded page's load time from its navigation start (from the common
    start where Navigation Timing gave none)."""
    return p["nav_load_s"] if p.get("nav_load_s") is not None else p["load_s"]


def problems(res, load_bound, fresh_share, heap_slack=4096, newcomer_bound=1.0):
    """The issue's targets that the run missed, as sentences (none: met)."""
    f = figures(res)
    out = []
    n = res["browsers"]
    if f["nav_failed"]:
        out.append("%d of %d first navigations failed" % (f["nav_failed"], n))
    stuck = [(p["i"], p["pending"]) for p in res["pages"] if p.get("pending")]
    if stuck:
        out.append("page requests never answered (page, [(s asked, path)]): %s" % stuck)
    if f["failed_requests"]:
        out.append("%d failed requests: %s" % (f["failed_requests"], f["failures"]))
    netlog = res.get("netlog") or {}
    if netlog.get("restarted"):
        out.append("Chromium restarted %d requests by itself after an error (NetLog): %s"
                   % (netlog["restarted"], netlog["restarts"]))
    # Timed from each page's own navigation start, as a visitor on a device
    # of their own would time it: the rig's one Chromium starts the
    # navigations over 2-6 s (15 to 30 contexts on two CPUs).
    slow = [(p["i"], _page_load(p)) for p in res["pages"] if p["loaded"] and _page_load(p) > load_bound]
    if slow:
        out.append("pages loaded later than %.0f s after their navigation started (page, s): %s" % (load_bound, slow))
    never = [(p["i"], p["goto_error"] or (p["main_status"] if (p["main_status"] or 0) >= 400 else None)
              or ("unanswered: %s" % [x[1] for x in p["pending"]] if p["pending"] else None)
              or p["state_error"] or "no dashboard") for p in res["pages"] if not p["loaded"]]
    if never:
        out.append("pages that never showed the dashboard (page, why): %s" % never)
    stale = [(p["i"], p["fresh"]) for p in res["pages"] if p["fresh"] < fresh_share]
    if stale:
        out.append("pages whose values were fresh (<= %.0f s old) less than %.0f%% of the %.0f s window "
                   "(page, share): %s" % (res["fresh_s"], fresh_share * 100, res["window_s"], stale))
    if res["watchdog_resets"]:
        out.append("the watchdog reset the board %d times" % res["watchdog_resets"])
    if res["heap_after"] is None:
        out.append("the board did not answer /test/heap after the crowd: %s" % res["http_after"])
    elif abs(res["heap_after"] - res["heap_before"]) > heap_slack:
        out.append("heap in use %d bytes before, %d after (more than %d apart)"
                   % (res["heap_before"], res["heap_after"], heap_slack))
    if res["newcomer"] != 200 or res["newcomer_s"] > newcomer_bound:
        out.append("the newcomer after the crowd: %s in %.2f s (bound %.1f s)"
                   % (res["newcomer"], res["newcomer_s"], newcomer_bound))
    return out


# -- the command line -----------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default="ours", help="ours, stock or a .uf2 path")
    ap.add_argument("--browsers", type=int, default=15)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--window", type=float, default=WINDOW_S)
    ap.add_argument("--load-timeout", type=float, default=30.0)
    ap.add_argument("--json", help="write every run's result to this file")
    ap.add_argument("--verbose", "-v", action="store_true", help="a line per page")
    ap.add_argument("--trace", help="write each connection's TCP timeline (SLIP link) of the last run to this file")
    args = ap.parse_args(argv)
    image = IMAGES.get(args.image, pathlib.Path(args.image))
    if not image.exists():
        ap.error("%s is missing: build it (python3 tools/firmware.py test-%s)" % (image, args.image))
    name = args.image if args.image in IMAGES else image.stem
    results = []
    lines = []
    for run in range(args.runs):
        t0 = time.monotonic()
        with booted(image) as (board, link):
            boot_s = time.monotonic() - t0
            if args.trace:
                link.trace = []
            res = run_crowd(board, link, args.browsers, window=args.window, load_timeout=args.load_timeout,
                            log=lambda msg: print(msg, flush=True))
        res["boot_s"] = round(boot_s, 1)
        res["image"] = name
        if args.trace:
            pathlib.Path(args.trace).write_text(timeline(link.trace))
        results.append(res)
        print(summary(res, name, pages=args.verbose), flush=True)
        print("  run %d: booted in %.1f s, run %.1f s, %.1f s in all" % (
            run + 1, boot_s, res["took_s"], time.monotonic() - t0), flush=True)
        lines.append(line(res, name))
    print()
    print(HEADER)
    print("\n".join(lines))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


def timeline(trace):
    """The SLIP link's packets as one line per TCP connection (by the host's
    port): when each SYN (and its resends), the board's SYN-ACK, the first
    data each way, FINs and RSTs came, in seconds from the first packet."""
    if not trace:
        return ""
    t0 = trace[0][0]
    conns = {}
    for t, way, p in trace:
        if len(p) < 34 or p[9] != 6:
            continue
        ihl = (p[0] & 15) * 4
        tcp = p[ihl:]
        if len(tcp) < 14:
            continue
        sport, dport = struct.unpack("!HH", tcp[:4])
        port = sport if way == "in" else dport
        flags = tcp[13]
        size = struct.unpack("!H", p[2:4])[0] - ihl - (tcp[12] >> 4) * 4
        marks = []
        if flags & 2:
            marks.append("SYN" if way == "in" else "SYNACK")
        if size > 0:
            marks.append("DATA" if way == "in" else "data")
        if flags & 1:
            marks.append("FIN" if way == "in" else "fin")
        if flags & 4:
            marks.append("RST" if way == "in" else "rst")
        events = conns.setdefault(port, [])
        for m in marks:
            if m in ("DATA", "data") and any(e[1] == m for e in events):
                continue  # the first data only
            events.append((t - t0, m))
    lines = []
    for port, events in sorted(conns.items(), key=lambda kv: kv[1][0][0] if kv[1] else 0):
        lines.append("%5d " % port + " ".join("%s@%.2f" % (m, t) for t, m in events))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
