# The firmware as at power-up (boot.py, main.py) with one more task: every
# 20 ms a garbage collection and the heap in use, printed at each new high
# (HEAP used=N free=M). For measuring an update's live heap (docs/ota.md);
# the collections slow the server down a little.
import gc

with open("boot.py") as f:
    exec(f.read(), {"__name__": "__main__"})

import app  # noqa: E402

_main = app.main


async def _sample():
    import asyncio

    high = 0
    while True:
        gc.collect()
        used = gc.mem_alloc()
        if used > high:
            high = used
            print("HEAP used=%d free=%d" % (used, gc.mem_free()))
        await asyncio.sleep_ms(20)


app.main = lambda tasks=(): _main(tuple(tasks) + (_sample(),))
with open("main.py") as f:
    exec(f.read(), {"__name__": "__main__"})
