# The HTTP/1.1 server: connection slots, deadlines, and the path of one request.
# MIT license
#
# The path of one request, top to bottom in this file:
#
#   serve and _accept: accept -> _connection: take a slot (_admit), or answer
#   503 (_reject) -> _serve, the keep-alive loop: read under the idle, then
#   the head deadline, while the slot's Head (head.py) parses each line
#   against the limits -> _read_body under the body deadline -> _answer: the
#   Host and cross-site checks, route, call the handler (awaited under the
#   handler deadline if it is async) -> _queue hands a small answer to the
#   socket at once, _send writes the rest under the write deadline -> next
#   request, or close in the `finally` of _connection.
#
# Then the policies the path calls on: admission (_crowded at accept, _admit
# and _take_slot: a free slot, or the one of a connection given up for the
# newcomer), cutting (_cut, _on_cut), refusing (_reject, _linger), the reaper
# (_reap), and stopping (close, shutdown, close_sockets).
#
# Deadlines are not wait_for() calls (each would create a task): every
# connection records when its current wait must end, and one reaper task
# cancels the connection's task when that time has passed. With no connection
# open the reaper sleeps on an Event, so an idle server uses no CPU.

from micropython import const
import asyncio
import gc
import socket
from errno import ECONNABORTED, ECONNRESET, EHOSTUNREACH, ENOTCONN, ETIMEDOUT
from time import ticks_add, ticks_diff, ticks_ms

from . import defaults, log, origin
from .head import Head
from .aio import NOT_READING, SILENT, SO_LINGER, SO_RECLAIMABLE, forget_wait, wait_readable
from .aio import abort as _abort, close as _close, drain as _drain, has_input as _has_input
from .aio import reclaimable as _reclaimable, unsent as _unsent, write_now as _write_now
from .response import TEXT, Response
from .status import HTTPError

# What a connection's task is waiting for; recorded when the reaper cuts it.
_IDLE = const(0)  # the first byte of a request (new connection or keep-alive)
_HEAD = const(1)  # the rest of the request head
_BODY = const(2)  # the request body
_HANDLER = const(3)  # the handler's answer
_WRITE = const(4)  # the client to take the response
_STREAM = const(5)  # a streamed body's next piece
_LINGER = const(6)  # the client to finish sending after an error answer
_EVICTED = const(7)  # not a phase: the slot was given to a new client
_NEW = const(8)  # admitted or between requests, before the next wait
# No longer HTTP: the connection is an upgraded protocol's (a WebSocket,
# websocket.py), waiting for its peer. At its deadline the reaper asks the
# protocol (c.upgraded.overdue()) whether to cut it: a WebSocket pings first.
_UPGRADED = const(9)

_EPIPE = const(32)  # not in MicroPython's errno module; same value on Linux and lwIP
_PEER_GONE = (ECONNRESET, ECONNABORTED, ENOTCONN, ETIMEDOUT, EHOSTUNREACH, _EPIPE)
# No descriptor free to open a file (a module imported at its route's first
# request, a static file): every one is held by a client for the moment.
# ENFILE, EMFILE: not in MicroPython's errno module; Linux's values.
_NO_DESCRIPTOR = (23, 24)

_OUT_SIZE = const(1024)  # gathers status line, headers and small bodies into one write
# On a stack that cannot reset a connection (stock MicroPython on the Pico W:
# no SO_LINGER, see _abort), pipelined requests are answered only while the
# answers not yet followed by anything from the client stay under this. A
# client that sends requests and never reads makes every answer wait in the
# stack's memory: 8,000 bytes for all connections, each of which may queue
# 6,400 there, and a write that finds it full stops the whole server for up
# to 10 s. Browsers do not pipeline; a client that does gets its answers a few
# at a time, on new connections. Where the stack can reset a connection (our
# firmware, which also queues at most 1,600 bytes per connection; Linux), a
# stuck one is evicted or cut and its memory freed at once: no limit needed.
_UNCONFIRMED_MAX = const(1024)
_PIPELINE_LIMIT = _UNCONFIRMED_MAX if SO_LINGER is None else 0x3FFFFFFF  # (a small int on the board)

_CRLF = b"\r\n"
_CLOSE = b"Connection: close\r\n\r\n"
_KEEP_ALIVE_10 = b"Connection: keep-alive\r\n\r\n"
_CHUNKED = b"Transfer-Encoding: chunked\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"

_ACCEPT_PAUSE_MS = const(100)  # longest wait after a failed accept (no descriptor, no buffer)
_OOM_PAUSE_MS = const(50)  # the accept and reaper tasks' pause after a MemoryError

# The policies' limits (the policies come after the request path, below;
# a const must come before its first use).
#
# Newcomers waiting for a slot at once, and newcomers being answered 503 at
# once. With every slot taken and both full (or the waiting room full while
# an idle slot holder is about to make room), the server accepts no one else:
# newcomers wait in the network stack's queue (on the Pico W they cannot even
# connect: lwIP has 5 sockets), so everyone it accepts gets an answer.
_MAX_WAITING = const(4)
_MAX_REFUSING = const(4)
_SLOT_POLL_MS = const(20)  # how often a waiting newcomer looks for a slot

