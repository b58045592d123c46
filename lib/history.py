# The last hour of the board: temperature, free heap, Wi-Fi signal and
# requests per minute, sampled on a timer into fixed rings, drawn as small
# inline SVG charts by the board itself (no script needed to see them).
# MIT license
#
# Memory: four arrays of `samples` numbers, allocated once (a 2-byte 'h'
# each, the request rate a 4-byte 'i': a benchmark makes far more than
# 32767 a minute). The charts are rendered when a page asks after a new
# sample and kept until the next one, so page loads in between cost nothing.

import asyncio
import gc
from array import array

from micropython import const

_NONE = const(-32768)  # no sample: before the first, or no Wi-Fi
_H = const(24)  # chart height in viewBox units (y resolution)

# (title, unit, divisor of the stored number): temperature in tenths of a degree
_SERIES = (("Temperature", " &deg;C", 10), ("Free heap", " KB", 1),
           ("Wi-Fi signal", " dBm", 1), ("Requests", "/min", 1))


class History:
    def __init__(self, app, samples=60, interval_ms=60000):
        self.app = app
        self.samples = max(2, samples)
        self.interval_ms = max(100, interval_ms)
        n = self.samples
        self.temp = array("h", (_NONE for _ in range(n)))
        self.heap = array("h", (_NONE for _ in range(n)))
        self.rssi = array("h", (_NONE for _ in range(n)))
        self.rate = array("i", (_NONE for _ in range(n)))
        self.count = 0  # samples taken; the newest is at (count - 1) % samples
        self._requests = None  # the request counter at the last sample
        self._svg = None  # the charts as rendered after the last sample

    def sample(self):
        app = self.app
        i = self.count % self.samples
        self.temp[i] = int(app.board.temperature_c() * 10)
        gc.collect()  # once a minute: free heap means what is free, not what is not yet collected
        self.heap[i] = min(32767, (app.heap_size - gc.mem_alloc()) // 1024)
        rssi = _NONE
        if app.wifi is not None:
            w = app.wifi.status()
            if w.get("connected") and w.get("rssi") is not None:
                rssi = w["rssi"]
        self.rssi[i] = rssi
        requests = app.server.stats.requests
        if self._requests is None:
            self.rate[i] = _NONE
        else:
            self.rate[i] = (requests - self._requests) * 60000 // self.interval_ms
        self._requests = requests
        self.count += 1
        self._svg = None

    async def run(self):
        while True:
            try:
                self.sample()
            except MemoryError:  # a full heap skips a sample, never ends sampling
                gc.collect()
            await asyncio.sleep_ms(self.interval_ms)

    def series(self, k):
        """Series k (0..3) oldest first, as a list of numbers or None."""
        data = (self.temp, self.heap, self.rssi, self.rate)[k]
        n = min(self.count, self.samples)
        first = self.count - n
        out = []
        for j in range(first, self.count):
            v = data[j % self.samples]
            out.append(None if v == _NONE else v)
        return out

    def charts(self):
        """The four charts as one HTML fragment (bytes), rendered at most
        once per sample."""
        if self._svg is None:
            parts = []
            for k in range(4):
                parts.append(self._chart(k))
            self._svg = "".join(parts).encode()
        return self._svg

    def _chart(self, k):
        title, unit, div = _SERIES[k]
        values = self.series(k)
        known = [v for v in values if v is not None]
        if not known:
            return "<div><p>%s<b>&mdash;</b></p></div>" % title
        lo = min(known)
        hi = max(known)
        last = known[-1]
        if div == 10:
            text = "%.1f%s" % (last / 10, unit)
        else:
            text = "%d%s" % (last, unit)
        span = hi - lo or 1
        # x: one unit per sample slot, the newest at the right edge.
        x0 = self.samples - len(values)
        # Only the points where the line bends: a flat stretch is one segment
        # (fewer bytes per page); a gap (no sample) starts a new subpath.
        path = []
        prev = None  # (x, y) of the last point seen on the current subpath
        drawn = False  # whether prev has been written
        move = "M"
        for j, v in enumerate(values):
            if v is None:
                if prev is not None and not drawn:
                    path.append(" %d %d" % prev)
                prev = None
                move = "M"
                continue
            y = _H - 2 - (v - lo) * (_H - 4) // span if hi != lo else _H // 2
            if prev is not None and prev[1] == y:
                prev = (x0 + j, y)
                drawn = False
                continue
            if prev is not None and not drawn:
                path.append(" %d %d" % prev)
            path.append("%s%d %d" % (move, x0 + j, y))
            move = "L" if move == "M" else " "
            prev = (x0 + j, y)
            drawn = True
        if prev is not None and not drawn:
            path.append(" %d %d" % prev)
        if len(path) == 1:  # one sample: a dot-sized line
            path.append("h-1")
        return ('<div><p>%s<b>%s</b></p><svg viewBox="0 0 %d %d" preserveAspectRatio=none>'
                '<path d="%s"/></svg></div>' % (title, text, self.samples - 1, _H, "".join(path)))
