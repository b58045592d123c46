"""The dashboard in a real browser: Debian's Chromium, headless, driven by
Playwright, against the unix-port server in the Pico W profile, on the
board's word size (the 32-bit unix port that make test builds; the 64-bit
one if it is not built).

Chromium must be installed (`make test` installs the Debian package when it
is missing); without it these tests fail, they are never skipped.

The screenshot of each run is saved as test-artifacts/dashboard.png. The one
in the README (docs/dashboard.png) is written when it is missing or when the
tests run with UPDATE_SCREENSHOT=1.
"""

import json
import os
import pathlib
import shutil
import time

import pytest

import client
from chromium import CHROMIUM, CHROMIUM_ARGS
from serverproc import ROOT, ServerProcess, board_word_size
from webroot import build_web_root

ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "dashboard.png"
DOCS_SCREENSHOT = ROOT / "docs" / "dashboard.png"
TOKEN = "browser-T0ken"


@pytest.fixture(scope="module")
def web_root(tmp_path_factory):
    return build_web_root(tmp_path_factory.mktemp("web") / "www")


@pytest.fixture
def browser(playwright, tmp_path):
    """browser(javascript=True) -> a fresh Chromium context (new profile)."""
    contexts = []

    def open_context(javascript=True):
        ctx = playwright.chromium.launch_persistent_context(
            str(tmp_path / ("profile%d" % len(contexts))),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            java_script_enabled=javascript,
            viewport={"width": 420, "height": 560},
            timeout=30000,
        )
        ctx.set_default_timeout(10000)
        contexts.append(ctx)
        return ctx

    yield open_context
    for ctx in contexts:
        ctx.close()


def serve(web_root, **settings):
    settings.setdefault("WWW_ROOT", web_root)
    settings.setdefault("ACCESS_LOG", "true")  # the tests read which requests the browser made
    # On the board's word size: with a token and a live page every part of
    # the application is loaded, which 180K of 64-bit objects cannot hold.
    return ServerProcess(settings=settings, interpreter=board_word_size())


def board_led(port):
    return json.loads(client.get(port, "/api/status").body)["board"]["led"]


def set_led(port, on):
    r = client.request(port, "POST", "/api/led", {"Content-Type": "application/json"},
                       json.dumps({"on": on}), timeout=5)
    assert r.status == 200, r


def wait_match(page, selector, pattern, timeout=15000):
    """Wait until the element's text matches the JavaScript regex `pattern`.
    (15 s as wait_text: a page told "Offline" within 5 s of its board going
    away failed once in a clean-clone .ci/run beside a CPU hog.)"""
    page.wait_for_function(
        "([s, p]) => new RegExp(p).test(document.querySelector(s).textContent)",
        arg=[selector, pattern], timeout=timeout)


def record_texts(page, selector):
    """From now on, keep every text the element shows (window.__texts): a
    message shown for a few seconds only (the first "retrying in 3 s" of a
    backoff) is then checked even by a wait that starts late."""
    page.evaluate("""(s) => {
        const e = document.querySelector(s);
        window.__texts = [e.textContent];
        new MutationObserver(() => window.__texts.push(e.textContent))
            .observe(e, {childList: true, characterData: true, subtree: true});
    }""", selector)


def wait_shown(page, pattern, timeout=15000):
    """Wait until a text kept by record_texts() matches the JavaScript regex `pattern`."""
    page.wait_for_function("(p) => window.__texts.some((t) => new RegExp(p).test(t))",
                           arg=pattern, timeout=timeout)


def wait_text(page, selector, text, timeout=15000):
    """Wait until the element's text is `text`, through page loads: a wait
    started in a page that a form post then replaces can miss the new one
    (seen: the new page showed the text, the wait ran out), so it is asked
    again, in the page there is then, until `timeout` ms have passed. (A page
    viewed while another connection is open asks for live values only after
    its poll interval, up to 6 s and its spread: "Live" within 5 s failed
    once on a machine busy with a CPU hog and another test run.)"""
    from playwright.sync_api import Error

    until = time.monotonic() + timeout / 1000
    while True:
        try:
            page.wait_for_function(
                "([s, t]) => { const e = document.querySelector(s); return e !== null && e.textContent === t; }",
                arg=[selector, text], timeout=500)
            return
        except Error:  # (TimeoutError is one)
            if time.monotonic() >= until:
                raise