_LINGER_MS = const(1000)  # how long to drain input before closing after an error
_LINGER_BYTES = const(8192)  # and how much of it at most
_REAP_MS = const(200)  # how often deadlines are checked while connections are open
# When a connection may be given up for a newcomer (see _over_grace, and
# _reap for how: a connection that may still be used is closed, one whose
# peer does not read is reset):
# - between requests (keep-alive), after this long idle. A browser asks for
#   a page's script on the page's connection, a moment after the page: closed
#   before that, it opens another (slower in a crowd, no error); a request
#   that crosses the close is resent, on a connection it has used before;
_EVICT_GRACE_MS = const(250)
# - accepted and silent, after this long: until then its request may be on
#   the way, and a browser does not resend a request lost on a connection it
#   has just opened (the page or script is lost). A browser's spare
#   connections idle for seconds: Chromium opens a second one when its SYN
#   is not answered within 250 ms, and in a crowd about one page in two
#   left one, each holding one of lwIP's 5 connections while other
#   browsers' SYNs were dropped. A browser sends its request as soon as it
#   is connected (within 0.1 s in the crowd traces since the test rig was
#   fixed; over 1 s on the starved rig, which is why this was 2 s); with
#   1 s, 15 browsers loaded within 6.3-8.6 s instead of 6.8-13.9 s
#   (docs/lwip.md). (A newcomer waits up to SLOT_WAIT_MS, 5 s, for a
#   silent slot holder to pass it.)
_FRESH_GRACE_MS = const(1000)
# - its output not moving for this long (the peer stopped reading). Where
#   the stack can tell (our image: aio.NOT_READING), only once the peer's
#   window has been closed for _CLOSED_GRACE_MS: a browser reads as data
#   comes, even in a hidden tab, and a newcomer waits for this (four clients
#   that never read: with 1 s, a visitor arriving with them waited 1.5 s, and
#   2.2 s beside a CPU hog, past the 2 s it is promised); a connection whose
#   lost segments are being resent (lwIP waits up to 3 s before the first
#   resend) is evicted only after _RESEND_GRACE_MS. While the server is
#   crowded such a connection is shed by the reaper, without waiting for a
#   newcomer (see _shed_if_stalled).
_STALL_GRACE_MS = const(1000)
_CLOSED_GRACE_MS = const(500)
_RESEND_GRACE_MS = const(3000)


class Stats:
    def __init__(self):
        self.accepted = 0  # connections accepted
        self.requests = 0  # responses sent
        self.bad_requests = 0  # requests refused by the parser (4xx/5xx before routing)
        self.timed_out = 0  # cut by the head, body, handler or write deadline
        self.idle_closed = 0  # closed after the idle timeout with no request under way
        self.dropped = 0  # the peer vanished (reset, or closed mid-request)
        self.rejected = 0  # answered 503 because every slot was busy
        self.evicted = 0  # connections given up for newcomers (idle, stalled writers, streams)
        self.errors = 0  # handler exceptions, 500s, MemoryErrors


class _Conn:
    """One client connection. `slot` is the slot it borrowed from the pool
    (a Head, head.py: the request head's buffer and its Request); a
    connection being refused has none."""

    def __init__(self, stream, task, peer=None):
        self.stream = stream
        self.task = task  # what the reaper or an eviction cancels
        self.peer = peer  # the address accept() gave
        self.slot = None
        self.phase = _NEW
        self.deadline = None  # ticks_ms after which the reaper cuts the task
        self.since = ticks_ms()  # when the current phase began
        self.cut = None  # the phase the reaper cut, or _EVICTED
        self.started = self.since  # when the current request's first byte came
        self.unconfirmed = 0  # bytes answered since the client last sent anything
        self.fresh = True  # nothing received yet: idle since it was accepted
        self.reclaimable = False  # marked for lwIP to reclaim (aio.reclaimable)
        self.upgraded = None  # after a 101: the protocol's session (a WebSocket)

    def wait(self, phase, timeout_ms):
        """About to wait for `phase`, for at most timeout_ms."""
        self.phase = phase
        self.since = ticks_ms()
        self.deadline = ticks_add(self.since, timeout_ms)

    def hold(self, deadline):
        """Upgraded: waiting for the peer until `deadline` (ticks_ms)."""
        self.phase = _UPGRADED
        self.deadline = deadline

    def moved(self):
        """Some of the output went out (aio.drain calls this): the peer
        reads. `since` says when it last did (a stalled writer may be given
        up: _over_grace)."""
        self.since = ticks_ms()
        if self.reclaimable:  # it reads again: no longer a stalled writer
            self.reclaimable = _reclaimable(self.stream, 0)


class _Settings:
    """Each setting's value: config's, else the core's default. (Read as
    attributes: a name is interned once, shared with config.py's; a string
    constant would be an object of its own on the heap.)"""

    def __init__(self, config):
        self._config = config

    def __getattr__(self, name):
        return getattr(self._config, name, getattr(defaults, name))


