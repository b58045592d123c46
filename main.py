# Runs the web server; boot.py has already joined Wi-Fi.
import otaboot

try:
    import app
    import settings

    try:
        app.main()
    except Exception as e:  # a busy port, a bad PICO_ value: one line, not a traceback
        settings.exit_on(e)
except Exception as e:  # the version could not start: kept for the rollback's report; a board restarts
    otaboot.failed(e)
