# Bench-only: the WebSocket echo of make bench's part "websocket" for
# Microdot 2.7.0 (its microdot.websocket module, as its documentation writes
# an echo). microdot_app.py installs it when BENCH_WEBSOCKET is set, so the
# other parts do not load it.
from microdot.websocket import with_websocket


def install(app):
    @app.route("/ws/echo")
    @with_websocket
    async def echo(request, ws):
        while True:
            msg = await ws.receive()  # raises once the client has closed
            await ws.send(msg)
