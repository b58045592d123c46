# Bench-only: the WebSocket echo of make bench's part "websocket", added to
# this firmware as a maker adds a module of their own (APP_MODULES: the
# benchmark starts ours.py with PICO_APP_MODULES=bench_ws). The other parts
# do not load it, so their figures are the firmware's without it.


def install(app):
    @app.router.websocket("/ws/echo")
    async def echo(ws):
        while True:
            msg = await ws.receive()  # None once the client has closed
            if msg is None:
                return
            await ws.send(msg)
