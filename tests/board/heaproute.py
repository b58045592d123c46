# The test images' extra route, added as a user's module adds one
# (APP_MODULES, install(app)): /test/heap, the heap after a collection
# (/api/status reports it without one, garbage included).
import gc

from httpd import Response


def _heap(request):
    gc.collect()
    return Response.json({"free": gc.mem_free(), "used": gc.mem_alloc()})


def install(app):
    app.router.add("/test/heap", _heap)
