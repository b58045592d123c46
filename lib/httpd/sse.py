# Server-Sent Events to a bounded number of listeners.
# MIT license
#
#   hub = EventHub(max_streams=2, heartbeat_ms=5000)
#   router.add("/api/events", lambda request: hub.response())
#   hub.publish("status", json_text)       # from any task
#
# Each listener keeps only the newest message of each event name, so a slow
# client costs a bounded amount of memory and gets the current state, not a
# backlog. A comment line is sent when nothing happened for heartbeat_ms, so
# browsers and proxies keep the stream open.
#
# A stream holds one of the board's few connections for as long as its page
# is open, so at most max_streams are open. Beyond them, one of two policies:
# - poll_ms set (the dashboard): a newcomer gets one answer (so does any
#   while the server is crowded: a stream would hold a connection others
#   wait for), the `first` events, an event "mode" ("poll N") and
#   `retry: N`, and the answer ends:
#   EventSource asks again by itself N ms later, on a connection of its own.
#   N adapts to how many pages poll (about _POLLS_PER_S answers a second,
#   never below poll_ms nor above _POLL_MAX_MS, the longest while the
#   server is or was just crowded), so any number of pages see values a few
#   seconds old while sharing the connections in time. A stream open when
#   the server becomes crowded (`crowded`, a function) ends the same way
#   after its next event.
# - otherwise (the log page, whose events are not a state to sample): the
#   oldest stream is told to reconnect later (retry: backoff_ms) and ends.

from micropython import const
import asyncio
import gc

from time import ticks_add, ticks_diff, ticks_ms

from .response import EVENT_STREAM, Response

_RETRY = b"retry: %d\n\n"
_HEARTBEAT = b": heartbeat\n\n"
_NO_STORE = [("Cache-Control", "no-store")]
_POLLS_PER_S = const(3)  # polled answers a second the interval aims at, all pages together
_POLL_MAX_MS = const(6000)  # the longest interval: values stay well under 10 s old
# A crowd seen this recently is taken to be still there: its pages are still
# loading while the connections free up for a moment now and then.
_CROWD_MEMORY_MS = const(5000)


class _Listener:
    def __init__(self):
        self.pending = {}  # event name -> newest data
        self.wake = asyncio.Event()
        self.stop = False


