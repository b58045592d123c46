# What handlers use of a request (args, json(), form()), the allocations of
# parsing a typical head, and the head limits Head.parse enforces.
#
# References: RFC 9110 (HTTP semantics), RFC 9112 (HTTP/1.1 message syntax).

import gc

from httpd.request import Request
from httpd.status import HTTPError
from checks import raises
from httpd.router import Router
from httpd.server import Server
from httpd.head import Head
from heads import Limits, fill, parse, head, get

LIMITS = Server(Router())  # the server's own head limits, from httpd/defaults.py


# -- args, json(), form() -----------------------------------------------------------------


def test_args_decodes_query():
    req = parse(get("Host: a", target="/s?x=1&y=a%20b&z=c+d&flag&e=%C3%A9"))
    assert req.args == {"x": "1", "y": "a b", "z": "c d", "flag": "", "e": "\u00e9"}, req.args


def test_args_is_empty_without_query():
    assert parse(get("Host: a", target="/s")).args == {}


def test_args_with_bad_escape_is_400():
    req = parse(get("Host: a", target="/s?x=%zz"))  # the head itself is fine
    raises(400, lambda: req.args)


def test_args_with_non_utf8_escape_is_400():
    req = parse(get("Host: a", target="/s?x=%ff"))
    raises(400, lambda: req.args)


def _with_body(body, kind="application/json"):
    req = parse(head("POST / HTTP/1.1", "Host: a", "Content-Type: " + kind, "Content-Length: %d" % len(body)))
    req.body = bytearray(body)  # as server._read_body sets it
    return req


def test_json_decodes_body():
    assert _with_body(b'{"a": [1, 2], "b": "x"}').json() == {"a": [1, 2], "b": "x"}


def test_json_takes_application_json_with_parameters_in_any_case():
    assert _with_body(b"[1]", "Application/JSON; charset=utf-8").json() == [1]


def test_json_refuses_a_body_a_form_could_send_with_415():
    # An HTML form can send these three types across sites without asking:
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        raises(415, _with_body(b'{"on": true}', kind).json)
    req = parse(head("POST / HTTP/1.1", "Host: a", "Content-Length: 2"))  # no Content-Type at all
    req.body = bytearray(b"{}")
    raises(415, req.json)


def test_json_with_invalid_body_is_400():
    raises(400, _with_body(b"{not json").json)
    raises(400, _with_body(b'{"a": 1').json)


def test_json_with_empty_body_is_400():
    raises(400, _with_body(b"").json)


def test_json_with_non_utf8_body_is_400():
    raises(400, _with_body(b'"\xff"').json)


def test_form_decodes_urlencoded_body():
    req = _with_body(b"name=J%C3%BCrgen+M&empty=&flag&n=1")
    assert req.form() == {"name": "J\u00fcrgen M", "empty": "", "flag": "", "n": "1"}


def test_form_with_bad_escape_is_400():
    raises(400, _with_body(b"a=%zz").form)
    raises(400, _with_body(b"a=%2").form)


def test_form_with_non_utf8_is_400():
    raises(400, _with_body(b"a=%ff").form)
    raises(400, _with_body(b"a=\xff").form)


def test_form_of_empty_body_is_empty():
    assert _with_body(b"").form() == {}


# -- allocation ---------------------------------------------------------------------------


def test_parsing_a_typical_head_allocates_little():
    # Measured on the unix port (MicroPython 1.29 preview, 64-bit, 180K heap):
    # 448 bytes for this head -- 128 for the path string, 128 for the query
    # string (each a bytearray slice plus its decoded str), 192 for the
    # Connection value (slice, bytes copy, lower()); the other five headers
    # allocate nothing. Bound set at ~2x the measured figure.
    raw = head("GET /api/status?verbose=1 HTTP/1.1",
               "Host: 192.168.1.50",
               "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
               "Accept: application/json",
               "Accept-Encoding: gzip, deflate",
               "Accept-Language: en-GB,en;q=0.5",
               "Connection: keep-alive")
    h = fill(Head(Limits()), raw)  # warm up (first-call effects)
    req = h.request
    gc.collect()
    before = gc.mem_alloc()
    h.forget()
    h.received(len(raw))
    assert h.parse()
    used = gc.mem_alloc() - before
    assert req.path == "/api/status" and req.keep_alive
    assert used <= 900, "parsing allocated %d bytes" % used


