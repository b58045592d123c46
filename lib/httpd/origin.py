# Where a request comes from: the two rules every request passes before it is
# routed (the server applies them; the setup portal and guard.py use them too).
# MIT license
#
#   host_allowed(host, allowed)  a Host header value we answer to (DNS rebinding)
#   cross_site(headers)          why a request was sent by a page of another
#                                site, or None
#
# DNS rebinding: a page on evil.example makes its own name resolve to the
# board's address; the browser then treats the board as evil.example and lets
# the page read it, but it still sends `Host: evil.example`. So a Host must be
# an IP literal (a browser at http://192.168.1.50/ is on the board's own
# origin), localhost, or a name the board is known by.
#
# Cross-site requests: a page of another site can make the browser send a
# POST (a form, fetch without CORS) to the board. Browsers say where a
# request comes from in Sec-Fetch-Site (2023 on), else in Origin, else in
# Referer; requests with none of them (curl, scripts) are not from a browser
# page and pass, as in Go's net/http CrossOriginProtection.

_IP_CHARS = "0123456789."


def host_name(value):
    """'Board.Local.:8080' -> 'board.local'; '[::1]:80' -> '[::1]'."""
    value = value.lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    colon = value.find(":")
    if colon >= 0:
        value = value[:colon]
    return value[:-1] if value.endswith(".") else value


def _is_ip_literal(name):
    if name.startswith("["):
        return True
    if name.count(".") != 3:
        return False
    for c in name.encode():  # (as bytes: iterating a str interns each character)
        if c not in b"0123456789.":
            return False
    return True


def host_allowed(host, allowed):
    """Whether a Host value (port and case ignored) names this board: an IP
    literal, localhost, or a name in `allowed` ("*" allows any)."""
    name = host_name(host)
    if name == "localhost" or _is_ip_literal(name):
        return True
    for a in allowed:
        if a == "*" or a.lower() == name:
            return True
    return False


def authority(url):
    """'http://Host:80/x' -> 'host' (scheme, path, user and default port
    dropped); 'null' and other non-URLs -> None."""
    i = url.find("://")
    if i < 0:
        return None
    scheme = url[:i].lower()
    url = url[i + 3 :]
    for sep in ("/", "?", "#"):  # not "/?#": iterating a str interns each character
        j = url.find(sep)
        if j >= 0:
            url = url[:j]
    url = url[url.rfind("@") + 1 :].lower()  # drop user:password@
    default = ":443" if scheme == "https" else ":80"
    return url[: -len(default)] if url.endswith(default) else url


def _host_authority(host):
    host = host.lower()
    return host[:-3] if host.endswith(":80") else host


def cross_site(headers):
    """Why the request was sent by a page of another site ('Sec-Fetch-Site',
    'Origin' or 'Referer', the header that says so), or None."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        # same-origin, or none (typed in the address bar, a bookmark)
        return "Sec-Fetch-Site" if site == "cross-site" or site == "same-site" else None
    sent = headers.get("origin")
    name = "Origin"
    if sent is None:
        sent = headers.get("referer")
        name = "Referer"
        if sent is None:
            return None
    # 'Origin: null' (a sandboxed frame, a file:// page) has no authority: refused.
    if authority(sent) != _host_authority(headers.get("host", "")):
        return name
    return None
