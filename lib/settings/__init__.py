# Loads config.py; on the unix port, environment variables PICO_<NAME> override
# single settings (make run PORT=8091, and the tests, use this): that code and
# the messages for a run's ordinary mistakes are settings/pc.py, which a
# board never loads (the naming rule: a package's pc.py is what only a PC
# runs).
# MIT license

import sys

# Defaults that depend on the board's RAM, for the settings config.py leaves
# at None: (Pico W, Pico 2 W). A Pico 2 W (RP2350, 520 KB of SRAM) has a heap
# 2.2 times the Pico W's (RP2040, 264 KB): 456,832 bytes to 205,184.
# docs/configuration.md says why these and no others.
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


def load():
    import config

    by_board(config, getattr(sys.implementation, "_machine", ""))
    try:
        from os import getenv
    except ImportError:  # a board has no environment
        return config
    for name in dir(config):
        if name.isupper():
            text = getenv("PICO_" + name)
            if text is not None:
                from settings.pc import convert  # (a PC only)

                setattr(config, name, convert(name, text, getattr(config, name)))
    # Needed again only for a mistake's message: forgotten (sys.modules and
    # this package, as an attribute, both hold it).
    sys.modules.pop("settings.pc", None)
    globals().pop("pc", None)
    return config


def exit_on(e):
    """main.py's last word on an exception: settings/pc.py's exit_on."""
    from settings.pc import exit_on

    exit_on(e)


def ordinary(e):
    """The sentence for an ordinary mistake of a run on a PC (a bad PICO_
    value, a busy port: app.main records no crash for it), or None."""
    if not isinstance(e, (ValueError, OSError)):  # (a crash: nothing more to load)
        return None
    from settings.pc import ordinary

    return ordinary(e)
