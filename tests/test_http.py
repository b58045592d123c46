"""HTTP/1.1 over the wire: framing, persistence, limits, errors and the request
log, checked byte for byte against a real server (the MicroPython unix port in
the Pico W profile) with the strict client in client.py.

Each test name is the behaviour it specifies. References are to RFC 9110
(HTTP semantics) and RFC 9112 (HTTP/1.1 message syntax)."""

import json
import re
import runpy
import socket
import time

import pytest

import client
from client import Conn, build
from serverproc import ROOT

TIMEOUT = 10.0  # generous: the machine is noisy and has two cores
FAULT_APP = "tests/apps/fault_app.py"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json"

# The server's limits (lib/httpd/defaults.py; config.py does not change them),
# which these tests run with unless they say otherwise (512, 1024, 32, 2048
# and 4096 bytes when these tests were written).
_CONFIG = runpy.run_path(str(ROOT / "lib/httpd/defaults.py"))
MAX_REQUEST_LINE = _CONFIG["MAX_REQUEST_LINE"]
MAX_HEADER_LINE = _CONFIG["MAX_HEADER_LINE"]
MAX_HEADERS = _CONFIG["MAX_HEADERS"]
MAX_HEAD = _CONFIG["MAX_HEAD"]
MAX_BODY = _CONFIG["MAX_BODY"]

# RFC 9110 section 15: the registered reason phrases of the codes used here.
REASONS = {
    100: "Continue",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}

STATUS_LINE = re.compile(rb"^HTTP/1\.1 ([1-5]\d\d) [\x21-\x7e][\x20-\x7e]*$")


# -- helpers ------------------------------------------------------------------


@pytest.fixture
def fault(start_server):
    """The application plus the test routes of tests/apps/fault_app.py."""
    return start_server(script=FAULT_APP)


@pytest.fixture
def logged(start_server):
    """As `fault`, with the access log (off by default) on."""
    return start_server(settings={"ACCESS_LOG": "true"}, script=FAULT_APP)


def connect(srv):
    return Conn(srv.port, timeout=TIMEOUT)


def req(method="GET", path="/", headers=None, body=b"", version="HTTP/1.1"):
    return build(method, path, headers, body, version)


def status_line(r):
    return r.head.split(b"\r\n", 1)[0]


def assert_status(r, code):
    """The status line is exactly `HTTP/1.1 <code> <registered reason>`."""
    expected = ("HTTP/1.1 %d %s" % (code, REASONS[code])).encode()
    assert status_line(r) == expected, r.head


def assert_framed(r, head_request=False):
    """RFC 9112 6.3: the body length is known from the head (Content-Length, or
    chunked); Content-Type is sent whenever there is content."""
    assert STATUS_LINE.match(status_line(r)), r.head
    assert r.head.endswith(b"\r\n\r\n")
    te = r.header("transfer-encoding")
    cl = r.header("content-length")
    if r.status in (204, 304) or r.status < 200:
        # RFC 9110 8.6: no Content-Length in a 1xx or 204 response.
        assert cl is None and te is None, r.head
        assert r.header("content-type") is None, r.head
        assert r.body == b""
        return
    assert r.header("content-type"), r.head
    if te is not None:
        assert te == "chunked", r.head
        assert cl is None, "both Content-Length and Transfer-Encoding: %r" % r.head
    else:
        assert cl is not None and re.fullmatch(r"\d+", cl), r.head
        if not head_request:
            assert int(cl) == len(r.body)


def assert_serving(srv):
    """A normal GET on a new connection is answered."""
    r = client.get(srv.port, "/health", timeout=TIMEOUT)
    assert_status(r, 200)
    assert r.body == b"ok\n"


def assert_health(c):
    """GET /health on connection c is answered exactly, with nothing stray before it."""
    r = c.request("GET", "/health")
    assert r.head == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      b"Content-Length: 3\r\nCache-Control: no-store\r\n\r\n"), r.head
    assert r.body == b"ok\n"


def assert_open(c, seconds=1.0):
    """The server keeps the connection open (sends nothing, no FIN)."""
    assert not c.closed_by_server(seconds), "server closed a persistent connection"
    assert c.buf == b"", "unexpected bytes after the response: %r" % c.buf
    c.sock.settimeout(TIMEOUT)


def assert_closed(c):
    """The server closes the connection and sent nothing after the response."""
    assert c.closed_by_server(TIMEOUT), "server kept the connection open"
    assert c.buf == b"", "unexpected bytes after the response: %r" % c.buf


def assert_rejected(srv, data, code, head_request=False):
    """`data` is answered with `code` as a short text answer carrying
    Connection: close; the server then closes, and keeps serving others."""
    with connect(srv) as c:
        c.send(data)
        r = c.read_response(head_request)
        assert_status(r, code)
        assert_framed(r, head_request)
        assert r.header("content-type") == TEXT
        assert r.header("connection") == "close", r.head
        if not head_request:
            assert r.body.startswith(("%d %s" % (code, REASONS[code])).encode()), r.body
        assert_closed(c)
    assert_serving(srv)
    return r


def head_of_size(total, path="/health"):
    """A valid GET head of exactly `total` bytes (two filler headers)."""
    base = ("GET %s HTTP/1.1\r\nHost: pico.test\r\n" % path).encode()
    rest = total - len(base) - 2
    first = rest // 2

    def line(name, size):
        prefix = name + b": "
        return prefix + b"a" * (size - len(prefix) - 2) + b"\r\n"

    data = base + line(b"X-Fill-1", first) + line(b"X-Fill-2", rest - first) + b"\r\n"
    assert len(data) == total
    return data


