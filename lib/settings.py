# Loads config.py; on the unix port, environment variables PICO_<NAME> override
# single settings (make run PORT=8091, and the tests, use this): that code and
# the messages for a run's ordinary mistakes are lib/settings_pc.py, which a
# board never loads.
# MIT license

class SettingError(ValueError):
    """A PICO_<NAME> value that does not fit its setting; the message is one
    sentence for a person."""


def load():
    import config

    try:
        from os import getenv
    except ImportError:  # a board has no environment
        return config
    for name in dir(config):
        if name.isupper():
            text = getenv("PICO_" + name)
            if text is not None:
                from settings_pc import convert  # (a PC only: lib/settings_pc.py)

                setattr(config, name, convert(name, text, getattr(config, name)))
    import sys

    sys.modules.pop("settings_pc", None)  # (nothing keeps it: needed again only for a mistake's message)
    return config


def exit_on(e):
    """main.py's last word on an exception: the ordinary mistakes of a run on
    a PC (a bad PICO_ value, a port in use or not allowed) as one line and exit
    status 1; anything else is raised again, with its traceback."""
    from settings_pc import exit_on

    exit_on(e)


def ordinary(e):
    """The sentence for an ordinary mistake (not a crash: app.main records no
    crash for it), or None."""
    if not isinstance(e, (SettingError, OSError)):  # (a crash: nothing more to load)
        return None
    from settings_pc import ordinary

    return ordinary(e)
