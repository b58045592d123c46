# HTTP status codes: reason phrases and the exception that carries a status.
# MIT license


REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def reason(status):
    return REASONS.get(status, "Unknown")


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
