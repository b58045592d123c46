# HTTP status codes: reason phrases and the exception that carries a status.
# MIT license


# One string, not a dict of 40 entries: on a board every object costs heap,
# and a phrase is only looked up when a Response's head is first built.
_REASONS = (
    "\n100Continue"
    "\n101Switching Protocols"
    "\n200OK"
    "\n201Created"
    "\n202Accepted"
    "\n204No Content"
    "\n301Moved Permanently"
    "\n302Found"
    "\n303See Other"
    "\n304Not Modified"
    "\n307Temporary Redirect"
    "\n400Bad Request"
    "\n401Unauthorized"
    "\n403Forbidden"
    "\n404Not Found"
    "\n405Method Not Allowed"
    "\n406Not Acceptable"
    "\n408Request Timeout"
    "\n409Conflict"
    "\n410Gone"
    "\n411Length Required"
    "\n412Precondition Failed"
    "\n413Content Too Large"
    "\n414URI Too Long"
    "\n415Unsupported Media Type"
    "\n416Range Not Satisfiable"
    "\n417Expectation Failed"
    "\n421Misdirected Request"
    "\n422Unprocessable Content"
    "\n426Upgrade Required"
    "\n428Precondition Required"
    "\n429Too Many Requests"
    "\n431Request Header Fields Too Large"
    "\n500Internal Server Error"
    "\n501Not Implemented"
    "\n502Bad Gateway"
    "\n503Service Unavailable"
    "\n504Gateway Timeout"
    "\n505HTTP Version Not Supported"
    "\n507Insufficient Storage"
    "\n"  # every entry ends where the next begins
)


def reason(status):
    """'Not Found' for 404; 'Unknown' for a code not in the table."""
    i = _REASONS.find("\n%d" % status)
    if i < 0:
        return "Unknown"
    return _REASONS[i + 4 : _REASONS.find("\n", i + 4)]


class HTTPError(Exception):
    """Raised by the parser, the router or a handler to answer with `status`.

    `detail` is a short sentence for the client (never secrets); `headers` are
    extra response headers such as Allow or Retry-After.
    """

    def __init__(self, status, detail=None, headers=None):
        super().__init__(status)
        self.status = status
        self.detail = detail
        self.headers = headers