def request_line_of(length):
    """`GET /test/args?q=aaa... HTTP/1.1` of exactly `length` bytes."""
    fixed = len(b"GET /test/args?q= HTTP/1.1")
    line = b"GET /test/args?q=" + b"a" * (length - fixed) + b" HTTP/1.1"
    assert len(line) == length
    return line


def header_line_of(length):
    """`X-Long: aaa...` of exactly `length` bytes (without CRLF)."""
    line = b"X-Long: " + b"a" * (length - len(b"X-Long: "))
    assert len(line) == length
    return line


def echo(c, body, content_type="text/plain", method="POST"):
    r = c.request(method, "/test/echo", {"Content-Type": content_type}, body)
    assert_framed(r)
    return r


def allow_set(r):
    """The methods of an Allow header, checked to be a sorted list of known methods."""
    value = r.header("allow")
    assert value, r.head
    methods = value.split(", ")
    assert methods == sorted(set(methods)), value
    assert set(methods) <= {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}, value
    return set(methods)


def log_lines(srv):
    return srv.output().splitlines()


# -- persistent connections (RFC 9112 section 9.3) -------------------------------


def test_keep_alive_answers_several_requests_on_one_connection(server):
    with connect(server) as c:
        for path in ("/", "/health", "/api/status", "/health", "/"):
            r = c.request("GET", path)
            assert_status(r, 200)
            assert_framed(r)
            assert r.header("connection") is None, r.head
        assert_open(c)
        before = json.loads(c.request("GET", "/api/status").body)["http"]
        for _ in range(3):
            assert_health(c)
        after = json.loads(c.request("GET", "/api/status").body)["http"]
        assert after["accepted"] == before["accepted"]  # no new connection was made
        assert after["requests"] == before["requests"] + 4


def test_connection_close_from_client_is_echoed_and_connection_closed(server):
    with connect(server) as c:
        r = c.request("GET", "/health", {"Connection": "close"})
        assert_status(r, 200)
        assert r.body == b"ok\n"
        assert r.header("connection") == "close"
        assert_closed(c)


@pytest.mark.parametrize("value", ["Close", "CLOSE", "keep-alive, close"])
def test_connection_close_token_is_matched_case_insensitively(server, value):
    with connect(server) as c:
        r = c.request("GET", "/health", {"Connection": value})
        assert_status(r, 200)
        assert r.header("connection") == "close"
        assert_closed(c)


def test_requests_pipelined_after_connection_close_are_not_answered(server):
    with connect(server) as c:
        c.send(req("GET", "/health", {"Connection": "close"}) + req("GET", "/"))
        r = c.read_response()
        assert_status(r, 200)
        assert r.body == b"ok\n"
        assert r.header("connection") == "close"
        assert_closed(c)


def test_http10_request_is_answered_and_closed(server):
    with connect(server) as c:
        c.send(b"GET /health HTTP/1.0\r\n\r\n")  # no Host: fine for HTTP/1.0
        r = c.read_response()
        assert_status(r, 200)
        assert_framed(r)
        assert r.body == b"ok\n"
        assert r.header("connection") == "close"
        assert_closed(c)


def test_http10_keep_alive_request_keeps_connection_open(server):
    with connect(server) as c:
        for path in ("/health", "/", "/nope"):
            r = c.request("GET", path, {"Connection": "keep-alive"}, version="HTTP/1.0")
            assert r.status == (404 if path == "/nope" else 200)
            assert_framed(r)
            assert r.header("connection") == "keep-alive", r.head
        assert_open(c)
        # Without the keep-alive token, the next HTTP/1.0 request ends it.
        r = c.request("GET", "/health", version="HTTP/1.0")
        assert_status(r, 200)
        assert r.header("connection") == "close"
        assert_closed(c)


def test_idle_keep_alive_connection_survives_a_pause_shorter_than_idle_timeout(server):
    with connect(server) as c:
        assert_status(c.request("GET", "/health"), 200)
        time.sleep(1.5)  # IDLE_TIMEOUT_MS is 5000
        assert_health(c)


# -- pipelining (RFC 9112 section 9.3.2) -----------------------------------------


def test_ten_pipelined_requests_are_answered_in_order_and_framed(server):
    paths = ["/", "/health", "/api/status", "/nope", "/health",
             "/", "/api/status", "/missing/page", "/health", "/"]
    reports = []
    with connect(server) as c:
        c.send(b"".join(req("GET", p) for p in paths))
        for path in paths:
            r = c.read_response()
            assert_framed(r)
            if path == "/":
                assert_status(r, 200)
                assert r.header("content-type") == HTML
                assert r.body.lower().startswith(b"<!doctype html")
            elif path == "/health":
                assert_status(r, 200)
                assert r.body == b"ok\n"
            elif path == "/api/status":
                assert_status(r, 200)
                reports.append(json.loads(r.body)["http"])
            else:
                assert_status(r, 404)
                assert r.body.startswith(b"404 Not Found")
            assert r.header("connection") is None
        assert c.buf == b""
        assert_open(c)
        assert_health(c)
    # Each status counts the responses sent before it: four lie between them.
    assert reports[1]["requests"] - reports[0]["requests"] == 4
    assert reports[1]["accepted"] == reports[0]["accepted"]


def test_pipelined_post_with_body_then_get_are_both_answered(fault):
    with connect(fault) as c:
        c.send(req("POST", "/test/echo", {"Content-Type": "text/plain"}, b"hello world")
               + req("GET", "/test/args?x=1"))
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 11, "data": "hello world"}
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"path": "/test/args", "query": "x=1", "args": {"x": "1"}}
        assert_open(c)