def test_dashboard_toggles_the_led_and_follows_the_board_live(web_root, browser):
    # History sampled every 200 ms, so the screenshot shows the charts drawn.
    with serve(web_root, STATUS_INTERVAL_MS=1000, HISTORY_INTERVAL_MS=200, HISTORY_SAMPLES=15) as srv:
        port = srv.port
        set_led(port, False)
        page = browser().new_page()
        problems = []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        loads = []
        page.on("load", lambda: loads.append(1))

        page.goto("http://127.0.0.1:%d/" % port)
        assert page.title() == "picow"  # config.HOSTNAME
        wait_text(page, "#s", "Live")  # the event stream is open
        assert page.text_content("#l") == "Off"
        assert "on" not in page.get_attribute("body", "class").split()

        # Toggle through the page: the state changes on the page and on the board.
        page.click("button[value=toggle]")
        wait_text(page, "#l", "On")
        assert "on" in page.get_attribute("body", "class").split()
        assert board_led(port) is True

        # A change made elsewhere (the JSON API) reaches the page without a reload.
        set_led(port, False)
        wait_text(page, "#l", "Off", timeout=3000)
        set_led(port, True)
        wait_text(page, "#l", "On", timeout=3000)

        # Live values: the uptime ticks, the request counter follows the board.
        uptime = page.text_content("#u")
        page.wait_for_function("u => document.querySelector('#u').textContent !== u",
                               arg=uptime, timeout=3000)
        requests = page.text_content("#r")
        for _ in range(3):
            client.get(port, "/health")
        page.wait_for_function("r => document.querySelector('#r').textContent !== r",
                               arg=requests, timeout=3000)
        page.click("button[value=off]")
        wait_text(page, "#l", "Off")
        assert board_led(port) is False
        page.click("button[value=on]")
        wait_text(page, "#l", "On")
        assert board_led(port) is True

        assert len(loads) == 1, "the page reloaded"
        assert problems == []
        assert page.locator(".hist svg").count() == 3  # the history, drawn by the board
        # A page view is one request: the styles and the script came inline
        # (and ran: the CSP allows them by their hashes, no console error).
        assert "GET /static/" not in srv.output()
        ARTIFACTS.mkdir(exist_ok=True)
        time.sleep(1.1)  # one more uptime tick, so the picture shows a settled page
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        if os.environ.get("UPDATE_SCREENSHOT") == "1" or not DOCS_SCREENSHOT.exists():
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 5000


def test_the_mqtt_row_follows_the_link_live(web_root, browser, tmp_path):
    """The page's script writes the MQTT row from the status stream, as the
    board renders it (lib/dashboard/page.py): a broker that goes away shows
    without a reload."""
    from broker import Broker

    b = Broker().start()
    try:
        with serve(web_root, MQTT_HOST="127.0.0.1", MQTT_PORT=b.port, MQTT_RETRY_MS=200,
                   MQTT_CREDENTIALS_FILE=str(tmp_path / "mqtt.json"), STATUS_INTERVAL_MS=500) as srv:
            page = browser().new_page()
            problems = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto("http://127.0.0.1:%d/" % srv.port)
            wait_text(page, "#s", "Live")
            wait_match(page, "#q", "^connected, \\d+ in, [1-9]\\d* out$")
            b.stop()
            wait_match(page, "#q", "^not connected: connection refused, \\d+ in, \\d+ out$")
            rendered = client.get(srv.port, "/").body.decode().split("<dd id=q>")[1].split("<")[0]
            wait_text(page, "#q", rendered, timeout=3000)  # the script's words are the board's
            assert problems == []
    finally:
        b.close()


def test_dashboard_works_without_javascript(web_root, browser):
    with serve(web_root) as srv:
        port = srv.port
        set_led(port, False)
        page = browser(javascript=False).new_page()
        page.goto("http://127.0.0.1:%d/" % port)
        assert page.text_content("#l") == "Off"
        assert page.text_content("#s") == "Reload the page for new values."
        with page.expect_navigation():
            page.click("button[value=toggle]")  # a form post, 303, the page again
        assert page.url == "http://127.0.0.1:%d/" % port
        assert page.text_content("#l") == "On"
        assert board_led(port) is True
        with page.expect_navigation():
            page.click("button[value=off]")
        assert page.text_content("#l") == "Off"
        assert board_led(port) is False
        assert srv.wait_for_log(r"POST /led 303")


def test_with_an_api_token_the_page_asks_for_it(web_root, browser):
    with serve(web_root, API_TOKEN=TOKEN, STATUS_INTERVAL_MS=60000) as srv:
        port = srv.port
        page = browser().new_page()
        page.goto("http://127.0.0.1:%d/" % port)
        # Live by a stream, or by polling ("Live, every 61 s" at this
        # interval) when Chromium had a second connection open as the page
        # was made (the page cannot tell it from a crowd arriving).
        wait_match(page, "#s", r"^Live")
        assert TOKEN not in page.content()
        page.click("button[value=on]")  # no token typed: refused, said on the page
        wait_text(page, "#s", "API token missing or wrong")
        assert page.text_content("#l") == "Off"
        assert board_led(port) is False
        page.fill("input[name=token]", TOKEN)
        page.click("button[value=on]")
        wait_text(page, "#l", "On")
        assert board_led(port) is True
        assert TOKEN not in srv.output()


