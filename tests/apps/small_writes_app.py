# The firmware as main.py runs it, on a stack whose writes may block (stock
# MicroPython's lwIP: no SO_LINGER, httpd/aio.py's SMALL_WRITES), for the
# dashboard test of what its page carries there. Only the flag is changed:
# the unix port's sockets stay what they are.
import httpd.aio

httpd.aio.SMALL_WRITES = True

import app  # noqa: E402

app.main()
