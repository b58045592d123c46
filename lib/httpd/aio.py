# asyncio helpers for sockets, which MicroPython's asyncio lacks: waiting for
# a socket that is not a stream (a listening or a UDP socket), writing that
# pauses when the network stack is out of memory, and closing at once.
# MIT license
#
# The only module that touches asyncio's internals (the Stream's socket `s`
# and its kept output `out_buf`, the I/O queue): the rest of the server uses
# these functions, so a change in MicroPython's asyncio is met here.

from micropython import const
import asyncio
import select
import socket

_NO_MEMORY_PAUSE_MS = const(20)  # a write the stack refused for want of memory is tried again after this


def wait_readable(sock):
    """Await this to wait until `sock` can be read (or accepted from). It is
    what asyncio's own Stream.read does before reading: asyncio has no public
    call for a socket that is not a stream (a listening or a UDP socket)."""
    yield asyncio.core._io_queue.queue_read(sock)  # pyright: ignore[reportAttributeAccessIssue]


def wait_writable(sock):
    yield asyncio.core._io_queue.queue_write(sock)  # pyright: ignore[reportAttributeAccessIssue]


async def drain(stream, moved, arg):
    """Stream.drain(), except when the socket is writable but takes nothing:
    lwIP out of memory for queued output (our firmware's modlwip says EAGAIN
    then, instead of blocking for up to 10 s). Stream.drain() would retry at
    once, forever, a busy loop starving every other task; this pauses. The
    caller's write deadline bounds the whole.

    Each time the socket takes some of the output, moved(arg) is called:
    the caller's record that its peer reads. It comes while drain still
    waits (a value returned at the end would be too late for a server that
    tells a slow reader from a stalled one meanwhile), and costs no heap: a
    plain function and its argument, not a closure or a bound method."""
    buf = stream.out_buf
    mv = memoryview(buf)
    off = 0
    end = len(buf)
    while off < end:
        await wait_writable(stream.s)  # pyright: ignore[reportGeneralTypeIssues]
        n = stream.s.write(mv[off:])
        if n:
            off += n
            moved(arg)
        else:
            await asyncio.sleep_ms(_NO_MEMORY_PAUSE_MS)
    stream.out_buf = b""


def unsent(stream):
    """How many bytes written to the Stream its socket has not taken yet
    (Stream.write keeps them; drain() hands them over)."""
    return len(stream.out_buf)


def write_now(stream, data):
    """One write straight to the socket, past what the Stream keeps, never
    awaited: a last answer before closing. What the socket does not take
    at once is lost. Raises OSError as the socket's write does."""
    return stream.s.write(data)


_poller = None  # for has_input, made at its first use


def has_input(stream):
    """Whether the socket has something to read (data or its end) that its
    task has not taken yet: a connection that looks idle may have its next
    request waiting for its task's turn."""
    global _poller
    if _poller is None:
        _poller = select.poll()
    s = stream.s
    _poller.register(s, select.POLLIN)
    try:
        for _ in _poller.ipoll(0):  # (ipoll allocates no list)
            return True
        return False
    finally:
        _poller.unregister(s)


def forget_wait():
    """Call after a MemoryError in a task that waits with wait_readable: a
    wait that failed half-way can leave its poll entry behind, which would
    make the task's next wait fail. Allocates nothing."""
    asyncio.core._io_queue.remove(asyncio.current_task())  # pyright: ignore[reportAttributeAccessIssue]


def wake(task):
    """Wake `task` if it waits for a socket (a write of an application's
    task on a WebSocket whose connection another task has closed since):
    it would wait for ever on a closed socket, which no poll reports. It
    goes on at once, and its write raises OSError."""
    q = asyncio.core._io_queue  # pyright: ignore[reportAttributeAccessIssue]
    if task.data is q:
        q.remove(task)
        asyncio.core._task_queue.push(task)  # pyright: ignore[reportAttributeAccessIssue]


def close(stream):
    # Stream.close() does nothing in MicroPython and wait_closed() is a
    # coroutine; closing the socket itself is synchronous, so no cancellation
    # can come between us and the close.
    try:
        stream.s.close()
    except OSError:
        pass


# An abortive close (RST) gives the network stack's connection back at once,
# with whatever output is still queued for it. lwIP on the Pico W has 5 TCP
# PCBs in all and 8,000 bytes for all queued output: a connection closed
# gracefully stays half-open, holding both, for as long as its peer keeps it
# (modlwip aborts it after 10 s). Where the socket module has no SO_LINGER
# (stock MicroPython on the Pico W) the close stays graceful.
SO_LINGER = getattr(socket, "SO_LINGER", None)
# Without it (stock MicroPython's lwIP) a non-blocking write also blocks, for
# up to 10 s, while lwIP's 8,000 bytes for all queued output are full: there
# an answer should put little in flight at once (lib/dashboard/page.py).
SMALL_WRITES = SO_LINGER is None
_LINGER_OFF = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # struct linger {on: 1, seconds: 0}


# Our firmware's (firmware/patches/lwip): a connection marked reclaimable may
# be reset by lwIP itself when a new connection finds every one of its 5 in
# use, instead of that SYN being dropped; the next data it receives takes the
# mark back. Elsewhere (stock MicroPython, Linux) None: the server's own
# eviction, at accept, is all there is.
SO_RECLAIMABLE = getattr(socket, "SO_RECLAIMABLE", None)
SILENT = 1  # why: it sent nothing for a while (refused while data waits to be read)
NOT_READING = 2  # why: its window is closed with output waiting (refused while it is open)


def reclaimable(stream, why):
    """Mark the connection reclaimable (why: SILENT or NOT_READING) or not
    (0). Whether it is marked: lwIP checks `why` itself."""
    try:
        stream.s.setsockopt(socket.SOL_SOCKET, SO_RECLAIMABLE, why)
        return bool(why)
    except OSError:
        return False  # not so after all, or closed or reset meanwhile


def abort(stream):
    if SO_LINGER is not None:
        try:
            stream.s.setsockopt(socket.SOL_SOCKET, SO_LINGER, _LINGER_OFF)
        except (OSError, ValueError):
            pass  # (a port whose int is not 32 bits, or an unsupported option)
    close(stream)