def test_body_of_a_refused_request_is_skipped_before_the_next_pipelined_request(server):
    # The body looks like a request: if it were not skipped it would be answered.
    body = req("GET", "/")
    with connect(server) as c:
        c.send(req("POST", "/health", None, body) + req("GET", "/health"))
        r = c.read_response()
        assert_status(r, 405)
        r = c.read_response()
        assert_status(r, 200)
        assert r.body == b"ok\n"
        assert_open(c)


def test_pipelined_requests_larger_than_the_head_buffer_are_all_answered(server):
    # 120 requests are about 3 times MAX_HEAD: the server must carry the rest
    # of its buffer over from one request to the next.
    data = b"".join(req("GET", "/health", {"X-Seq": str(i)}) for i in range(120))
    assert len(data) > 3 * MAX_HEAD
    with connect(server) as c:
        c.send(data)
        for _ in range(120):
            r = c.read_response()
            assert_status(r, 200)
            assert r.body == b"ok\n"
        assert_open(c)


# -- HEAD (RFC 9110 section 9.3.2) -------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/nope", "/api/nothing-here"])
def test_head_has_the_headers_of_get_and_no_body(server, path):
    with connect(server) as c:
        get = c.request("GET", path)
        assert_framed(get)
        head = c.request("HEAD", path)
        assert head.status == get.status
        assert status_line(head) == status_line(get)
        assert head.headers == get.headers
        assert int(head.header("content-length")) == len(get.body) > 0
        assert head.body == b""
        # No body bytes followed the HEAD response: the next one parses at once.
        assert_health(c)
        assert_open(c)


def test_head_of_a_rendered_page_has_its_type_and_length_and_no_body(server):
    # The page carries live values, so only the length's presence is compared.
    with connect(server) as c:
        get = c.request("GET", "/")
        head = c.request("HEAD", "/")
        assert_status(head, 200)
        assert head.header("content-type") == get.header("content-type") == HTML
        assert int(head.header("content-length")) > 0
        assert set(head.headers) == set(get.headers)
        assert head.body == b""
        assert_health(c)
        assert_open(c)


def test_head_of_a_large_body_sends_only_the_head(fault):
    with connect(fault) as c:
        # 8 times the server's output buffer; a body of tens of KB in one
        # bytes object is no handler for a Pico W's fragmented heap
        head = c.request("HEAD", "/test/big?size=8000")
        assert_status(head, 200)
        assert head.header("content-length") == "8000"
        assert head.header("content-type") == "application/octet-stream"
        assert_health(c)
        assert_open(c)


def test_head_of_a_streamed_response_sends_no_chunks(fault):
    with connect(fault) as c:
        head = c.request("HEAD", "/test/stream?n=5")
        assert_status(head, 200)
        assert head.header("content-type") == TEXT
        assert head.header("transfer-encoding") == "chunked"
        assert head.header("content-length") is None
        assert_health(c)
        assert_open(c)


def test_a_reused_answer_is_the_same_bytes_every_time_and_still_fits_each_request(server):
    # /health returns one Response made at import; from its second use the
    # server keeps it whole, as sent to HTTP/1.1 keep-alive clients, and writes
    # that. Every other kind of request must still get its own framing.
    wire = (b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 3\r\nCache-Control: no-store\r\n\r\nok\n"
            % TEXT.encode())
    with connect(server) as c:
        for _ in range(3):  # first assembled, then the kept bytes
            c.send(b"GET /health HTTP/1.1\r\nHost: pico.test\r\n\r\n")
            assert c._read_exact(len(wire)) == wire
        head = c.request("HEAD", "/health")
        assert head.head == wire[:-3] and head.body == b""
        old = c.request("GET", "/health", {"Connection": "keep-alive"}, version="HTTP/1.0")
        assert old.header("connection") == "keep-alive" and old.body == b"ok\n"
        c.send(b"GET /health HTTP/1.1\r\nHost: pico.test\r\n\r\n")  # and once more as before
        assert c._read_exact(len(wire)) == wire
        last = c.request("GET", "/health", {"Connection": "close"})
        assert last.header("connection") == "close" and last.body == b"ok\n"
        assert_closed(c)


# -- routing answers: 404, 405, OPTIONS ---------------------------------------------


def test_unknown_path_is_404_and_connection_stays_open(server):
    with connect(server) as c:
        r = c.request("GET", "/no/such/page")
        assert_status(r, 404)
        assert_framed(r)
        assert r.header("content-type") == TEXT
        assert r.body.startswith(b"404 Not Found")
        assert r.header("connection") is None
        assert_health(c)


def test_post_to_get_only_route_is_405_with_exact_allow(server):
    with connect(server) as c:
        r = c.request("POST", "/health", {"Content-Type": "text/plain"}, b"x=1")
        assert_status(r, 405)
        assert_framed(r)
        # RFC 9110 15.5.6: a 405 MUST carry Allow.
        assert r.header("allow") == "GET, HEAD, OPTIONS"
        assert r.body.startswith(b"405 Method Not Allowed")
        assert_health(c)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_on_get_only_route_are_405(server, method):
    r = client.request(server.port, method, "/api/status", timeout=TIMEOUT)
    assert_status(r, 405)
    assert r.header("allow") == "GET, HEAD, OPTIONS"


def test_options_on_a_route_is_204_with_allow_and_no_body(server):
    with connect(server) as c:
        r = c.request("OPTIONS", "/health")
        assert_status(r, 204)
        assert_framed(r)
        assert r.header("allow") == "GET, HEAD, OPTIONS"
        assert r.head == b"HTTP/1.1 204 No Content\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n"
        assert_health(c)  # nothing was sent after the 204's head


def test_options_asterisk_is_204_with_allow_of_the_whole_server(server):
    with connect(server) as c:
        r = c.request("OPTIONS", "*")
        assert_status(r, 204)
        assert_framed(r)
        assert allow_set(r) >= {"GET", "HEAD", "OPTIONS"}
        assert_health(c)


