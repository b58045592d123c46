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


def load(name):
    """Module `name` (e.g. "dashboard.page"), imported now if it is not yet:
    the one way a handler's code is loaded at its first request, so a board
    holds it only once someone asks. (Importing from a file needs a free
    descriptor: with every one held by a client the import fails with
    EMFILE, the server answers 503 with Retry-After, and the next request
    imports it; a failed import leaves nothing in sys.modules.)"""
    import sys

    module = sys.modules.get(name)
    if module is None:
        gc.collect()  # from .py, compiling needs the largest free blocks
        __import__(name)
        module = sys.modules[name]
    return module


def forget(name):
    """Forget module `name` (run-once code, or a half no longer needed) so
    its code can be collected: sys.modules holds it, and so does its
    package, as an attribute."""
    import sys

    sys.modules.pop(name, None)
    package, _, attr = name.rpartition(".")
    package = sys.modules.get(package)
    if package is not None and hasattr(package, attr):
        delattr(package, attr)


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
        try:
            asyncio.run(server.shutdown())
            asyncio.new_event_loop()
        except MemoryError:
            # No heap for the tasks' last turn: it was full, or a Ctrl-C left it
            # locked (the unix port raises Ctrl-C even inside a collection).
            server.close_sockets()
