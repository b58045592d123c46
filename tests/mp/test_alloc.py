# The parts of the request path that run without allocating, proved under
# micropython.heap_lock(): any allocation raises MemoryError while the heap is
# locked. (The VM's frames of larger functions still work: MicroPython puts
# them on the C stack when the heap refuses them, so they are not garbage.)
#
# What is not here allocates today (tools/bench.py measures how much, per
# request and part by part): a path other than "/" (decoded to a new str),
# a Connection or Expect header (lower-cased copies), Router.match (its
# result tuples), the server's coroutines and memoryview slices, the log line.
import micropython

from httpd.request import Request
from httpd.response import Response
from httpd.server import Server

MAX_BODY = Server.max_body


def parse(req, buf, n):
    """Parse buf[0:n] as Server._parse_head does (lines on LF, one CR
    dropped, request line, headers, finish at the blank line), allocating
    nothing itself."""
    req.reset()
    pos = 0
    first = True
    while True:
        nl = buf.find(b"\n", pos, n)
        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
        if first:
            req.request_line(buf, pos, end)
            first = False
        elif end == pos:
            req.finish(MAX_BODY)
            return
        else:
            req.header(buf, pos, end)
        pos = nl + 1


def locked(fn):
    """Call fn() once to warm up, then again with the heap locked. (fn takes
    no arguments: a call with *args would allocate its argument array.)"""
    fn()
    micropython.heap_lock()
    try:
        fn()
    finally:
        micropython.heap_unlock()


def reused_request(head):
    buf = bytearray(Server.max_head)
    buf[0 : len(head)] = head
    return Request(buf), buf, len(head)


def test_a_plain_get_of_the_root_is_parsed_without_allocating():
    req, buf, n = reused_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    locked(lambda: parse(req, buf, n))
    assert req.method == "GET" and req.path == "/" and req.query == ""
    assert req.version == 11 and req.keep_alive and req.content_length == 0


def test_what_wrk_sends_host_with_a_port_is_parsed_without_allocating():
    req, buf, n = reused_request(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
    locked(lambda: parse(req, buf, n))
    assert req.method == "GET" and req.path == "/" and req.keep_alive


def test_an_http_1_0_get_with_content_length_0_is_parsed_without_allocating():
    req, buf, n = reused_request(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
    locked(lambda: parse(req, buf, n))
    assert req.version == 10 and not req.keep_alive and req.content_length == 0


def test_a_cached_response_head_is_returned_without_allocating():
    resp = Response.html(b"<!DOCTYPE html><p>73 bytes or so</p>\n")
    head = resp.head()
    locked(resp.head)
    assert resp.head() is head


def test_resetting_a_request_for_the_next_one_allocates_nothing():
    req, buf, n = reused_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    parse(req, buf, n)
    locked(req.reset)
    assert req.method is None and req.path is None
