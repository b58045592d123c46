# Helpers for the request-parsing tests (test_request_*.py): build a head,
# parse it with Request the way Server._parse_head splits lines, and check
# the status a malformed one raises.
from httpd.request import Request
from httpd.server import Server
from checks import raises

MAX_BODY = Server.max_body


# -- helpers ------------------------------------------------------------------


def feed(req, buf, n, max_body=MAX_BODY):
    """Parse the head in buf[0:n] the way Server._parse_head does: lines split
    on LF, one trailing CR dropped, empty lines before the request line
    ignored, the request line first, then header lines, then finish(max_body)
    at the blank line. Returns the offset just past the blank line."""
    req.reset()
    pos = 0
    first = True
    while True:
        nl = buf.find(b"\n", pos, n)
        if nl < 0:
            raise AssertionError("test head has no blank line")
        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
        if first:
            if end > pos:
                req.request_line(buf, pos, end)
                first = False
        elif end == pos:
            req.finish(max_body)
            return nl + 1
        else:
            req.header(buf, pos, end)
        pos = nl + 1


def parse(raw, max_body=MAX_BODY):
    """A fresh Request parsed from the raw head bytes."""
    buf = bytearray(raw)
    req = Request(buf)
    feed(req, buf, len(buf), max_body)
    return req


def head(line, *headers):
    """Build a head: request line, header lines, CRLF line ends, blank line.
    Each piece may be str or bytes (bytes for non-ASCII input)."""
    out = bytearray()
    for piece in (line,) + headers:
        out.extend(piece.encode() if isinstance(piece, str) else piece)
        out.extend(b"\r\n")
    out.extend(b"\r\n")
    return bytes(out)


def get(*headers, version="1.1", target="/"):
    """A GET request head with the given headers (Host is not added)."""
    return head("GET %s HTTP/%s" % (target, version), *headers)


def parses_to(raw, status):
    """Assert parsing raw raises HTTPError(status)."""
    return raises(status, parse, raw)
