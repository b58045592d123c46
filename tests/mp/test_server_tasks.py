# The server's own long-lived tasks (accept and reaper) must outlive a full
# heap: if either ends, the server stops accepting or stops cutting clients
# that hold their slot, for good. A MemoryError can come from any step of
# their loops; here it is made to come where it once killed the accept task
# (the wait for a connection, whose generator is allocated) and where the
# reaper waits for the first connection, then the server must go on serving.
# A real server on a loopback port, and real client sockets, in one process.
import asyncio
import random

import httpd.server as server_module
from checks import FailingFirst
from httpd import Response, Router, Server

_HELLO = Response(b"hello\n")


def _server(**settings):
    router = Router()
    router.add("/", lambda req: _HELLO)
    server = Server(router)
    server.host = "127.0.0.1"
    server.port = random.randint(20000, 60000)  # not 0: the bound port is not exposed
    server.access_log = False
    for name, value in settings.items():
        setattr(server, name, value)
    return server


async def _started(server):
    task = asyncio.create_task(server.serve())
    for _ in range(100):
        if server.listening:
            return task
        await asyncio.sleep_ms(10)
    raise AssertionError("server did not start")


async def _get(port):
    """One GET / on a new connection: the whole answer (the server closes)."""
    reader, writer = await asyncio.wait_for_ms(asyncio.open_connection("127.0.0.1", port), 2000)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = b""
        while True:
            got = await asyncio.wait_for_ms(reader.read(256), 2000)
            if not got:
                return answer
            answer += got
    finally:
        writer.s.close()


async def _stop(server, task):
    await server.shutdown(1000)
    await asyncio.sleep_ms(0)
    assert task.done()


async def test_accept_task_outlives_memory_errors_while_waiting():
    real = server_module.wait_readable
    wait = server_module.wait_readable = FailingFirst(3, real)  # the next three waits fail
    server = _server()
    task = await _started(server)
    try:
        answer = await _get(server.port)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nhello\n"), answer
        assert wait.left == 0 and server.stats.errors == 3, (wait.left, server.stats.errors)
        assert server.listening and not task.done()
        answer = await _get(server.port)  # and the next one too
        assert answer.endswith(b"hello\n"), answer
    finally:
        server_module.wait_readable = real
        await _stop(server, task)


class _FailingEvent(asyncio.Event):
    """An Event whose first wait() fails as a full heap makes it fail (the
    wait is a coroutine, allocated on each call)."""

    def __init__(self):
        super().__init__()
        self.failures = 1

    def wait(self):
        if self.failures:
            self.failures -= 1
            raise MemoryError("memory allocation failed, allocating 64 bytes")
        return super().wait()


async def test_reaper_outlives_a_memory_error_and_still_cuts_idle_clients():
    server = _server(idle_timeout_ms=300)
    server._wake = _FailingEvent()
    task = await _started(server)
    try:
        await asyncio.sleep_ms(50)  # the reaper has met its MemoryError
        assert server._wake.failures == 0
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:  # connected, sends nothing: the idle deadline must close it
            got = await asyncio.wait_for_ms(reader.read(64), 3000)
        finally:
            writer.s.close()
        assert got == b"", got  # closed by the server, without an answer
        assert server.stats.idle_closed == 1, server.stats.idle_closed
        assert server.stats.errors == 1, server.stats.errors  # the MemoryError, counted
        answer = await _get(server.port)
        assert answer.endswith(b"hello\n"), answer
    finally:
        await _stop(server, task)
