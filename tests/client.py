"""A small, strict HTTP/1.1 client over real sockets, for the tests.

It keeps the bytes exactly as the server sent them, so tests can check
framing (status line, Content-Length, chunked encoding, Connection) rather
than what a lenient library would make of them.
"""

import socket
import struct
import time


class Response:
    def __init__(self, version, status, reason, headers, body, head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # {lower-case name: value}, repeats joined by ", "
        self.body = body
        self.head = head  # the raw head bytes, up to the blank line

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:80])


class Conn:
    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def request(self, method="GET", path="/", headers=None, body=b"", version="HTTP/1.1"):
        self.send(build(method, path, headers, body, version))
        return self.read_response(head_request=(method == "HEAD"))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        data, self.buf = self.buf[:i], self.buf[i:]
        return data

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, head_request=False):
        head = self._read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        version, status, reason = lines[0].decode().split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.decode().partition(":")
            assert name == name.strip() and name, "malformed header line %r" % line
            name = name.lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        status = int(status)
        if head_request or status in (204, 304) or status < 200:
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(self._read_until(b"\r\n")[:-2], 16)
                if size == 0:
                    self._read_until(b"\r\n")
                    break
                body += self._read_exact(size)
                assert self._read_exact(2) == b"\r\n", "chunk not followed by CRLF"
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = self.read_to_close()
        return Response(version, status, reason, headers, body, head)

    def read_to_close(self, timeout=5.0):
        self.sock.settimeout(timeout)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            self.buf += chunk
        data, self.buf = self.buf, b""
        return data

    def closed_by_server(self, timeout=5.0):
        """True if the server closes (FIN or reset) within `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def reset(self):
        """Close with RST instead of FIN (SO_LINGER 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def build(method="GET", path="/", headers=None, body=b"", version="HTTP/1.1"):
    if isinstance(body, str):
        body = body.encode()
    h = {"Host": "pico.test"}
    if body:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    lines = ["%s %s %s" % (method, path, version)]
    lines += ["%s: %s" % (k, v) for k, v in h.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def request(port, method="GET", path="/", headers=None, body=b"", version="HTTP/1.1", timeout=5.0):
    """One request on a new connection."""
    with Conn(port, timeout) as c:
        return c.request(method, path, headers, body, version)


def get(port, path="/", headers=None, timeout=5.0):
    return request(port, "GET", path, headers, timeout=timeout)


def raw(port, data, timeout=5.0, head_request=False):
    """Send raw bytes on a new connection and read one response."""
    with Conn(port, timeout) as c:
        c.send(data)
        return c.read_response(head_request)


def timed_get(port, path="/", timeout=5.0):
    """(response, seconds) for one GET on a new connection, timed from the
    request to the whole answer. The TCP handshake before it is the kernel's
    (it completes whether or not the server has called accept yet), and in
    this sandbox one SYN in a few is retried after 1 s whatever the server
    does, so it is left out of what the server is held to."""
    with Conn(port, timeout) as c:
        t0 = time.monotonic()
        r = c.request("GET", path)
        return r, time.monotonic() - t0


def crowd(port, n, path="/", timeout=15.0):
    """n clients GET `path` at once, each on its own connection: a list of
    (status or the error's repr, seconds) in the order they were started."""
    import threading

    results = [None] * n

    def visit(i):
        t0 = time.monotonic()
        try:
            results[i] = (request(port, "GET", path, {"Host": "127.0.0.1"}, timeout=timeout).status,
                          time.monotonic() - t0)
        except OSError as e:
            results[i] = (repr(e), time.monotonic() - t0)

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 15)
    return results