def test_options_asterisk_lists_every_method_of_every_route(fault):
    with connect(fault) as c:
        r = c.request("OPTIONS", "*")
        assert_status(r, 204)
        everything = allow_set(r)
        assert everything >= {"GET", "HEAD", "OPTIONS", "POST", "PUT"}
        for path in ("/health", "/test/echo", "/test/params/a/b"):
            r = c.request("OPTIONS", path)
            assert_status(r, 204)
            assert allow_set(r) <= everything


def test_options_on_a_post_only_route_lists_its_methods_without_head(fault):
    r = client.request(fault.port, "OPTIONS", "/test/echo", timeout=TIMEOUT)
    assert_status(r, 204)
    assert r.header("allow") == "OPTIONS, POST, PUT"
    r = client.request(fault.port, "GET", "/test/echo", timeout=TIMEOUT)
    assert_status(r, 405)
    assert r.header("allow") == "OPTIONS, POST, PUT"


def test_options_on_unknown_path_is_404(server):
    r = client.request(server.port, "OPTIONS", "/nope", timeout=TIMEOUT)
    assert_status(r, 404)
    assert_framed(r)


def test_absolute_form_target_is_routed_by_its_path(server):
    # RFC 9112 3.2.2: a server MUST accept the absolute-form.
    with connect(server) as c:
        c.send(b"GET http://pico.test/health HTTP/1.1\r\nHost: pico.test\r\n\r\n")
        r = c.read_response()
        assert_status(r, 200)
        assert r.body == b"ok\n"


def test_empty_line_before_request_line_is_ignored(server):
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request.
    with connect(server) as c:
        c.send(b"\r\n" + req("GET", "/health"))
        r = c.read_response()
        assert_status(r, 200)
        assert r.body == b"ok\n"


# -- framing of every response ---------------------------------------------------


def test_every_response_has_status_line_length_and_type(fault):
    cases = [
        ("GET", "/", None, b""),
        ("GET", "/health", None, b""),
        ("GET", "/api/status", None, b""),
        ("GET", "/nope", None, b""),
        ("POST", "/health", None, b"abc"),
        ("OPTIONS", "/health", None, b""),
        ("OPTIONS", "*", None, b""),
        ("HEAD", "/", None, b""),
        ("HEAD", "/nope", None, b""),
        ("GET", "/test/http-error", None, b""),
        ("GET", "/test/args?a=1", None, b""),
        ("GET", "/test/args?a=%zz", None, b""),
        ("GET", "/test/params/a/b/c", None, b""),
        ("GET", "/test/big?size=3000", None, b""),
        ("GET", "/test/stream?n=2", None, b""),
        ("POST", "/test/echo", {"Content-Type": "application/json"}, b'{"a": 1}'),
        ("POST", "/test/echo", {"Content-Type": "application/json"}, b"{nope"),
        ("PUT", "/test/echo", {"Content-Type": "text/plain"}, b"put"),
        ("GET", "/test/raise", None, b""),
        ("GET", "/test/memory", None, b""),
    ]
    with connect(fault) as c:
        for method, path, headers, body in cases:
            r = c.request(method, path, headers, body)
            assert_framed(r, method == "HEAD")
            if path == "/test/stream?n=2":
                assert r.header("transfer-encoding") == "chunked"
            elif r.status != 204:
                assert r.header("content-length") is not None
            if r.header("connection") == "close":
                assert_closed(c)
                c.close()
                c = connect(fault)
    c.close()


# -- malformed and oversized requests -----------------------------------------------

