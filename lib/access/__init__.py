# Access control: the API token. The server core already refuses state
# changes from other sites (httpd/origin.py) and unknown Host names for every
# route; this adds what only the application knows: its token.
# MIT license
#
#   access.require(request, config, form=None)  401 unless config.API_TOKEN is
#                                  unset or carried (header, form field, or
#                                  login cookie); 429 after repeated wrong guesses
#   access.form_fields(request)    a form post's fields; 415 if not a form
#
# The parts reach require() through App.check_token, which loads this package
# only when API_TOKEN is set: without it (the default) a board that serves
# its page and API holds none of it. The token's checks themselves
# (comparison, failed-guess throttle, login sessions) are access/token.py;
# the login page is access/login.py.

from httpd import HTTPError

_FORM = "application/x-www-form-urlencoded"


def form_fields(request):
    """The body of a form post as a dict; 415 unless it is sent as one."""
    if not request.headers.get("content-type", "").startswith(_FORM):
        raise HTTPError(415, "send a form (%s)" % _FORM)
    return request.form()


def require(request, config, form=None):
    """HTTPError 401 when config.API_TOKEN is set and the request carries
    neither it (`Authorization: Bearer`, `X-API-Token`, form field `token`)
    nor a login cookie; 429 with Retry-After while its address has guessed
    wrong too often (config.AUTH_FAILURES within AUTH_WINDOW_S)."""
    secret = config.API_TOKEN
    if not secret:
        return
    headers = request.headers
    given = headers.get("x-api-token")
    if given is None:
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = bearer[7:].strip()
    if given is None and form is not None:
        given = form.get("token")
    from access import token

    if given is None:
        if token.logged_in(request):
            return
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])
    token.verify(request, given, config)
