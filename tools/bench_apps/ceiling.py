# Bench-only: the ceiling. A bare keep-alive loop that parses nothing: it reads
# with readinto until it has seen "\r\n\r\n", answers the fixed 73-byte page
# with Content-Length, and loops. Every path gets the same page. No deadlines,
# no limits, no routing: what the unix port's asyncio and sockets allow.
import asyncio
from os import getenv

from benchpage import PAGE

_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
             b"Content-Length: %d\r\n\r\n" % len(PAGE)) + PAGE


async def _serve(stream, _):
    buf = bytearray(1024)
    mv = memoryview(buf)
    n = 0
    try:
        while True:
            got = await stream.readinto(mv[n:])
            if not got:
                return
            n += got
            end = buf.find(b"\r\n\r\n", 0, n)
            while end >= 0:
                stream.write(_RESPONSE)
                if stream.out_buf:
                    await stream.drain()
                end += 4
                left = n - end
                if left:  # the start of a pipelined request
                    buf[0:left] = mv[end:n]
                n = left
                end = buf.find(b"\r\n\r\n", 0, n)
            if n == len(buf):
                return  # a head larger than the buffer: not a benchmark client
    except OSError:
        pass
    finally:
        stream.s.close()


async def main():
    host = getenv("PICO_HOST") or "127.0.0.1"
    port = int(getenv("PICO_PORT") or "8080")
    server = await asyncio.start_server(_serve, host, port, 5)
    print("ceiling listening on %s:%d" % (host, port))
    await server.wait_closed()


asyncio.run(main())
