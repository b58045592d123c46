import os

import pytest

from chromium import CHROMIUM
from serverproc import ServerProcess

# tests/mp/ and tests/apps/ hold MicroPython code: run on the unix port by
# test_micropython.py and the server fixtures, never imported by CPython.
collect_ignore = ["mp", "apps"]


@pytest.fixture
def start_server():
    """start_server(**settings) -> a running ServerProcess in the Pico W profile;
    every server started is stopped when the test ends, pass or fail."""
    started = []

    def start(settings=None, **kwargs):
        srv = ServerProcess(settings=settings, **kwargs)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def server(start_server):
    """The application with its default settings, in the Pico W profile."""
    return start_server()


@pytest.fixture(scope="module")
def playwright():
    """Playwright driving Debian's Chromium (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail("%s is missing: install Debian's chromium (make test does)" % CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
