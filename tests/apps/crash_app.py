# The firmware as main.py runs it, made to end on an uncaught exception
# PICO_TEST_CRASH_AFTER_MS after it started listening, for the crash-record
# tests only. The exception leaves httpd.run() the way a real fault in the
# server would, so app.main()'s own handler writes the record.
import os

import app
import httpd

_after_ms = int(os.getenv("PICO_TEST_CRASH_AFTER_MS") or "1000")
_serve = httpd.Server.serve


async def _serve_then_crash(self):
    import asyncio

    asyncio.create_task(_serve(self))
    await asyncio.sleep_ms(_after_ms)
    raise RuntimeError("deliberate crash for the test")


httpd.Server.serve = _serve_then_crash
app.main()