@pytest.mark.parametrize("javascript", [True, False])
def test_with_an_api_token_a_login_keeps_the_dashboard_usable(web_root, browser, javascript):
    with serve(web_root, API_TOKEN=TOKEN, STATUS_INTERVAL_MS=60000) as srv:
        port = srv.port
        ctx = browser(javascript=javascript)
        page = ctx.new_page()
        page.goto("http://127.0.0.1:%d/" % port)
        page.click("a[href='/login']")
        page.fill("input[name=token]", "not-it")
        page.click("form[action='/login'] button")
        assert "That is not the token." in page.text_content("body")
        page.fill("input[name=token]", TOKEN)
        page.click("form[action='/login'] button")
        page.wait_for_url("http://127.0.0.1:%d/" % port)
        cookie, = [c for c in ctx.cookies() if c["name"] == "picow_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        assert page.locator("input[name=token]").count() == 0  # logged in: no token to type
        page.click("button[value=on]")  # with JavaScript by fetch, without by the form
        wait_text(page, "#l", "On")
        assert board_led(port) is True
        page.click("text=Log out")
        page.wait_for_selector("input[name=token]")
        assert client.request(port, "POST", "/api/led", {"Content-Type": "application/json",
                                                          "Cookie": "picow_session=" + cookie["value"]},
                              '{"on": false}').status == 401  # the session ended with the logout
        assert TOKEN not in srv.output()


def test_a_page_beyond_the_streams_stays_live_by_polling_and_a_lost_board_is_retried(web_root, browser):
    with serve(web_root, MAX_EVENT_STREAMS=1, STATUS_INTERVAL_MS=1000) as srv:
        ctx = browser()
        first = ctx.new_page()
        first.goto("http://127.0.0.1:%d/" % srv.port)
        wait_text(first, "#s", "Live")
        second = ctx.new_page()
        second.goto("http://127.0.0.1:%d/" % srv.port)
        # The one stream is the first page's: the second is told to poll, and
        # its values still follow the board.
        wait_text(second, "#s", "Live, every 1 s")
        set_led(srv.port, True)
        wait_text(second, "#l", "On", timeout=3000)
        wait_text(first, "#l", "On", timeout=3000)
        set_led(srv.port, False)
        wait_text(second, "#l", "Off", timeout=3000)
        assert first.text_content("#s") == "Live"  # still the stream
        port = srv.port
        for page in (first, second):
            record_texts(page, "#s")
    # The board goes away: the pages say so and retry after the server's retry: (3 s).
    # (Recorded: the message says 6 s after those 3, and a wait for the second
    # page begins only once the first page's is over.)
    for page in (first, second):
        wait_shown(page, r"^Offline; retrying in 3 s; values from \d\d:\d\d:\d\d$")
    with ServerProcess(settings={"WWW_ROOT": web_root}, port=port) as again:
        set_led(again.port, True)
        wait_text(second, "#l", "On", timeout=8000)
        wait_match(second, "#s", r"^Live")


def test_values_are_dimmed_with_their_time_when_the_page_goes_offline(web_root, browser):
    with serve(web_root, STATUS_INTERVAL_MS=500) as srv:
        page = browser().new_page()
        page.goto("http://127.0.0.1:%d/" % srv.port)
        wait_text(page, "#s", "Live")
        opacity = "() => getComputedStyle(document.querySelector('dl')).opacity"
        assert page.evaluate(opacity) == "1"
        assert "stale" not in page.get_attribute("body", "class").split()
        time.sleep(1.2)  # at least one more status event: its time is the one shown
        shown = page.evaluate("() => new Date().toTimeString().slice(0, 8)")
        record_texts(page, "#s")
    # The board is gone: the last values stay, dimmed, with the time they came.
    wait_shown(page, r"^Offline; retrying in 3 s; values from \d\d:\d\d:\d\d$")
    assert "stale" in page.get_attribute("body", "class").split()
    assert float(page.evaluate(opacity)) < 0.5
    assert float(page.evaluate("() => getComputedStyle(document.querySelector('#l')).opacity")) < 0.5
    at = page.text_content("#s")[-8:]
    h, m, s = (int(x) for x in shown.split(":"))
    ah, am, as_ = (int(x) for x in at.split(":"))
    assert abs((h * 3600 + m * 60 + s) - (ah * 3600 + am * 60 + as_)) <= 2, (shown, at)


def test_the_log_page_follows_the_board_live_and_reloads_without_javascript(web_root, browser):
    with serve(web_root) as srv:
        port = srv.port
        page = browser().new_page()
        problems = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto("http://127.0.0.1:%d/logs" % port)
        assert page.title() == "picow log"
        wait_text(page, "#s", "Live")
        client.get(port, "/health?from-the-test")
        page.wait_for_function(
            "() => document.querySelector('#g').textContent.includes('GET /health 200')", timeout=3000)
        text = page.text_content("#g")
        assert text.count("GET /logs 200") == 1  # what came after the page, once
        assert problems == []
        # Without JavaScript the page shows the lines it was sent and reloads itself.
        plain = browser(javascript=False).new_page()
        plain.goto("http://127.0.0.1:%d/logs" % port)
        assert "GET /health 200" in plain.text_content("#g")
        assert plain.text_content("#s") == "Reload the page for new lines."
        with plain.expect_navigation(timeout=15000):  # the <noscript> refresh, after 10 s
            pass
        assert plain.url == "http://127.0.0.1:%d/logs" % port
