# The server's logging: a small logger that takes the calls this project makes
# (info, warning, error, exception, isEnabledFor) and prints
# "LEVEL:name:message" lines, each also given to the tap (the log ring behind
# /logs and a crash record's last lines), a traceback's too.
# MIT license
#
# micropython-lib's `logging` (frozen into the firmware image; on stock
# firmware `make deps`) is a user's: it costs about 2.7 KB of heap once
# imported (docs/benchmark.md), so the server does not import it. When a
# user's module has, bridge() (app/start.py calls it after installing
# APP_MODULES) gives its lines to the tap too, at the configured level.

import sys

INFO = 20
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")  # 10, 20, ... 50
_INFO_FORMATS = 16  # whole-line formats a fallback logger keeps


class _Logger:
    level = 30  # shared by every logger, set by configure()

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
    """Give every line logged from now on (a str) to fn(line) as well: the
    application keeps recent lines this way (lib/monitor/ring.py)."""
    global _tap
    _tap = fn


def bridge():
    """If a user's module imported micropython-lib's logging: its lines (at
    the configured level) go to the tap as well as to its console handler.
    Once; nothing is imported here."""
    global _bridged
    logging = sys.modules.get("logging")
    if logging is None or _bridged:
        return
    _bridged = True

    class _Tap(logging.Handler):
        def emit(self, record):
            if _tap is not None:
                _tap("%s:%s:%s" % (record.levelname, record.name, record.message))

    root = logging.getLogger()  # (micropython-lib gives the root a console handler)
    root.setLevel(_Logger.level)
    root.addHandler(_Tap())


_bridged = False


def exception(logger, exc, msg, *args):
    """Log msg at ERROR with exc's traceback."""
    logger.exception(msg, *args, exc_info=exc)


def configure(level_name):
    """Set the level by name: DEBUG, INFO, WARNING, ERROR (others: INFO)."""
    _Logger.level = (_LEVELS.index(level_name) + 1) * 10 if level_name in _LEVELS else INFO


def get_logger(name):
    logger = _fallback.get(name)
    if logger is None:
        logger = _fallback[name] = _Logger(name)
    return logger
