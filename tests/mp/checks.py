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
