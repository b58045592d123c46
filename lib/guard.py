# Protection of requests that change the board's state, and JSON errors for
# the API. Used by the dashboard; any other part with a state-changing route
# can call the same checks.
# MIT license
#
#   guard.same_origin(request)         403 if sent from a page of another site
#   guard.check_token(request, token)  401 if `token` is set and not carried
#   server.error_handler = guard.error_response

from httpd import HTTPError, Response
from httpd.server import default_error_response
from httpd.status import reason


def _authority(url, scheme: "str | None" = "http"):
    """'http://Host:80/x' or 'Host:80' -> 'host' (default port dropped);
    None for something that is not a URL ('null')."""
    i = url.find("://")
    if i >= 0:
        scheme = url[:i].lower()
        url = url[i + 3 :]
    elif scheme is None:
        return None
    for sep in ("/", "?", "#"):  # not "/?#": iterating a str interns each character
        j = url.find(sep)
        if j >= 0:
            url = url[:j]
    url = url[url.rfind("@") + 1 :].lower()  # drop user:password@
    default = ":443" if scheme == "https" else ":80"
    return url[: -len(default)] if url.endswith(default) else url


def same_origin(request):
    """HTTPError 403 when the request comes from a page of another site: an
    Origin whose host and port differ from Host, or without Origin a Referer
    from another host. Browsers send Origin with every cross-site POST; a
    request with neither (curl, scripts) passes."""
    headers = request.headers
    sent = headers.get("origin")
    if sent is None:
        sent = headers.get("referer")
        if sent is None:
            return
    if _authority(sent, None) != _authority(headers.get("host", "")):
        raise HTTPError(403, "cross-site request refused")


def _same(a, b):
    """a == b in a time that does not tell how many leading characters match.
    Compared as bytes: indexing a str would intern (keep) each character."""
    a = a.encode()
    b = b.encode()
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def check_token(request, token, form=None):
    """HTTPError 401 when `token` is set and the request does not carry it as
    `Authorization: Bearer`, `X-API-Token` or form field `token`."""
    if not token:
        return
    headers = request.headers
    given = headers.get("x-api-token")
    if given is None:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
    if given is None and form is not None:
        given = form.get("token")
    if given is None or not _same(given, token):
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])


def error_response(request, status, detail=None, headers=None):
    """A server error_handler: JSON under /api/, plain text elsewhere.
    `request` is None, or has path None, when the request line was unreadable."""
    path = request.path if request is not None else None
    if path and path.startswith("/api/"):
        import json

        body = json.dumps({"error": detail or reason(status), "status": status})
        return Response(body, status, "application/json", headers)
    return default_error_response(request, status, detail, headers)
