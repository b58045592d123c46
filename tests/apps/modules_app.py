# The test route /test/modules: the names of the modules imported right now
# (sys.modules), for tests/test_lazy_modules.py, which pins which parts of
# the firmware are on the heap at each moment. Installed like a user's module.
import sys


def install(app):
    app.router.add("/test/modules", lambda request: {"modules": sorted(sys.modules)})
