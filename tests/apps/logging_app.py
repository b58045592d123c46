# A user's module that logs through micropython-lib's logging, as a user
# writes one: its lines should reach /logs beside the server's
# (tests/test_monitoring.py).
import logging

_log = logging.getLogger("mine")


def install(app):
    _log.info("installed, token %s", app.config.API_TOKEN)

    @app.router.route("/api/mine")
    def mine(request):
        _log.warning("asked for %s", request.path)
        _log.debug("not at INFO")
        return {"mine": True}
