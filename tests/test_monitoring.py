"""Watching a board without USB: its log (/api/logs, /logs, live), the last
crash kept on flash, the history charts and the Prometheus metrics, against
the firmware on the MicroPython unix port in the Pico W profile, with the
real tools: Debian's prometheus scrapes it, promtool checks the exposition.

Prometheus must be installed (`make test` installs Debian's `prometheus`
package when it is missing); without it those tests fail, never skip.
"""

import http.client
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import client
from serverproc import PICO_LIB, ROOT, ServerProcess, board_word_size, free_port

TOKEN = "m0nitor-T0ken"
BEARER = {"Authorization": "Bearer " + TOKEN}
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def need(path):
    if not os.path.exists(path):
        pytest.fail("%s is missing: install Debian's prometheus package (make test does)" % path)


@pytest.fixture
def crash_file(tmp_path):
    return tmp_path / "crash.txt"


def serve(start_server, crash_file, **settings):
    settings.setdefault("CRASH_FILE", crash_file)
    return start_server(settings)


# -- the log -------------------------------------------------------------------------


def test_api_logs_gives_the_last_lines_within_the_ring_and_never_the_token(start_server, crash_file):
    srv = serve(start_server, crash_file, API_TOKEN=TOKEN, ACCESS_LOG="true", LOG_RING_BYTES=600)
    port = srv.port
    r = client.get(port, "/api/logs")
    assert r.status == 401 and r.header("www-authenticate") == "Bearer"
    r = client.get(port, "/api/logs", BEARER)
    assert r.status == 200, r
    assert r.header("content-type") == "text/plain; charset=utf-8"
    assert r.header("cache-control") == "no-store"
    assert r.header("access-control-allow-origin") is None  # no other site may read it
    assert re.search(rb"^\d+ INFO:httpd:listening on ", r.body, re.M), r.body
    for i in range(40):
        assert client.get(port, "/health?n=%d" % i).status == 200
    assert client.get(port, "/" + TOKEN).status == 404  # the token in a logged path
    body = client.get(port, "/api/logs", BEARER).body
    assert len(body) <= 600, len(body)
    lines = body.decode().split("\n")
    assert lines[-1] == ""
    assert all(re.fullmatch(r"\d+ [A-Z]+:\w+:.*", line) for line in lines[:-1]), lines
    assert lines[-2].endswith("INFO:httpd:GET /*** 404 0ms") or "GET /*** 404" in body.decode(), lines[-3:]
    assert "listening" not in body.decode()  # the oldest lines made room
    assert TOKEN.encode() not in body


def test_logs_page_shows_the_lines_escaped_and_works_without_javascript(start_server, crash_file):
    srv = serve(start_server, crash_file, ACCESS_LOG="true")
    port = srv.port
    assert client.get(port, "/<b>x").status == 404
    r = client.get(port, "/logs")
    assert r.status == 200 and r.header("content-type") == "text/html; charset=utf-8"
    page = r.body.decode()
    assert "GET /&lt;b&gt;x 404" in page and "<b>x" not in page
    assert "<noscript><meta http-equiv=refresh content=10></noscript>" in page
    assert "<script src=/static/logs.js defer></script>" in page
    assert re.search(r"<body class=logs data-pos=\d+>", page)
    assert "<title>picow log</title>" in page


