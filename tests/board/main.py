# main.py of the test images (tests/board/manifest.py): the emulator has no
# radio, so the board's lwIP reaches the host over a SLIP link on UART0; then
# the application runs exactly as the release image's main.py runs it, with
# one more route for the tests (tests/board/heaproute.py), named in
# APP_MODULES as a user's module is.
#
# A test may name an MQTT broker on the host for the next soft reset
# (tests/board/test_board_mqtt.py): in rp2040js the board has no filesystem
# for mqtt.json or a config.py of its own, and a soft reset clears the heap,
# but the watchdog's scratch register 0 outlives it: 0x4D51 ("MQ") in its
# upper half and the broker's port in the lower one.
import app
import config
import machine
import slipnet

config.APP_MODULES = tuple(getattr(config, "APP_MODULES", ())) + ("heaproute",)
_broker = machine.mem32[0x4005800C]  # WATCHDOG_BASE + SCRATCH0
if _broker >> 16 == 0x4D51:
    config.MQTT_HOST = "192.0.2.1"  # the host's end of the link
    config.MQTT_PORT = _broker & 0xFFFF
del _broker
app.main(tasks=(slipnet.up()(),))
