"""The setup portal on a phone: Debian's Chromium, headless, at 360 px wide,
against boot.py and main.py on the unix port with the Wi-Fi stand-in
(tests/stubs), as in test_wifi.py. The page must fit the screen, a tapped
network must fill the name (with and without JavaScript), the password can
be shown, and the page after saving says how to find the board.

The screenshot of each run is saved as test-artifacts/portal.png; the one in
the README (docs/portal.png) is written when it is missing or when the tests
run with UPDATE_SCREENSHOT=1.
"""

import json
import os
import shutil

import pytest

from serverproc import PICO_LIB, ROOT, board_word_size
from chromium import CHROMIUM, CHROMIUM_ARGS

PHONE = {"width": 360, "height": 740}
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "portal.png"
DOCS_SCREENSHOT = ROOT / "docs" / "portal.png"
LONG_NAME = "Network-name-of-thirty-two-bytes"  # the longest an SSID can be, without a space
NETWORKS = "home:-52:3,Caf\u00e9 & Co:-60:3,%s:-67:3,cafe guest:-71:0" % LONG_NAME


@pytest.fixture
def portal(start_server, tmp_path):
    """The firmware with no credentials: it opens the setup portal."""
    creds = tmp_path / "wifi.json"
    settings = {"WIFI_CREDENTIALS_FILE": str(creds), "WATCHDOG_MS": 0, "ACCESS_LOG": "true"}
    srv = start_server(settings, script="tests/apps/firmware.py", path=("tests/stubs", PICO_LIB, "."),
                       env={"FAKE_WIFI_NETWORKS": NETWORKS}, start_timeout=20,
                       interpreter=board_word_size())  # (the board's word size: see test_wifi.firmware)
    srv.wait_for_log(r"setup portal: join Wi-Fi 'PicoW-Setup'")
    return srv, creds


@pytest.fixture
def phone(playwright, tmp_path):
    """phone(javascript=True) -> a new page in a fresh 360 px wide Chromium."""
    contexts = []

    def open_page(javascript=True):
        ctx = playwright.chromium.launch_persistent_context(
            str(tmp_path / ("profile%d" % len(contexts))), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, java_script_enabled=javascript, viewport=PHONE, is_mobile=True,
            has_touch=True, device_scale_factor=2, timeout=30000)
        ctx.set_default_timeout(10000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


def overflow(page):
    """How far the page reaches past the 360 px screen (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth") - PHONE["width"]


def test_the_setup_page_fits_a_phone_and_a_tapped_network_fills_the_name(portal, phone):
    srv, _ = portal
    page = phone()
    page.goto("http://127.0.0.1:%d/" % srv.port)
    assert page.title() == "Pico W setup"
    assert overflow(page) <= 0
    for selector in ("#ssid", "#pw", "button"):  # every field inside the screen
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    assert page.input_value("#ssid") == ""

    page.tap("text=Caf\u00e9 & Co")
    assert page.input_value("#ssid") == "Caf\u00e9 & Co"
    assert page.url == "http://127.0.0.1:%d/" % srv.port  # filled in place, no reload
    page.tap("text=%s" % LONG_NAME)
    assert page.input_value("#ssid") == LONG_NAME
    assert overflow(page) <= 0

    page.fill("#pw", "a-secret-pass")
    assert page.get_attribute("#pw", "type") == "password"
    page.tap("#show")
    assert page.get_attribute("#pw", "type") == "text"
    assert page.is_hidden("#mh")  # the broker (optional) is folded away
    page.tap("summary")
    for selector in ("#mh", "#mp", "#mu", "#mw"):  # unfolded: every field inside the screen
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], selector
    assert page.get_attribute("#mw", "type") == "password" and overflow(page) <= 0
    page.tap("summary")
    assert page.problems == []  # the style and script load under the server's CSP
    ARTIFACTS.mkdir(exist_ok=True)
    page.fill("#pw", "")
    page.tap('a[data-ssid="home"]')
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOT") == "1" or not DOCS_SCREENSHOT.exists():
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 5000


def test_without_javascript_a_tapped_network_comes_back_filled_in(portal, phone):
    srv, _ = portal
    page = phone(javascript=False)
    page.goto("http://127.0.0.1:%d/" % srv.port)
    assert page.is_hidden("#show")  # nothing that would not work
    page.tap("text=Caf\u00e9 & Co")
    page.wait_for_url("**/?ssid=Caf%C3%A9%20%26%20Co")
    assert page.input_value("#ssid") == "Caf\u00e9 & Co"
    assert overflow(page) <= 0
    assert page.problems == []


def test_the_saved_page_fits_and_says_every_way_to_find_the_board(portal, phone):
    srv, creds = portal
    page = phone()
    page.goto("http://127.0.0.1:%d/" % srv.port)
    page.tap('a[data-ssid="home"]')
    page.fill("#pw", "a-secret-pass")
    page.tap("button")
    page.wait_for_selector("text=Saved")
    text = page.inner_text("body")
    assert "joins home" in text
    assert "http://picow.local/" in text  # HOSTNAME.local
    assert "router's list of devices" in text
    assert "make repl" in text and "got IP" in text  # the serial console line
    assert "stays on for 2 seconds: joined" in text  # the LED pattern
    assert overflow(page) <= 0
    assert json.loads(creds.read_text()) == {"ssid": "home", "password": "a-secret-pass"}
    srv.wait_for_log(r"FAKE machine: reset")
