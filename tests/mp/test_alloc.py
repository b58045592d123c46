# The parts of the request path that run without allocating, proved under
# micropython.heap_lock(): any allocation raises MemoryError while the heap is
# locked. And without asking the heap for anything at all, not even for the
# VM's frames: MicroPython allocates the frame of a call whose frame exceeds
# 11 words on the heap (and frees it on return; tools/frames.py), which a
# locked heap would hide (the frame then goes on the C stack), so
# micropython.mem_total(), every byte ever requested, must not move either.
#
# What is not here allocates today (tools/bench.py measures how much, per
# request and part by part): a path other than "/" (decoded to a new str), a
# Connection header listing several tokens, a Host not seen before on that
# slot, Router.match (its result tuple), the read's generator and memoryview
# slice, the log line.
import micropython

from httpd.request import Request
from httpd.response import Response
from httpd.router import Router
from httpd.head import Head
from httpd.server import Server

_SERVER = Server(Router())


def head_parser(head):
    """(parse, request): parse() parses `head` in a reused slot (a Head with
    the server's limits), as the server does for every request."""
    h = Head(_SERVER)
    n = len(head)
    h.space()[0:n] = head

    def parse():
        h.forget()
        h.received(n)
        assert h.parse()

    return parse, h.request


def locked(fn):
    """Call fn() once to warm up, then again counting every byte it asks of
    the heap (none), then with the heap locked. (fn takes no arguments: a
    call with *args would allocate its argument array.)"""
    fn()
    before = micropython.mem_total()
    fn()
    asked = micropython.mem_total() - before
    assert asked == 0, "asked the heap for %d bytes (a frame over 11 words?)" % asked
    micropython.heap_lock()
    try:
        fn()
    finally:
        micropython.heap_unlock()


def test_a_plain_get_of_the_root_is_parsed_without_allocating():
    parse, req = head_parser(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    locked(parse)
    assert req.method == "GET" and req.path == "/" and req.query == ""
    assert req.version == 11 and req.keep_alive and req.content_length == 0


def test_what_wrk_sends_host_with_a_port_is_parsed_without_allocating():
    parse, req = head_parser(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
    locked(parse)
    assert req.method == "GET" and req.path == "/" and req.keep_alive


def test_a_browser_get_of_the_root_with_keep_alive_is_parsed_without_allocating():
    parse, req = head_parser(
        b"GET / HTTP/1.1\r\nHost: 192.168.1.50\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0\r\n"
        b"Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate\r\n"
        b"Accept-Language: en-GB,en;q=0.9\r\nConnection: keep-alive\r\n\r\n")
    locked(parse)
    assert req.path == "/" and req.keep_alive


def test_an_http_1_0_get_with_content_length_0_is_parsed_without_allocating():
    parse, req = head_parser(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
    locked(parse)
    assert req.version == 10 and not req.keep_alive and req.content_length == 0


def test_a_cached_response_head_is_returned_without_allocating():
    resp = Response.html(b"<!DOCTYPE html><p>73 bytes or so</p>\n")
    head = resp.head()
    locked(resp.head)
    assert resp.head() is head


def test_resetting_a_request_for_the_next_one_allocates_nothing():
    parse, req = head_parser(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    parse()
    locked(req.reset)
    assert req.method is None and req.path is None
