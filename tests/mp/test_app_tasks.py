# The application's long-lived tasks outlive a MemoryError, as the server's
# own do (test_server_tasks.py): the Wi-Fi monitor (else a lost link is never
# rejoined), the status publisher (else live pages freeze) and the captive
# DNS responder (else phones stop finding the setup page). Each is made to
# meet a MemoryError where a full heap would raise one, then must go on.
import sys

sys.path.append("../stubs")  # the Pico W stand-ins, for wifi's `network`

import asyncio
import random
import socket

from wifi import dns
import network
from checks import FailingFirst
from httpd.server import wait_readable


class _Config:
    WIFI_CHECK_MS = 20
    WIFI_RETRY_MS = 20
    WIFI_MAX_BACKOFF_MS = 40
    WIFI_CONNECT_TIMEOUT_MS = 200


class _FlakyWLAN:
    """A joined station whose status() first fails as a full heap makes it."""

    def __init__(self):
        self.failures = 1
        self.calls = 0

    def status(self, param=None):
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise MemoryError("memory allocation failed, allocating 48 bytes")
        return network.STAT_GOT_IP

    def ifconfig(self):
        return ("192.168.1.20", "255.255.255.0", "192.168.1.1", "192.168.1.1")


async def test_wifi_monitor_outlives_a_memory_error():
    import wifi

    station = wifi.Station(_Config(), None)
    station.wlan = _FlakyWLAN()
    task = asyncio.create_task(station.monitor())
    await asyncio.sleep_ms(300)
    assert not task.done()
    task.cancel()
    calls = station.wlan.calls
    assert station.wlan.failures == 0 and calls >= 4, calls  # it went on checking the link
    assert station.alive()


async def test_status_publisher_outlives_a_memory_error():
    """The status feed as Dashboard.install wires it (the task it adds to
    app.tasks), with a status that fails once for want of memory."""
    import app
    import config
    import dashboard
    from board.pc import HostStandIn
    from httpd.sse import _Listener

    application = app.App(config, HostStandIn())
    d = dashboard.install(application)
    made = [0]

    def status_json():
        made[0] += 1
        if made[0] == 1:
            raise MemoryError("memory allocation failed, allocating 600 bytes")
        return '{"n": %d}' % made[0]

    d.status_json = status_json
    listener = _Listener()
    d.hub._listeners.append(listener)
    task = asyncio.create_task(application.tasks[-1])  # the feed install() added
    await asyncio.sleep_ms(d.interval * 4 + 50)
    assert not task.done()
    task.cancel()
    assert made[0] >= 3, made  # the first update failed, later ones were made
    assert listener.pending.get("status") == '{"n": %d}' % made[0], listener.pending


async def test_dns_responder_outlives_a_memory_error():
    wait = dns.wait_readable = FailingFirst(2, wait_readable)
    responder = dns.CaptiveDNS("192.168.4.1", random.randint(20000, 60000))
    task = asyncio.create_task(responder.run())
    asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        await asyncio.sleep_ms(200)  # both failures met, the responder waits again
        assert wait.left == 0 and not task.done()
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01"
        asker.setblocking(False)
        asker.sendto(query, socket.getaddrinfo("127.0.0.1", responder.port)[0][-1])
        await asyncio.wait_for_ms(wait_readable(asker), 2000)
        reply = asker.recv(512)
        assert reply[:2] == b"\x12\x34" and reply.endswith(bytes([192, 168, 4, 1])), reply
        assert responder.answered == 1 and responder.dropped == 2
    finally:
        asker.close()
        dns.wait_readable = wait_readable
        task.cancel()
        await asyncio.sleep_ms(0)
