# Frozen manifest of the test images (tools/firmware.py test-ours, test-stock):
# the release image's manifest, with a main.py that first brings up a SLIP
# link on UART0 so that tests reach the board's own lwIP from the host.
include("../../firmware/manifest.py", custom_main=True)
module("main.py")
module("slipnet.py")
module("heaproute.py")
module("ws_echo.py", base_path="../apps")  # heaproute's /test/ws
# The MicroPython-side unit tests that need no sockets (tests/mp), frozen so
# that tests/board/test_image.py runs them on the rp2 port itself. Frozen code
# stays in flash: the application's heap is the same as without them.
for name in ("checks", "heads", "test_alloc", "test_codec", "test_host_cache", "test_memory",
             "test_request_body", "test_request_headers", "test_request_line", "test_response",
             "test_router", "test_status"):
    module(name + ".py", base_path="../mp")
