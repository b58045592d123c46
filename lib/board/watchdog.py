# Feeds the hardware watchdog only while the firmware is healthy.
# MIT license
#
# The feeding task runs in the same event loop as the web server. If the loop
# wedges (a handler that never yields, a driver call that hangs), the task
# stops running and the RP2040 resets the board. If the loop still runs but a
# part that must never stop has stopped (the server's accept task, the Wi-Fi
# monitor), the checks fail, feeding stops, and the board resets as well.

import asyncio

from httpd import log

_log = log.get_logger("watchdog")


class Watchdog:
    def __init__(self, board, timeout_ms, checks, on_fail=None):
        self.board = board
        self.timeout_ms = timeout_ms
        self.checks = checks  # (name, function returning True while healthy)
        self.failed = None  # name of the check that stopped the feeding
        # on_fail(reason): called once, before the reset, to keep the reason
        # (monitor.crashed writes the crash record)
        self.on_fail = on_fail

    async def run(self):
        self.board.start_watchdog(self.timeout_ms)
        _log.info("watchdog started: %d ms", self.timeout_ms)
        interval = max(self.timeout_ms // 4, 100)
        while True:
            await asyncio.sleep_ms(interval)  # first check once the server is up
            for name, check in self.checks:
                if not check():
                    if self.failed is None:
                        _log.error("%s failed: no longer feeding the watchdog; the board will reset", name)
                        if self.on_fail is not None:
                            self.on_fail("watchdog reset: %s failed" % name)
                    self.failed = name
                    break
            else:
                self.board.feed_watchdog()
