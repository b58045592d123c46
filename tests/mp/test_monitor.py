# The parts behind /logs, the crash record and the history, on the unix port
# with the Pico W's heap: the log ring stays within its bytes and keeps whole
# lines, costs no allocation per line but a memoryview of it, hides secrets;
# the watchdog records why it stopped feeding, once; a watchdog reset that
# left no record gets one at boot; history rings are fixed and survive a
# MemoryError.
import gc
import os

import app  # first: compiling the server needs large free blocks of a fresh heap
import asyncio
from monitor.ring import LogRing

_CRASH = "/tmp/picow-test-crash-%d.txt" % __import__("random").getrandbits(30)


def test_ring_keeps_the_newest_whole_lines_within_its_size():
    ring = LogRing(400)
    for i in range(100):
        ring.write("INFO:test:line %d\n" % i)
    text = ring.text()
    assert len(text) <= 400, len(text)
    lines = text.decode().split("\n")
    assert lines[-1] == "" and lines[-2].endswith("INFO:test:line 99"), lines[-3:]
    for line in lines[:-1]:  # whole lines only, each with its seconds
        assert line.startswith("0 INFO:test:line "), line
    assert ring.lines == 100


def test_ring_cuts_long_lines_and_gives_what_came_since_a_position():
    ring = LogRing(1024)
    ring.write("x" * 1000)
    assert ring.text() == b"0 " + b"x" * 240 + b"\n"
    pos = ring.total
    ring.write("ERROR:a:next")
    assert ring.since(pos) == b"0 ERROR:a:next\n"
    assert ring.since(ring.total) == b""
    assert ring.tail(20) == b"0 ERROR:a:next\n"


def test_ring_blanks_secrets_out():
    ring = LogRing(512, ("s3cret-T0ken", None, ""))
    ring.write("INFO:httpd:GET /s3cret-T0ken 404 0ms\n")
    assert ring.text() == b"0 INFO:httpd:GET /*** 404 0ms\n", ring.text()


def test_a_line_costs_no_allocation_but_a_memoryview_of_it():
    ring = LogRing(2048)
    line = "INFO:httpd:GET /api/status 200 3ms\n"
    ring.write(line)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        ring.write(line)
    per_line = (gc.mem_alloc() - before) / 200
    # a memoryview is 16 bytes on a 32-bit board, 32 on the 64-bit unix port
    assert per_line <= 40, per_line


def test_the_log_tap_reaches_the_ring():
    from httpd import log

    ring = LogRing(512)
    log.configure("INFO")
    log.tap(ring.write)
    try:
        log.get_logger("t").info("hello %d", 7)
        log.get_logger("t").warning("careful")
    finally:
        log.tap(None)
    assert ring.text() == b"0 INFO:t:hello 7\n0 WARNING:t:careful\n", ring.text()


class _Board:
    has_watchdog = True
    fed = 0

    def start_watchdog(self, ms):
        pass

    def feed_watchdog(self):
        self.fed += 1


async def test_the_watchdog_says_once_why_it_stopped_feeding():
    from board.watchdog import Watchdog

    reasons = []
    healthy = [True]
    board = _Board()
    dog = Watchdog(board, 400, [("accept task", lambda: healthy[0])], reasons.append)
    task = asyncio.create_task(dog.run())
    await asyncio.sleep_ms(250)
    fed = board.fed
    assert fed >= 1 and reasons == []
    healthy[0] = False
    await asyncio.sleep_ms(400)
    task.cancel()
    assert reasons == ["watchdog reset: accept task failed"], reasons
    assert board.fed == fed  # no feeding once a check failed


class _Config:
    """config.py with a few settings changed."""

    CRASH_FILE = _CRASH
    LOG_RING_BYTES = 1024
    HISTORY_INTERVAL_MS = 0

    def __getattr__(self, name):
        import config

        return getattr(config, name)


def _app(cause):
    import app
    from board import pc as board_host

    class Board(board_host.HostStandIn):
        def reset_cause(self):
            return cause

    a = app.App(_Config(), Board())
    import monitor

    monitor.install(a)
    return a


def test_a_watchdog_reset_without_a_record_gets_one_at_boot():
    from monitor import crash

    crash.clear(_CRASH)
    try:
        assert _app("power-on").crash is None
        a = _app("watchdog")
        assert a.crash["reason"].startswith("watchdog reset: the event loop stopped"), a.crash
        with open(_CRASH) as f:
            assert "last log lines:" in f.read()
        # The next boot (say a power cut) shows the same record until cleared.
        assert _app("power-on").crash == a.crash
        assert a.status()["crash"] == a.crash
    finally:
        crash.clear(_CRASH)


def test_a_crash_record_is_bounded():
    from monitor import crash

    try:
        raise ValueError("x" * 5000)
    except ValueError as e:
        assert crash.write(_CRASH, "uncaught ValueError", e, b"0 INFO:a:b\n" * 400, 5)  # 4,400 bytes of log
    try:
        assert os.stat(_CRASH)[6] <= 3072
        assert crash.summary(_CRASH) == {"reason": "uncaught ValueError", "uptime_s": 5}
    finally:
        crash.clear(_CRASH)
    assert crash.summary(_CRASH) is None


def test_history_rings_are_fixed_and_count_requests_per_minute():
    import app
    from board import pc as board_host
    from monitor.history import History

    class Config:
        pass

    a = app.App(Config(), board_host.HostStandIn())
    h = History(a, samples=5, interval_ms=1000)
    gc.collect()
    before = gc.mem_alloc()
    for i in range(12):
        a.server.stats.requests += 3
        h.sample()
    gc.collect()
    assert gc.mem_alloc() - before < 64  # the rings were allocated once
    assert len(h.temp) == 5 and h.count == 12
    from dashboard.page import history_charts, series  # (the charts are drawn with the page)

    assert series(h, 3) == [180] * 5  # 3 requests a second
    assert series(h, 2) == [None] * 5  # no Wi-Fi: no signal
    charts = history_charts(h)
    assert charts.count(b"<svg") == 3 and b"&mdash;" in charts, charts
    assert history_charts(h) is charts  # rendered once per sample
    h.sample()
    assert history_charts(h) is not charts  # and again after the next
