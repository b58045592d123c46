# Request remembers the last Host value it found valid, so that a keep-alive
# connection's identical Host is not checked byte by byte again. (A file of its
# own: a test module must stay small enough for a 180K heap to compile.)
# The requests go through one Head, the server's own parser of a connection
# slot, one after another as on a keep-alive connection.
from heads import Limits, fill
from httpd.head import Head
from httpd.status import HTTPError


def test_a_host_checked_once_is_still_checked_when_it_changes():
    h = Head(Limits())
    for host, ok in ((b"pico.test", True), (b"pico.test", True), (b"pico/test", False),
                     (b"pico test", False), (b"other.lan", True), (b"a@b", False), (b"other.lan", True)):
        try:
            fill(h, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            assert ok, "%r was accepted" % host
            assert h.request.headers["host"] == host.decode()
        except HTTPError as e:
            assert not ok and e.status == 400, "%r: %d" % (host, e.status)
        if ok:
            h.next_request()  # the connection's next request: the cache is kept
        else:
            h.forget()  # the server closes a connection after a 400
