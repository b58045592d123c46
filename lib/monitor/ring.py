# The last log lines, kept in RAM for /api/logs, /logs and the crash record.
# MIT license
#
#   ring = LogRing(2048, secrets=(token, wifi_password))
#   log.tap(ring.write)             # every line logged is also written here
#   ring.text()                     # the lines kept, oldest first (bytes)
#   ring.since(pos)                 # what came after absolute offset `pos`
#
# One bytearray allocated at start, written round and round: a line costs
# no allocation but the line itself (and a memoryview of it), and the oldest
# whole lines make room for the new ones. Each line is stored behind the
# seconds since start, so a reader can tell when it happened (the board has
# no clock). Secrets given at start are replaced before a line is stored,
# so a token that a client put in a path cannot be read back from the ring.

from micropython import const
from time import ticks_diff, ticks_ms

_MAX_LINE = const(240)  # longer lines (tracebacks through logging) are cut here
_NL = b"\n"


class LogRing:
    def __init__(self, size, secrets=(), on_write=None):
        self.size = max(size, _MAX_LINE + 16)
        self._buf = bytearray(self.size)
        self._mv = memoryview(self._buf)
        self.total = 0  # bytes ever written: an absolute position for since()
        self.first = 0  # absolute position of the oldest whole line kept
        self.lines = 0  # lines ever written
        self.secrets = [s for s in secrets if s]
        self.on_write = on_write  # called after each line (e.g. an Event's set)
        self._last = ticks_ms()
        self._ms = 0

    def write(self, line):
        """Store one line (str; a final newline is added when missing)."""
        for s in self.secrets:  # rare: only a line that contains one is copied
            if s in line:
                line = line.replace(s, "***")
        now = ticks_ms()
        self._ms += ticks_diff(now, self._last)
        self._last = now
        self._put_seconds(self._ms // 1000)
        data = memoryview(line)  # str or bytes, no copy
        n = len(data)
        if n > _MAX_LINE:
            data = data[:_MAX_LINE]
            n = _MAX_LINE
        self._put(data, n)
        if not n or data[n - 1] != 10:
            self._put_byte(10)
        self.lines += 1
        # Drop the oldest lines that were overwritten, up to a line start.
        oldest = self.total - self.size
        if self.first < oldest:
            i = oldest % self.size
            j = self._buf.find(_NL, i)
            skip = j - i + 1 if j >= 0 else self.size - i + self._buf.find(_NL) + 1
            self.first = oldest + skip
        if self.on_write is not None:
            self.on_write()

    def _put_seconds(self, s):
        # Digit by digit into the ring: formatting would allocate a str.
        div = 1
        while div * 10 <= s:
            div *= 10
        while div:
            self._put_byte(48 + s // div % 10)
            div //= 10
        self._put_byte(32)

    def _put_byte(self, c):
        self._buf[self.total % self.size] = c
        self.total += 1

    def _put(self, data, n):
        i = self.total % self.size
        if i + n <= self.size:
            self._mv[i : i + n] = data  # the usual case: no slice made
        else:
            k = self.size - i
            self._mv[i:] = data[:k]
            self._mv[: n - k] = data[k:]
        self.total += n

    def since(self, pos=0):
        """The whole lines written after absolute position `pos` (all that
        is kept if some of them were overwritten already), as bytes."""
        start = max(pos, self.first)
        if start >= self.total:
            return b""
        i = start % self.size
        j = self.total % self.size
        if i < j:
            return bytes(self._mv[i:j])
        return bytes(self._mv[i:]) + bytes(self._mv[:j])

    def text(self):
        return self.since(self.first)

    def tail(self, limit):
        """At most `limit` bytes of the newest whole lines."""
        pos = self.total - limit
        if pos <= self.first:
            return self.text()
        data = self.since(pos)
        return data[data.find(_NL) + 1 :]
