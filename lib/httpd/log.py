# Logging through micropython-lib's `logging` where it is installed (on a board:
# `mpremote mip install logging`), otherwise through a small fallback that
# takes the same calls and prints the same "LEVEL:name:message" lines.
# MIT license

import sys

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRITICAL"}

try:
    import logging as _logging
except ImportError:
    _logging = None


class _Logger:
    level = WARNING  # shared by every fallback logger, set by configure()

    def __init__(self, name):
        self.name = name

    def isEnabledFor(self, level):
        return level >= _Logger.level

    def log(self, level, msg, *args):
        if level >= _Logger.level:
            if args:
                msg = msg % args
            sys.stderr.write("%s:%s:%s\n" % (_NAMES.get(level, level), self.name, msg))

    def debug(self, msg, *args):
        self.log(DEBUG, msg, *args)

    def info(self, msg, *args):  # once per request: written out in full
        if INFO >= _Logger.level:
            sys.stderr.write("INFO:%s:%s\n" % (self.name, msg % args if args else msg))

    def warning(self, msg, *args):
        self.log(WARNING, msg, *args)

    def error(self, msg, *args):
        self.log(ERROR, msg, *args)

    def critical(self, msg, *args):
        self.log(CRITICAL, msg, *args)

    def exception(self, msg, *args, exc_info=True):
        self.log(ERROR, msg, *args)
        if isinstance(exc_info, BaseException) and ERROR >= _Logger.level:
            sys.print_exception(exc_info, sys.stderr)  # pyright: ignore[reportArgumentType]


_fallback = {}


def exception(logger, exc, msg, *args):
    """Log msg at ERROR with exc's traceback, through either logger. (The
    type stubs say exc_info is a bool; micropython-lib takes the exception.)"""
    logger.exception(msg, *args, exc_info=exc)  # pyright: ignore[reportArgumentType]


def level_of(name):
    """'INFO' -> 20; unknown names give INFO."""
    for number, text in _NAMES.items():
        if text == name:
            return number
    return INFO


def configure(level_name):
    level = level_of(level_name)
    if _logging:
        _logging.basicConfig(level=level)
        _logging.getLogger().setLevel(level)
    else:
        _Logger.level = level


def get_logger(name):
    if _logging:
        return _logging.getLogger(name)
    logger = _fallback.get(name)
    if logger is None:
        logger = _fallback[name] = _Logger(name)
    return logger
