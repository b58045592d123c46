# The last crash, kept on flash until someone has read and cleared it.
# MIT license
#
#   crash.write(path, reason, exc, log_tail, uptime_s)   once, on the way down
#   crash.summary(path)   {"reason": ..., "uptime_s": ...} or None, at boot
#   crash.clear(path)
#
# Written when the firmware ends on an uncaught exception, when the watchdog
# is about to reset the board (a check failed), and at boot after a watchdog
# reset that left no record (the loop hung: nothing could write one then).
# A plain text file, at most _MAX bytes, so /api/crash can send it from flash
# as it is and a board never holds it whole in RAM after the boot:
#
#   reason: uncaught exception: OSError: [Errno 12] ENOMEM
#   uptime_s: 86412
#
#   Traceback (most recent call last): ...
#
#   last log lines:
#   86400 WARNING:wifi:link lost ...

from micropython import const

_MAX = const(3072)  # bytes of the whole record; flash pages are 4 KB
_MAX_TRACE = const(1024)  # of it, the traceback's; the log lines get the rest


def write(path, reason, exc=None, log_tail=b"", uptime_s=0):
    """Write the record (replacing an older one). Never raises: it runs when
    things already went wrong, and must not hide the first error."""
    try:
        head = "reason: %s\nuptime_s: %d\n" % (reason.replace("\n", " ")[:200], uptime_s)
        trace = ""
        if exc is not None:
            import io
            import sys

            buf = io.StringIO()
            sys.print_exception(exc, buf)  # pyright: ignore[reportArgumentType]
            trace = buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
            if len(trace) > _MAX_TRACE:  # keep the end: it names the error
                trace = "...\n" + trace[-_MAX_TRACE:]
        room = _MAX - len(head) - len(trace) - 40
        if len(log_tail) > room:
            log_tail = log_tail[len(log_tail) - room :]
            log_tail = log_tail[log_tail.find(b"\n") + 1 :]
        with open(path, "wb") as f:
            f.write(head.encode())
            if trace:
                f.write(b"\n")
                f.write(trace.encode())
            if log_tail:
                f.write(b"\nlast log lines:\n")
                f.write(log_tail)
        return True
    except Exception:  # a full or read-only filesystem: nothing more to do
        return False


def summary(path):
    """The record's reason and uptime, or None when there is none. Reads the
    first two lines only."""
    try:
        with open(path, "rb") as f:
            reason = f.readline(256)
            uptime = f.readline(64)
    except OSError:
        return None
    if not reason.startswith(b"reason: "):
        return None
    try:
        seconds = int(uptime[10:]) if uptime.startswith(b"uptime_s: ") else None
    except ValueError:
        seconds = None
    return {"reason": reason[8:].strip().decode(), "uptime_s": seconds}


def size(path):
    import os

    try:
        return os.stat(path)[6]
    except OSError:
        return None


def clear(path):
    """True if there was a record to remove."""
    import os

    try:
        os.remove(path)
        return True
    except OSError:
        return False
