"""The emulated Pico W firmware answers TCP from the host through its own lwIP.

Boots a SLIP test image (PICO_SLIP_IMAGE, or one tools/firmware.py built) in
rp2040js, starts a small asyncio echo server on the board from the REPL, and
talks to it from a network namespace over SLIP on UART0 (tests/board/
emulator.py). Needs root (netns, TUN), /dev/net/tun, and the emulator
(node, rp2040js, the boot ROM: the conftest's `emulator` fixture checks them).
"""

import os
import statistics
import time

import pytest

from emulator import Board, SlipLink


ECHO_SERVER = """
import asyncio, slipnet
async def echo(r, w):
    try:
        while True:
            data = await r.read(512)
            if not data:
                break
            w.write(data)
            await w.drain()
    finally:
        await w.wait_closed()
async def main():
    slipnet.start()
    await asyncio.start_server(echo, "0.0.0.0", 7)
    print("ECHO", "READY")
    while True:
        await asyncio.sleep(1)
asyncio.run(main())
"""


def why_not():
    if os.geteuid() != 0:
        return "needs root (a network namespace and a TUN device)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    return None


pytestmark = pytest.mark.skipif(why_not() is not None, reason=why_not() or "")


@pytest.fixture
def board_link(request, emulator):
    # PICO_SLIP_IMAGE, or the test image tests/board/conftest.py builds
    image = os.environ.get("PICO_SLIP_IMAGE") or request.getfixturevalue("test_image")
    link = SlipLink()
    board = Board(image, uart=link.board_end, bootrom=emulator)
    try:
        board.start()
        yield board, link
    finally:
        board.stop()
        link.close()


def echo_round_trips(board, link, n=20):
    """Start an echo server from the REPL; time n small round trips."""
    board.repl("import lwip; print(lwip.slip)")
    board.run_nowait(ECHO_SERVER)
    board.wait_for("ECHO READY", 20)
    rtts = []
    with link.connect(7, timeout=10) as s:
        for i in range(n):
            msg = b"ping %d\n" % i
            t = time.monotonic()
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(512)
                assert chunk, "the board closed the connection"
                got += chunk
            rtts.append(time.monotonic() - t)
            assert got == msg
    return rtts


def http_round_trips(link, port, n=10):
    """The image runs its application at boot (and perhaps a watchdog that
    the REPL would trip): time n GET / requests instead."""
    rtts = []
    for _ in range(n):
        t = time.monotonic()
        with link.connect(port, timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: 192.0.2.2\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        rtts.append(time.monotonic() - t)
        assert answer.startswith(b"HTTP/1."), answer[:200]
    return rtts


def test_bytes_round_trip_through_the_boards_own_lwip(board_link, record_property):
    board, link = board_link
    t0 = time.monotonic()
    # The REPL banner, or the log line of an application that main.py starts.
    booted = board.wait_for(rb"MicroPython v1\.28\.0|listening on http://[0-9.]+:(\d+)/", 30)
    boot_s = time.monotonic() - t0
    if booted.group(1):
        kind, rtts = "GET /", http_round_trips(link, int(booted.group(1)))
    else:
        kind, rtts = "echo", echo_round_trips(board, link)
    median_ms = statistics.median(rtts) * 1000
    record_property("boot_s", round(boot_s, 2))
    record_property("rtt_median_ms", round(median_ms, 1))
    print(f"boot {boot_s:.2f}s, {kind} round trip median {median_ms:.1f} ms "
          f"(first {rtts[0] * 1000:.0f} ms, max {max(rtts) * 1000:.0f} ms)")
    assert board.watchdog_resets == 0
