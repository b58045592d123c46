# One HTTP/1.x request: the head parser with its limits, and body helpers.
# MIT license
#
# The server reads the head into a per-connection buffer and hands each
# complete line to request_line() / header(). Parsing works on offsets into
# that buffer, so a request allocates little: the path and query strings, and
# a few bytes for the headers the server itself needs. Every other header is
# only decoded if a handler asks for `headers`.

from micropython import const
from .status import HTTPError
from . import codec

_SP = const(32)
_SLASH = const(47)
_COLON = const(58)
_LENGTH_CAP = const(1_000_000_000)  # Content-Length beyond any body limit

# What the headers said, as bits of Request._flags (one attribute to reset).
_HOST_SEEN = const(1)
_HAS_LENGTH = const(2)
_CHUNKED = const(4)
_CONN_CLOSE = const(8)
_CONN_KEEP_ALIVE = const(16)
_EXPECT_CONTINUE = const(32)

# Methods the server implements, with the space that ends them on the request
# line; matched with bytearray.startswith, which does not allocate.
_METHODS = (
    (b"GET ", "GET"),
    (b"HEAD ", "HEAD"),
    (b"POST ", "POST"),
    (b"PUT ", "PUT"),
    (b"DELETE ", "DELETE"),
    (b"PATCH ", "PATCH"),
    (b"OPTIONS ", "OPTIONS"),
)

# What each byte may be, one bit a class, one table lookup per byte:
_TOKEN = const(1)  # in an RFC 9110 token (method, header name)
_HOST = const(2)  # in a Host value (RFC 3986 reg-name, IP literal, port)
_VISIBLE = const(4)  # in a request target: visible ASCII (no controls, space, DEL, 8-bit)
_CLASSES = bytearray(256)
for _c in b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _CLASSES[_c] |= _TOKEN
for _c in b"!$&'()*+,;=-._~%:[]0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _CLASSES[_c] |= _HOST
for _c in range(33, 127):
    _CLASSES[_c] |= _VISIBLE
_WS = b" \t"  # optional white space around a header value


def _all_in(cls, buf, start, end):
    """Whether every byte of buf[start:end] is of the class `cls`."""
    for i in range(start, end):
        if not _CLASSES[buf[i]] & cls:
            return False
    return True


def _is_token(buf, start, end):
    return end > start and _all_in(_TOKEN, buf, start, end)


def _text(value):
    # A header value as str; obs-text (RFC 9110 5.5) kept as Latin-1.
    try:
        return value.decode()
    except UnicodeError:
        return "".join(chr(b) for b in value)


def _name_is(buf, start, end, lname):
    # Case-insensitive compare of buf[start:end] with a lower-case name or
    # token made of letters, digits and '-', without allocating. (Setting
    # bit 5 lowers letters and leaves digits and '-' alone; only control
    # bytes could alias, and CR and NUL are refused before this is used.)
    if end - start != len(lname):
        return False
    for i in range(len(lname)):
        if buf[start + i] | 32 != lname[i]:
            return False
    return True


def _skip_ws(buf, start, end):
    while start < end and buf[start] in _WS:
        start += 1
    return start


def _digits(buf, start, end):
    # A Content-Length value: one or more digits, nothing else.
    if end <= start:
        raise HTTPError(400, "bad Content-Length")
    value = 0
    while start < end:
        d = buf[start] - 48
        if d < 0 or d > 9:
            raise HTTPError(400, "bad Content-Length")
        # Capped, so a huge number stays a small int (and gets 413).
        value = min(value * 10 + d, _LENGTH_CAP)
        start += 1
    return value


def _connection_list(value):
    # The flags of a Connection header listing several tokens.
    flags = 0
    for token in value.lower().split(b","):
        token = token.strip()
        if token == b"close":
            flags |= _CONN_CLOSE
        elif token == b"keep-alive":
            flags |= _CONN_KEEP_ALIVE
    return flags


def _version(buf, i):
    # buf[i:i + 3] is "x.y" of an HTTP version other than 1.1.
    major = buf[i]
    minor = buf[i + 2]
    if not (48 <= major <= 57 and buf[i + 1] == 46 and 48 <= minor <= 57):
        raise HTTPError(400, "malformed request line")
    if major != 49:  # '1'
        raise HTTPError(505, "only HTTP/1.x is supported")
    return 10 if minor == 48 else 11


