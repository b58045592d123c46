# httpd: an HTTP/1.1 server for MicroPython that keeps answering on a device
# with a handful of sockets: every wait has a deadline, every connection is
# closed on every path, and idle clients make room for new ones.
# MIT license

import gc

from .request import Request
from .response import Response
from .router import Router

gc.collect()  # the largest module next: compiled from .py, it needs the largest free blocks
from .server import Server, Stats  # noqa: E402
from .status import HTTPError

# Loading (or compiling) these modules leaves garbage between their code;
# collected now, before the application's modules and the server's buffers
# are placed, large blocks stay whole for request bodies and big answers.
gc.collect()

__version__ = "0.1.0"


def run(server, *tasks):
    """Serve (and run `tasks`, coroutines, beside the server) until Ctrl-C or
    an error; close every socket on the way out, so a second run (or a soft
    reset) can bind the port again at once."""
    import asyncio

    async def main():
        for coro in tasks:
            asyncio.create_task(coro)
        await server.serve()

    try:
        asyncio.run(main())
    finally:
        asyncio.run(server.shutdown())
        asyncio.new_event_loop()
