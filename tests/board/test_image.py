"""The Pico W image as users flash it, booted in the rp2040js emulator with
nothing on its filesystem (in rp2040js none even mounts: _boot.py fails with
OSError 28, and os.listdir('/') is []). The emulator has no wireless chip (CYW43439), which is also
a real fault of real boards: the image must say so once, never block on the
chip again, keep serving (on any other interface) with the watchdog fed, and
not reset in a loop. Also: it is MicroPython for the Pico W with the whole
application frozen in, the heap left once the application listens, and the
MicroPython-side unit tests (tests/mp, those without sockets) pass on the rp2
port itself.

Fixtures (images, boot) are in conftest.py here; figures measured are printed
(pytest -s shows them)."""

import ast
import pathlib
import re
import time

import pytest

MP_TESTS = pathlib.Path(__file__).resolve().parents[1] / "mp"

LISTENING = rb"INFO:httpd:listening on http://0\.0\.0\.0:80/"
NO_CHIP = "ERROR:wifi:the wireless chip (CYW43439) does not answer: no Wi-Fi, no setup portal"
CHIP_TRY = "[CYW43] Failed to start CYW43"  # the driver's line, one per try of the chip
# Bytes free with the application built and listening (of 205,184). Was
# 175_000; watching a board (the log ring of LOG_RING_BYTES, the history's
# arrays, lib/monitor/__init__.py and its modules) cost 6,944 bytes here (174,704 free
# at 7a6b197, 167,760 at 42b1835, docs/monitoring.md); the update's boot side
# (lib/otaboot/__init__.py and its state), the security checks (Host, origin, token
# throttle) and the request head's own object 11,552 more: 156,208 free at
# 37a40ab. Loading what only a request, the page or the boot needs when it
# is needed, and no micropython-lib logging, gave 16,448 back: 172,656 free
# at 1c41696 (docs/benchmark.md). 171,616 at 56b40ce, 171,152 with lib/ in
# packages (issue 25; logging frozen but imported only by a user's module).
# 170,816 with the board's name and chip and the image's version in the
# status (issue 26: 336 bytes).
# The target keeps about 3 KB of that as margin against creeping growth.
HEAP_TARGET = 168_000
WATCHDOG_MAX_S = 8.4  # the RP2040's longest watchdog timeout (8388 ms)

# The modules of the application. On rp2 a frozen module's __file__ is its
# name in the manifest ("app.py", "httpd/server.py"), not ".frozen/...": what
# proves them frozen is that they import with sys.path reduced to ".frozen"
# while the filesystem is empty.
APP_MODULES = ("app", "httpd.server", "board", "wifi", "config", "www_data", "logging")
# Not frozen: the lazily loaded halves are frozen with their packages; nothing
# of the firmware is left out.
NOT_FROZEN = ()

# tests/mp modules frozen into the test image (tests/board/manifest.py): all
# but those that open sockets, which the rp2 port cannot loop back to itself.
BOARD_MP_MODULES = ("test_alloc", "test_codec", "test_host_cache", "test_memory", "test_request_body",
                    "test_request_headers", "test_request_line", "test_response", "test_router", "test_status")