def _path(buf, start, end):
    # Visible ASCII only (checked), so decode() cannot fail.
    path = buf[start:end].decode()
    return _unquote_path(path) if "%" in path else path


def _unquote_path(path):
    try:
        raw = codec.unquote_bytes(path)
        for c in raw:  # decoded controls (%00, %0A...) would forge log lines
            if c < 32 or c == 127:
                raise HTTPError(400, "control character in path")
        return raw.decode()
    except ValueError:  # a bad escape, or not UTF-8
        raise HTTPError(400, "bad percent-encoding in path")


class Request:
    """The request a handler sees. It is reused for the connection's next
    request, so a handler must not keep it after returning."""

    # Decoded on first use by __getattr__ (below). Annotations only: a class
    # attribute of these names would stop __getattr__ from being called.
    headers: dict  # {lower-case name: value}
    args: dict  # query parameters, percent-decoded

    def __init__(self, buf):
        self._buf = buf
        self._host = b"\x00"  # the last Host value found valid (never matches at first)
        # Whether the server answers to that Host (origin.host_allowed), None
        # until it has looked: judged once per new value, like the syntax.
        self.host_allowed = None
        self.peer = None  # the client's address, as the socket's accept() gave it
        self.version = 11  # 10 for HTTP/1.0
        self.keep_alive = True
        self.expect_continue = False
        self._head_start = 0
        self._decoded = 0  # 1: headers, 2: args decoded for the current request
        self.reset()

    def use(self, buf):
        """Parse from `buf` from now on (the head's buffer grew or shrank)."""
        self._buf = buf

    def reset(self):
        # What a request may leave behind (a store each, for every request:
        # version, keep_alive and expect_continue are always set by
        # request_line() and finish() before anything reads them).
        self.method = None
        self.path = None
        self.query = ""
        self.params = None  # path parameters, set by the router
        self.body = b""
        self.content_length = 0
        self._flags = 0
        self._head_end = 0  # no header lines (until request_line() sets both)
        if self._decoded:
            self._forget()

    # -- parsing, called by the server one complete line at a time ------------
    #
    # Every function here that runs for a plain request keeps its frame
    # (arguments, locals, value stack) within 11 words, so that MicroPython
    # puts it on the C stack: a larger frame is allocated on the heap at every
    # call (tools/frames.py explains, tests/test_frames.py checks). Rare cases
    # branch off into functions of their own.

    def request_line(self, buf, start, end):
        """Parse `METHOD SP target SP HTTP/x.y` in buf[start:end] (no CRLF)."""
        if buf.startswith(b"GET ", start):
            self.method = "GET"
            start += 4
        else:
            start = self._method(buf, start, end)
        self._head_start = self._head_end = end
        # The version is exactly 8 bytes after the one space ending the target.
        end -= 9
        if end <= start or buf[end] != _SP or not buf.startswith(b"HTTP/", end + 1) \
                or buf.find(b" ", start, end) >= 0:
            raise HTTPError(400, "malformed request line")
        self.version = 11 if buf.startswith(b"1.1", end + 6) else _version(buf, end + 6)
        if end - start == 1 and buf[start] == _SLASH:
            self.path = "/"  # the most asked-for target, quickly
        else:
            self._target(buf, start, end)

    def _method(self, buf, start, end):
        # Methods other than GET: the index after "METHOD ".
        i = 0
        while i < len(_METHODS):
            m = _METHODS[i]
            if buf.startswith(m[0], start):
                self.method = m[1]
                return start + len(m[0])
            i += 1
        i = buf.find(b" ", start, end)
        if i > start and _is_token(buf, start, i):
            raise HTTPError(501, "method not implemented")
        raise HTTPError(400, "malformed request line")

    def _target(self, buf, start, end):
        if not _all_in(_VISIBLE, buf, start, end):  # controls, space, DEL, non-ASCII
            raise HTTPError(400, "bad character in target")
        if buf[start] == _SLASH:
            end = self._query(buf, start, end)
            self.path = "/" if end - start == 1 else _path(buf, start, end)
        else:
            self._other_form(buf, start, end)

    def _other_form(self, buf, start, end):
        if _name_is(buf, start, start + 7, b"http://") or _name_is(buf, start, start + 8, b"https://"):
            # absolute-form (RFC 9112 3.2.2): the authority ends at the
            # first '/', '?' or '#'; what follows is path and query.
            auth = buf.find(b"//", start, end) + 2
            start = end
            for c in b"/?#":
                p = buf.find(bytes((c,)), auth, start)
                if p >= 0:
                    start = p
            end = self._query(buf, start, end)
            self.path = "/" if end - start <= 1 else _path(buf, start, end)
        elif end - start == 1 and buf[start] == 42 and self.method == "OPTIONS":
            self.path = "*"
        else:
            raise HTTPError(400, "bad request target")

    def _query(self, buf, start, end):
        # buf[start:end] is "path?query#fragment": sets the query, returns
        # where the path ends.
        i = buf.find(b"#", start, end)
        if i >= 0:
            end = i
        i = buf.find(b"?", start, end)
        if i >= 0:
            self.query = buf[i + 1 : end].decode()
            return i
        return end

    def header(self, buf, start, end):
        """Check one header line buf[start:end] and note what the server needs."""
        self._head_end = end
        colon = buf.find(b":", start, end)
        if colon <= start or buf[start] in _WS:  # (obs-fold)
            raise HTTPError(400, "malformed header")
        if buf.find(b"\r", start, end) >= 0 or buf.find(b"\x00", start, end) >= 0:
            raise HTTPError(400, "bad character in header")
        while end > colon and buf[end - 1] in _WS:
            end -= 1
        # The headers the server needs are recognised by length, then name;
        # any other name is only checked to be a token (RFC 9110 5.1: no
        # white space before the colon, no separators). Their values are
        # buf[colon + 1:end]; each skips the white space before its own.
        n = colon - start
        # (Host comes with every request, almost always spelled so: one C
        # call finds it before the byte-by-byte compare.)
        if n == 4 and (buf.startswith(b"Host", start) or _name_is(buf, start, colon, b"host")):
            self._host_value(buf, colon + 1, end)
        elif n == 10 and _name_is(buf, start, colon, b"connection"):
            self._connection(buf, colon + 1, end)
        elif n == 14 and _name_is(buf, start, colon, b"content-length"):
            self._content_length(buf, colon + 1, end)
        elif n == 17 and _name_is(buf, start, colon, b"transfer-encoding"):
            self._flags |= _CHUNKED
        elif n == 6 and _name_is(buf, start, colon, b"expect"):
            self._expect(buf, colon + 1, end)
        elif not _all_in(_TOKEN, buf, start, colon):
            raise HTTPError(400, "malformed header")

    def _host_value(self, buf, start, end):
        # (_skip_ws inlined: this runs for every request)
        while start < end and buf[start] in _WS:
            start += 1
        if self._flags & _HOST_SEEN:
            raise HTTPError(400, "repeated Host header")
        self._flags |= _HOST_SEEN
        # A connection sends the same Host with every request: checked once,
        # then only compared (in C) with the value checked.
        host = self._host
        if end - start != len(host) or not buf.startswith(host, start):
            if not _all_in(_HOST, buf, start, end):
                raise HTTPError(400, "bad Host header")
            self._host = bytes(buf[start:end])
            self.host_allowed = None

    def _expect(self, buf, start, end):
        if not _name_is(buf, _skip_ws(buf, start, end), end, b"100-continue"):
            raise HTTPError(417, "only 100-continue is supported")
        self._flags |= _EXPECT_CONTINUE

    def _connection(self, buf, start, end):
        # Browsers send one token; compare it in place. A list of tokens
        # ("keep-alive, Upgrade") is split.
        start = _skip_ws(buf, start, end)
        if _name_is(buf, start, end, b"keep-alive"):
            self._flags |= _CONN_KEEP_ALIVE
        elif _name_is(buf, start, end, b"close"):
            self._flags |= _CONN_CLOSE
        elif buf.find(b",", start, end) >= 0:
            self._flags |= _connection_list(bytes(buf[start:end]))

    def _content_length(self, buf, start, end):
        value = _digits(buf, _skip_ws(buf, start, end), end)
        if self._flags & _HAS_LENGTH and value != self.content_length:
            raise HTTPError(400, "conflicting Content-Length")
        self._flags |= _HAS_LENGTH
        self.content_length = value

    def finish(self, max_body):
        """The blank line arrived: check the head as a whole."""
        flags = self._flags
        http10 = self.version == 10
        if not http10 and not flags & _HOST_SEEN:
            raise HTTPError(400, "missing Host header")
        # RFC 9110 10.1.1: an HTTP/1.0 client's 100-continue is ignored.
        self.expect_continue = not http10 and flags & _EXPECT_CONTINUE != 0
        if flags & _CHUNKED:
            # Request bodies must carry Content-Length; RFC 9112 6.1 says 501
            # for a transfer coding the server does not implement.
            raise HTTPError(501, "Transfer-Encoding not supported")
        if self.content_length > max_body:
            raise HTTPError(413, "body too large")
        if flags & _CONN_CLOSE:
            self.keep_alive = False
        else:
            self.keep_alive = not http10 or flags & _CONN_KEEP_ALIVE != 0

    # -- what handlers use -----------------------------------------------------
    #
    # `headers` and `args` are decoded on first use by __getattr__ (called
    # only when an attribute is missing) and then kept as plain attributes
    # until reset(). Not @property: MicroPython checks the class for a
    # property setter at every attribute store on an instance of a class
    # that has one, which made each of the ~25 stores of a request 5 times
    # slower.

    def __getattr__(self, name):
        if name == "headers":
            self.headers = value = self._decode_headers()
            self._decoded |= 1
        elif name == "args":
            try:
                self.args = value = codec.parse_qs(self.query)  # percent-decoded
            except ValueError:
                raise HTTPError(400, "bad query string")
            self._decoded |= 2
        else:
            raise AttributeError(name)
        return value

    def _forget(self):
        # reset(): drop what __getattr__ decoded for the previous request.
        # (Set to None first: a deleted attribute's slot in MicroPython keeps
        # its value, and with it the old dict, until the slot is reused.)
        if self._decoded & 1:
            self.headers = None  # pyright: ignore[reportAttributeAccessIssue]
            del self.headers
        if self._decoded & 2:
            self.args = None  # pyright: ignore[reportAttributeAccessIssue]
            del self.args
        self._decoded = 0

    def _decode_headers(self):
        """All headers as {lower-case name: value}."""
        h = {}
        buf = self._buf
        pos = self._head_start
        end = self._head_end
        while pos < end:
            nl = buf.find(b"\n", pos, end)
            if nl < 0:
                nl = end
            line = bytes(buf[pos:nl]).strip()
            pos = nl + 1
            colon = line.find(b":")
            if colon <= 0:
                continue
            name = line[:colon].decode().lower()
            value = _text(line[colon + 1 :].strip())
            h[name] = h[name] + ", " + value if name in h else value
        return h

    def host(self):
        """This request's Host value, or None when it sent none (HTTP/1.0)."""
        return self._host.decode() if self._flags & _HOST_SEEN else None

    def header_value(self, name, default=None):
        """One header's value by its lower-case name, repeats joined as in
        `headers`; without decoding the others when `headers` has not been
        (a page that needs only Accept-Encoding: a browser sends a dozen)."""
        if self._decoded & 1:
            return self.headers.get(name, default)
        lname = name.encode()
        n = len(lname)
        buf = self._buf
        pos = self._head_start
        end = self._head_end
        value = None
        while pos < end:
            nl = buf.find(b"\n", pos, end)
            if nl < 0:
                nl = end
            # header() refused a line starting with white space, and names
            # with any before their colon: the name is at the line's start.
            if nl - pos > n and buf[pos + n] == _COLON and _name_is(buf, pos, pos + n, lname):
                v = _text(bytes(buf[pos + n + 1 : nl]).strip())
                value = v if value is None else value + ", " + v
            pos = nl + 1
        return default if value is None else value

    def json(self):
        """The body decoded as JSON; 415 unless it is sent as
        application/json (an HTML form on another site cannot send that
        without the browser asking first), 400 if it is not JSON."""
        import json

        kind = self.headers.get("content-type", "")
        semi = kind.find(";")
        if (kind[:semi] if semi >= 0 else kind).strip().lower() != "application/json":
            raise HTTPError(415, "Content-Type must be application/json")

        try:
            return json.loads(self.body)
        except ValueError:
            raise HTTPError(400, "invalid JSON")

    def form(self):
        """An application/x-www-form-urlencoded body as a dict; 400 if malformed."""
        try:
            return codec.parse_qs(bytes(self.body).decode())
        except ValueError:
            raise HTTPError(400, "bad form data")