# -- limits enforced by Head.parse ---------------------------------------------------------
# The request line, header line, header count and head size limits live in
# Head (the slot the server reads into), not in Request; these feed a Head
# the bytes of a head in pieces, as reads would bring them.


def _read_head(raw, piece=100):
    """A fresh Head with the server's limits, given raw `piece` bytes at a time."""
    return fill(Head(LIMITS), raw, piece)


def _read_head_raises(status, raw):
    try:
        _read_head(raw)
    except HTTPError as e:
        assert e.status == status, "expected HTTPError %d, got %d (%s)" % (
            status, e.status, e.detail)
        return
    raise AssertionError("expected HTTPError %d, nothing raised" % status)


def _line_of(length, prefix="GET /", suffix=" HTTP/1.1"):
    return prefix + "a" * (length - len(prefix) - len(suffix)) + suffix


def test_request_line_at_max_request_line_is_accepted():
    line = _line_of(LIMITS.max_request_line)
    req = _read_head(head(line, "Host: a")).request
    assert len(req.path) == LIMITS.max_request_line - len("GET  HTTP/1.1")


def test_request_line_over_max_request_line_is_414():
    line = _line_of(LIMITS.max_request_line + 1)
    _read_head_raises(414, head(line, "Host: a"))


def test_header_line_at_max_header_line_is_accepted():
    line = "X-Long: " + "v" * (LIMITS.max_header_line - 8)
    req = _read_head(get("Host: a", line)).request
    assert len(req.headers["x-long"]) == LIMITS.max_header_line - 8


def test_header_line_over_max_header_line_is_431():
    line = "X-Long: " + "v" * (LIMITS.max_header_line - 7)
    _read_head_raises(431, get("Host: a", line))


def test_max_headers_header_lines_are_accepted():
    lines = ["Host: a"] + ["X-%d: 1" % i for i in range(LIMITS.max_headers - 1)]
    req = _read_head(get(*lines)).request
    assert len(req.headers) == LIMITS.max_headers


def test_more_than_max_headers_header_lines_is_431():
    lines = ["Host: a"] + ["X-%d: 1" % i for i in range(LIMITS.max_headers)]
    _read_head_raises(431, get(*lines))


def test_head_larger_than_max_head_is_431():
    # Few enough lines, each short enough, but together over max_head.
    value = "v" * 100
    count = LIMITS.max_head // 100 + 1
    assert count <= LIMITS.max_headers
    lines = ["Host: a"] + ["X-%d: %s" % (i, value) for i in range(count)]
    _read_head_raises(431, get(*lines))


def test_a_head_split_over_many_reads_is_parsed_whole():
    raw = head("POST /p?q=1 HTTP/1.1", "Host: a", "Content-Length: 4", "X-A: 1")
    h = _read_head(raw + b"body", piece=3)
    req = h.request
    assert (req.method, req.path, req.query, req.content_length) == ("POST", "/p", "q=1", 4)
    assert h.used == len(raw)  # the head ends there; what follows is the body
    body = bytearray(4)
    assert h.body_part(body) == h.n - len(raw) and body[: h.n - len(raw)] == b"body"[: h.n - len(raw)]


def test_pipelined_requests_are_kept_for_next():
    raw = get("Host: a", target="/one") + get("Host: a", target="/two")
    h = _read_head(raw, piece=len(raw))
    assert h.request.path == "/one"
    h.next_request()
    assert h.n == len(raw) // 2 and h.parse() and h.request.path == "/two"


def test_a_grown_buffer_shrinks_back():
    lines = ["Host: a"] + ["X-%d: %s" % (i, "v" * 60) for i in range(20)]
    h = _read_head(get(*lines))
    assert len(h.buf) > 512 and h.request.headers["x-19"] == "v" * 60
    h.forget()
    assert len(h.buf) == 512 and h.n == 0