LONG_TARGET = b"/" + b"a" * (MAX_REQUEST_LINE + 100)
LONG_HEADER = b"X-Long: " + b"a" * (MAX_HEADER_LINE + 100)
TOO_MANY_HEADERS = {"X-H%02d" % i: "v" for i in range(MAX_HEADERS)}  # plus Host
BIG_HEADERS = {"X-Fill-%d" % i: "a" * (MAX_HEADER_LINE - 100)  # each line within its limit
               for i in range(MAX_HEAD // (MAX_HEADER_LINE - 100) + 1)}

MALFORMED = [
    # RFC 9112 3: a request line longer than the server parses: 414.
    pytest.param(b"GET " + LONG_TARGET + b" HTTP/1.1\r\nHost: pico.test\r\n\r\n", 414,
                 id="request_line_over_max_is_414"),
    # RFC 6585 5: header fields too large, one or all together: 431.
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico.test\r\n" + LONG_HEADER + b"\r\n\r\n", 431,
                 id="header_line_over_max_is_431"),
    pytest.param(req("GET", "/health", TOO_MANY_HEADERS), 431, id="more_than_max_headers_is_431"),
    pytest.param(req("GET", "/health", BIG_HEADERS), 431, id="head_over_max_head_is_431"),
    pytest.param(b"GET /health\r\nHost: pico.test\r\n\r\n", 400, id="request_line_without_version_is_400"),
    pytest.param(b"GET  /health HTTP/1.1\r\nHost: pico.test\r\n\r\n", 400, id="double_space_in_request_line_is_400"),
    pytest.param(b"GET /health HTTP/1.1 x\r\nHost: pico.test\r\n\r\n", 400, id="extra_field_in_request_line_is_400"),
    pytest.param(b"GET health HTTP/1.1\r\nHost: pico.test\r\n\r\n", 400, id="relative_target_is_400"),
    pytest.param(b"GET /he\x01llo HTTP/1.1\r\nHost: pico.test\r\n\r\n", 400, id="control_byte_in_target_is_400"),
    pytest.param(b"GET /health HTTP/1.x\r\nHost: pico.test\r\n\r\n", 400, id="malformed_version_is_400"),
    pytest.param(b"\x00\x01\x02\r\n\r\n", 400, id="garbage_bytes_are_400"),
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico.test\r\nNoColonHere\r\n\r\n", 400,
                 id="header_without_colon_is_400"),
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico.test\r\n: empty-name\r\n\r\n", 400,
                 id="header_with_empty_name_is_400"),
    # RFC 9112 5.1: white space between field name and colon MUST get 400.
    pytest.param(b"GET /health HTTP/1.1\r\nHost : pico.test\r\n\r\n", 400,
                 id="space_before_colon_is_400"),
    # RFC 9112 5.2: obsolete line folding is rejected (or replaced by SP).
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico.test\r\nX-A: 1\r\n  folded\r\n\r\n", 400,
                 id="obs_fold_is_400"),
    pytest.param(req("POST", "/health", {"Content-Length": "abc"}), 400, id="content_length_not_a_number_is_400"),
    pytest.param(req("POST", "/health", {"Content-Length": "-1"}), 400, id="content_length_negative_is_400"),
    pytest.param(req("POST", "/health", {"Content-Length": "+5"}) + b"hello", 400,
                 id="content_length_with_sign_is_400"),
    pytest.param(req("POST", "/health", {"Content-Length": ""}), 400, id="content_length_empty_is_400"),
    pytest.param(b"POST /health HTTP/1.1\r\nHost: pico.test\r\nContent-Length: 5\r\n"
                 b"Content-Length: 6\r\n\r\nhello!", 400, id="conflicting_content_lengths_are_400"),
    pytest.param(req("POST", "/health", {"Content-Length": "9" * 20}), 413,
                 id="content_length_of_twenty_digits_is_413"),
    pytest.param(req("POST", "/health", {"Transfer-Encoding": "chunked"}) + b"5\r\nhello\r\n0\r\n\r\n", 501,
                 id="transfer_encoding_chunked_is_501"),
    pytest.param(req("POST", "/health", {"Transfer-Encoding": "gzip, chunked"}) + b"0\r\n\r\n", 501,
                 id="transfer_encoding_gzip_is_501"),
    pytest.param(req("BREW", "/pot"), 501, id="unknown_method_is_501"),
    pytest.param(req("PROPFIND", "/"), 501, id="webdav_method_is_501"),
    pytest.param(req("get", "/health"), 501, id="lower_case_method_is_unknown_501"),
    # RFC 9112 3.2: MUST answer 400 to HTTP/1.1 without Host, or with two.
    pytest.param(b"GET /health HTTP/1.1\r\n\r\n", 400, id="http11_without_host_is_400"),
    pytest.param(b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, id="http11_with_two_hosts_is_400"),
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico test\r\n\r\n", 400, id="host_with_space_is_400"),
    pytest.param(b"GET /health HTTP/1.1\r\nHost: pico<test>\r\n\r\n", 400, id="host_with_bad_character_is_400"),
    pytest.param(req("GET", "/health", version="HTTP/2.0"), 505, id="http2_is_505"),
    pytest.param(req("GET", "/health", version="HTTP/0.9"), 505, id="http09_is_505"),
    # RFC 9110 10.1.1: an expectation the server cannot meet: 417.
    pytest.param(req("POST", "/test/echo", {"Expect": "something-else"}, b"hello"), 417,
                 id="unknown_expectation_is_417"),
]


@pytest.mark.parametrize("data,code", MALFORMED)
def test_malformed_or_oversized_request_gets_its_status_closes_and_server_keeps_serving(
        server, data, code):
    assert_rejected(server, data, code)


def test_body_over_max_body_is_413_decided_without_sending_the_body(fault):
    with connect(fault) as c:
        # Only the head is sent: the answer must come without the body.
        c.send(req("POST", "/test/echo", {"Content-Length": str(MAX_BODY + 1)}))
        r = c.read_response()
        assert_status(r, 413)
        assert r.header("connection") == "close"
        assert r.body.startswith(b"413 Content Too Large")
        assert_closed(c)
    assert_serving(fault)


def test_body_over_max_body_sent_with_the_head_is_413(fault):
    data = req("POST", "/test/echo", {"Content-Type": "text/plain"}, b"x" * (MAX_BODY + 1))
    assert_rejected(fault, data, 413)


def test_request_line_of_exactly_max_length_is_accepted(fault):
    r = client.raw(fault.port, request_line_of(MAX_REQUEST_LINE) + b"\r\nHost: pico.test\r\n\r\n",
                   timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body)["args"]["q"] == "a" * (MAX_REQUEST_LINE - len(b"GET /test/args?q= HTTP/1.1"))


def test_request_line_one_over_max_length_is_414(fault):
    assert_rejected(fault, request_line_of(MAX_REQUEST_LINE + 1) + b"\r\nHost: pico.test\r\n\r\n", 414)


def test_header_line_of_exactly_max_length_is_accepted(fault):
    data = b"GET /test/headers HTTP/1.1\r\nHost: pico.test\r\n" + header_line_of(MAX_HEADER_LINE) + b"\r\n\r\n"
    r = client.raw(fault.port, data, timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body)["x-long"] == "a" * (MAX_HEADER_LINE - 8)


def test_header_line_one_over_max_length_is_431(fault):
    data = b"GET /health HTTP/1.1\r\nHost: pico.test\r\n" + header_line_of(MAX_HEADER_LINE + 1) + b"\r\n\r\n"
    assert_rejected(fault, data, 431)


