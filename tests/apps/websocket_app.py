# WebSocket endpoints for tests/test_websocket.py, installed like a user's
# module (APP_MODULES).
import asyncio

from ws_echo import echo


def install(app):
    router = app.router

    router.add_websocket("/ws/echo", echo)
    router.add_websocket("/ws/open", echo, cross_origin=True)  # open to pages of other sites

    # Sends messages of `size` bytes as fast as the client takes them, for
    # ever (a client that never reads is cut).
    @router.websocket("/ws/flood/<size>")
    async def flood(ws):
        data = b"x" * int(ws.request.params["size"])
        while True:
            await ws.send(data)

    # Busy elsewhere before it sends or reads anything: the connection is
    # kept, the peer answering the server's pings (which wait unread).
    @router.websocket("/ws/slow")
    async def slow(ws):
        await asyncio.sleep_ms(2500)
        await ws.send("hi")

    # Closes at once with a code of its own.
    @router.websocket("/ws/bye")
    async def bye(ws):
        await ws.close(4000, "bye")

    # A bug in the handler: the peer gets 1011, the log a traceback.
    @router.websocket("/ws/bug")
    async def bug(ws):
        await ws.receive()
        raise ValueError("handler bug")

    # Another task sends while the handler receives: a push, as a dimmer
    # page gets the value another page set.
    @router.websocket("/ws/push")
    async def push(ws):
        async def ticker():
            n = 0
            while True:
                await asyncio.sleep_ms(50)
                await ws.send("tick %d" % n)
                n += 1

        task = asyncio.create_task(ticker())
        try:
            while await ws.receive() is not None:
                pass
        finally:
            task.cancel()
