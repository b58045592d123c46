# Bench-only: this firmware's real application, built by app.build(config)
# from whatever lib is on MICROPYPATH (build/lib, the .mpy build, for make
# bench), with GET / answering the 73-byte benchmark page instead of the
# dashboard. GET /api/status is the application's own. Measuring routes for
# tools/bench.py's heap figures (never part of the firmware):
#
#   GET /bench/mem     "TOTAL ALLOC": micropython.mem_total() (bytes allocated
#                      since start, including blocks freed again at once) and
#                      gc.mem_alloc() (bytes of heap in use)
#   GET /bench/gc-off  gc.collect(), gc.disable(), then the same two numbers:
#                      until /bench/gc-on, mem_alloc grows by every byte left
#                      for the garbage collector
#   GET /bench/gc-on   gc.enable()
#   GET /bench/heap    gc.collect(), then "ALLOC FREE" (heap in use and free)
#   GET /bench/modules the names of the modules loaded (sys.modules)
#
# Run like main.py (PICO_* environment settings, config.py on the path).
import gc
import micropython
import sys

import app
import httpd
import settings
from benchpage import PAGE
from httpd import Response, log

config = settings.load()
log.configure(config.LOG_LEVEL)
application = app.build(config)
_page = Response.html(PAGE)


def _numbers(total, alloc):
    return Response(b"%d %d" % (total, alloc))


def _mem(request):
    # The numbers are read first: everything after that (this answer, the
    # next request up to the same point) is the cost of measuring, which the
    # harness measures with back-to-back reads and subtracts.
    return _numbers(micropython.mem_total(), gc.mem_alloc())


def _gc_off(request):
    gc.collect()
    gc.disable()
    return _numbers(micropython.mem_total(), gc.mem_alloc())


def _gc_on(request):
    gc.enable()
    return _numbers(micropython.mem_total(), gc.mem_alloc())


def _heap(request):
    gc.collect()
    return Response(b"%d %d" % (gc.mem_alloc(), gc.mem_free()))


def _modules(request):
    return Response(" ".join(sys.modules).encode())


application.router.add("/", lambda request: _page)
application.router.add("/bench/modules", _modules)
application.router.add("/bench/mem", _mem)
application.router.add("/bench/gc-off", _gc_off)
application.router.add("/bench/gc-on", _gc_on)
application.router.add("/bench/heap", _heap)
httpd.run(application.server, *application.tasks)
