# An MQTT 3.1.1 client that runs as one task on the web server's event loop
# and is bounded like the server: every wait has a deadline (connecting,
# CONNACK, each write, PINGRESP, PUBACK), the socket is closed on every path,
# what it sends waits in a queue of fixed size, and a broker that sends a
# malformed or oversized packet is left, not believed.
# MIT license
#
# Why not micropython-lib's umqtt.simple/robust: they block the caller (a
# blocking socket, time.sleep between retries), which would stop the web
# server. Why not mqtt_as: it joins Wi-Fi itself (here the Wi-Fi monitor
# does), polls its socket every few ms, and is several times this size.
#
#   client = Client(config, client_id, will_topic, link_up)
#   client.publish(topic, payload, retain=True)   # from anywhere, never blocks
#   app.tasks.append(client.run())
#
# One task writes (run(), through _session()); a second reads while a
# session is up (_reader). Only the writer sends, so writes never interleave.

import asyncio
import errno
import gc
import socket
from time import ticks_diff, ticks_ms

from micropython import const

from httpd import aio, log
from mqtt import packet

_log = log.get_logger("mqtt")

_LINK_CHECK_MS = const(1000)  # how often a client waiting for Wi-Fi asks the monitor's view again


class Broken(Exception):
    """The session ended; the argument says why, in words for the status."""


class Queue:
    """What waits to be sent: at most `size` messages. A message for a topic
    already waiting replaces it (a state: only the newest matters); when
    full, the oldest is dropped and counted. It never grows."""

    def __init__(self, size):
        self._items: list = [None] * max(1, size)
        self._first = 0
        self.count = 0
        self.dropped = 0

    def put(self, item):
        items = self._items
        size = len(items)
        for i in range(self.count):
            j = (self._first + i) % size
            if items[j][0] == item[0]:
                items[j] = item
                return
        if self.count == size:
            items[self._first] = None
            self._first = (self._first + 1) % size
            self.count -= 1
            self.dropped += 1
        items[(self._first + self.count) % size] = item
        self.count += 1

    def take(self):
        if not self.count:
            return None
        item = self._items[self._first]
        self._items[self._first] = None
        self._first = (self._first + 1) % len(self._items)
        self.count -= 1
        return item

    def discard(self, topic):
        """Forget what waits for `topic` (a newer message is being sent now)."""
        items = self._items
        size = len(items)
        for i in range(self.count):
            j = (self._first + i) % size
            if items[j][0] == topic:
                # Close the gap: the later messages move up by one.
                for k in range(i, self.count - 1):
                    items[(self._first + k) % size] = items[(self._first + k + 1) % size]
                items[(self._first + self.count - 1) % size] = None
                self.count -= 1
                return


def _bytes(data):
    return data.encode() if isinstance(data, str) else data