@pytest.mark.parametrize("kind", ["request_line", "header_line"])
def test_line_of_exactly_max_length_is_accepted_when_its_cr_and_lf_arrive_apart(fault, kind):
    # The limit is on the line, not on how TCP happens to split it.
    if kind == "request_line":
        first = request_line_of(MAX_REQUEST_LINE) + b"\r"
        rest = b"\nHost: pico.test\r\n\r\n"
    else:
        first = b"GET /test/args HTTP/1.1\r\nHost: pico.test\r\n" + header_line_of(MAX_HEADER_LINE) + b"\r"
        rest = b"\n\r\n"
    with connect(fault) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(first)
        time.sleep(0.5)
        c.send(rest)
        r = c.read_response()
        assert_status(r, 200)


def test_exactly_max_headers_are_accepted(fault):
    headers = {"X-H%02d" % i: "v%d" % i for i in range(MAX_HEADERS - 1)}  # plus Host
    r = client.request(fault.port, "GET", "/test/headers", headers, timeout=TIMEOUT)
    assert_status(r, 200)
    got = json.loads(r.body)
    assert len(got) == MAX_HEADERS
    assert got["x-h%02d" % (MAX_HEADERS - 2)] == "v%d" % (MAX_HEADERS - 2)


def test_head_of_exactly_max_head_bytes_is_accepted(server):
    with connect(server) as c:
        c.send(head_of_size(MAX_HEAD))
        r = c.read_response()
        assert_status(r, 200)
        assert r.body == b"ok\n"
        assert_health(c)


def test_head_one_over_max_head_bytes_is_431(server):
    assert_rejected(server, head_of_size(MAX_HEAD + 1), 431)


def test_error_answer_to_a_head_request_has_no_body(server):
    # The parser's answers obey HEAD too (RFC 9110 9.3.2).
    r = assert_rejected(server, b"HEAD /health HTTP/1.1\r\n\r\n", 400, head_request=True)
    assert int(r.header("content-length")) > 0


# -- Expect: 100-continue (RFC 9110 section 10.1.1) ---------------------------------


def test_expect_100_continue_gets_interim_response_before_the_body_is_sent(fault):
    with connect(fault) as c:
        c.send(req("POST", "/test/echo",
                   {"Content-Type": "text/plain", "Content-Length": "5", "Expect": "100-continue"}))
        interim = c.read_response()
        assert interim.head == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert c.buf == b""
        c.send(b"hello")
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 5, "data": "hello"}
        # Persistent afterwards.
        assert_health(c)


def test_expect_100_continue_is_matched_case_insensitively(fault):
    with connect(fault) as c:
        c.send(req("PUT", "/test/echo",
                   {"Content-Type": "text/plain", "Content-Length": "2", "Expect": "100-Continue"}))
        assert c.read_response().head == b"HTTP/1.1 100 Continue\r\n\r\n"
        c.send(b"ok")
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 2, "data": "ok"}


def test_expect_100_continue_with_too_large_body_gets_413_and_no_interim(fault):
    with connect(fault) as c:
        c.send(req("POST", "/test/echo",
                   {"Content-Length": str(MAX_BODY + 1), "Expect": "100-continue"}))
        r = c.read_response()
        assert_status(r, 413)
        assert r.header("connection") == "close"
        assert_closed(c)
    assert_serving(fault)


def test_http10_expect_100_continue_gets_no_interim_response(fault):
    # RFC 9110 15.2: a server MUST NOT send a 1xx response to an HTTP/1.0
    # client; 10.1.1: it MUST ignore a 100-continue expectation in HTTP/1.0.
    with connect(fault) as c:
        c.send(b"POST /test/echo HTTP/1.0\r\nContent-Type: text/plain\r\n"
               b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        c.sock.settimeout(1.5)
        try:
            early = c.sock.recv(4096)
        except socket.timeout:
            early = b""
        c.sock.settimeout(TIMEOUT)
        assert early == b"", "sent to an HTTP/1.0 client before its body: %r" % early
        c.send(b"hello")
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 5, "data": "hello"}


# -- request bodies --------------------------------------------------------------


def test_json_body_is_decoded(fault):
    doc = {"a": [1, 2, 3], "b": "x y", "c": None, "d": True}
    with connect(fault) as c:
        r = echo(c, json.dumps(doc).encode(), "application/json")
        assert_status(r, 200)
        assert r.header("content-type") == JSON
        assert json.loads(r.body)["data"] == doc


def test_invalid_json_body_is_400(fault):
    with connect(fault) as c:
        r = echo(c, b'{"a": 1', "application/json")
        assert_status(r, 400)
        assert r.body.startswith(b"400 Bad Request")
    assert_serving(fault)


def test_form_body_is_decoded_with_percent_escapes_and_plus(fault):
    body = b"a=1&b=x%20y+z&c=%26%3D&d=caf%C3%A9&e="
    with connect(fault) as c:
        r = echo(c, body, "application/x-www-form-urlencoded")
        assert_status(r, 200)
        assert json.loads(r.body) == {
            "length": len(body),
            "data": {"a": "1", "b": "x y z", "c": "&=", "d": "caf\u00e9", "e": ""},
        }


def test_malformed_form_body_is_400(fault):
    with connect(fault) as c:
        r = echo(c, b"a=%zz", "application/x-www-form-urlencoded")
        assert_status(r, 400)
    assert_serving(fault)


def test_body_sent_in_several_pieces_with_pauses_is_assembled(fault):
    with connect(fault) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(req("POST", "/test/echo", {"Content-Type": "text/plain", "Content-Length": "20"}) + b"hel")
        for piece in (b"lo wo", b"rld, in ", b"bits"):
            time.sleep(0.3)
            c.send(piece)
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 20, "data": "hello world, in bits"}
        assert_open(c)


