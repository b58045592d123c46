# MicroPython manifest: freezes the server library (lib/httpd) into a custom
# firmware build. Frozen code runs from flash and takes no heap for its
# bytecode. It logs through micropython-lib's logging when that is installed
# too, and prints the same lines without it.
#
# To build a Pico W firmware with it, write a board manifest, e.g. my_manifest.py:
#     include("$(BOARD_DIR)/manifest.py")        # the Pico W's own frozen modules
#     include("/path/to/this/repo/manifest.py")
# and in a MicroPython checkout (with its micropython-lib submodule):
#     make -C ports/rp2 BOARD=RPI_PICO_W FROZEN_MANIFEST=/path/to/my_manifest.py
#
# Only lib/httpd, the board-independent server library, as in package.json;
# `make package` keeps the version equal to httpd.__version__.
metadata(version="0.1.0", description="HTTP/1.1 server that keeps answering on a device with a handful of sockets", license="MIT")

package("httpd", base_path="lib")
