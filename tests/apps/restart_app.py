# Runs the application twice in one process: Ctrl-C (SIGINT on the unix port)
# ends the first run, and the second must bind the same port at once, as when a
# user presses Ctrl-C on the board's REPL and starts main.py again.
import app
import httpd
import settings
from httpd import log

config = settings.load()
log.configure(config.LOG_LEVEL)
for run in (1, 2):
    server = app.build(config).server
    try:
        httpd.run(server)
    except KeyboardInterrupt:
        print("run %d stopped; listener open: %s; connections: %d"
              % (run, server.listening, len(server._conns)))