def test_head_sent_byte_by_byte_is_assembled(fault):
    data = req("GET", "/test/args?x=1")
    with connect(fault) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            c.send(data[i:i + 1])
            time.sleep(0.005)
        r = c.read_response()
        assert_status(r, 200)
        assert json.loads(r.body)["args"] == {"x": "1"}


def test_body_of_exactly_max_body_is_accepted(fault):
    body = b"x" * MAX_BODY
    with connect(fault) as c:
        r = echo(c, body)
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": MAX_BODY, "data": "x" * MAX_BODY}
        assert_health(c)


def test_max_body_setting_bounds_the_body(start_server):
    srv = start_server(settings={"MAX_BODY": 100}, script=FAULT_APP)
    with connect(srv) as c:
        r = echo(c, b"y" * 100)
        assert_status(r, 200)
        assert json.loads(r.body)["length"] == 100
    assert_rejected(srv, req("POST", "/test/echo", {"Content-Length": "101"}), 413)


def test_empty_body_with_content_length_zero_is_accepted(fault):
    with connect(fault) as c:
        r = c.request("POST", "/test/echo", {"Content-Length": "0", "Content-Type": "text/plain"})
        assert_status(r, 200)
        assert json.loads(r.body) == {"length": 0, "data": ""}


# -- targets: query strings and path parameters -------------------------------------


def test_query_string_is_percent_decoded(fault):
    query = "a=1&b=x%20y+z&c=%26%3D&d=caf%C3%A9&flag"
    r = client.get(fault.port, "/test/args?" + query, timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body) == {
        "path": "/test/args",
        "query": query,
        "args": {"a": "1", "b": "x y z", "c": "&=", "d": "caf\u00e9", "flag": ""},
    }


def test_bad_percent_escape_in_query_is_400(fault):
    with connect(fault) as c:
        r = c.request("GET", "/test/args?x=%zz")
        assert_status(r, 400)
        assert_framed(r)
    assert_serving(fault)


def test_path_parameters_are_matched(fault):
    r = client.get(fault.port, "/test/params/a/b/c", timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body) == {"name": "a", "rest": "b/c"}


def test_percent_encoded_path_is_decoded(fault):
    r = client.get(fault.port, "/test/params/a%20b/x", timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body) == {"name": "a b", "rest": "x"}


def test_percent_encoded_path_with_utf8_is_decoded(fault):
    r = client.get(fault.port, "/test/params/caf%C3%A9/x", timeout=TIMEOUT)
    assert_status(r, 200)
    assert json.loads(r.body)["name"] == "caf\u00e9"


@pytest.mark.parametrize("path", ["/test/params/%zz/x", "/test/params/%ff/x", "/test/params/a%00/x"])
def test_bad_percent_encoding_in_path_is_400(fault, path):
    assert_rejected(fault, req("GET", path), 400)


def test_query_string_does_not_affect_routing(server):
    r = client.get(server.port, "/health?x=1&y=2", timeout=TIMEOUT)
    assert_status(r, 200)
    assert r.body == b"ok\n"


# -- handler failures ----------------------------------------------------------------


def test_handler_that_raises_is_500_logged_with_traceback_and_server_keeps_serving(logged):
    with connect(logged) as c:
        r = c.request("GET", "/test/raise")
        assert_status(r, 500)
        assert_framed(r)
        assert r.body == b"500 Internal Server Error\n"  # no detail leaks to the client
        assert r.header("connection") == "close"
        assert_closed(c)
    logged.wait_for_log(r"deliberate failure", TIMEOUT)
    out = logged.output()
    assert "Traceback" in out
    assert "ValueError: deliberate failure for the test" in out
    assert_serving(logged)
    logged.wait_for_log(r"INFO:httpd:GET /test/raise 500 \d+ms", TIMEOUT)


def test_out_of_memory_in_handler_is_503_with_retry_after_and_server_keeps_serving(fault):
    for _ in range(3):
        with connect(fault) as c:
            r = c.request("GET", "/test/memory")
            assert_status(r, 503)
            assert_framed(r)
            assert r.header("retry-after") == "2"
            assert r.header("connection") == "close"
            assert_closed(c)
        assert_serving(fault)
    r = client.get(fault.port, "/test/big?size=8000", timeout=TIMEOUT)
    assert_status(r, 200)
    assert r.body == b"x" * 8000


def test_http_error_raised_by_handler_sets_the_status(fault):
    with connect(fault) as c:
        r = c.request("GET", "/test/http-error")
        assert r.status == 409
        assert_framed(r)
        assert r.body.endswith(b": conflict from the handler\n")
        assert r.header("connection") is None
        r = c.request("GET", "/test/http-error?teapot")
        assert r.status == 418
        assert r.body.endswith(b": conflict from the handler\n")
        assert_health(c)  # still persistent: no Connection: close was sent


def test_status_line_of_a_handler_error_carries_the_registered_reason_phrase(fault):
    # RFC 9110 15.5.10: 409 is "Conflict".
    r = client.get(fault.port, "/test/http-error", timeout=TIMEOUT)
    assert_status(r, 409)
    assert r.body.startswith(b"409 Conflict")


# -- streamed responses ------------------------------------------------------------


def test_streamed_response_arrives_chunked_with_each_piece(fault):
    with connect(fault) as c:
        c.send(req("GET", "/test/stream?n=5", {"Connection": "close"}))
        raw = c.read_to_close(TIMEOUT)
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert sorted(lines[1:]) == sorted([
        b"Content-Type: text/plain; charset=utf-8",
        b"Transfer-Encoding: chunked",
        b"Connection: close",
    ])
    expected = b"".join(b"8\r\npiece %d\n\r\n" % i for i in range(5)) + b"0\r\n\r\n"
    assert body == expected


