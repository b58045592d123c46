# The last hour of the board: temperature, free heap, Wi-Fi signal and
# requests per minute, sampled on a timer into fixed rings, drawn as small
# inline SVG charts by the board itself (no script needed to see them).
# MIT license
#
# Memory: four arrays of `samples` numbers, allocated once (a 2-byte 'h'
# each, the request rate a 4-byte 'i': a benchmark makes far more than
# 32767 a minute). The charts are rendered when a page asks after a new
# sample and kept until the next one, so page loads in between cost nothing.
# Drawing them is dashboard/page.py's (imported with the page), which keeps
# them in `svg` until the next sample: a board whose page is not open holds
# only the samples.

import asyncio
import gc
from array import array

from micropython import const

_NONE = const(-32768)  # no sample: before the first, or no Wi-Fi (dashboard/page.py draws a gap)


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
        self.svg = None  # the charts as the page drew them after the last sample (None: not yet)

    def sample(self):
        app = self.app
        i = self.count % self.samples
        self.temp[i] = int(app.board.temperature_c() * 10)
        self.heap[i] = min(32767, (app.heap_size - app.heap_used()) // 1024)
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
        self.svg = None

    async def run(self):
        while True:
            try:
                self.sample()
            except MemoryError:  # a full heap skips a sample, never ends sampling
                gc.collect()
            await asyncio.sleep_ms(self.interval_ms)
