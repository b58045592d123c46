# Loads config.py; on the unix port, environment variables PICO_<NAME> override
# single settings (make run PORT=8091, and the tests, use this): that code and
# the messages for a run's ordinary mistakes are settings/pc.py, which a
# board never loads (the naming rule: a package's pc.py is what only a PC
# runs). Settings config.py leaves at None get their board's default from
# settings/board.py, run once and forgotten too.
# MIT license

import sys


def load():
    import config

    if getattr(config, "LOG_RING_BYTES", 0) is None:  # (each setting of settings/board.py's _BY_BOARD)
        from settings.board import by_board

        by_board(config, getattr(sys.implementation, "_machine", ""))
        sys.modules.pop("settings.board", None)
        globals().pop("board", None)
    try:
        from os import getenv  # noqa: F401
    except ImportError:  # a board has no environment
        return config
    from settings.pc import override  # PICO_<NAME> (a PC only)

    override(config, dir(config))
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
