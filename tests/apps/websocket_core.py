# The httpd core alone with a WebSocket echo and an event stream, for
# tests/test_websocket.py: the largest messages (64 KB in one block does not
# fit beside the whole application in a Pico W's heap), and the heap an open
# WebSocket costs beside an open event stream (GET /heap after a collection).
import gc
from os import getenv

import httpd
from httpd.sse import EventHub
from ws_echo import echo


class _Config:
    HOST = getenv("PICO_HOST") or "127.0.0.1"
    PORT = int(getenv("PICO_PORT") or "8080")
    ALLOWED_HOSTS = ("*",)
    WS_MAX_MESSAGE = int(getenv("PICO_WS_MAX_MESSAGE") or "4096")
    MAX_WEBSOCKETS = 3


router = httpd.Router()
server = httpd.Server(router, _Config)
hub = EventHub(max_streams=3)
router.add("/events", lambda request: hub.response())
router.add("/health", lambda request: "ok")


@router.route("/heap")
def heap(request):
    gc.collect()
    return {"alloc": gc.mem_alloc(), "websockets": len(server.websockets), "streams": hub.count}


router.add_websocket("/ws/echo", echo)
httpd.run(server)