@pytest.fixture
def release(boot, release_image):
    """The release image, booted and listening; .boot_s: host seconds to get there."""
    board = boot(release_image)
    board.wait_for(LISTENING, 60)
    board.boot_s = time.monotonic() - board.t_start
    uf2 = release_image.stat().st_size
    print("\nimage %s: %d bytes of firmware (%d bytes of uf2); listening %.1f s after the emulator started"
          % (release_image.name, uf2 // 2, uf2, board.boot_s))  # a 512-byte UF2 block carries 256
    return board


def to_repl(board):
    """Ctrl-C: the application stops its watchdog and ends; the REPL prompt."""
    board.write(b"\x03")
    board.wait_for(rb"stopped by Ctrl-C", 10)
    board.wait_for(rb">>> $", 10)


def test_the_image_is_micropython_for_the_pico_w_with_the_application_frozen_in(release):
    to_repl(release)
    out = release.run_nowait("import sys, os; print(sys.implementation.name, sys.platform, "
                             "repr(sys.implementation._machine), os.listdir('/'))", wait=True)
    assert "micropython rp2 'Raspberry Pi Pico W with RP2040' []" in out, out
    # A user's module logs through the frozen micropython-lib logging, and
    # its lines reach the log ring (/logs) once app/start.py has bridged it;
    # the server itself never imported it. (Before the check below, which
    # imports the modules afresh.)
    out = release.run_nowait(
        "import gc\n"
        "print('LOADED', 'logging' in sys.modules)\n"
        "from httpd import log\n"
        "from monitor.ring import LogRing\n"
        "ring = LogRing(512)\n"
        "log.tap(ring.write)\n"
        "gc.collect()\n"
        "before = gc.mem_alloc()\n"
        "import logging\n"
        "log.bridge()\n"
        "mine = logging.getLogger('mine')\n"
        "gc.collect()\n"
        "print('LOGGING_HEAP', gc.mem_alloc() - before)\n"
        "mine.warning('hello %d', 7)\n"
        "print('RING', ring.text())", wait=True)
    assert "LOADED False" in out, out
    print("\nmicropython-lib logging imported and bridged: %s bytes of heap" % re.search(r"LOGGING_HEAP (\d+)", out).group(1))
    assert "WARNING:mine:hello 7" in out.partition("RING")[2], out
    out = release.run_nowait(
        "import %s\n"
        "print('PATH', sys.path)\n"
        "sys.path[:] = ['.frozen']\n"
        "for m in %r:\n"
        "    for k in [k for k in sys.modules if k == m or k.startswith(m.split('.')[0] + '.') or k == m.split('.')[0]]:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        __import__(m)\n"
        "        print('FROZEN', m, sys.modules[m].__file__)\n"
        "    except ImportError as e:\n"
        "        print('NOT_FROZEN', m, e)\n"
        "for m in %r:\n"
        "    try:\n"
        "        __import__(m)\n"
        "        print('FROZEN', m, sys.modules[m].__file__)\n"
        "    except ImportError:\n"
        "        print('ABSENT', m)\n"
        "sys.path[:] = ['', '.frozen', '/lib']"
        % (", ".join(APP_MODULES), APP_MODULES, NOT_FROZEN), wait=True)
    assert "PATH ['', '.frozen', '/lib']" in out, out
    frozen = re.findall(r"FROZEN (\S+) (\S+)", out)
    assert sorted(m for m, _ in frozen) == sorted(APP_MODULES), out
    assert re.findall(r"ABSENT (\S+)", out) == list(NOT_FROZEN), out
    assert dict(frozen)["httpd.server"] == "httpd/server.py", out


def soft_boot(board):
    """Ctrl-C, then Ctrl-D at the REPL: a soft reset runs boot.py and main.py
    again in a fresh interpreter, now with the console attached (what the
    firmware prints before the host opens the USB console is lost, and the
    probe of the chip comes before that). Returns the console offset."""
    to_repl(board)
    mark = len(board.console_text())
    board.write(b"\x04")
    board.wait_for(LISTENING, 30)
    return mark


def test_without_a_wireless_chip_it_says_so_once_and_serves_on_without_a_reset_loop(release):
    t0 = time.monotonic()
    mark = soft_boot(release)
    print("\nsoft reset to listening: %.1f s" % (time.monotonic() - t0))
    text = release.console_text()[mark:]
    assert text.count(NO_CHIP) == 1, text
    tries_at_boot = text.count(CHIP_TRY)
    assert 1 <= tries_at_boot <= 2, text  # the probe at boot, nothing else
    # No radio: no portal pretended, no scan tried.
    assert "setup portal:" not in text and "starting the setup portal" not in text, text
    assert "scan failed" not in text, text
    # Longer than any watchdog timeout: a loop that stopped feeding it, or a
    # boot that fails and restarts, would show here.
    time.sleep(WATCHDOG_MAX_S + 3)
    text = release.console_text()[mark:]
    assert "INFO:watchdog:watchdog started: 8000 ms" in text, text  # armed, and fed since
    assert release.watchdog_resets == 0 and release.resets == 0, release.runner_log()
    assert len(re.findall(LISTENING.decode(), text)) == 1, text  # booted once
    assert "MicroPython v" not in text, text  # no banner: main.py did not end
    assert text.count(CHIP_TRY) == tries_at_boot, text  # nothing touched the chip while serving


def test_without_a_wireless_chip_the_led_and_the_status_answer_at_once(release):
    to_repl(release)
    tries = release.console_text().count(CHIP_TRY)
    out = release.run_nowait(
        "import time, app, settings\n"
        "a = app.App(settings.load())\n"
        "t = time.ticks_ms()\n"
        "a.board.set_led(True)\n"
        "s = a.status()\n"
        "print('STATUS', time.ticks_diff(time.ticks_ms(), t), s['board']['wifi_chip'], s['board']['led'],"
        " s['wifi'])", wait=True)
    m = re.search(r"STATUS (\d+) (\S+) (\S+) (\S+)", out)
    assert m, out
    ms, chip, led, wifi = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    assert (chip, led, wifi) == ("False", "True", "None"), out
    assert ms < 100, "setting the LED and the status took %d ms" % ms  # one chip try takes 400+
    assert release.console_text().count(CHIP_TRY) == tries


def test_the_status_and_the_metrics_name_the_board_and_the_image(release):
    # What /api/status and /metrics answer, from the image's own interpreter
    # (the release image has no network here: tests/board/test_board_net.py
    # serves the test images over SLIP). The image's version is its frozen
    # picow_image's, the board's name and chip MicroPython's.
    import firmware

    to_repl(release)
    out = release.run_nowait(
        "import app, settings\n"
        "from monitor.metrics import Metrics\n"
        "config = settings.load()\n"
        "a = app.App(config)\n"
        "s = a.status()\n"
        "print('STATUS', repr((s['image'], s['version'], s['board']['name'], s['board']['chip'])))\n"
        "print('RING', config.LOG_RING_BYTES)\n"
        "print('INFO', [l for l in Metrics(a).text().split(b'\\n') if l.startswith(b'picow_info')][0])",
        wait=True)
    version = firmware.app_version()
    assert "STATUS %r" % ((version, version, "Raspberry Pi Pico W", "RP2040"),) in out, out
    assert "RING 2048" in out, out  # the Pico W's default (settings.by_board)
    m = re.search(r"INFO b'(picow_info\{.*\} 1)'", out)
    assert m, out
    assert m.group(1) == ('picow_info{version="%s",image="%s",micropython="1.28.0",board="Raspberry Pi Pico W",'
                          'chip="RP2040",id="%s"} 1' % (version, version, "00" * 8)), out


def test_the_heap_left_with_the_application_listening_meets_the_target(release):
    to_repl(release)
    # main() once more, as main.py runs it, with a task that reports the heap
    # once everything is started; the modules stay imported from the first run.
    release.run_nowait(
        "import asyncio, gc, app\n"
        "async def heap_probe():\n"
        "    await asyncio.sleep_ms(1000)\n"
        "    gc.collect()\n"
        "    print('HEAP_FREE', gc.mem_free(), 'USED', gc.mem_alloc())\n"
        "app.main(tasks=(heap_probe(),))")
    release.wait_for(LISTENING, 20)
    m = release.wait_for(rb"HEAP_FREE (\d+) USED (\d+)", 20)
    free, used = int(m.group(1)), int(m.group(2))
    print("\nheap with the application listening: %d bytes free, %d used" % (free, used))
    to_repl(release)
    assert free >= HEAP_TARGET, "only %d bytes free (target %d)" % (free, HEAP_TARGET)


def _mp_test_names():
    names = []
    for module in BOARD_MP_MODULES:
        tree = ast.parse((MP_TESTS / (module + ".py")).read_text())
        names += ["%s::%s" % (module, node.name) for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")]
    return names


# As tests/mp/runner.py, for modules frozen into the image: every test_*
# function of each, plain or async, passes if it returns without raising.
# The rp2 port is built without MICROPY_MEM_STATS, so micropython.mem_total
# (every byte ever asked of the heap) is missing. Modules that use it get a
# stand-in whose mem_total is gc.mem_alloc(): with no collection in between
# (there is plenty of heap) it grows by whatever stays allocated or is not yet
# collected. It cannot see a frame that the VM puts on the heap and frees on
# return, which mem_total catches on the unix port; heap_lock() still proves,
# on the real port, that the locked paths allocate nothing.
_BOARD_RUNNER = """
import sys, gc, asyncio, micropython
class MemStats:
    heap_lock = micropython.heap_lock
    heap_unlock = micropython.heap_unlock
    mem_total = gc.mem_alloc
def run_all(modules):
    for module in modules:
        m = __import__(module)
        if not hasattr(micropython, 'mem_total') and getattr(m, 'micropython', None) is micropython:
            m.micropython = MemStats
        for name in sorted(n for n in dir(m) if n.startswith('test_')):
            gc.collect()
            try:
                r = getattr(m, name)()
                if hasattr(r, 'send'):
                    asyncio.run(r)
                    asyncio.new_event_loop()
                print('PASS %%s::%%s' %% (module, name))
            except Exception as e:
                print('FAIL %%s::%%s' %% (module, name))
                sys.print_exception(e)
    print('RUN_DONE')
run_all(%r)
"""


def test_the_socket_free_micropython_tests_pass_on_the_rp2_port(boot, test_image):
    board = boot(test_image)
    board.wait_for(LISTENING, 60)
    to_repl(board)
    t0 = time.monotonic()
    board.run_nowait(_BOARD_RUNNER % (BOARD_MP_MODULES,))
    board.wait_for(rb"(?m)^RUN_DONE\r?$", 600)  # not the echo of the pasted code
    print("\n%d tests of tests/mp on the board in %.1f s" % (len(_mp_test_names()), time.monotonic() - t0))
    text = board.console_text()
    passed = re.findall(r"^PASS (\S+)\r?$", text, re.M)
    failed = re.findall(r"^FAIL (\S+)\r?$", text, re.M)
    # Each failure with its traceback: from its FAIL line to the next result.
    reports = re.findall(r"^FAIL .*?(?=^PASS |^FAIL |^RUN_DONE)", text, re.M | re.S)
    assert not failed, "".join(reports)[:6000]
    assert sorted(passed) == sorted(_mp_test_names())
