# A captive-portal DNS responder: every name resolves to the board.
# MIT license
#
# While the setup portal runs, a phone that joins the board's access point
# asks DNS for its connectivity-check host; answering every A query with the
# board's address makes the phone open the setup page by itself. Packets that
# are not a plain one-question query are dropped without an answer.

import asyncio
import gc
import socket

from httpd.aio import forget_wait, wait_readable

_MAX_PACKET = 512  # classic DNS over UDP
_OOM_PAUSE_MS = 50  # after a MemoryError
_TTL = b"\x00\x00\x00\x3c"  # 60 s


def answer(query, address):
    """The reply to one DNS query (bytes), or None to drop it. `address` is
    the 4-byte IPv4 address every A query resolves to."""
    n = len(query)
    if n < 12 or n > _MAX_PACKET:
        return None
    if query[2] & 0xF8:  # a response (QR) or an opcode other than QUERY
        return None
    if query[4:6] != b"\x00\x01" or query[6:12] != b"\x00\x00\x00\x00\x00\x00":
        return None  # exactly one question, no answers, no records
    i = 12
    while True:  # the question's name: length-prefixed labels ending in 0
        if i >= n:
            return None
        length = query[i]
        if length == 0:
            i += 1
            break
        if length > 63 or i - 12 > 255:  # no compression in a question
            return None
        i += 1 + length
    if i + 4 > n:
        return None
    is_a = query[i : i + 4] == b"\x00\x01\x00\x01"  # type A, class IN
    header = query[0:2] + bytes((0x84 | (query[2] & 0x01), 0x80, 0, 1, 0, 1 if is_a else 0, 0, 0, 0, 0))
    reply = header + query[12 : i + 4]
    if is_a:
        reply += b"\xc0\x0c\x00\x01\x00\x01" + _TTL + b"\x00\x04" + address
    return reply


class CaptiveDNS:
    def __init__(self, ip, port=53):
        self.address = bytes(int(part) for part in ip.split("."))
        self.port = port
        self.answered = 0
        self.dropped = 0

    async def run(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(socket.getaddrinfo("0.0.0.0", self.port)[0][-1])
            sock.setblocking(False)
            while True:
                try:
                    await wait_readable(sock)  # pyright: ignore[reportGeneralTypeIssues]
                    try:
                        query, peer = sock.recvfrom(_MAX_PACKET + 1)
                    except OSError:
                        continue  # nothing there after all
                    reply = answer(query, self.address)
                    if reply is None:
                        self.dropped += 1
                        continue
                    try:
                        sock.sendto(reply, peer)
                        self.answered += 1
                    except OSError:
                        self.dropped += 1
                except MemoryError:  # a full heap costs a query, not the responder
                    forget_wait()
                    gc.collect()
                    self.dropped += 1
                    await asyncio.sleep_ms(_OOM_PAUSE_MS)
        finally:
            sock.close()
