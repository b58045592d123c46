# What a handler returns: status, headers and a body or a stream.
# MIT license
#
# The encoded head (status line and headers, without the Connection header and
# the blank line, which depend on the request) is built once and cached, so a
# Response made at import time and returned on every request costs no
# formatting at all. From its second use such a Response also keeps its whole
# answer to an HTTP/1.1 keep-alive request (head, blank line, body; bodies up
# to 512 bytes), which the server hands to the socket as it is.

from micropython import const

from .status import reason

TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
EVENT_STREAM = "text/event-stream"


_WIRE_MAX = const(512)  # the largest body a reused answer keeps a wire copy of

# Added to every HTML page whose handler did not set them: the type is not
# guessed from the content; scripts, styles and images come only from the
# board; no page of another site may frame it (clickjacking), or learn from
# Referer which page of the board linked to it.
_HTML_HEADERS = (
    ("X-Content-Type-Options", b"X-Content-Type-Options: nosniff\r\n"),
    ("Content-Security-Policy", b"Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
                                b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"),
    ("Referrer-Policy", b"Referrer-Policy: same-origin\r\n"),
)
# JSON is the board's state: never kept by a cache unless the handler says so.
_JSON_HEADERS = (("Cache-Control", b"Cache-Control: no-store\r\n"),)
_SEPARATORS = b' \t\r\n"(),/:;<=>?@[\\]{}'


def _is_field_name(name):
    # As bytes: iterating a str would intern each character (see codec.py).
    name = name.encode()
    if not name:
        return False
    for c in name:
        if c in _SEPARATORS or c < 33 or c > 126:
            return False
    return True


class Response:
    # True: the connection is closed after this answer (Connection: close),
    # for an answer after which the client has nothing to ask for a while.
    close = False
    # A 101's: `async function(server, conn)` that takes the connection over
    # once the head is sent (websocket.py).
    upgrade = None

    def __init__(self, body: "bytes | str | tuple" = b"", status=200, content_type: "str | None" = TEXT,
                 headers: "list | None" = None):
        # body: bytes, str, or a tuple of bytes sent one after another (a page
        # around pieces kept in flash, never joined on the heap).
        if isinstance(body, str):
            body = body.encode()
        if status == 204 or status == 304 or status < 200:
            body = b""  # these never carry a body (RFC 9110 6.4.1)
        self.status = status
        # (typed as bytes: the server looks at a tuple of pieces before it treats a body as bytes)
        self.body: bytes = body  # pyright: ignore[reportAttributeAccessIssue]
        self.content_type = content_type
        self.headers = headers  # list of (name, value) or None
        self.stream = None  # async function(send) for a streamed body
        self.file = None  # path of a file sent as the body, in pieces
        if isinstance(body, tuple):
            self.length = 0
            for piece in body:
                self.length += len(piece)
        else:
            self.length = len(body)
        self._head = None
        self._wire = None  # see wire(); False: not kept

    @classmethod
    def json(cls, obj, status=200, headers=None):
        import json

        return cls(json.dumps(obj), status, JSON, headers)

    @classmethod
    def html(cls, text, status=200, headers=None):
        return cls(text, status, HTML, headers)

    @classmethod
    def error(cls, status, detail=None, headers=None):
        """A short plain-text answer: '404 Not Found: no such page'."""
        text = "%d %s" % (status, reason(status))
        if detail:
            text = text + ": " + detail
        return cls(text + "\n", status, TEXT, headers)

    @classmethod
    def redirect(cls, location, status=303):
        return cls(b"", status, None, [("Location", location)])

    @classmethod
    def streamed(cls, source, content_type=TEXT, headers=None):
        """A body produced while it is sent: `await source(send)`, where
        `await send(data)` writes one piece. Sent chunked to HTTP/1.1 clients,
        and to HTTP/1.0 clients as a body that ends when the connection does."""
        r = cls(b"", 200, content_type, headers)
        r.stream = source
        return r

    @classmethod
    def from_file(cls, path, size, content_type, headers=None):
        """A body read from a file while it is sent, never whole in RAM."""
        r = cls(b"", 200, content_type, headers)
        r.file = path
        r.length = size
        return r

    def add_header(self, name, value):
        if self.headers is None:
            self.headers = []
        self.headers.append((name, value))
        self._head = None
        self._wire = None  # the bytes kept from a send before are no longer this answer

    def head(self):
        """Status line and headers, CRLF-terminated, without the final blank line."""
        if self._head is None:
            self._head = self._format_head()
        return self._head

    def in_memory(self):
        """Whether the whole body is one bytes object in memory (not a
        stream, a file or pieces)."""
        return self.stream is None and self.file is None and not isinstance(self.body, tuple)

    def kept(self):
        """The whole answer as bytes for an HTTP/1.1 keep-alive request, once
        this Response has been sent before (a Response made once and
        returned again, so likely again); None until then, or if it is not
        small and in memory."""
        if self._wire is None and self._head is not None:
            self.wire()
        return self._wire or None

    def wire(self):
        """Keep the whole answer as sent to an HTTP/1.1 client that keeps the
        connection (head, blank line, body), if it is small and has a body in
        memory: the server then writes it as it is, without assembling it."""
        if self.in_memory() and self.length <= _WIRE_MAX:
            self._wire = self.head() + b"\r\n" + self.body
        else:
            self._wire = False

    def _format_head(self):
        kind = self.content_type
        extra = _HTML_HEADERS if kind == HTML else _JSON_HEADERS if kind == JSON else None
        if extra is None:
            return self._format_lines()
        head = self._format_lines()
        for name, line in extra:
            if not self._has(name):
                head += line
        return head

    def _has(self, name):
        if self.headers:
            name = name.lower()
            for n, _ in self.headers:
                if n.lower() == name:
                    return True
        return False

    def _format_lines(self):
        status = self.status
        if self.headers is None and self.content_type and self.stream is None and status >= 200 \
                and status != 204 and status != 304:
            # The usual answer in one format: status, type, length. (Formatted
            # as bytes: MicroPython's bytes % takes str arguments, as UTF-8,
            # which saves the str and its copy for every answer made per request.)
            return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                    % (status, reason(status), self.content_type, self.length))
        lines = ["HTTP/1.1 %d %s\r\n" % (status, reason(status))]
        if self.content_type and status != 204 and status != 304:
            lines.append("Content-Type: %s\r\n" % self.content_type)
        if self.stream is None and status >= 200 and status != 204 and status != 304:
            lines.append("Content-Length: %d\r\n" % self.length)
        if self.headers:
            for name, value in self.headers:
                value = str(value)
                if "\r" in value or "\n" in value or not _is_field_name(name):
                    raise ValueError("bad response header %r" % name)
                lines.append("%s: %s\r\n" % (name, value))
        return "".join(lines).encode()
