# Helpers shared by the MicroPython-side tests.
from httpd.status import HTTPError


def raises(status, fn, *args):
    """Assert that fn(*args) raises HTTPError with this status; return it."""
    try:
        fn(*args)
    except HTTPError as e:
        assert e.status == status, "expected HTTPError %d, got %d (%s)" % (
            status, e.status, e.detail)
        return e
    raise AssertionError("expected HTTPError %d, nothing raised" % status)


class FailingFirst:
    """Stands in for `real`: its first `times` calls raise MemoryError, as they
    would with the heap full, later calls are real's. `left` counts the
    failures still to come."""

    def __init__(self, times, real):
        self.left = times
        self.real = real

    def __call__(self, *args):
        if self.left:
            self.left -= 1
            raise MemoryError("memory allocation failed, allocating 88 bytes")
        return self.real(*args)
