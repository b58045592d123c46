# docs/http.md's WebSocket example, as a user writes it: a file in lib/ (here
# tests/apps/, on the test server's path) named in APP_MODULES.
from httpd import Response

PAGE = Response.html("""<!doctype html><meta name="viewport" content="width=device-width">
<title>LED</title><button id="led">LED</button> <span id="state">...</span>
<script src="/led.js"></script>""")
# (A script of its own: the board's pages forbid inline scripts.)
SCRIPT = Response("""const state = document.getElementById("state");
const ws = new WebSocket("ws://" + location.host + "/ws/led");
ws.onmessage = (e) => { state.textContent = e.data; };
ws.onclose = () => { state.textContent = "closed: reload the page"; };
document.getElementById("led").onclick = () => ws.send(state.textContent == "on" ? "off" : "on");
""", content_type="text/javascript")


def install(app):
    router = app.router
    pages = []  # the open WebSockets: each hears every change

    router.add("/led", lambda request: PAGE)
    router.add("/led.js", lambda request: SCRIPT)

    @router.websocket("/ws/led")
    async def led(ws):
        try:
            app.check_token(ws.request)  # nothing to check while API_TOKEN is unset
        except Exception:
            await ws.close(1008, "token needed")
            return
        pages.append(ws)
        try:
            await ws.send("on" if app.board.led else "off")
            while True:
                msg = await ws.receive()  # None once the page is gone
                if msg is None:
                    return
                if msg in ("on", "off"):
                    app.board.set_led(msg == "on")
                    for page in pages:
                        try:
                            await page.send(msg)
                        except OSError:
                            pass  # that page closed meanwhile
        finally:
            pages.remove(ws)
