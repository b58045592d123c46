"""The Pico W profile (tools/picow_profile.py), one definition for the tests
(serverproc.py) and make bench (tools/benchlib/servers.py): a server started
in it by either holds 5 client sockets at most, like lwIP's 5 TCP
connections: a sixth client waits unanswered until one of the five leaves,
and Ctrl-C stops it."""

import socket
import sys
import time

import pytest

from serverproc import ROOT, ServerProcess

sys.path.insert(0, str(ROOT / "tools"))
import picow_profile  # noqa: E402
from benchlib.common import APPS  # noqa: E402
from benchlib.servers import Server  # noqa: E402

REQUEST = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def ceiling_as_make_bench_starts_it():
    """make bench's ceiling (a bare keep-alive loop) as make bench starts it."""
    return Server("ceiling")


def ceiling_as_the_tests_start_it():
    """The same loop as the tests start a server."""
    return ServerProcess(script=APPS / "ceiling.py", path=(APPS,))


def answered(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096).startswith(b"HTTP/1.1 200")
    except socket.timeout:
        return False


@pytest.mark.parametrize("start", [ceiling_as_the_tests_start_it, ceiling_as_make_bench_starts_it], ids=["serverproc", "bench"])
def test_a_sixth_client_waits_until_one_of_five_leaves(start):
    with start() as srv:
        clients = [socket.create_connection(("127.0.0.1", srv.port), timeout=2) for _ in range(6)]
        try:
            for c in clients[:5]:
                c.sendall(REQUEST)
                assert answered(c, 2), "one of the first five clients was not answered"
            clients[5].sendall(REQUEST)  # its connection waits in the kernel's queue
            assert not answered(clients[5], 1), "a sixth client was served: the socket limit is not applied"
            clients[0].close()
            assert answered(clients[5], 5), "the sixth client was not served after one of five left"
        finally:
            for c in clients:
                c.close()
        proc = srv.proc
    assert proc.poll() is not None  # stopped on leaving the with block


def test_stop_ends_the_unix_port_with_ctrl_c_as_on_a_board():
    srv = ceiling_as_the_tests_start_it().start()
    try:
        started = time.monotonic()
        code = srv.stop()  # picow_profile.stop: SIGINT, a kill only after 5 s
        took = time.monotonic() - started
    finally:
        picow_profile.stop(srv.proc, 0)
    assert took < 4 and code != -9, "not ended by SIGINT but killed after the timeout"
    assert "KeyboardInterrupt" in srv.output(), (code, srv.output())
