# SLIP link from the board's own lwIP to a host, over a UART (test images).
#
# The Pico W's radio is not emulated, so tests reach the firmware's network
# stack through a serial line instead: lwIP's slipif on UART0, whose other
# end the host bridges to a TUN device (tests/board/emulator.py). Needs a
# firmware built with MICROPY_PY_LWIP_SLIP (firmware/patches/slip/).
#
#     import slipnet
#     slipnet.start()          # then serve with asyncio as usual
#
# The board is 192.0.2.2, the host 192.0.2.1 (TEST-NET-1: never routed).

import asyncio
import lwip
import machine
from micropython import const

# The emulated UART has no physical speed limit; on a real board keep it
# within what the USB-serial adapter on the other end can do.
BAUD = const(7_800_000)
# lwIP holds at most one frame of 1500 bytes (SLIP_MAX_SIZE); a few frames may
# arrive back to back, so the receive buffer holds several.
_RXBUF = const(8192)
# slipif writes one byte at a time and waits when this is full; a frame fits.
_TXBUF = const(4096)

_slip = None  # the lwip.slip object: keep it referenced


def up(uart_id=0, baud=BAUD, local="192.0.2.2", remote="192.0.2.1"):
    """Create the SLIP interface (made lwIP's default route) and return
    poll, the coroutine function that services it forever."""
    global _slip
    # timeout=0: reads and writes never wait; slipif must not block the loop.
    uart = machine.UART(uart_id, baudrate=baud, timeout=0, timeout_char=0,
                        rxbuf=_RXBUF, txbuf=_TXBUF)
    _slip = lwip.slip(uart, local, remote)
    # A Pico W's radio driver hands packets to lwIP from an interrupt, whatever
    # Python is doing. Here the UART's receive-idle interrupt schedules the
    # same at once, between two bytecodes of whatever runs: waiting for the
    # event loop to reach poll() below delayed the ACKs of a busy board by
    # seconds (lwIP resent after its 3 s timeout, and the write deadline cut
    # connections whose peers had read everything). poll() stays, for a
    # burst whose interrupt found MicroPython's scheduler queue full.
    uart.irq(_received, machine.UART.IRQ_RXIDLE)
    rx = asyncio.StreamReader(uart)

    async def poll():
        # lwIP's timers run by themselves (the port's network soft timer);
        # received bytes only reach lwIP when lwip.callback() runs slipif_poll.
        while True:
            # read(0) waits, without blocking other tasks, until the UART has
            # bytes, and consumes none of them.
            await rx.read(0)
            lwip.callback()

    return poll


def _received(_):
    lwip.callback()


def start(**kw):
    """up(**kw) and run its poll loop as an asyncio task; returns the task.
    Call it from inside a running asyncio program."""
    return asyncio.create_task(up(**kw)())
