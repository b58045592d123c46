# Logging through micropython-lib's `logging` where it is there (frozen into
# the firmware image; on stock firmware `mpremote mip install logging`), so a
# user's own `import logging` and the server log to the same place; otherwise
# (the unix port) through a small fallback that takes the calls this project
# makes (info, warning, error, exception, isEnabledFor) and prints the same
# "LEVEL:name:message" lines. Either way every line, a traceback's too, is
# also given to the tap (the log ring behind /logs and the crash record).
# MIT license

import sys

INFO = 20
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # 10, 20, ... 50
_INFO_FORMATS = 16  # whole-line formats a fallback logger keeps

try:
    import logging as _logging
except ImportError:
    _logging = None


class _Logger:
    level = 30  # shared by every fallback logger, set by configure()

    def __init__(self, name):
        self.name = name
        # The whole line's format for each INFO message format seen, so a
        # line per request costs one % and one write: {msg: "INFO:name:msg\n"}
        self._info = {}

    def isEnabledFor(self, level):
        return level >= _Logger.level

    def _write(self, level, msg, args):
        if level >= _Logger.level:
            line = "%s:%s:%s\n" % (_LEVELS[level // 10 - 1], self.name, msg % args if args else msg)
            sys.stderr.write(line)
            if _tap is not None:
                _tap(line)

    def info(self, msg, *args):
        if 20 >= _Logger.level:
            line = self._info.get(msg)
            if line is None:
                line = "INFO:%s:%s\n" % (self.name.replace("%", "%%"), msg if args else msg.replace("%", "%%"))
                if args and len(self._info) < _INFO_FORMATS:  # bounded: formats come from the code
                    self._info[msg] = line
            line = line % args
            sys.stderr.write(line)
            if _tap is not None:
                _tap(line)

    def warning(self, msg, *args):
        self._write(30, msg, args)

    def error(self, msg, *args):
        self._write(40, msg, args)

    def exception(self, msg, *args, exc_info=True):
        self._write(40, msg, args)
        if isinstance(exc_info, BaseException) and 40 >= _Logger.level:
            _traceback(exc_info)


def _traceback(exc):
    """exc's traceback on the console and, line by line (the ring cuts long
    lines), to the tap: /logs and a crash record's last lines show it."""
    import io

    buf = io.StringIO()
    sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]
    text = buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
    sys.stderr.write(text)
    if _tap is not None:
        for line in text.split("\n"):
            if line:
                _tap(line)


_fallback = {}
_tap = None  # a function given every line logged, besides the console


def tap(fn):
    """Give every line logged from now on (a str) to fn(line) as well, with
    either logger: the application keeps recent lines this way (lib/monitor/ring.py)."""
    global _tap
    if _logging and _tap is None:  # one handler, however often tap() is called
        class _Tap(_logging.Handler):
            def emit(self, record):
                if _tap is not None:
                    _tap("%s:%s:%s" % (record.levelname, record.name, record.message))

        _logging.getLogger().addHandler(_Tap())  # after the console handler basicConfig made
    _tap = fn


def exception(logger, exc, msg, *args):
    """Log msg at ERROR with exc's traceback, through either logger.
    (micropython-lib's exception() prints the traceback to its stream only,
    never to its handlers: the ring would not see it.)"""
    if _logging:
        logger.error(msg, *args)
        if logger.isEnabledFor(40):
            _traceback(exc)
    else:
        logger.exception(msg, *args, exc_info=exc)  # pyright: ignore[reportArgumentType]


def configure(level_name):
    """Set the level by name: DEBUG, INFO, WARNING, ERROR (others: INFO)."""
    level = (_LEVELS.index(level_name) + 1) * 10 if level_name in _LEVELS else INFO
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
