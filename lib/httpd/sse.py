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
# browsers and proxies keep the stream open. When a listener arrives and
# max_streams are already open, the oldest stream is told to reconnect later
# (retry: backoff_ms) and ends, so streams never hold every connection slot.

import asyncio
import gc

from .response import EVENT_STREAM, Response

_RETRY = b"retry: %d\n\n"
_HEARTBEAT = b": heartbeat\n\n"


class _Listener:
    def __init__(self):
        self.pending = {}  # event name -> newest data
        self.wake = asyncio.Event()
        self.stop = False


class EventHub:
    def __init__(self, max_streams=2, heartbeat_ms=5000, retry_ms=3000, backoff_ms=30000):
        self.max_streams = max_streams
        self.heartbeat_ms = heartbeat_ms
        self.retry_ms = retry_ms  # how soon a browser reconnects after a break
        self.backoff_ms = backoff_ms  # how soon one that was pushed out does
        self.closed_oldest = 0  # streams ended to make room for a newer one
        self._listeners = []  # oldest first
        self._opened = asyncio.Event()  # set when a stream opens

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
        (event, data) sent as soon as the stream opens."""
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

        return Response.streamed(source, EVENT_STREAM, [("Cache-Control", "no-store")])


def format_event(event, data):
    """One event: 'event: NAME' and a 'data:' line per line of data."""
    lines = ["event: %s\n" % event]
    for line in str(data).split("\n"):
        lines.append("data: %s\n" % line)
    lines.append("\n")
    return "".join(lines)
