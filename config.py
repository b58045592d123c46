# Settings of the Pico W web server. Each has a safe default and says what it
# protects against; docs/configuration.md lists them all.
#
# On the MicroPython unix port (make run, the tests) any setting can be
# overridden for one run with an environment variable PICO_<NAME>, for
# example PICO_PORT=8091. The board has no environment: edit this file.

# -- Listening ---------------------------------------------------------------
HOST = "0.0.0.0"  # address to listen on; 0.0.0.0 is every interface
PORT = 80  # TCP port; browsers use 80 for http://
BACKLOG = 4  # handshakes the network stack completes before they are accepted; lwIP drops SYNs beyond

# -- Connections: the Pico W's network stack has 5 TCP sockets in all ---------
MAX_CONNECTIONS = 4  # clients served at once; below 5 so a newcomer can always be answered
SLOT_WAIT_MS = 1000  # a newcomer at the cap waits this long for a slot before it gets a 503
RETRY_AFTER_S = 2  # Retry-After of that 503

# -- Deadlines: no client may hold a socket longer than these -------------------
IDLE_TIMEOUT_MS = 5000  # a connection with no request under way (new or keep-alive) is closed
HEAD_TIMEOUT_MS = 3000  # request line and all headers, from their first byte (stops slowloris)
BODY_TIMEOUT_MS = 5000  # the whole request body, from the end of the head (stops slow uploads)
HANDLER_TIMEOUT_MS = 10000  # a handler's answer, and each gap between pieces of a stream
WRITE_TIMEOUT_MS = 5000  # each piece of a response (a client that stops reading is cut)

# -- Request limits: larger requests get an error answer, never a crash ---------
MAX_REQUEST_LINE = 512  # bytes in "GET /path?query HTTP/1.1"; longer gets 414
MAX_HEADER_LINE = 1024  # bytes in one header line; longer gets 431
MAX_HEAD = 2048  # bytes in the whole head; larger gets 431 (a slot's buffer grows up to this)
MAX_HEADERS = 32  # header lines; more gets 431
MAX_BODY = 4096  # bytes of request body, from Content-Length; larger gets 413

# -- Who may talk to the board -------------------------------------------------
# Host names the board answers to besides its IP addresses, localhost, HOSTNAME
# and HOSTNAME.local; any other Host gets 421 (stops DNS-rebinding pages). "*": any
ALLOWED_HOSTS = ()

# -- Logging ---------------------------------------------------------------------
LOG_LEVEL = "INFO"  # DEBUG, INFO, WARNING, ERROR
ACCESS_LOG = False  # True: one INFO line per request (method, path, status, ms), to watch a board on `make repl`

# -- Wi-Fi (the network name and password live in WIFI_CREDENTIALS_FILE) ---------
WIFI_CREDENTIALS_FILE = "wifi.json"  # {"ssid": ..., "password": ...}; never served or logged
WIFI_COUNTRY = "XX"  # two-letter country code for radio rules; XX is worldwide-safe
HOSTNAME = "picow"  # the name the board gives DHCP (and mDNS: http://picow.local/)
WIFI_POWER_SAVING = False  # power saving makes the board slow or unreachable after idle minutes
WIFI_CONNECT_TIMEOUT_MS = 15000  # one attempt to join; boot.py never waits longer per attempt
WIFI_CONNECT_ATTEMPTS = 3  # attempts at boot before the setup portal opens
WIFI_RETRY_MS = 2000  # first pause between attempts; doubles each time
WIFI_CHECK_MS = 5000  # how often the monitor checks the link while serving
WIFI_MAX_BACKOFF_MS = 60000  # longest pause between rejoin attempts while the link is down

# -- Watchdog ------------------------------------------------------------------
WATCHDOG_MS = 8000  # hardware watchdog timeout (RP2040 max 8388); 0 turns it off. Off on the unix port

# -- Setup portal (when there are no credentials or joining failed) ------------
PORTAL_SSID = "PicoW-Setup"  # the access point the board opens
PORTAL_PASSWORD = "picosetup"  # its WPA2 password (8-63 characters); change it
PORTAL_TIMEOUT_S = 600  # then the board restarts and tries the saved network again
PORTAL_DNS_PORT = 53  # the captive-portal DNS responder (every name -> the board)

# -- Dashboard ---------------------------------------------------------------------
WWW_ROOT = "www"  # web root: only files found under WWW_ROOT/static at start are served, at /static/
APP_MODULES = ()  # your own modules (files in lib/), each with install(app) adding routes; e.g. ("hello",)
API_TOKEN = None  # when set, changing the LED needs it (header, form field or /login cookie), else 401
AUTH_FAILURES = 5  # wrong tokens one address may send within AUTH_WINDOW_S before it gets 429 (slows guessing)
AUTH_WINDOW_S = 60  # that window; the address may try again once it has passed
MAX_EVENT_STREAMS = 2  # live-update streams (/api/events) at once; a new one closes the oldest
EVENT_HEARTBEAT_MS = 5000  # comment sent on a quiet stream so it stays open; below HANDLER_TIMEOUT_MS
STATUS_INTERVAL_MS = 2000  # status pushed to open streams this often; no work while none is open

# -- Watching the board: /logs, /api/logs, /metrics, the crash record, history ---
LOG_RING_BYTES = 2048  # the last log lines kept in RAM for /logs and /api/logs; bounded so a chatty log cannot eat the heap
CRASH_FILE = "crash.txt"  # where the last crash (reason, traceback, log lines) is written, once per crash; at most 3 KB
HISTORY_INTERVAL_MS = 60000  # the dashboard's charts take a sample this often; 0 turns sampling off
HISTORY_SAMPLES = 60  # samples kept (60 x 60 s = the last hour); fixed arrays, 10 bytes a sample
