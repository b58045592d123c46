# A user's module (APP_MODULES) for the Ctrl-C test: a route that spends its
# time in garbage collections, where the unix port's Ctrl-C can land.
import gc
import time


def install(app):
    @app.router.route("/test/collect")
    def collect(request):
        until = time.ticks_add(time.ticks_ms(), int(request.args.get("ms", "1500")))
        while time.ticks_diff(until, time.ticks_ms()) > 0:
            gc.collect()
        return "collected\n"