def test_streamed_response_keeps_the_connection_usable(fault):
    with connect(fault) as c:
        r = c.request("GET", "/test/stream?n=5&gap=100")
        assert_status(r, 200)
        assert_framed(r)
        assert r.header("transfer-encoding") == "chunked"
        assert r.body == b"".join(b"piece %d\n" % i for i in range(5))
        assert_health(c)
        assert_open(c)


def test_streamed_response_to_http10_is_unchunked_and_ends_with_the_connection(fault):
    with connect(fault) as c:
        c.send(b"GET /test/stream?n=5 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()  # no length and no chunking: read to the close
        assert_status(r, 200)
        assert r.header("transfer-encoding") is None
        assert r.header("content-length") is None
        assert r.header("connection") == "close"
        assert r.body == b"".join(b"piece %d\n" % i for i in range(5))
        assert_closed(c)
    assert_serving(fault)


# -- the request log ---------------------------------------------------------------


def test_each_request_is_logged_once_with_method_path_status_and_duration(logged):
    with connect(logged) as c:
        assert c.request("GET", "/health").status == 200
        assert c.request("POST", "/health").status == 405
        assert c.request("GET", "/nope").status == 404
        assert c.request("HEAD", "/").status == 200
    patterns = [r"^INFO:httpd:GET /health 200 \d+ms$", r"^INFO:httpd:POST /health 405 \d+ms$",
                r"^INFO:httpd:GET /nope 404 \d+ms$", r"^INFO:httpd:HEAD / 200 \d+ms$"]
    logged.wait_for_log(patterns[-1], TIMEOUT)
    lines = log_lines(logged)
    for pattern in patterns:
        assert len([x for x in lines if re.search(pattern, x)]) == 1, (pattern, lines)


def test_refused_request_is_logged_with_its_status(logged):
    assert_rejected(logged, b"BREW /pot HTTP/1.1\r\nHost: pico.test\r\n\r\n", 501)
    logged.wait_for_log(r"^INFO:httpd:\S+ \S+ 501 \d+ms$", TIMEOUT)


def test_query_string_headers_and_body_never_appear_in_the_log(logged):
    with connect(logged) as c:
        assert c.request("GET", "/test/args?token=secret123").status == 200
        r = c.request("POST", "/test/echo?token=secret123",
                      {"Authorization": "Bearer secret123", "Content-Type": "application/x-www-form-urlencoded"},
                      b"password=secret123")
        assert r.status == 200
        assert c.request("GET", "/nope?token=secret123").status == 404
        assert c.request("GET", "/test/args?token=secret123&x=%zz").status == 400
    # Refused by the parser after the query was read: a bad header.
    assert_rejected(logged, b"GET /health?token=secret123 HTTP/1.1\r\nHost: pico.test\r\nbad\r\n\r\n", 400)
    logged.wait_for_log(r"^INFO:httpd:GET /health 400 \d+ms$", TIMEOUT)
    logged.wait_for_log(r"^INFO:httpd:GET /test/args 400 \d+ms$", TIMEOUT)
    logged.wait_for_log(r"^INFO:httpd:GET /test/args 200 \d+ms$", TIMEOUT)
    logged.wait_for_log(r"^INFO:httpd:POST /test/echo 200 \d+ms$", TIMEOUT)
    assert "secret123" not in logged.output()


def test_percent_encoded_line_break_in_path_cannot_forge_a_log_line(logged):
    path = "/test/params/a%0D%0AINFO:httpd:GET%20/forged%20200%200ms/x"
    with connect(logged) as c:
        r = c.request("GET", path)
        assert r.status in (200, 400)
    r = client.get(logged.port, "/test/args", timeout=TIMEOUT)  # a marker after it
    logged.wait_for_log(r"^INFO:httpd:GET /test/args 200 \d+ms$", TIMEOUT)
    lines = log_lines(logged)
    assert not [x for x in lines if x.startswith("INFO:httpd:GET /forged")], lines
    # One request, at most one line, and it is the request's own.
    mine = [x for x in lines if "forged" in x]
    assert len(mine) <= 1, lines
    assert all(x.startswith("INFO:httpd:GET /test/params/") for x in mine), lines


def test_log_level_warning_suppresses_per_request_lines(start_server):
    srv = start_server(settings={"LOG_LEVEL": "WARNING", "ACCESS_LOG": "true"}, script=FAULT_APP)
    with connect(srv) as c:
        assert c.request("GET", "/health").status == 200
        assert c.request("GET", "/nope").status == 404
        assert c.request("GET", "/test/raise").status == 500
    # The ERROR line of the failure comes after the earlier requests' lines would have.
    srv.wait_for_log(r"deliberate failure", TIMEOUT)
    assert_serving(srv)
    time.sleep(0.5)
    out = srv.output()
    assert "INFO:" not in out, out
    assert not re.search(r"(GET|POST) /\S* \d{3} \d+ms", out), out


@pytest.mark.parametrize("settings", [{}, {"ACCESS_LOG": "false"}], ids=["default", "false"])
def test_without_access_log_no_per_request_lines_but_other_info_lines(start_server, settings):
    srv = start_server(settings=settings, script=FAULT_APP)
    with connect(srv) as c:
        assert c.request("GET", "/health").status == 200
        assert c.request("GET", "/nope").status == 404
        assert c.request("GET", "/test/raise").status == 500
    assert_rejected(srv, b"BREW /pot HTTP/1.1\r\nHost: pico.test\r\n\r\n", 501)
    srv.wait_for_log(r"deliberate failure", TIMEOUT)  # errors are still logged
    assert_serving(srv)
    time.sleep(0.5)
    out = srv.output()
    assert re.search(r"^INFO:httpd:listening on ", out, re.M), out
    assert not re.search(r"(GET|POST|BREW) /\S* \d{3} \d+ms", out), out
