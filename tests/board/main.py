# main.py of the test images (tests/board/manifest.py): the emulator has no
# radio, so the board's lwIP reaches the host over a SLIP link on UART0; then
# the application runs exactly as the release image's main.py runs it, with
# one more route for the tests: /test/heap, the heap after a collection
# (/api/status reports it without one, garbage included).
import gc

import app
import slipnet
from httpd import Response

_build = app.build


def _heap(request):
    gc.collect()
    return Response.json({"free": gc.mem_free(), "used": gc.mem_alloc()})


def _build_with_heap_route(*args, **kwargs):
    application = _build(*args, **kwargs)
    application.router.add("/test/heap", _heap)
    return application


app.build = _build_with_heap_route
app.main(tasks=(slipnet.up()(),))
