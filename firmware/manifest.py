# Frozen manifest of the Pico W image (make firmware): MicroPython's own
# RPI_PICO_W modules plus everything this firmware runs. Frozen code runs from
# flash and takes no heap for its bytecode.
#
# What stays a file on the board's filesystem (never frozen): wifi.json and
# mqtt.json (the credentials), and any module a user puts in / to replace a frozen one --
# on rp2 sys.path is ['', '.frozen', '/lib'], so /config.py overrides the
# frozen config.py (settings stay editable), while files in /lib do not
# override frozen modules. boot.py and main.py are frozen too, and MicroPython
# runs a frozen boot.py/main.py in preference to a file of that name. A version
# sent over Wi-Fi (make ota) lives in /versions/vN: the frozen boot.py puts it
# before .frozen on sys.path (lib/otaboot/__init__.py, docs/ota.md).
#
# Included by tests/board/manifest.py with custom_main=True: the test images
# freeze their own main.py (a SLIP link to the host, then the application).

include("$(BOARD_DIR)/manifest.py")  # asyncio, network helpers, aioble ...

# micropython-lib's logging (from the MicroPython tree's lib/micropython-lib),
# for a user's modules: `import logging` works on the image, and httpd/log.py's
# bridge() gives its lines to /logs. The server itself does not import it
# (about 2.7 KB of heap once imported and configured).
require("logging")
import os  # (paths here are relative to this file)

for name in sorted(os.listdir("../lib")):  # every package of lib/ (httpd, app, board, ...)
    if os.path.isdir("../lib/" + name) and name != "__pycache__":
        package(name, base_path="../lib")
module("config.py", base_path="..")
module("boot.py", base_path="..")
if not options.custom_main:
    module("main.py", base_path="..")
# The dashboard's static files as bytes constants, and the image's version
# (tools/firmware.py makes both).
module("www_data.py", base_path="../build/firmware/gen")
module("picow_image.py", base_path="../build/firmware/gen")
