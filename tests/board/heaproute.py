# The test images' extra routes, added as a user's module adds them
# (APP_MODULES, install(app)): /test/heap, the heap after a collection
# (/api/status reports it without one, garbage included), and /test/ws, a
# WebSocket that echoes what it gets (tests/board/test_board_websocket.py).
import gc

from httpd import Response
from ws_echo import echo  # (tests/apps/ws_echo.py, frozen beside this)


def _heap(request):
    gc.collect()
    return Response.json({"free": gc.mem_free(), "used": gc.mem_alloc()})


def install(app):
    app.router.add("/test/heap", _heap)
    app.router.add_websocket("/test/ws", echo)
