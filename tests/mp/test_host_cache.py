# Request remembers the last Host value it found valid, so that a keep-alive
# connection's identical Host is not checked byte by byte again. (A file of its
# own: a test module must stay small enough for a 180K heap to compile.)
from httpd.request import Request
from httpd.status import HTTPError


def _parse(req, buf, raw):
    buf[0 : len(raw)] = raw
    req.reset()
    end = raw.find(b"\r\n")
    req.request_line(buf, 0, end)
    start = end + 2
    end = raw.find(b"\r\n", start)
    req.header(buf, start, end)
    req.finish(4096)


def test_a_host_checked_once_is_still_checked_when_it_changes():
    buf = bytearray(256)
    req = Request(buf)
    for host, ok in ((b"pico.test", True), (b"pico.test", True), (b"pico/test", False),
                     (b"pico test", False), (b"other.lan", True), (b"a@b", False), (b"other.lan", True)):
        try:
            _parse(req, buf, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            assert ok, "%r was accepted" % host
        except HTTPError as e:
            assert not ok and e.status == 400, "%r: %d" % (host, e.status)