def read_events(sock, want, timeout=5.0):
    """Read a Server-Sent Events stream until `want` (bytes) has come."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while want not in data and time.monotonic() < deadline:
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data


def test_log_stream_sends_what_came_since_the_page_and_new_lines_live(start_server, crash_file):
    srv = serve(start_server, crash_file, ACCESS_LOG="true")
    port = srv.port
    page = client.get(port, "/logs").body.decode()
    pos = int(re.search(r"data-pos=(\d+)", page).group(1))
    client.get(port, "/health?before")  # logged after the page was made
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /api/logs/events?from=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % pos)
        first = read_events(s, b"GET /health 200")
        assert b"Content-Type: text/event-stream" in first
        assert b"event: log\r\n" in first or b"event: log\n" in first
        assert first.count(b"GET /logs 200") == 1  # what came after the page, once
        started = time.monotonic()
        client.get(port, "/health?live")
        live = read_events(s, b"GET /health 200")
        assert b"GET /health 200" in live, live
        assert time.monotonic() - started < 2  # batched every 200 ms
        # Each event starts with the position after it, for a reconnect.
        assert re.search(rb"data: \d+\r?\ndata: \d+ INFO:httpd:GET /health", live), live


# -- metrics ---------------------------------------------------------------------------


def parse_exposition(text):
    """{name: (type, help, [(labels, value)])}, checking the format's rules
    on the way: every sample's family has HELP and TYPE before it."""
    families = {}
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# HELP "):
            name, help_ = line[7:].split(" ", 1)
            families.setdefault(name, [None, None, []])[1] = help_
        elif line.startswith("# TYPE "):
            name, kind = line[7:].split(" ")
            families.setdefault(name, [None, None, []])[0] = kind
        else:
            m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)", line)
            assert m, line
            name = m.group(1)
            assert name in families and families[name][0] and families[name][1], line
            families[name][2].append((m.group(2) or "", float(m.group(3))))
    return families


def test_metrics_in_the_prometheus_text_format(start_server, crash_file):
    need(PROMTOOL)
    srv = serve(start_server, crash_file)
    port = srv.port
    for _ in range(3):
        client.get(port, "/health")
    r = client.get(port, "/metrics")
    assert r.status == 200
    assert r.header("content-type") == METRICS_TYPE
    assert r.header("access-control-allow-origin") is None
    families = parse_exposition(r.body.decode())
    for name, (kind, help_, samples) in families.items():
        assert name.startswith("picow_"), name
        assert kind in ("counter", "gauge"), name
        assert (kind == "counter") == name.endswith("_total"), name
        assert len(samples) == 1, name
    value = {name: f[2][0][1] for name, f in families.items()}
    assert value["picow_http_requests_total"] >= 3
    assert value["picow_http_connections_accepted_total"] >= 4
    assert value["picow_http_connections"] == 1  # this scrape
    assert 0 < value["picow_heap_free_bytes"] < value["picow_heap_size_bytes"] <= 180 * 1024
    assert value["picow_heap_free_bytes"] + value["picow_heap_used_bytes"] == value["picow_heap_size_bytes"]
    assert 20 <= value["picow_temperature_celsius"] <= 30  # the host stand-in's room temperature
    assert value["picow_led_on"] == 0 and value["picow_crash_recorded"] == 0
    assert value["picow_log_lines_total"] >= 1
    # the code's version; no image (its frozen picow_image), no chip on a PC
    assert re.fullmatch(r'\{version="0\.1\.0",image="",micropython="\d+\.\d+\.\d+",'
                        r'board="MicroPython unix port \(host stand-in\)",chip="",id="host"\}',
                        families["picow_info"][2][0][0]), families["picow_info"]
    assert "picow_wifi_rssi_dbm" not in families  # no Wi-Fi on the unix port: no sample, not a made-up one
    # The LED gauge follows the board.
    client.request(port, "PUT", "/api/led", {"Content-Type": "application/json"}, '{"on": true}')
    assert b"\npicow_led_on 1\n" in client.get(port, "/metrics").body
    # promtool, Prometheus' own linter, finds nothing to say.
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body, capture_output=True, timeout=30)
    assert check.returncode == 0 and check.stdout == b"" and check.stderr == b"", check


def test_metrics_need_the_token_when_one_is_set(start_server, crash_file):
    srv = serve(start_server, crash_file, API_TOKEN=TOKEN)
    r = client.get(srv.port, "/metrics")
    assert r.status == 401 and r.header("www-authenticate") == "Bearer"
    assert client.get(srv.port, "/metrics", {"Authorization": "Bearer wrong"}).status == 401
    r = client.get(srv.port, "/metrics", BEARER)
    assert r.status == 200 and b"picow_http_requests_total" in r.body


