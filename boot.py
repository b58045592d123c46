# Runs first at power-up: joins Wi-Fi, bounded (a few attempts with a timeout
# each) and interruptible with Ctrl-C, so mpremote can always reach the REPL.
# Whatever happens here, MicroPython runs main.py next: every error is caught
# and printed, never raised.
import sys

try:  # first: which version runs (lib/otaboot/), before its modules are imported
    import otaboot

    otaboot.select()
except Exception as e:
    sys.print_exception(e)


def _join_wifi():
    import board
    import settings
    from httpd import log

    config = settings.load()
    log.configure(config.LOG_LEVEL)
    if not board.has_wifi():  # a port without Wi-Fi (the unix port)
        log.get_logger("boot").info("no Wi-Fi on this port")
        return
    import wifi

    wifi.boot(config, board.create())


try:
    _join_wifi()
except KeyboardInterrupt:
    print("boot.py: interrupted by Ctrl-C; Wi-Fi not joined")
except Exception as e:
    print("boot.py: Wi-Fi setup failed; main.py runs anyway:")
    sys.print_exception(e)
