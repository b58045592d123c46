# Runs MicroPython-side tests on the unix port (which has no unittest):
#   micropython runner.py MODULE [TEST_NAME]
# Each test_* function (plain or async) passes if it returns without raising.
# Prints "PASS name" or "FAIL name" with the traceback; exits 1 on any failure.
import sys

import asyncio


def main():
    module = __import__(sys.argv[1])
    only = sys.argv[2] if len(sys.argv) > 2 else None
    names = sorted(n for n in dir(module) if n.startswith("test_") and (only is None or n == only))
    if not names:
        print("FAIL no test named", only)
        sys.exit(1)
    failed = 0
    for name in names:
        try:
            result = getattr(module, name)()
            if hasattr(result, "send"):
                asyncio.run(result)
                asyncio.new_event_loop()
            print("PASS", name)
        except Exception as e:
            failed += 1
            print("FAIL", name)
            sys.print_exception(e)
    sys.exit(1 if failed else 0)


main()
