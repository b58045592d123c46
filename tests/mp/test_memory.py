# Request data must leave nothing behind in the heap. MicroPython interns every
# 1-character str it creates (iterating or indexing a str, chr()), for good:
# code that looked at client text one character at a time grew the heap with
# each new character a client sent, and on a fragmented heap the growth of the
# intern table itself failed with MemoryError (found with gdb: qstr_add).
# The tests make their characters from UTF-8 bytes, so that they intern nothing
# themselves.
import gc

from access import token as auth
from httpd.request import Request
from httpd.response import Response


def _utf8(cp):
    """UTF-8 bytes of code point cp (0x80..0x7FF), without chr()."""
    return bytes((0xC0 | cp >> 6, 0x80 | cp & 0x3F))


def _heap_after(fn, start, count):
    for i in range(start, start + count):
        fn(i)
    gc.collect()
    return gc.mem_alloc()


def _parse_path(i):
    char = _utf8(0x100 + i)
    buf = bytearray(b"GET /p/%%%02X%%%02X HTTP/1.1" % (char[0], char[1]))
    req = Request(buf)
    req.request_line(buf, 0, len(buf))
    assert req.path.encode() == b"/p/" + char


def test_paths_with_many_new_characters_do_not_grow_the_heap():
    before = _heap_after(_parse_path, 0, 20)  # warm up
    after = _heap_after(_parse_path, 100, 400)
    # 400 interned characters would cost about 8 KB (data and table).
    assert after - before < 512, "heap grew by %d bytes" % (after - before)


def _compare_token(i):
    token = (b"secret-" + _utf8(0x400 + i) * 4).decode()
    assert auth._same(token, token)
    assert not auth._same(token, token[:-1] + _utf8(0x500 + i).decode())


def test_token_comparison_does_not_keep_the_characters_it_compares():
    before = _heap_after(_compare_token, 0, 20)
    after = _heap_after(_compare_token, 100, 300)
    assert after - before < 512, "heap grew by %d bytes" % (after - before)


def _bad_name(i):
    try:
        Response(b"", 200, None, [("X-" + _utf8(0x100 + i).decode(), "1")]).head()
    except ValueError:
        return
    raise AssertionError("a non-ASCII header name was accepted")


def test_response_header_names_are_checked_without_interning():
    before = _heap_after(_bad_name, 0, 20)
    after = _heap_after(_bad_name, 100, 300)
    assert after - before < 512, "heap grew by %d bytes" % (after - before)


def test_reset_lets_go_of_the_headers_and_args_a_handler_decoded():
    # Request.headers and .args are attributes __getattr__ adds and reset()
    # deletes; a deleted attribute's slot keeps its value in MicroPython, so
    # reset() must clear it first, or a slot keeps the last request's dicts.
    head = b"GET /s?" + b"&".join(b"k%d=%d" % (i, i) for i in range(20)) + b" HTTP/1.1"
    lines = [head, b"Host: a"] + [b"X-Header-%d: %s" % (i, b"v" * 20) for i in range(20)]
    raw = b"\r\n".join(lines) + b"\r\n\r\n"
    buf = bytearray(raw)
    req = Request(buf)
    offsets = []
    pos = 0
    while True:
        nl = buf.find(b"\r\n", pos)
        if nl == pos:
            break
        offsets.append((pos, nl))
        pos = nl + 2
    req.request_line(buf, *offsets[0])
    for start, end in offsets[1:]:
        req.header(buf, start, end)
    req.finish(0)
    gc.collect()
    before = gc.mem_alloc()
    assert len(req.headers) == 21 and len(req.args) == 20
    gc.collect()
    assert gc.mem_alloc() > before + 1000  # the two dicts and their strings
    req.reset()
    gc.collect()
    assert gc.mem_alloc() <= before, (before, gc.mem_alloc())
    assert req.path is None and req.query == ""
