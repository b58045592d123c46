# Helpers for the request-parsing tests (test_request_*.py): build a head,
# parse it with the server's own parser (a Head, as a connection slot does),
# and check the status a malformed one raises.
from httpd.head import Head
from httpd import defaults
from checks import raises

MAX_BODY = defaults.MAX_BODY


class Limits:
    """The head limits of the server, or none to speak of: the Request tests
    check Request's own rules, the limit tests use Server's."""

    max_request_line = max_header_line = max_head = 1 << 16
    max_headers = 1 << 10

    def __init__(self, max_body=MAX_BODY):
        self.max_body = max_body


def fill(h, raw, piece=1 << 16):
    """Give Head h the bytes of raw `piece` at a time, as reads would,
    until it has parsed a whole head. Returns h."""
    pos = 0
    while not (h.n and h.parse()):
        space = h.space()
        n = min(len(space), piece, len(raw) - pos)
        assert n, "the bytes ended before the head did"
        space[0:n] = raw[pos : pos + n]
        h.received(n)
        pos += n
    return h


def parse(raw, max_body=MAX_BODY):
    """The Request a Head parses from the raw head bytes."""
    return fill(Head(Limits(max_body)), raw).request


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