class Client:
    def __init__(self, config, client_id, will_topic, link_up=None, user=None, password=None):
        self.host = config.MQTT_HOST
        self.port = config.MQTT_PORT
        self.keepalive_s = config.MQTT_KEEPALIVE_S
        self.timeout_ms = config.MQTT_TIMEOUT_MS
        self.retry_ms = config.MQTT_RETRY_MS
        self.max_backoff_ms = config.MQTT_MAX_BACKOFF_MS
        self.client_id = _bytes(client_id)
        self.will_topic = _bytes(will_topic)
        self._user = _bytes(user) if user is not None else None
        self._password = _bytes(password) if password is not None else None  # never logged or served
        self.link_up = link_up or (lambda: True)  # the Wi-Fi monitor's view: no broker without a link
        self.queue = Queue(config.MQTT_QUEUE)
        self.inbox = packet.Inbox(config.MQTT_MAX_PACKET)
        self.out = packet.Out()
        self.topics = []  # subscribed at each connect (bytes)
        # coroutine function(client): run after each CONNACK, and on resync()
        self.on_connect: "Callable | None" = None  # pyright: ignore[reportUndefinedVariable]
        # function(topic, payload), bytes, called by the reader
        self.on_message: "Callable | None" = None  # pyright: ignore[reportUndefinedVariable]
        self.connected = False
        self.last_error = None
        self.connects = 0
        self.sent = 0  # PUBLISH packets out
        self.received = 0  # PUBLISH packets in
        self.refused = 0  # sessions ended for a malformed or oversized packet
        self._sock = None
        self._pid = 0
        self._wake = asyncio.Event()  # something to send, or the reader ended
        self._acked = asyncio.Event()  # the PUBACK awaited came
        self._ack_pid = 0
        self._pinged = None  # when the unanswered PINGREQ went
        self._sync = False  # on_connect to run again (Home Assistant restarted)
        self._broken = None  # why the reader ended
        self._status = {}

    # -- what the rest of the firmware calls --------------------------------------

    def publish(self, topic, payload, retain=False, qos=0):
        """Queue a message (str or bytes); never waits. Sent while connected,
        or after the next connect."""
        self.queue.put((_bytes(topic), _bytes(payload), retain, qos))
        self._wake.set()

    def resync(self):
        """Run on_connect again soon (the configs and states, for a Home
        Assistant that has just started)."""
        self._sync = True
        self._wake.set()

    def status(self):
        """The link for /api/status: the same dict, refreshed in place."""
        st = self._status
        st["connected"] = self.connected
        st["broker"] = "%s:%d" % (self.host, self.port)
        st["last_error"] = self.last_error
        st["connects"] = self.connects
        st["sent"] = self.sent
        st["received"] = self.received
        st["dropped"] = self.queue.dropped
        st["refused"] = self.refused
        return st

    # -- the task ---------------------------------------------------------------

    async def run(self):
        """Connect, serve the session, and after it ends connect again after a
        pause that doubles up to MQTT_MAX_BACKOFF_MS (back to MQTT_RETRY_MS
        after a session the broker accepted). Silent while the Wi-Fi monitor
        says the link is down. Never raises but for cancellation."""
        backoff = self.retry_ms
        while True:
            while not self.link_up():
                await asyncio.sleep_ms(_LINK_CHECK_MS)
            before = self.connects
            try:
                await self._session()
            except Broken as e:
                self.last_error = e.args[0]
            except MemoryError:
                gc.collect()
                self.last_error = "out of memory"
            except Exception as e:  # OSError from the socket, mostly
                self.last_error = _words(e)
            if self.connects != before:
                backoff = self.retry_ms
            _log.warning("broker %s:%d: %s; next try in %d s", self.host, self.port, self.last_error,
                         backoff // 1000)
            await asyncio.sleep_ms(backoff)
            backoff = min(backoff * 2, self.max_backoff_ms)

    async def _session(self):
        # A name is looked up by a blocking call (lwIP's DNS on a board): an
        # IP address in MQTT_HOST costs nothing here (docs/home-assistant.md).
        addr = socket.getaddrinfo(self.host, self.port, socket.AF_INET, socket.SOCK_STREAM)[0][-1]
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock = sock
        reader = None
        try:
            sock.setblocking(False)
            try:
                sock.connect(addr)
            except OSError as e:
                if e.errno != errno.EINPROGRESS:
                    raise
            await self._bounded(aio.wait_writable(sock), "no connection")
            out = self.out
            out.connect(self.client_id, self.keepalive_s, self.will_topic, b"offline", self._user, self._password)
            await self._write()
            self.inbox.clear()
            await self._bounded(self._connack(sock), "no CONNACK")
            self.connects += 1
            self.connected = True
            self.last_error = None
            _log.info("connected to broker %s:%d", self.host, self.port)
            self._broken = self._pinged = None
            reader = asyncio.create_task(self._reader(sock))
            if self.topics:
                self._pid = self._pid % 65535 + 1
                out.subscribe(self._pid, self.topics)
                await self._write()
            self._sync = True
            await self._serve()
        finally:
            self.connected = False
            self._sock = None
            if reader is not None:
                reader.cancel()  # (out of the poller at once: then the socket can go)
            sock.close()

    async def _serve(self):
        """Send what waits, ping when due; return never, raise Broken."""
        ping_ms = self.keepalive_s * 500  # half the keep-alive: the broker hears from us in time
        last_ping = ticks_ms()
        while True:
            if self._broken is not None:
                raise Broken(self._broken)
            if not self.link_up():
                raise Broken("Wi-Fi link down")
            if self._sync:
                self._sync = False
                if self.on_connect is not None:
                    await self.on_connect(self)
                continue
            item = self.queue.take()
            if item is not None:
                await self.send(*item)
                continue
            now = ticks_ms()
            if self._pinged is not None:
                wait = self.timeout_ms - ticks_diff(now, self._pinged)
                if wait <= 0:
                    raise Broken("no PINGRESP within %d ms" % self.timeout_ms)
            else:
                wait = ping_ms - ticks_diff(now, last_ping)
                if wait <= 0:
                    self.out.ping()
                    await self._write()
                    self._pinged = last_ping = ticks_ms()
                    continue
            self._wake.clear()
            try:
                await asyncio.wait_for_ms(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def send(self, topic, payload, retain=False, qos=0):
        """Publish now (the writer's task only: run() and on_connect); with
        QoS 1, wait for the PUBACK. A message for the same topic still in the
        queue is older: it is dropped."""
        self.queue.discard(topic)
        pid = 0
        if qos:
            self._pid = self._pid % 65535 + 1
            pid = self._ack_pid = self._pid
            self._acked.clear()
        self.out.publish(topic, payload, retain, qos, pid)
        await self._write()
        self.sent += 1
        if qos:
            await self._bounded(self._acked.wait(), "no PUBACK")
            if self._broken is not None:  # (the reader ended: it set _acked too)
                raise Broken(self._broken)

    # -- waiting, bounded ---------------------------------------------------------

    async def _bounded(self, awaitable, what):
        try:
            return await asyncio.wait_for_ms(awaitable, self.timeout_ms)
        except asyncio.TimeoutError:
            raise Broken("%s within %d ms" % (what, self.timeout_ms))

    async def _write(self):
        """The packet in self.out to the socket, within MQTT_TIMEOUT_MS."""
        sock = self._sock
        mv = memoryview(self.out.buf)
        end = self.out.n
        off = 0
        while off < end:
            n = sock.write(mv[off:end])  # pyright: ignore[reportOptionalMemberAccess] (a session's)
            if n:
                off += n
            else:  # the socket's buffer is full: the broker does not read
                await self._bounded(aio.wait_writable(sock), "write not taken")

    async def _connack(self, sock):
        inbox = self.inbox
        while True:
            await aio.wait_readable(sock)  # pyright: ignore[reportGeneralTypeIssues]
            if inbox.fill(sock) == 0:
                raise Broken("closed by the broker before CONNACK")
            got = inbox.next()
            if got is None:
                continue
            first, start, _ = got
            if first != packet.CONNACK:
                raise Broken("refused: a packet of type %d before CONNACK" % (first >> 4))
            code = inbox.buf[start + 1]
            if code:
                why = packet.REFUSALS[code] if code < len(packet.REFUSALS) else "code %d" % code
                raise Broken("the broker refused the connection: " + why)
            return

    async def _reader(self, sock):
        """Read and handle what the broker sends, until the socket ends or
        the broker sends what it may not; then tell the writer why."""
        inbox = self.inbox
        try:
            while True:
                got = inbox.next()  # first what came with the CONNACK
                if got is not None:
                    self._handle(*got)
                    continue
                await aio.wait_readable(sock)  # pyright: ignore[reportGeneralTypeIssues]
                if inbox.fill(sock) == 0:
                    raise Broken("closed by the broker")
        except packet.Malformed as e:
            self.refused += 1
            self._broken = "refused: " + e.args[0]
        except Broken as e:
            self._broken = e.args[0]
        except MemoryError:
            self._broken = "out of memory"
        except Exception as e:
            self._broken = _words(e)
        self._wake.set()
        self._acked.set()

    def _handle(self, first, start, end):
        buf = self.inbox.buf
        kind = first & 0xF0
        if kind == packet.PUBLISH:
            topic, payload = packet.published(buf, start, end)
            self.received += 1
            if self.on_message is not None:
                try:
                    self.on_message(topic, payload)
                except Exception as e:  # a command's fault is not the link's
                    _log.error("message on %s: %s", topic, _words(e))
        elif kind == packet.PINGRESP:
            self._pinged = None
        elif kind == packet.PUBACK:
            if packet.u16(buf, start) == self._ack_pid:
                self._acked.set()
        elif kind == packet.SUBACK:
            for i in range(start + 2, end):
                if buf[i] == 0x80:
                    _log.warning("the broker refused a subscription")
        else:  # CONNACK again
            raise packet.Malformed("a second CONNACK")


def _words(e):
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
        code = e.args[0]
        return {errno.ECONNREFUSED: "connection refused", errno.ECONNRESET: "connection reset",
                errno.EHOSTUNREACH: "host unreachable", errno.ETIMEDOUT: "timed out"}.get(code, "error %d" % code)
    return "%s: %s" % (type(e).__name__, e)