class Server:
    def __init__(self, router, config=None, logger=None):
        """config: an object with the settings of defaults.py (config.py
        imports them all); a name it lacks keeps its default."""
        setting = _Settings(config)
        self.host = setting.HOST
        self.port = setting.PORT
        self.backlog = setting.BACKLOG
        self.max_connections = setting.MAX_CONNECTIONS
        self.slot_wait_ms = setting.SLOT_WAIT_MS
        self.retry_after_s = setting.RETRY_AFTER_S
        self.idle_timeout_ms = setting.IDLE_TIMEOUT_MS
        self.head_timeout_ms = setting.HEAD_TIMEOUT_MS
        self.body_timeout_ms = setting.BODY_TIMEOUT_MS
        self.handler_timeout_ms = setting.HANDLER_TIMEOUT_MS
        self.write_timeout_ms = setting.WRITE_TIMEOUT_MS
        self.max_request_line = setting.MAX_REQUEST_LINE  # these five: enforced by Head
        self.max_header_line = setting.MAX_HEADER_LINE
        self.max_head = setting.MAX_HEAD
        self.max_headers = setting.MAX_HEADERS
        self.max_body = setting.MAX_BODY
        self.allowed_hosts = tuple(setting.ALLOWED_HOSTS)
        self.access_log = setting.ACCESS_LOG  # a line per request costs more than parsing it
        self.max_websockets = setting.MAX_WEBSOCKETS  # these four: websocket.py's
        self.ws_max_message = setting.WS_MAX_MESSAGE
        self.ws_ping_ms = setting.WS_PING_MS
        self.ws_pong_timeout_ms = setting.WS_PONG_TIMEOUT_MS
        self.websockets = []  # the open WebSocket sessions, oldest first
        self.router = router
        self.log = logger or log.get_logger("httpd")
        self.stats = Stats()
        self.error_handler = default_error_response
        self.closing = False
        self._conns = []  # every open connection, for the reaper and shutdown
        self._waiting = 0
        self._refusing = 0
        self._open = 0  # connections accepted and not yet closed
        self._pool = []  # the free slots: a Head (head.py) each
        for _ in range(self.max_connections):
            self._pool.append(Head(self))
        self._out = bytearray(_OUT_SIZE)
        self._out_mv = memoryview(self._out)
        busy = Response(b"503 Service Unavailable: server busy, retry shortly\n", 503, TEXT,
                        [("Retry-After", self.retry_after_s)])
        self._busy = busy.head() + _CLOSE + busy.body
        self._wake = asyncio.Event()  # a connection opened: wakes the reaper
        self._closed = asyncio.Event()  # a connection closed: wakes a stalled accept
        self._acceptor = None
        self._reaper = None
        self._listener = None  # the listening socket while serve() runs
        self.listening = False  # True while the accept task runs (a watchdog checks it)

    @property
    def active(self):
        """Connections holding a slot."""
        return self.max_connections - len(self._pool)

    @property
    def open(self):
        """Connections accepted and not yet closed (with or without a slot)."""
        return self._open

    @property
    def crowded(self):
        """Whether the network stack is nearly out of connections: the server
        holds MAX_CONNECTIONS or more (on a Pico W, lwIP has 5 in all), and a
        newcomer may already be waiting for one."""
        return self._open >= self.max_connections

    # -- listening and accepting ----------------------------------------------

    async def serve(self):
        """Listen and serve until close(); raises if the port cannot be bound."""
        self.closing = False
        ai = socket.getaddrinfo(self.host, self.port)[0]
        sock = socket.socket(ai[0], socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind at once after a restart
            sock.bind(ai[-1])
            sock.listen(self.backlog)
            sock.setblocking(False)
            self._listener = sock
            self._reaper = asyncio.create_task(self._reap())
            self._acceptor = asyncio.create_task(self._accept(sock))
            self.log.info("listening on http://%s:%d/", self.host, self.port)
            self.listening = True
            try:
                await self._acceptor
            except asyncio.CancelledError:
                if not self.closing:
                    raise
        finally:
            self.listening = False
            self._listener = None
            sock.close()
            self.close()

    async def _accept(self, sock):
        # Not asyncio.start_server: its accept task dies of a MemoryError while
        # making a connection's Stream or Task (seen at -X heapsize=64K), and
        # with it the server. Here a full heap costs connections, never this
        # task: every step of the loop allocates (the wait's generator and
        # poll entry, the accepted socket, its Stream and Task).
        while True:
            try:
                if self._crowded():
                    await self._room()
                    continue
                await wait_readable(sock)  # pyright: ignore[reportGeneralTypeIssues]
                try:
                    client, peer = sock.accept()
                except OSError:
                    # Out of descriptors or buffers: the client waits in the
                    # backlog until a connection closes (or a moment has
                    # passed), instead of a spin on a socket that stays readable.
                    await self._room()
                    continue
                try:
                    client.setblocking(False)
                    _no_delay(client)
                    asyncio.create_task(self._connection(asyncio.StreamReader(client), peer))
                except MemoryError:
                    client.close()  # the task never started, so nothing else will
                    raise
                self._open += 1
            except MemoryError:
                self._out_of_memory()
                await asyncio.sleep_ms(_OOM_PAUSE_MS)  # allocates nothing

    def _out_of_memory(self):
        """After a MemoryError in one of the server's own tasks, which must not
        end: free what can be freed. (Not a coroutine: calling one allocates.)"""
        forget_wait()
        gc.collect()
        self.stats.errors += 1

    # -- one connection, from accept to close ---------------------------------

    async def _connection(self, stream, peer):
        """One client, from accept to close."""
        c = None
        try:
            self.stats.accepted += 1
            c = _Conn(stream, asyncio.current_task(), peer)
            self._conns.append(c)
            self._wake.set()
            if self.closing:
                return
            if await self._admit(c):
                await self._serve(c)
            else:
                await self._reject(c)
        except asyncio.CancelledError:
            if c is None or c.cut is None:
                raise  # server shutdown: the finally closes the socket
            self._on_cut(c)
        except OSError as e:
            if e.errno in _PEER_GONE:
                self.stats.dropped += 1
            else:
                self.stats.errors += 1
                log.exception(self.log, e, "connection error")
        except MemoryError:
            gc.collect()
            self.stats.errors += 1
            self.log.error("out of memory; connection closed")
        except Exception as e:
            self.stats.errors += 1
            log.exception(self.log, e, "connection failed")
        finally:
            # First: nothing after it may keep the socket open. A connection
            # cut or evicted while its output was stuck, or cut while its
            # stream was stuck, is reset, so the stack frees its connection
            # and queued output now (see _abort); an idle one, or a stream
            # evicted between two pieces (its body ended: _take_slot), is
            # closed, which a browser understands (and on our image lwIP may
            # reclaim it once closed). An upgraded one cut at its deadline
            # (its peer is gone) is reset; one evicted while waiting for its
            # peer was sent its close frame, which a close lets through.
            if c is not None and (c.cut == _WRITE or c.cut == _STREAM or c.cut == _UPGRADED
                                  or (c.cut == _EVICTED and c.phase != _IDLE and c.phase != _STREAM
                                      and c.phase != _UPGRADED)):
                _abort(stream)
            else:
                _close(stream)
            self._open -= 1
            self._closed.set()
            if c is not None:
                self._release(c)

    # -- requests on one connection: the keep-alive loop ----------------------

    async def _serve(self, c):
        """The keep-alive loop: requests in order until one side closes. The
        common case (a head that arrives whole, a plain handler, an answer
        the socket takes at once) awaits nothing but the read, and sets a
        deadline only before a wait that may block. (What is used for every
        request is held in locals: a coroutine's frame costs nothing per
        request, an attribute lookup does.)"""
        stream = c.stream
        stats = self.stats
        slot = c.slot
        req = slot.request
        req.peer = c.peer
        while True:
            c.phase = _NEW
            if slot.n:
                if c.unconfirmed > _PIPELINE_LIMIT:
                    return  # it may not be reading: see _UNCONFIRMED_MAX
                c.started = ticks_ms()  # pipelined: it is here already
            try:
                while not (slot.n and slot.parse()):
                    if not slot.n:
                        if c.phase != _IDLE:
                            c.wait(_IDLE, self.idle_timeout_ms)
                    elif c.phase != _HEAD:
                        c.wait(_HEAD, self.head_timeout_ms)  # from the first byte on
                    got = await stream.readinto(slot.space())
                    if got == 0:
                        if slot.n:  # vanished mid-request: close quietly, count it
                            stats.dropped += 1
                        return
                    if got:
                        if not slot.n:
                            c.started = ticks_ms()
                            c.fresh = False
                            c.reclaimable = False  # (lwIP took the mark back as the data came)
                        slot.received(got)
                        c.unconfirmed = 0
                if req.content_length and not await self._read_body(c):
                    return
            except HTTPError as e:
                # The request could not be read whole: answer, then close.
                stats.bad_requests += 1
                await self._send(c, self.error_handler(req, e.status, e.detail, e.headers), False)
                self._log_request(req, e.status, ticks_diff(ticks_ms(), c.started))
                await self._linger(c)
                return
            try:  # here, not in _answer: `except ... as` costs 6 words of frame
                resp = self._answer(req)
            except Exception as e:
                resp = self._failure(req, e)
            if not isinstance(resp, Response):  # the coroutine of an async handler
                c.wait(_HANDLER, self.handler_timeout_ms)
                try:
                    resp = _as_response(await resp)
                except Exception as e:
                    resp = self._failure(req, e)
            if resp.upgrade is not None:
                await self._upgrade(c, resp)
                return
            keep = req.keep_alive and not resp.close and not self.closing and resp.status < 500
            if not self._queue(c, resp, keep):
                keep = await self._send(c, resp, keep)
            elif _unsent(stream):  # the socket took part of it: wait for the rest
                c.wait(_WRITE, self.write_timeout_ms)
                await _drain(stream, _Conn.moved, c)
            stats.requests += 1
            if self.access_log:
                self._log_request(req, resp.status, ticks_diff(ticks_ms(), c.started))
            if not keep:
                return
            slot.next_request()

    async def _upgrade(self, c, resp):
        """101 Switching Protocols, then the connection is the new
        protocol's (`await resp.upgrade(server, c)`: a WebSocket session)
        until it ends; it never carries HTTP again."""
        self.stats.requests += 1
        session = resp.upgrade
        await self._write_all(c, resp.head(), _CRLF)
        # The caller's frame keeps resp for the session's life: not its head.
        resp.upgrade = resp.headers = resp._head = None
        self._log_request(c.slot.request, 101, ticks_diff(ticks_ms(), c.started))
        await session(self, c)

    async def _read_body(self, c):
        """Read Content-Length bytes into req.body. False if the client vanished."""
        slot = c.slot
        length = slot.request.content_length
        body = bytearray(length)
        have = slot.body_part(body)
        if have < length:
            if slot.request.expect_continue:
                await self._write(c, _CONTINUE)
            c.wait(_BODY, self.body_timeout_ms)
            view = memoryview(body)
            while have < length:
                got = await c.stream.readinto(view[have:])
                if got == 0:
                    self.stats.dropped += 1
                    return False
                if got:
                    have += got
        slot.request.body = body
        return True

    def _answer(self, req):
        """Route the request and call its handler: the Response, or the
        coroutine of an async handler (awaited by the caller). Raises what
        routing or the handler raised."""
        if req.host_allowed is not True:
            self._check_host(req)
        handler = req.method
        if handler != "GET" and handler != "HEAD" and handler != "OPTIONS":
            self._check_origin(req)
        handler, req.params = self.router.match(handler, req.path)
        handler = handler(req)  # now what it returned
        return handler if hasattr(handler, "send") else _as_response(handler)

    def _check_host(self, req):
        # 421 for a Host that is not a name of this board (DNS rebinding).
        host = req.host()
        if host is not None:
            req.host_allowed = origin.host_allowed(host, self.allowed_hosts)
            if not req.host_allowed:
                raise HTTPError(421, "this board does not answer to that host name")

    def _check_origin(self, req):
        # 403 for a state change sent by a page of another site, before
        # routing: routes users add are covered without a line of their own.
        if origin.cross_site(req.headers) and not self.router.cross_origin(req.method, req.path):
            raise HTTPError(403, "cross-site request refused")

    def _failure(self, req, e):
        """The answer to an exception from routing or a handler."""
        if isinstance(e, HTTPError):
            if req.method == "OPTIONS" and (e.status == 405 or req.path == "*"):
                # OPTIONS without a handler of its own: say what is allowed.
                return Response(b"", 204, None, [("Allow", self.router.allow(req.path))])
            return self.error_handler(req, e.status, e.detail, e.headers)
        if isinstance(e, OSError) and e.errno in _NO_DESCRIPTOR:
            # Short of descriptors, not broken: the answer says to come back.
            self.stats.rejected += 1
            self.log.warning("no file descriptor free for %s %s; answered 503", req.method, req.path)
            return self._busy_response(req, "server busy, retry shortly")
        self.stats.errors += 1
        if isinstance(e, MemoryError):
            gc.collect()
            self.log.error("out of memory in %s %s", req.method, req.path)
            return self._busy_response(req, "out of memory, retry shortly")
        log.exception(self.log, e, "handler failed: %s %s", req.method, req.path)
        return self.error_handler(req, 500, None, None)

    def _busy_response(self, req, detail):
        return self.error_handler(req, 503, detail, [("Retry-After", self.retry_after_s)])

    # -- writing --------------------------------------------------------------

    def _queue(self, c, resp, keep):
        """Hand a small response (one with a body in memory that fits the
        shared buffer with its head) to the socket in one write, without
        awaiting. False if it needs _send."""
        if not resp.in_memory():
            return False
        req = c.slot.request
        if keep and req.version == 11 and req.method != "HEAD" and _write_kept(c, resp):
            return True
        return self._gather(c, resp, keep)

    def _gather(self, c, resp, keep):
        # Head, Connection header and body (not for HEAD) copied into the
        # shared buffer and written at once, if they fit.
        tail = _tail(c.slot.request, keep)
        n = _put(self._out, 0, resp.head())
        n = _put(self._out, n, tail)
        if c.slot.request.method != "HEAD":
            n = _put(self._out, n, resp.body)
        if n < 0:
            return False
        c.stream.write(self._out_mv[:n])  # what the socket does not take is copied
        c.unconfirmed += n
        return True

    async def _send(self, c, resp, keep):
        """Write any response: large bodies in pieces, files, streams.
        Returns whether the connection stays open."""
        req = c.slot.request
        f = None
        if resp.file is not None and req.method != "HEAD":
            try:  # before the head: a file that cannot be opened gets an answer
                f = open(resp.file, "rb")
            except OSError as e:
                resp = self._failure(req, e)
                keep = False
        chunked = False
        if resp.stream is not None:
            if req.version == 10:
                keep = False  # the body ends when the connection does
            else:
                chunked = True
        tail = _tail(req, keep)
        if chunked:
            tail = _CHUNKED + tail
        if req.method == "HEAD":
            await self._write_all(c, resp.head(), tail)
        elif f is not None:
            with f:
                await self._write_all(c, resp.head(), tail)
                await self._send_file(c, f, resp.length)
        elif isinstance(resp.body, tuple):  # pieces, gathered into as few writes as fit
            await self._write_all(c, resp.head(), tail, *resp.body)
        else:
            await self._write_all(c, resp.head(), tail, resp.body)
            if resp.stream is not None:
                await self._stream(c, resp.stream, chunked)
        return keep

    async def _send_file(self, c, f, length):
        # Each piece is read into the shared buffer and handed to the socket
        # before any await, so the buffer is free for others while we wait.
        while length > 0:
            n = f.readinto(self._out)
            if not n:
                raise OSError(5)  # EIO: the file shrank since it was indexed
            n = min(n, length)
            length -= n
            await self._write(c, self._out_mv[:n])

    async def _write_all(self, c, *parts):
        """Write the parts in order through the shared output buffer, each
        write a full buffer but the last: a page of many pieces goes out in
        full segments, not in one short segment per piece (each segment
        costs the board an ACK to take in)."""
        out = self._out
        n = 0
        for part in parts:
            size = len(part)
            if n + size <= _OUT_SIZE:
                out[n : n + size] = part
                n += size
                continue
            view = memoryview(part)
            off = 0
            while off < size:
                k = min(size - off, _OUT_SIZE - n)
                out[n : n + k] = view[off : off + k]
                n += k
                off += k
                if n == _OUT_SIZE:
                    await self._write(c, self._out_mv)
                    n = 0
        if n:
            await self._write(c, self._out_mv[:n])

    async def _write(self, c, data):
        # The socket takes what it can at once; the rest (copied by Stream)
        # drains under the write deadline, renewed for each piece written.
        c.wait(_WRITE, self.write_timeout_ms)
        s = c.stream
        s.write(data)
        c.unconfirmed += len(data)
        if _unsent(s):
            await _drain(s, _Conn.moved, c)

    async def _stream(self, c, source, chunked):
        # Between pieces the source may wait (for an event, a timer) up to the
        # handler timeout; a source that stays silent longer is cut.
        timeout = self.handler_timeout_ms

        async def send(data):
            if isinstance(data, str):
                data = data.encode()
            if data:
                if chunked:
                    await self._write_all(c, b"%x\r\n" % len(data), data, _CRLF)
                else:
                    await self._write(c, data)
            c.wait(_STREAM, timeout)

        c.wait(_STREAM, timeout)
        await source(send)
        if chunked:
            await self._write(c, _LAST_CHUNK)

    def _log_request(self, req, status, ms):
        if self.access_log and self.log.isEnabledFor(20):  # INFO
            self.log.info("%s %s %d %dms", req.method or "-", req.path or "-", status, ms)

    # -- admission: at accept, then a slot ------------------------------------

    def _crowded(self):
        """Whether to leave newcomers in the network stack's queue for now:
        slots and waiting room are full, and either the 503 room is full
        too, or a slot holder is idle. (An idle one will be closed for a
        newcomer once its grace is over: then the waiting room moves, and a
        newcomer waiting in the queue is served, not refused.)"""
        full = self.max_connections + _MAX_WAITING
        if self._open < full:
            return False
        if self._open >= full + _MAX_REFUSING:
            return True
        for c in self._conns:
            if c.slot is not None and c.phase == _IDLE:
                return True
        return False

    async def _room(self):
        """Wait until a connection closes, or a moment has passed."""
        self._closed.clear()
        try:
            await asyncio.wait_for_ms(self._closed.wait(), _ACCEPT_PAUSE_MS)
        except asyncio.TimeoutError:
            pass

    async def _admit(self, c):
        """Find c a slot, waiting up to slot_wait_ms for one. False if none."""
        if self._take_slot(c):
            return True
        if self._waiting >= _MAX_WAITING:
            return False
        self._waiting += 1
        try:
            until = ticks_add(ticks_ms(), self.slot_wait_ms)
            while not self.closing and ticks_diff(until, ticks_ms()) > 0:
                await asyncio.sleep_ms(_SLOT_POLL_MS)
                if self._take_slot(c):
                    return True
            return False
        finally:
            self._waiting -= 1

    def _take_slot(self, c):
        """A free slot, or the slot of the connection idle longest (then of
        the one whose output has been stuck longest, then of the oldest
        stream), which is closed to make room."""
        if self.closing:
            return False
        if self._pool:
            c.slot = self._pool.pop()
            return True
        victim = None
        oldest = -1
        now = ticks_ms()
        for phase in (_IDLE, _WRITE, _STREAM):
            for other in self._conns:
                if other.slot is not None and other.phase == phase and other.cut is None:
                    over = _over_grace(other, now)
                    if over > oldest and (phase != _IDLE or not _has_input(other.stream)):
                        victim = other
                        oldest = over
            if victim is not None:
                break
        if victim is None:
            return False
        if victim.phase == _STREAM and victim.slot.request.version == 11:
            # Between two pieces: its body ends as a chunked body ends, so
            # the browser sees an answer that is over, not a broken one (an
            # EventSource asks again after its retry time); then a FIN.
            try:
                _write_now(victim.stream, _LAST_CHUNK)
            except OSError:
                pass
        # The victim is suspended in a read or a wait; cancelling it there means
        # it never touches the buffer again, so the slot can move at once.
        c.slot = victim.slot
        c.slot.forget()  # (slots in the pool were forgotten by _release)
        victim.slot = None
        self._cut(victim, _EVICTED)
        self._conns.remove(victim)
        self.stats.evicted += 1
        return True

    def give_up(self, c):
        """End c to make room for another connection (an upgraded
        protocol's cap: websocket.py); its task's `finally` closes it."""
        self.stats.evicted += 1
        self._cut(c, _EVICTED)

    def _release(self, c):
        if c in self._conns:
            self._conns.remove(c)
        slot = c.slot
        if slot is not None:
            c.slot = None
            slot.forget()
            self._pool.append(slot)

    # -- cutting: the reaper's deadlines and eviction end a task --------------

    def _cut(self, c, why):
        """Cancel c's task; its `finally` closes the socket (see _on_cut)."""
        c.deadline = None
        c.cut = why
        c.task.cancel()

    def _on_cut(self, c):
        """The reaper or an eviction cancelled c; answer if HTTP says to."""
        cut = c.cut
        stats = self.stats
        if cut == _IDLE:
            stats.idle_closed += 1
        elif cut == _HEAD or cut == _BODY:
            stats.timed_out += 1
            self._try_send(c, 408, "request not received in time")
        elif cut == _HANDLER:
            stats.timed_out += 1
            req = c.slot.request
            self.log.warning("handler timed out: %s %s", req.method, req.path)
            self._try_send(c, 503, "handler timed out")
        elif cut == _WRITE or cut == _STREAM or cut == _UPGRADED:
            stats.timed_out += 1
        # _EVICTED was counted when it happened; _LINGER ends quietly.

    def _try_send(self, c, status, detail):
        # A last answer before closing: one non-blocking write, never awaited.
        r = Response.error(status, detail)
        try:
            _write_now(c.stream, r.head() + _CLOSE + r.body)
        except OSError:
            pass

    # -- refusing: a 503, then lingering --------------------------------------

    async def _reject(self, c):
        """Every slot is busy with a request: 503 with Retry-After, then close."""
        self.stats.rejected += 1
        if self._refusing >= _MAX_REFUSING:
            # (The accept task keeps this from happening; if it does, the
            # answer is still given, just not waited for.)
            _write_now(c.stream, self._busy)
            return
        self._refusing += 1
        try:
            c.stream.write(self._busy)
            if _unsent(c.stream):  # the stack is short of memory: give it a moment
                c.wait(_WRITE, self.write_timeout_ms)
                await _drain(c.stream, _Conn.moved, c)
            await self._linger(c)
        finally:
            self._refusing -= 1

    async def _linger(self, c):
        """Read and drop what the client still sends, for a bounded time, so
        that closing does not reset the connection before it read our answer."""
        c.wait(_LINGER, _LINGER_MS)
        total = 0
        while total < _LINGER_BYTES:
            n = await c.stream.readinto(self._out)  # what is read is dropped
            if n == 0:
                return
            if n:
                total += n

    # -- the reaper -----------------------------------------------------------

    async def _reap(self):
        """Cut every connection whose deadline has passed."""
        while True:
            try:
                if not self._conns:
                    self._wake.clear()
                    await self._wake.wait()  # (the wait's generator is allocated)
                await asyncio.sleep_ms(_REAP_MS)
                now = ticks_ms()
                crowded = self.crowded
                for c in self._conns:  # allocates nothing
                    d = c.deadline
                    if d is not None and ticks_diff(d, now) <= 0:
                        if c.phase != _UPGRADED or c.upgraded is None or c.upgraded.overdue():
                            self._cut(c, c.phase)
                    elif c.cut is not None:
                        pass
                    elif c.slot is None:
                        # Waiting for a slot (up to SLOT_WAIT_MS): one that has
                        # said nothing since accepted holds one of the stack's
                        # connections as a silent slot holder does (a
                        # browser's spare, in a crowd: traced holding it 5 s).
                        if c.phase == _NEW:
                            _mark_if_silent(c, now)
                    elif c.phase == _STREAM:
                        # An event stream's client sends nothing once it has
                        # asked: input is its end (a page closed or gone
                        # elsewhere), which the stream itself would notice
                        # only at a write that fails, seconds later, holding
                        # one of the board's few connections till then.
                        # Counted as that failed write would count it, and
                        # closed quietly (a cut _LINGER is): its peer has.
                        if _has_input(c.stream):
                            self.stats.dropped += 1
                            self._cut(c, _LINGER)
                    elif c.phase == _WRITE:
                        self._shed_if_stalled(c, now, crowded)
                    elif c.phase == _IDLE and c.fresh:
                        _mark_if_silent(c, now)
                    elif _over_grace(c, now) < 0:
                        pass
                    elif c.phase == _IDLE:
                        # Kept alive, idle past its grace, while newcomers may
                        # be waiting for the stack to let them in: closed now,
                        # so the browser knows before it would use it.
                        if crowded and not _has_input(c.stream):
                            self._cut(c, _IDLE)
            except MemoryError:
                self._out_of_memory()
                await asyncio.sleep_ms(_OOM_PAUSE_MS)

    def _shed_if_stalled(self, c, now, crowded):
        """c's output has not moved since c.since: past its grace, while the
        stack is nearly out of connections, it is reset now. A newcomer may
        never reach accept() to evict it: on lwIP the stalled output can
        take the memory its SYN's answer needs, or the last connection."""
        if _RECLAIM and not c.reclaimable and ticks_diff(now, c.since) >= _CLOSED_GRACE_MS:
            # Its peer not reading: lwIP may reset it for a newcomer whose
            # SYN would find no connection free.
            c.reclaimable = _reclaimable(c.stream, NOT_READING)
        if crowded and _over_grace(c, now) >= 0:
            self.stats.evicted += 1
            self._cut(c, _EVICTED)

    # -- stopping -------------------------------------------------------------

    def close(self):
        """Stop accepting and cancel every connection; each closes its socket."""
        if self.closing:
            return
        self.closing = True
        if self._acceptor is not None:
            self._acceptor.cancel()
        if self._reaper is not None:
            self._reaper.cancel()
        for c in self._conns:
            c.deadline = None
            c.task.cancel()

    async def shutdown(self, timeout_ms=2000):
        """close(), then give the cancelled tasks their turn to close their
        sockets (bounded). Run it as a task of its own: after Ctrl-C the
        interrupted loop may still think another task is current."""
        self.close()
        until = ticks_add(ticks_ms(), timeout_ms)
        while (self._conns or self.listening) and ticks_diff(until, ticks_ms()) > 0:
            await asyncio.sleep_ms(10)
        # A task that Ctrl-C interrupted inside its `finally` never ends: close
        # what it left open, so no socket outlives the server.
        self.close_sockets()
        del self._conns[:]

    def close_sockets(self):
        """Close every socket still open, at once and allocating nothing (not
        even a list's shrinking): the end of shutdown(), and the way out where
        it cannot run for want of heap."""
        self.closing = True
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for c in self._conns:
            _close(c.stream)


# Our writes are whole answers or large pieces, never small bits: Nagle's wait
# for an ACK only delays them. On lwIP it also makes each write allocate a
# whole segment's worth of its scarce output memory.
_TCP_NODELAY = getattr(socket, "TCP_NODELAY", None)


def _no_delay(sock):
    if _TCP_NODELAY is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass


def _write_kept(c, resp):
    # A reused answer, already in wire form: written as it is.
    wire = resp.kept()
    if wire:
        c.stream.write(wire)
        c.unconfirmed += len(wire)
        return True
    return False


def _put(out, n, data):
    """Copy data into the output buffer at n: the new end, or -1 if it does
    not fit (or n is -1 already)."""
    if n < 0:
        return n
    end = n + len(data)
    if end > _OUT_SIZE:
        return -1
    out[n:end] = data
    return end


def _tail(req, keep):
    """The Connection header (if any) and the blank line ending the head."""
    if not keep:
        return _CLOSE
    return _KEEP_ALIVE_10 if req.version == 10 else _CRLF


def _as_response(result):
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(b"", 204, None)
    if isinstance(result, (dict, list)):
        return Response.json(result)
    if isinstance(result, (str, bytes)):
        return Response(result)
    raise TypeError("handler returned %s" % type(result))


def default_error_response(req, status, detail=None, headers=None):
    """The server's error_handler until the application sets its own."""
    return Response.error(status, detail, headers)


# The policies' own: whether a connection may be given up for a newcomer.

_RECLAIM = SO_RECLAIMABLE is not None


def _mark_if_silent(c, now):
    """c has said nothing since accepted (it holds a slot or waits for one):
    past its grace, lwIP may reclaim it for a newcomer's SYN (its first
    data takes the mark back)."""
    if _RECLAIM and not c.reclaimable and ticks_diff(now, c.started) >= _FRESH_GRACE_MS:
        c.reclaimable = _reclaimable(c.stream, SILENT)


def _over_grace(c, now):
    """How long c has been past the grace after which it may be given up
    for a newcomer (negative: not yet, or not at all)."""
    phase = c.phase
    if phase == _IDLE:
        if c.fresh:  # (a newcomer that waited for its slot: silent since accepted)
            return ticks_diff(now, c.started) - _FRESH_GRACE_MS
        return ticks_diff(now, c.since) - _EVICT_GRACE_MS
    if phase == _WRITE:
        if _RECLAIM:  # the stack tells whether the peer's window is closed
            if c.reclaimable:
                return ticks_diff(now, c.since) - _CLOSED_GRACE_MS
            return ticks_diff(now, c.since) - _RESEND_GRACE_MS  # its window is open: resending?
        return ticks_diff(now, c.since) - _STALL_GRACE_MS
    if phase == _STREAM:
        return ticks_diff(now, c.since)
    return -1
