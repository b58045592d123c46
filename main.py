# Runs the web server; boot.py has already joined Wi-Fi.
import app
import settings

try:
    app.main()
except Exception as e:  # a busy port, a bad PICO_ value: one line, not a traceback
    settings.exit_on(e)
