# Settings of the Pico W web server. Each has a safe default and says what it
# protects against; docs/configuration.md lists them all.
#
# On the MicroPython unix port (make run, the tests) any setting can be
# overridden for one run with an environment variable PICO_<NAME>, for
# example PICO_PORT=8091. The board has no environment: edit this file.

# -- The server core: listening, connections, deadlines, request limits -------
# Their defaults live in lib/httpd/defaults.py (the core is used without this
# file too); set any of them here, below this line, to change it:
#   MAX_BODY = 8192
from httpd.defaults import *  # noqa: F403

# -- Logging ---------------------------------------------------------------------
LOG_LEVEL = "INFO"  # DEBUG, INFO, WARNING, ERROR

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
MAX_EVENT_STREAMS = 2  # live-update streams (/api/events) at once; pages beyond them poll every 2-6 s
EVENT_HEARTBEAT_MS = 5000  # comment sent on a quiet stream so it stays open; below HANDLER_TIMEOUT_MS
STATUS_INTERVAL_MS = 2000  # status pushed to open streams this often; no work while none is open

# -- Watching the board: /logs, /api/logs, /metrics, the crash record, history ---
LOG_RING_BYTES = None  # the last log lines kept in RAM for /logs and /api/logs, bounded so a chatty log cannot eat the heap; None: 2048 on a Pico W, 8192 on a Pico 2 W
CRASH_FILE = "crash.txt"  # where the last crash (reason, traceback, log lines) is written, once per crash; at most 3 KB
HISTORY_INTERVAL_MS = 60000  # the dashboard's charts take a sample this often; 0 turns sampling off
HISTORY_SAMPLES = 60  # samples kept (60 x 60 s = the last hour); fixed arrays, 10 bytes a sample

# -- Home Assistant over MQTT (lib/mqtt/, docs/home-assistant.md) ---------------
MQTT_HOST = None  # the broker's address (an IP address: a name is looked up by a blocking DNS query); None: no MQTT, nothing loaded
MQTT_CREDENTIALS_FILE = "mqtt.json"  # the broker's login, and the broker the setup portal saved (used when MQTT_HOST is None); never served or logged
# The other MQTT settings' defaults live in lib/mqtt/defaults.py, read only
# when MQTT_HOST is set (a board without a broker keeps the heap); set any of
# them here, below this line, to change it:
#   MQTT_PREFIX = "garage"

# -- Over-the-air updates (lib/ota/, docs/ota.md; only with API_TOKEN set) ----
OTA_RESERVE_BYTES = 16384  # flash an update must leave free (507 otherwise), so a full disk never stops the crash record or wifi.json
OTA_CONFIRM_MS = 5000  # a new version must serve this long (and answer /health) before it is kept; else the next boot rolls back
