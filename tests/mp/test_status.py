# App.status(), behind /api/status and the dashboard's live updates, refreshes
# the same dicts in place: each call must still report the board as it is now,
# and must not build the dicts anew (a fresh set is about 540 bytes of garbage
# per status request; what is left is a float or two).
import micropython

import app


class _Config:
    pass


def _app():
    return app.App(_Config())


def test_status_reports_what_changed_since_the_last_call():
    a = _app()
    first = a.status()
    assert first["board"]["led"] is False and first["http"]["requests"] == 0
    a.board.set_led(True)
    a.server.stats.requests += 3
    a.server.stats.errors += 1
    now = a.status()
    assert now["board"]["led"] is True, now
    assert now["http"]["requests"] == 3 and now["http"]["errors"] == 1, now["http"]
    assert now["heap_free"] + now["heap_used"] == a.heap_size
    assert sorted(now) == ["board", "crash", "heap_free", "heap_used", "http", "image", "mqtt", "update",
                           "uptime_s", "version", "wifi"], now


def test_status_allocates_almost_nothing():
    a = _app()
    a.status()  # the first call makes the dicts
    before = micropython.mem_total()
    a.status()
    used = micropython.mem_total() - before
    assert used <= 96, "status() allocated %d bytes" % used


def test_status_names_the_board_and_the_image():
    import sys

    st = _app().status()
    machine = getattr(sys.implementation, "_machine", "")
    if " with " in machine:
        # A board (the test image, tests/board/test_image.py): MicroPython's
        # name of it ('Raspberry Pi Pico W with RP2040'), and the version of
        # the image its picow_image froze.
        name, _, chip = machine.partition(" with ")
        assert (st["board"]["name"], st["board"]["chip"]) == (name, chip), st["board"]
        assert st["image"] == app.VERSION, st
    else:
        # The unix port: the stand-in board, no chip, and no image.
        assert st["board"]["name"] == "MicroPython unix port (host stand-in)", st["board"]
        assert st["board"]["chip"] is None and st["image"] is None, st


def test_a_served_app_measures_the_heap_after_the_answer_not_on_its_path():
    # A measure is a collection and a walk of the heap (more than a third of
    # a page view on the board): an old one is returned at once, and the
    # task measure_heap_later() makes the new one shortly after.
    import asyncio
    from time import ticks_add, ticks_ms

    a = _app()
    first = a.heap_used()  # the first one is measured at once
    assert first > 0

    async def main():
        task = asyncio.create_task(a.measure_heap_later())
        await asyncio.sleep_ms(0)  # it is waiting
        old = a._heap_at = ticks_add(ticks_ms(), -60000)  # a minute old
        keep = bytearray(8192)  # now more is in use than the old figure says
        assert a.heap_used() == first  # the old figure, and nothing measured on this path
        assert a._heap_at == old
        await asyncio.sleep_ms(1500)
        assert a._heap_at != old
        assert a.heap_used() >= first + 8192 - 2048, (first, a.heap_used())
        task.cancel()
        return keep

    asyncio.run(main())
