# Responses (httpd.response.Response) on MicroPython: the exact bytes of
# head(), bodies, 204/304, header injection, the head cache, json/redirect.
import json

from httpd.response import EVENT_STREAM, HTML, JSON, TEXT, Response


def refused(fn, *args):
    """Assert fn(*args) raises ValueError."""
    try:
        fn(*args)
    except ValueError:
        return
    raise AssertionError("expected ValueError, nothing raised")


def header_refused(name, value):
    """A header that would split the response must be refused with
    ValueError, when it is added or at the latest when the head is built."""
    r = Response(b"x")
    try:
        r.add_header(name, value)
        head = r.head()
    except ValueError:
        return
    raise AssertionError("header %r: %r was sent as %r" % (name, value, head))


# -- head() bytes ------------------------------------------------------------------


def test_head_of_plain_text_response():
    r = Response("hello")
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: text/plain; charset=utf-8\r\n"
                        b"Content-Length: 5\r\n"), r.head()
    assert r.body == b"hello"


def test_head_ends_with_crlf_but_without_blank_line():
    head = Response("x").head()
    assert head.endswith(b"\r\n")
    assert not head.endswith(b"\r\n\r\n")


def test_str_body_is_utf8_and_content_length_counts_bytes():
    r = Response("caf\u00e9")
    assert r.body == b"caf\xc3\xa9"
    assert b"Content-Length: 5\r\n" in r.head()


def test_bytes_body_is_kept():
    r = Response(b"\x00\x01\xff")
    assert r.body == b"\x00\x01\xff"
    assert b"Content-Length: 3\r\n" in r.head()


def test_empty_200_has_content_length_zero():
    assert Response().head() == (b"HTTP/1.1 200 OK\r\n"
                                 b"Content-Type: text/plain; charset=utf-8\r\n"
                                 b"Content-Length: 0\r\n")


def test_status_line_carries_reason_phrase():
    assert Response(b"", 404).head().startswith(b"HTTP/1.1 404 Not Found\r\n")
    assert Response(b"", 413).head().startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert Response(b"", 503).head().startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert Response(b"", 505).head().startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n")


def test_status_without_known_reason_still_has_a_reason():
    head = Response(b"", 418).head()
    assert head.startswith(b"HTTP/1.1 418 "), head
    assert head.index(b"\r\n") > len(b"HTTP/1.1 418 "), head


def test_custom_content_type():
    r = Response(b"<b>x</b>", 200, "text/html")
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: text/html\r\n"
                        b"Content-Length: 8\r\n")


def test_no_content_type_when_none():
    r = Response(b"abc", 200, None)
    assert r.head() == b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"


def test_extra_headers_come_after_content_headers_in_order():
    r = Response(b"ok", 200, TEXT, [("X-A", "1"), ("X-B", "two")])
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: text/plain; charset=utf-8\r\n"
                        b"Content-Length: 2\r\n"
                        b"X-A: 1\r\n"
                        b"X-B: two\r\n"), r.head()


def test_non_string_header_value_is_formatted():
    r = Response(b"", 503, TEXT, [("Retry-After", 2)])
    assert r.head().endswith(b"Retry-After: 2\r\n"), r.head()


# -- 204 / 304 ----------------------------------------------------------------------


def test_204_has_no_body_content_type_or_content_length():
    r = Response("ignored", 204)
    assert r.body == b""
    assert r.head() == b"HTTP/1.1 204 No Content\r\n", r.head()


def test_304_has_no_body_content_type_or_content_length():
    r = Response(b"ignored", 304, TEXT, [("ETag", '"abc"')])
    assert r.body == b""
    assert r.head() == b'HTTP/1.1 304 Not Modified\r\nETag: "abc"\r\n', r.head()


def test_204_with_headers():
    r = Response(b"", 204, None, [("Allow", "GET, HEAD, OPTIONS")])
    assert r.head() == b"HTTP/1.1 204 No Content\r\nAllow: GET, HEAD, OPTIONS\r\n"


# -- header injection ------------------------------------------------------------------


def test_header_value_with_crlf_is_refused():
    header_refused("X-A", "a\r\nSet-Cookie: s=1")


def test_header_value_with_bare_lf_is_refused():
    header_refused("X-A", "a\nSet-Cookie: s=1")


def test_header_value_with_bare_cr_is_refused():
    header_refused("X-A", "a\rb")


def test_header_given_to_constructor_with_crlf_is_refused():
    r = Response(b"x", 200, TEXT, [("X-A", "1\r\n\r\n<html>")])
    refused(r.head)


def test_header_name_with_line_break_is_refused():
    # A name with CR/LF splits the response just as a value does (RFC 9110
    # 5.1: field-name = token; CWE-113).
    header_refused("X-A\r\nSet-Cookie", "s=1")
    header_refused("X-A\nSet-Cookie", "s=1")


