"""HTTP from the client side: keep-alive connections that read whole
responses, as fast as Python allows (the built-in load generator's, and the
bench routes' reader)."""

import re
import socket

_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")
_CONNECTION = re.compile(rb"\r\nconnection:[ \t]*([^\r]*)")


def request_bytes(path, port):
    # What wrk sends: the request line and Host, nothing else (HTTP/1.1 keeps
    # the connection open by default).
    return b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (path.encode(), port)


class Conn:
    """One keep-alive client connection; get() reads one whole response."""

    def __init__(self, port, timeout=2.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(65536)
        self.view = memoryview(self.buf)
        self.have = 0

    def close(self):
        self.sock.close()

    def _fill(self):
        if self.have == len(self.buf):
            self.buf.extend(bytes(len(self.buf)))
            self.view = memoryview(self.buf)
        n = self.sock.recv_into(self.view[self.have:])
        if n == 0:
            raise ConnectionError("server closed the connection")
        self.have += n

    def send(self, data):
        self.sock.sendall(data)

    def response(self):
        """(status, body, keep_alive) of the next response."""
        buf = self.buf
        while True:
            end = buf.find(b"\r\n\r\n", 0, self.have)
            if end >= 0:
                break
            self._fill()
        head = bytes(buf[:end]).lower()
        status = int(head[9:12])
        keep = not head.startswith(b"http/1.0")
        m = _CONNECTION.search(head)
        if m:
            if b"close" in m.group(1):
                keep = False
            elif b"keep-alive" in m.group(1):
                keep = True
        start = end + 4
        m = _LENGTH.search(head)
        if m:
            stop = start + int(m.group(1))
            while self.have < stop:
                self._fill()
        else:  # the body ends when the connection does
            keep = False
            try:
                while True:
                    self._fill()
            except ConnectionError:
                pass
            stop = self.have
        body = bytes(buf[start:stop])
        left = self.have - stop
        buf[0:left] = buf[stop:self.have]
        self.have = left
        return status, body, keep

    def get(self, path):
        self.send(request_bytes(path, self.port))
        return self.response()


class Client:
    """Sequential requests over keep-alive connections, reconnecting when the
    server closes one (Microdot closes every connection)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        if self.conn is None:
            self.conn = Conn(self.port)
        status, body, keep = self.conn.get(path)
        if not keep:
            self.close()
        return status, body

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def numbers(client, path):
    """The whitespace-separated integers a bench-only route answers
    (/bench/heap: in use and free ...)."""
    status, body = client.get(path)
    if status != 200:
        raise SystemExit("error: %s answered %d" % (path, status))
    return [int(x) for x in body.split()]
