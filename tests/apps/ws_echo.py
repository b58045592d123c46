# The echo handler of the WebSocket test servers (websocket_app.py, with the
# whole application, and websocket_core.py, the core alone).


async def echo(ws):
    while True:
        msg = await ws.receive()
        if msg is None:
            return
        await ws.send(msg)
