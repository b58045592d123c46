# Defaults that depend on the board's RAM, for the settings config.py leaves
# at None: (Pico W, Pico 2 W). A Pico 2 W (RP2350, 520 KB of SRAM) has a heap
# 2.2 times the Pico W's (RP2040, 264 KB): 456,832 bytes to 205,184.
# docs/configuration.md says why these and no others. Run once by
# settings.load() and forgotten: its code does not stay on the heap.
# MIT license

_BY_BOARD = (
    ("LOG_RING_BYTES", 2048, 8192),
)


def by_board(config, machine):
    """Give the settings left at None their board's default; `machine` is
    sys.implementation._machine ('... with RP2350' on a Pico 2 W). A PC gets
    the Pico W's: the board the unix port stands in for."""
    big = "RP2350" in machine
    for name, pico_w, pico2_w in _BY_BOARD:
        if getattr(config, name, None) is None:
            setattr(config, name, pico2_w if big else pico_w)
