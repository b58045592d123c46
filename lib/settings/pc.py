# The parts of settings a Pico W never runs: PICO_<NAME> overrides from the
# environment (a board has none) and the one-line messages for the ordinary
# mistakes of a run on a PC. Imported by settings/__init__.py only when needed.
# MIT license


class SettingError(ValueError):
    """A PICO_<NAME> value that does not fit its setting; the message is one
    sentence for a person."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def override(config, names):
    """PICO_<NAME> from the environment for each setting of `names`."""
    from os import getenv

    for name in names:
        if name.isupper():
            text = getenv("PICO_" + name)
            if text is not None:
                setattr(config, name, convert(name, text, getattr(config, name)))


def convert(name, text, current):
    if isinstance(current, bool):
        word = text.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        kind = "true or false (1/0, yes/no, on/off)"
    else:
        try:
            if isinstance(current, int):
                return int(text)
            if isinstance(current, float):
                return float(text)
            if isinstance(current, tuple):  # "a, b" -> ("a", "b")
                return tuple(t.strip() for t in text.split(",") if t.strip())
            return text
        except ValueError:
            kind = "a whole number" if isinstance(current, int) else "a number"
    raise SettingError("PICO_%s=%r is not %s (config.py sets %s = %r)" % (name, text, kind, name, current))


def exit_on(e):
    """main.py's last word on an exception: the ordinary mistakes of a run on
    a PC (a bad PICO_ value, a port in use or not allowed) as one line and exit
    status 1; anything else is raised again, with its traceback."""
    import sys

    message = ordinary(e)
    if message is None:
        raise e
    print("error: " + message)
    sys.exit(1)


def ordinary(e):
    """The sentence for an ordinary mistake (not a crash: app.main records no
    crash for it), or None."""
    import errno

    import config

    if isinstance(e, SettingError):
        message = str(e)
    elif isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
        message = ("port %d is in use: another server (perhaps another make run) listens there; "
                   "stop it or choose another port, e.g. make run PORT=%d" % (config.PORT, config.PORT + 1))
    elif isinstance(e, OSError) and e.errno == errno.EACCES:
        message = ("port %d needs root on this computer (ports below 1024 do); "
                   "use a higher one, e.g. make run PORT=8080" % config.PORT)
    elif isinstance(e, OSError) and e.errno == getattr(errno, "EADDRNOTAVAIL", 99):
        message = ("%s is not an address of this computer: use HOST=127.0.0.1 (this computer only) "
                   "or HOST=0.0.0.0 (every interface)" % config.HOST)
    elif isinstance(e, OSError) and "addrinfo" in str(e):  # getaddrinfo's "[addrinfo error -2]"
        message = "HOST=%s is neither an address nor a name this computer can resolve" % config.HOST
    else:
        return None
    return message