def test_a_scrape_is_cheap(start_server, crash_file):
    """Bytes and server CPU time per scrape, over one keep-alive connection
    as Prometheus scrapes. The server's CPU time is what a scrape takes from
    visitors; wall time on the unix port may add Nagle's delay (its socket
    module has no TCP_NODELAY, which the board's lwIP has)."""
    srv = serve(start_server, crash_file)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    sizes = []
    n = 100
    try:
        conn.request("GET", "/metrics")
        conn.getresponse().read()
        cpu = srv.cpu_seconds()
        started = time.perf_counter()
        for _ in range(n):
            conn.request("GET", "/metrics")
            r = conn.getresponse()
            sizes.append(len(r.read()))
        wall = time.perf_counter() - started
        cpu = srv.cpu_seconds() - cpu
    finally:
        conn.close()
    print("\n/metrics: %d bytes; %.2f ms CPU, %.1f ms wall per scrape (unix port, 64-bit, 180K heap)"
          % (max(sizes), cpu * 1000 / n, wall * 1000 / n))
    assert max(sizes) < 4096  # within the lwIP send buffer of one connection (6400)
    assert cpu * 1000 / n < 10


# -- Prometheus itself ------------------------------------------------------------------


def prometheus_query(port, query):
    url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(query))
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.loads(r.read())
    assert data["status"] == "success", data
    return data["data"]["result"]