def test_redirect_location_with_crlf_is_refused():
    r = Response.redirect("/next\r\nSet-Cookie: s=1")
    refused(r.head)


# -- head cache ------------------------------------------------------------------------


def test_head_is_built_once_and_cached():
    r = Response(b"x")
    first = r.head()
    assert r.head() is first


def test_add_header_invalidates_cached_head():
    r = Response(b"x")
    before = r.head()
    assert b"X-Late" not in before
    r.add_header("X-Late", "yes")
    after = r.head()
    assert after == before + b"X-Late: yes\r\n", after
    r.add_header("X-Later", 3)
    assert r.head() == after + b"X-Later: 3\r\n", r.head()


def test_add_header_after_a_send_changes_what_is_sent_next():
    """A Response sent twice keeps its bytes (kept()); a header added after
    that must be in what goes out next, not the old bytes."""
    r = Response(b"x")
    r.head()  # the first send builds the head
    old = r.kept()
    assert old is not None and b"X-Late" not in old
    r.add_header("X-Late", "yes")
    assert r.kept() is None  # the next send builds its head again ...
    r.head()
    new = r.kept()  # ... and the one after sends the new bytes
    assert new == r.head() + b"\r\nx" and b"X-Late: yes\r\n" in new, new


def test_add_header_to_response_made_with_headers_list():
    r = Response(b"", 200, None, [("X-A", "1")])
    r.head()
    r.add_header("X-B", "2")
    assert r.head() == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-A: 1\r\nX-B: 2\r\n"


# -- json / html / redirect / streamed ---------------------------------------------------


def test_json_response_body_and_head():
    obj = {"led": True, "temp": 21.5, "names": ["a", "b"]}
    r = Response.json(obj)
    assert r.status == 200
    assert r.content_type == JSON
    assert isinstance(r.body, bytes)
    assert json.loads(r.body) == obj
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Content-Length: %d\r\n"
                        b"Cache-Control: no-store\r\n" % len(r.body)), r.head()  # state: never cached


def test_json_response_with_status_and_headers():
    r = Response.json([1, 2], 201, [("Location", "/items/3")])
    assert r.body == json.dumps([1, 2]).encode()
    assert r.head() == (b"HTTP/1.1 201 Created\r\n"
                        b"Content-Type: application/json\r\n"
                        b"Content-Length: %d\r\n"
                        b"Location: /items/3\r\n"
                        b"Cache-Control: no-store\r\n" % len(r.body)), r.head()


def test_json_response_keeps_the_handlers_own_cache_control():
    r = Response.json([1], 200, [("cache-control", "max-age=60")])
    assert r.head().lower().count(b"cache-control") == 1, r.head()


def test_json_of_non_ascii_counts_bytes():
    r = Response.json({"s": "\u00e9"})
    assert b"Content-Length: %d\r\n" % len(r.body) in r.head()
    assert json.loads(r.body) == {"s": "\u00e9"}


def test_html_response():
    r = Response.html("<p>\u00e9</p>")
    assert r.content_type == HTML
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: text/html; charset=utf-8\r\n"
                        b"Content-Length: 9\r\n"
                        b"X-Content-Type-Options: nosniff\r\n"
                        b"Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
                        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"
                        b"Referrer-Policy: same-origin\r\n"), r.head()


def test_html_response_keeps_a_policy_the_handler_sets_and_adds_the_rest():
    r = Response.html("<p>", 200, [("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")])
    head = r.head()
    assert head.count(b"Content-Security-Policy") == 1 and b"style-src 'unsafe-inline'" in head, head
    assert b"X-Content-Type-Options: nosniff\r\n" in head and b"Referrer-Policy: same-origin\r\n" in head


def test_text_and_other_answers_get_no_extra_headers():
    assert Response("hi").head() == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n"


def test_redirect_is_303_with_location_and_empty_body():
    r = Response.redirect("/login?next=%2F")
    assert r.status == 303
    assert r.body == b""
    assert r.head() == (b"HTTP/1.1 303 See Other\r\n"
                        b"Content-Length: 0\r\n"
                        b"Location: /login?next=%2F\r\n"), r.head()


def test_redirect_with_other_status():
    assert Response.redirect("/x", 301).head() == (b"HTTP/1.1 301 Moved Permanently\r\n"
                                                   b"Content-Length: 0\r\n"
                                                   b"Location: /x\r\n")
    assert Response.redirect("/x", 307).head().startswith(b"HTTP/1.1 307 Temporary Redirect\r\n")


def test_streamed_response_has_no_content_length():
    async def source(send):
        await send("x")

    r = Response.streamed(source, EVENT_STREAM, [("Cache-Control", "no-cache")])
    assert r.stream is source
    assert r.head() == (b"HTTP/1.1 200 OK\r\n"
                        b"Content-Type: text/event-stream\r\n"
                        b"Cache-Control: no-cache\r\n"), r.head()
