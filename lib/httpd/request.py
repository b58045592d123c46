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
_HT = const(9)
_SLASH = const(47)
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

# Which bytes may appear in an RFC 9110 token (method, header name): letters,
# digits and !#$%&'*+-.^_`|~ ; one table lookup per byte.
_TOKEN = bytearray(256)
for _c in b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _TOKEN[_c] = 1
# And in a Host value (RFC 3986 reg-name, IP literal, port).
_HOST = bytearray(256)
for _c in b"!$&'()*+,;=-._~%:[]0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
    _HOST[_c] = 1


def _all_in(table, buf, start, end):
    for i in range(start, end):
        if not table[buf[i]]:
            return False
    return True


def _is_token(buf, start, end):
    return end > start and _all_in(_TOKEN, buf, start, end)


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


class Request:
    """The request a handler sees. It is reused for the connection's next
    request, so a handler must not keep it after returning."""

    def __init__(self, buf):
        self._buf = buf
        self._host = b"\x00"  # the last Host value found valid (never matches at first)
        self.reset()

    def reset(self):
        self.method = None
        self.path = None
        self.query = ""
        self.version = 11  # 10 for HTTP/1.0
        self.params = None  # path parameters, set by the router
        self.body = b""
        self.content_length = 0
        self.keep_alive = True
        self.expect_continue = False
        self._flags = 0
        self._head_start = 0
        self._head_end = 0
        self._headers = None
        self._args = None

    # -- parsing, called by the server one complete line at a time ------------

    def request_line(self, buf, start, end):
        """Parse `METHOD SP target SP HTTP/x.y` in buf[start:end] (no CRLF)."""
        for prefix, name in _METHODS:
            if buf.startswith(prefix, start):
                self.method = name
                target = start + len(prefix)
                break
        else:
            sp = buf.find(b" ", start, end)
            if sp > start and _is_token(buf, start, sp):
                raise HTTPError(501, "method not implemented")
            raise HTTPError(400, "malformed request line")
        sp = buf.find(b" ", target, end)
        # The version is exactly 8 bytes after the one space ending the target.
        if sp <= target or end - sp != 9 or not buf.startswith(b"HTTP/", sp + 1):
            raise HTTPError(400, "malformed request line")
        major = buf[sp + 6]
        minor = buf[sp + 8]
        if not (48 <= major <= 57 and buf[sp + 7] == 46 and 48 <= minor <= 57):
            raise HTTPError(400, "malformed request line")
        if major != 49:  # '1'
            raise HTTPError(505, "only HTTP/1.x is supported")
        self.version = 10 if minor == 48 else 11
        self._target(buf, target, sp)
        self._head_start = self._head_end = end

    def _target(self, buf, start, end):
        if end - start == 1 and buf[start] == _SLASH:
            self.path = "/"  # the most asked-for target, quickly
            return
        for i in range(start, end):
            c = buf[i]
            if c < 33 or c > 126:  # controls, space, DEL, non-ASCII
                raise HTTPError(400, "bad character in target")
        if buf[start] != _SLASH:
            if _name_is(buf, start, start + 7, b"http://") or _name_is(buf, start, start + 8, b"https://"):
                # absolute-form (RFC 9112 3.2.2): the authority ends at the
                # first '/', '?' or '#'; what follows is path and query.
                auth = buf.find(b"//", start, end) + 2
                start = end
                for c in b"/?#":
                    p = buf.find(bytes((c,)), auth, start)
                    if p >= 0:
                        start = p
                if start == end or buf[start] != _SLASH:
                    self._path_query(buf, start, end, "/")
                    return
            elif end - start == 1 and buf[start] == 42 and self.method == "OPTIONS":
                self.path = "*"
                return
            else:
                raise HTTPError(400, "bad request target")
        self._path_query(buf, start, end, None)

    def _path_query(self, buf, start, end, path):
        # buf[start:end] is "/path?query#fragment"; `path` is given when the
        # target had no path (absolute-form "http://host?q").
        frag = buf.find(b"#", start, end)
        if frag >= 0:
            end = frag
        q = buf.find(b"?", start, end)
        if q >= 0:
            self.query = buf[q + 1 : end].decode()
            end = q
        if path is not None:
            self.path = path
            return
        if end - start == 1:
            self.path = "/"
            return
        path = buf[start:end].decode()
        if "%" in path:
            try:
                raw = codec.unquote_bytes(path)
                for c in raw:  # decoded controls (%00, %0A...) would forge log lines
                    if c < 32 or c == 127:
                        raise HTTPError(400, "control character in path")
                path = raw.decode()
            except ValueError:  # a bad escape, or not UTF-8
                raise HTTPError(400, "bad percent-encoding in path")
        self.path = path

    def header(self, buf, start, end):
        """Check one header line buf[start:end] and note what the server needs."""
        colon = buf.find(b":", start, end)
        if colon <= start or buf[start] == _SP or buf[start] == _HT:  # (obs-fold)
            raise HTTPError(400, "malformed header")
        if buf.find(b"\r", start, end) >= 0 or buf.find(b"\x00", start, end) >= 0:
            raise HTTPError(400, "bad character in header")
        vs = colon + 1
        ve = end
        while vs < ve and buf[vs] in (_SP, _HT):
            vs += 1
        while ve > vs and buf[ve - 1] in (_SP, _HT):
            ve -= 1
        # The headers the server needs are recognised by length, then name;
        # any other name is only checked to be a token (RFC 9110 5.1: no
        # white space before the colon, no separators).
        n = colon - start
        if n == 4 and _name_is(buf, start, colon, b"host"):
            if self._flags & _HOST_SEEN:
                raise HTTPError(400, "repeated Host header")
            self._flags |= _HOST_SEEN
            # A connection sends the same Host with every request: checked
            # once, then only compared (in C) with the value checked.
            host = self._host
            if ve - vs != len(host) or not buf.startswith(host, vs):
                if not _all_in(_HOST, buf, vs, ve):
                    raise HTTPError(400, "bad Host header")
                self._host = bytes(buf[vs:ve])
        elif n == 10 and _name_is(buf, start, colon, b"connection"):
            self._connection(buf, vs, ve)
        elif n == 14 and _name_is(buf, start, colon, b"content-length"):
            self._content_length(buf, vs, ve)
        elif n == 17 and _name_is(buf, start, colon, b"transfer-encoding"):
            self._flags |= _CHUNKED
        elif n == 6 and _name_is(buf, start, colon, b"expect"):
            if not _name_is(buf, vs, ve, b"100-continue"):
                raise HTTPError(417, "only 100-continue is supported")
            self._flags |= _EXPECT_CONTINUE
        elif not _all_in(_TOKEN, buf, start, colon):
            raise HTTPError(400, "malformed header")
        self._head_end = end

    def _connection(self, buf, start, end):
        # Browsers send one token; compare it in place. A list of tokens
        # ("keep-alive, Upgrade") is split.
        if _name_is(buf, start, end, b"keep-alive"):
            self._flags |= _CONN_KEEP_ALIVE
        elif _name_is(buf, start, end, b"close"):
            self._flags |= _CONN_CLOSE
        elif buf.find(b",", start, end) >= 0:
            for token in bytes(buf[start:end]).lower().split(b","):
                token = token.strip()
                if token == b"close":
                    self._flags |= _CONN_CLOSE
                elif token == b"keep-alive":
                    self._flags |= _CONN_KEEP_ALIVE

    def _content_length(self, buf, start, end):
        if end <= start:
            raise HTTPError(400, "bad Content-Length")
        value = 0
        for i in range(start, end):
            d = buf[i] - 48
            if d < 0 or d > 9:
                raise HTTPError(400, "bad Content-Length")
            # Capped, so a huge number stays a small int (and gets 413).
            value = min(value * 10 + d, _LENGTH_CAP)
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
        self.expect_continue = not http10 and bool(flags & _EXPECT_CONTINUE)
        if flags & _CHUNKED:
            # Request bodies must carry Content-Length; RFC 9112 6.1 says 501
            # for a transfer coding the server does not implement.
            raise HTTPError(501, "Transfer-Encoding not supported")
        if self.content_length > max_body:
            raise HTTPError(413, "body too large")
        if flags & _CONN_CLOSE:
            self.keep_alive = False
        else:
            self.keep_alive = not http10 or bool(flags & _CONN_KEEP_ALIVE)

    # -- what handlers use -----------------------------------------------------

    @property
    def headers(self):
        """All headers as {lower-case name: value}; decoded on first use."""
        if self._headers is None:
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
                value = line[colon + 1 :].strip()
                try:
                    value = value.decode()
                except UnicodeError:  # obs-text (RFC 9110 5.5): keep the bytes as Latin-1
                    value = "".join(chr(b) for b in value)
                h[name] = h[name] + ", " + value if name in h else value
            self._headers = h
        return self._headers

    def header_value(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def args(self):
        """Query string parameters, percent-decoded."""
        if self._args is None:
            try:
                self._args = codec.parse_qs(self.query)
            except ValueError:
                raise HTTPError(400, "bad query string")
        return self._args

    def json(self):
        """The body decoded as JSON; 400 if it is not."""
        import json

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

