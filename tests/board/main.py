# main.py of the test images (tests/board/manifest.py): the emulator has no
# radio, so the board's lwIP reaches the host over a SLIP link on UART0; then
# the application runs exactly as the release image's main.py runs it, with
# one more route for the tests (tests/board/heaproute.py), named in
# APP_MODULES as a user's module is.
import app
import config
import slipnet

config.APP_MODULES = tuple(getattr(config, "APP_MODULES", ())) + ("heaproute",)
app.main(tasks=(slipnet.up()(),))