def test_prometheus_scrapes_two_boards_one_with_a_token(start_server, crash_file, tmp_path):
    need(PROMETHEUS)
    open_board = serve(start_server, crash_file)
    token_board = serve(start_server, tmp_path / "crash2.txt", API_TOKEN=TOKEN)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    # The scrape block of docs/monitoring.md, with this test's ports.
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: picow\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
        "  - job_name: picow-token\n    authorization:\n      credentials: %s\n"
        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
        % (open_board.port, TOKEN, token_board.port))
    proc = subprocess.Popen(
        [PROMETHEUS, "--config.file=%s" % config, "--storage.tsdb.path=%s" % (tmp_path / "data"),
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        found = {}
        while time.monotonic() < deadline and len(found) < 2:
            time.sleep(0.5)
            try:
                for sample in prometheus_query(port, "picow_http_requests_total"):
                    found[sample["metric"]["job"]] = float(sample["value"][1])
            except OSError:
                continue  # not listening yet
        assert set(found) == {"picow", "picow-token"}, found
        up = {s["metric"]["job"]: s["value"][1] for s in prometheus_query(port, "up")}
        assert up == {"picow": "1", "picow-token": "1"}, up
        heap = prometheus_query(port, "picow_heap_free_bytes")
        assert len(heap) == 2 and all(float(s["value"][1]) > 0 for s in heap), heap
        info = prometheus_query(port, "picow_info")
        assert {s["metric"]["version"] for s in info} == {"0.1.0"}, info
        # The scrapes are counted by the board like any request.
        assert "GET /metrics" not in open_board.output()  # the access log is off by default
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out = proc.stdout.read().decode(errors="replace")
        proc.stdout.close()
    assert "error" not in out.lower() or "msg" not in out, out


# -- the last crash ------------------------------------------------------------------------


def test_a_handlers_traceback_reaches_the_log_and_a_crash_records_last_lines(start_server, crash_file):
    """The server logs a failed handler with its traceback: /logs shows it
    (on a board the console is not watched), and so does a crash record
    written after it (its last log lines)."""
    srv = start_server({"CRASH_FILE": crash_file}, script=ROOT / "tests/apps/fault_app.py")
    assert client.get(srv.port, "/test/raise").status == 500
    text = client.get(srv.port, "/api/logs").body.decode()
    assert "ERROR:httpd:handler failed: GET /test/raise" in text, text
    assert "Traceback (most recent call last):" in text, text
    assert "ValueError: deliberate failure for the test" in text, text
    assert client.get(srv.port, "/test/crash-record").status == 200
    record = crash_file.read_text()
    assert "ValueError: deliberate failure for the test" in record.partition("last log lines:")[2], record



def test_a_crash_is_kept_shown_after_the_next_boot_and_cleared(start_server, crash_file, tmp_path):
    crasher = ServerProcess(script=ROOT / "tests/apps/crash_app.py",
                            settings={"CRASH_FILE": crash_file, "ACCESS_LOG": "true", "API_TOKEN": TOKEN},
                            env={"PICO_TEST_CRASH_AFTER_MS": "1500"})
    crasher.start()
    try:
        assert client.get(crasher.port, "/health?before-the-crash").status == 200
        crasher.proc.wait(10)
    finally:
        crasher.stop()
    assert crasher.proc.returncode != 0
    record = crash_file.read_text()
    assert record.startswith("reason: uncaught RuntimeError: deliberate crash for the test\nuptime_s: 1\n"), record
    assert "Traceback (most recent call last):" in record
    assert "RuntimeError: deliberate crash for the test" in record
    assert re.search(r"last log lines:\n(.*\n)*\d+ INFO:httpd:GET /health 200", record), record
    assert TOKEN not in record
    assert len(record.encode()) <= 3072

    # With a token, the crash notice, the page (its form) and /metrics every
    # part is loaded, compiled from .py: on the board's word size (see
    # test_dashboard.token_server; on the 64-bit port the first page view got
    # 503 out of memory once the page carried its script inline).
    srv = start_server({"CRASH_FILE": crash_file, "API_TOKEN": TOKEN}, interpreter=board_word_size())
    port = srv.port
    status = json.loads(client.get(port, "/api/status").body)
    assert status["crash"] == {"reason": "uncaught RuntimeError: deliberate crash for the test", "uptime_s": 1}
    page = client.get(port, "/").body.decode()
    assert "Last crash: uncaught RuntimeError: deliberate crash for the test (after 00:00:01 of uptime)" in page
    assert "<form method=post action=/crash>" in page
    assert b"\npicow_crash_recorded 1\n" in client.get(port, "/metrics", BEARER).body
    # The record: token needed to read it, and to clear it; never from another site.
    assert client.get(port, "/api/crash").status == 401
    r = client.get(port, "/api/crash", BEARER)
    assert r.status == 200 and r.header("content-type") == "text/plain; charset=utf-8"
    assert r.body.decode() == record
    cross = dict(BEARER, Origin="http://evil.example")
    assert client.request(port, "DELETE", "/api/crash", cross).status == 403
    assert client.request(port, "DELETE", "/api/crash").status == 401
    assert crash_file.exists()
    assert client.request(port, "DELETE", "/api/crash", BEARER).status == 204
    assert not crash_file.exists()
    assert json.loads(client.get(port, "/api/status").body)["crash"] is None
    assert "Last crash" not in client.get(port, "/").body.decode()
    assert client.get(port, "/api/crash", BEARER).status == 404
    assert client.request(port, "DELETE", "/api/crash", BEARER).status == 404


def test_the_dashboard_clear_button_works_without_javascript(start_server, crash_file):
    crash_file.write_text("reason: watchdog reset: Wi-Fi monitor failed\nuptime_s: 90061\n")
    srv = serve(start_server, crash_file)
    page = client.get(srv.port, "/").body.decode()
    assert "Last crash: watchdog reset: Wi-Fi monitor failed (after 1d 01:01:01 of uptime)" in page
    r = client.request(srv.port, "POST", "/crash", {"Content-Type": "application/x-www-form-urlencoded"}, "")
    assert r.status == 303 and r.header("location") == "/"
    assert not crash_file.exists()
    assert "Last crash" not in client.get(srv.port, "/").body.decode()


# -- history ----------------------------------------------------------------------------------


def test_history_charts_are_drawn_by_the_board(start_server, crash_file):
    srv = serve(start_server, crash_file, HISTORY_INTERVAL_MS=100, HISTORY_SAMPLES=20)
    time.sleep(0.5)
    for _ in range(5):
        client.get(srv.port, "/health")
    time.sleep(2.5)  # the 20 samples of 100 ms are full
    page = client.get(srv.port, "/").body.decode()
    section = re.search(r"<section class=hist><h2>Last 2 s</h2>(.*?)</section>", page)
    assert section, page
    charts = section.group(1)
    assert re.search(r"<p>Temperature<b>\d+\.\d &deg;C</b></p><svg viewBox=\"0 0 19 24\"", charts)
    assert re.search(r"<p>Free heap<b>\d+ KB</b>", charts)
    assert "<p>Wi-Fi signal<b>&mdash;</b></p>" in charts  # no Wi-Fi on the unix port
    assert re.search(r"<p>Requests<b>\d+/min</b>", charts)
    paths = re.findall(r'<path d="(M[0-9 LMh-]+)"/>', charts)
    assert len(paths) == 3, charts
    for d in paths:  # every point inside the chart
        for x, y in re.findall(r"(\d+) (\d+)", d):
            assert 0 <= int(x) <= 19 and 0 <= int(y) <= 24, d


# -- with micropython-lib's logging, as on a board ----------------------------------------

LOGGING_PY = "lib/micropython-lib/python-stdlib/logging/logging.py"


def micropython_lib_logging(dest):
    """micropython-lib's logging.py from the MicroPython sources the firmware
    is built from: MICROPY_SRC (a bundle directory, its tarball or a tree),
    else the tree `make firmware` extracted, else fetched as it fetches them."""
    import sys
    import tarfile

    sys.path.insert(0, str(ROOT / "tools"))
    import firmware

    src = os.environ.get("MICROPY_SRC") or ""
    if not src and (ROOT.parent / "shared" / "micropython").is_dir():  # the Makefile's default
        src = str(ROOT.parent / "shared" / "micropython")
    candidates = []
    if src:
        path = pathlib.Path(src)
        candidates += [path / LOGGING_PY, path / firmware.MP_DIR / LOGGING_PY]
    candidates.append(firmware.MP_WORK / "src" / firmware.MP_DIR / LOGGING_PY)
    for candidate in candidates:
        if candidate.is_file():
            shutil.copyfile(candidate, dest)
            return dest
    if src:
        path = pathlib.Path(src)
        tarball = path / ("%s.tar.gz" % firmware.MP_DIR) if path.is_dir() else path
        if tarball.is_file():
            with tarfile.open(tarball) as tar:
                member = tar.extractfile("%s/%s" % (firmware.MP_DIR, LOGGING_PY))
                dest.write_bytes(member.read())
                return dest
    tree, _ = firmware.fetch_sources(src)  # as make firmware does: offline bundle or git
    shutil.copyfile(tree / LOGGING_PY, dest)
    return dest


def test_a_users_logging_lines_reach_the_log_and_the_server_never_imports_logging(start_server, tmp_path):
    """micropython-lib's logging is frozen into the image for the user's own
    modules: a module that imports it gets its lines into /logs (secrets
    blanked) and on the console; the server itself never imports it (about
    2.7 KB of heap), not even where it is installed."""
    mods = tmp_path / "mods"
    mods.mkdir()
    micropython_lib_logging(mods / "logging.py")
    path = (PICO_LIB, ".", str(ROOT / "tests/apps"), str(mods))
    srv = start_server({"APP_MODULES": "modules_app"}, path=path)
    modules = json.loads(client.get(srv.port, "/test/modules").body)["modules"]
    assert "logging" not in modules, modules
    # On the board's word size: with a token every part of the application
    # is loaded, which 180K of 64-bit objects compiled from .py cannot hold
    # beside the user's module.
    srv = start_server({"APP_MODULES": "logging_app", "API_TOKEN": TOKEN}, path=path,
                       interpreter=board_word_size())
    assert client.get(srv.port, "/api/mine", BEARER).status == 200
    text = client.get(srv.port, "/api/logs", BEARER).body.decode()
    assert "INFO:mine:installed, token ***" in text, text
    assert "WARNING:mine:asked for /api/mine" in text, text
    assert "not at INFO" not in text
    assert "INFO:httpd:listening on" in text  # the server's own lines as before
    srv.wait_for_log("WARNING:mine:asked for /api/mine")  # the console too
    assert TOKEN not in text


