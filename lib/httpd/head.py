# One connection slot's request head: the bytes received, the cursor, the
# limits, and the Request they fill. No I/O: the server reads into space()
# and says how much came with received(); tests feed bytes the same way.
# MIT license
#
#   head = Head(limits)           limits: an object with the max_* settings
#                                 (the Server: shared by its slots, not copied)
#   got = readinto(head.space())  then head.received(got)
#   head.parse()                  True once the blank line is in; HTTPError
#                                 for a head that breaks a limit or HTTP
#   head.body_part(body)          the body bytes that came with the head
#   head.next_request()           the next request (keeps pipelined bytes)
#   head.forget()                 ready for another connection
#
# The buffer starts small and grows (up to max_head) for the clients that need
# it, browsers with many headers; forget() gives it back when the connection
# ends, so an idle server holds as little heap as when it started.

from micropython import const

from .request import Request
from .status import HTTPError

START = const(512)  # a slot's buffer to begin with


class Head:
    def __init__(self, limits):
        self.limits = limits
        self.buf = bytearray(min(START, limits.max_head))
        self.mv = memoryview(self.buf)
        self.request = Request(self.buf)
        self.n = 0  # bytes in the buffer
        self.used = 0  # bytes of the buffer that belong to the current request
        self.pos = 0  # where parsing of the buffered head goes on
        self.lines = 0  # lines of the head parsed so far

    def space(self):
        """Where the next bytes go. (The whole buffer, when empty: a slice
        would be garbage.)"""
        return self.mv if not self.n else self.mv[self.n :]

    def received(self, got):
        self.n += got

    def parse(self):
        """Parse the lines buffered so far; True once the head's blank line
        is in. (This and what it calls for every request keep their frames
        within 11 words: see tools/frames.py.)"""
        buf = self.buf
        nl = buf.find(b"\n", self.pos, self.n)
        while nl >= 0:
            if self.line(nl):
                return True
            nl = buf.find(b"\n", self.pos, self.n)
        self._partial()
        return False

    def line(self, nl):
        # One complete line, buf[pos:nl] and its LF: True if it is the blank
        # line that ends the head.
        pos = self.pos
        self.pos = nl + 1
        if nl > pos and self.buf[nl - 1] == 13:
            nl -= 1  # now the end of the line without CR LF
        if self.lines == 0:
            if nl > pos:  # (empty lines before a request are ignored)
                if nl - pos > self.limits.max_request_line:
                    raise HTTPError(414, "request line too long")
                self.request.request_line(self.buf, pos, nl)
                self.lines = 1
            return False
        if nl == pos:
            self.used = self.pos
            self.request.finish(self.limits.max_body)
            return True
        if nl - pos > self.limits.max_header_line:
            raise HTTPError(431, "header line too long")
        if self.lines > self.limits.max_headers:
            raise HTTPError(431, "too many headers")
        self.request.header(self.buf, pos, nl)
        self.lines += 1
        return False

    def _partial(self):
        # The head is not complete: refuse an incomplete line as soon as it is
        # too long (not counting a CR whose LF is still on the way), and grow
        # a full buffer.
        n = self.n
        limits = self.limits
        pending = n - self.pos
        if pending and self.buf[n - 1] == 13:
            pending -= 1
        if self.lines == 0 and pending > limits.max_request_line:
            raise HTTPError(414, "request line too long")
        elif pending > limits.max_header_line:
            raise HTTPError(431, "header line too long")
        if n == len(self.buf):
            if n >= limits.max_head:
                raise HTTPError(431, "request head too large")
            buf = bytearray(min(2 * n, limits.max_head))
            buf[0:n] = self.buf
            self._use(buf)

    def _use(self, buf):
        self.buf = buf
        self.mv = memoryview(buf)
        self.request.use(buf)

    def body_part(self, body):
        """Copy into `body` (a bytearray) what of it came with the head;
        returns how many bytes that was."""
        have = min(self.n - self.used, len(body))
        body[0:have] = self.mv[self.used : self.used + have]
        self.used += have
        return have

    def next_request(self):
        """Ready for the connection's next request: bytes of pipelined
        requests that came with this one move to the front."""
        left = self.n - self.used
        if left:
            self.buf[0:left] = self.mv[self.used : self.n]
        self.n = left
        self.used = self.pos = self.lines = 0
        self.request.reset()

    def forget(self):
        """Forget everything, for another connection; a buffer a client made
        grow goes back to its first size."""
        self.n = self.used = self.pos = self.lines = 0
        self.request.reset()
        if len(self.buf) > START:
            try:
                self._use(bytearray(START))
            except MemoryError:
                pass  # keep the big one