class EventHub:
    def __init__(self, max_streams=2, heartbeat_ms=5000, retry_ms=3000, backoff_ms=30000, poll_ms=None,
                 crowded=None):
        self.max_streams = max_streams
        self.heartbeat_ms = heartbeat_ms
        self.retry_ms = retry_ms  # how soon a browser reconnects after a break
        self.backoff_ms = backoff_ms  # how soon one that was pushed out does
        self.poll_ms = poll_ms  # None: a newcomer beyond max_streams ends the oldest stream
        self.crowded = crowded  # with poll_ms: function() -> whether streams should give way to polling
        self.closed_oldest = 0  # streams ended to make room for a newer one
        self.polled = 0  # single answers given beyond max_streams
        self._listeners = []  # oldest first
        self._opened = asyncio.Event()  # set when a stream opens
        self._interval = poll_ms or 0  # the polling pages' current interval
        self._asked = 0  # polled answers since _since
        self._since = ticks_ms()
        self._crowd_at = ticks_add(self._since, -_CROWD_MEMORY_MS)  # when the server was last seen crowded
        self._told = self._interval  # the interval the last poll was told

    @property
    def count(self):
        return len(self._listeners)

    async def watched(self):
        """Return once a stream is open (at once if one is): a publisher
        awaits this first, so with nobody listening it does no work at all."""
        if not self._listeners:
            self._opened.clear()
            await self._opened.wait()

    async def feed(self, step):
        """The task that publishes one kind of event: await step() again and
        again while a stream is open, and nothing while none is. A full heap
        costs one step, never the task."""
        while True:
            try:
                await self.watched()
                await step()
            except MemoryError:
                gc.collect()

    def publish(self, event, data):
        """Queue `data` (str) as event `event` for every listener."""
        for listener in self._listeners:
            listener.pending[event] = data
            listener.wake.set()

    def response(self, first=None):
        """A streamed text/event-stream Response; `first` is a list of
        (event, data) sent as soon as the stream opens. With poll_ms set,
        beyond max_streams or while the server is crowded (a stream would
        hold a connection others are waiting for), a single answer instead,
        and a stream open when the server becomes crowded ends the same way."""
        if self.polls():
            return self._once(first)
        hub = self

        async def source(send):
            nonlocal first
            me = _Listener()
            hub._listeners.append(me)
            hub._opened.set()
            if len(hub._listeners) > hub.max_streams:
                oldest = hub._listeners.pop(0)
                oldest.stop = True
                oldest.wake.set()
                hub.closed_oldest += 1
            try:
                await send(_RETRY % hub.retry_ms)
                for event, data in first or ():
                    await send(format_event(event, data))
                first = None  # sent: do not keep it for the life of the stream
                while not me.stop:
                    try:
                        await asyncio.wait_for_ms(me.wake.wait(), hub.heartbeat_ms)
                    except asyncio.TimeoutError:
                        await send(_HEARTBEAT)
                    if hub.poll_ms is not None and hub.is_crowded():
                        # Its connection is better shared: this page polls now.
                        await send(_RETRY % hub.next_poll_ms())
                        await send(hub._mode())
                        break
                    if not me.wake.is_set():
                        continue
                    me.wake.clear()
                    if me.stop:
                        await send(_RETRY % hub.backoff_ms)
                        await send(format_event("closed", "too many streams"))
                        break
                    while me.pending:
                        event, data = me.pending.popitem()
                        await send(format_event(event, data))
            finally:
                if me in hub._listeners:
                    hub._listeners.remove(me)

        r = Response.streamed(source, EVENT_STREAM, _NO_STORE)
        r.close = True  # a stream that ends makes room: the browser reconnects on a new connection
        return r

    def is_crowded(self):
        return self.crowded is not None and self.crowded()

    def polls(self):
        """Whether a page that asks now gets a single answer, not a stream."""
        return self.poll_ms is not None and (len(self._listeners) >= self.max_streams or self.is_crowded())

    def next_poll_ms(self):
        """How long a polling page waits before it asks again: the interval,
        plus a spread so that pages which loaded together do not ask together
        (a page rendered with current values counts as an answer: the
        dashboard's page tells its script this wait, so a crowd loading the
        page does not also ask for its live values at once). While the server
        is crowded, or was within _CROWD_MEMORY_MS, the interval is the
        longest: the connections go to the pages still loading, not to pages
        whose values are a few seconds old. _mode() then tells that interval."""
        interval = self.poll_interval()
        now = ticks_ms()
        if self.is_crowded():
            self._crowd_at = now
        if ticks_diff(now, self._crowd_at) < _CROWD_MEMORY_MS:
            interval = _POLL_MAX_MS
        self._told = interval
        return interval + ticks_diff(now, self._since) % (interval // 4 + 1)

    def _once(self, first):
        """Beyond max_streams: the events of `first` now, and when to ask again."""
        self.polled += 1
        parts = [_RETRY % self.next_poll_ms()]
        for event, data in first or ():
            parts.append(format_event(event, data).encode())
        parts.append(self._mode())
        r = Response(b"".join(parts), 200, EVENT_STREAM, _NO_STORE)
        r.close = True  # nothing to ask for seconds: the connection is better free
        return r

    def _mode(self):
        """The event telling a page it polls, and how often (mode: poll N):
        the interval of the last next_poll_ms()."""
        return format_event("mode", "poll %d" % self._told).encode()

    def poll_interval(self):
        """How long a polling page waits between answers: about one answer
        per page within an interval, _POLLS_PER_S answers a second in all."""
        self._asked += 1
        now = ticks_ms()
        if ticks_diff(now, self._since) >= self._interval:
            pages = self._asked  # those that asked within the last interval
            self._interval = min(max(pages * 1000 // _POLLS_PER_S, self.poll_ms or 0), _POLL_MAX_MS)
            self._asked = 0
            self._since = now
        return self._interval


def format_event(event, data):
    """One event: 'event: NAME' and a 'data:' line per line of data."""
    lines = ["event: %s\n" % event]
    for line in str(data).split("\n"):
        lines.append("data: %s\n" % line)
    lines.append("\n")
    return "".join(lines)
