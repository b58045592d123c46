# The server core's settings, with their defaults: the one place they are
# written. config.py imports them all and may set any again; a Server made
# without a config uses these. docs/configuration.md says what each protects
# against.
# MIT license

# -- Listening ---------------------------------------------------------------
HOST = "0.0.0.0"  # address to listen on; 0.0.0.0 is every interface
PORT = 80  # TCP port; browsers use 80 for http://
BACKLOG = 5  # listen backlog; on a Pico W also the room for connections not yet accepted: 5, one per lwIP connection

# -- Connections: the Pico W's network stack has 5 TCP sockets in all ---------
MAX_CONNECTIONS = 4  # clients served at once; below 5 so a newcomer can always be answered
SLOT_WAIT_MS = 5000  # a newcomer at the cap waits this long for a slot before it gets a 503
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

# -- WebSocket (lib/httpd/websocket.py, loaded at the first handshake) ---------
MAX_WEBSOCKETS = 2  # open at once, below MAX_CONNECTIONS; a handshake beyond them closes the one silent longest (1013)
WS_MAX_MESSAGE = 4096  # bytes in one message, all its fragments together; larger closes with 1009
WS_PING_MS = 10000  # the server pings a WebSocket that sent nothing for this long
WS_PONG_TIMEOUT_MS = 5000  # and resets it when nothing comes back within this (a phone that left the Wi-Fi)

# -- Who may talk to the board -------------------------------------------------
# Host names the board answers to besides its IP addresses, localhost, HOSTNAME
# and HOSTNAME.local; any other Host gets 421 (stops DNS-rebinding pages). "*": any
ALLOWED_HOSTS = ()

# -- Logging ---------------------------------------------------------------------
ACCESS_LOG = False  # True: one INFO line per request (method, path, status, ms), to watch a board on `make repl`
