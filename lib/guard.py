# The API token, and JSON errors for the API. The server core already refuses
# state changes from other sites (httpd/origin.py) and unknown Host names for
# every route; this adds what only the application knows: its token.
# MIT license
#
#   guard.check_token(request, token)  401 unless `token` is unset or carried
#                                      (header, form field, or login cookie);
#                                      429 after repeated wrong guesses
#   guard.same_origin(request)         403 if sent by a page of another site
#                                      (for a GET route that changes state)
#   guard.form(request)                a form post's fields; 415 if not a form
#
# (The JSON errors under /api/ are app.error_response, the server's
# error_handler.) The token's checks themselves (comparison, failed-guess
# throttle, login sessions) are lib/auth.py, imported at the first request
# that gives a token. The application's own routes import this module only
# where they need it (a form post, a token to check): without API_TOKEN (the
# default) a board that serves its page and API holds neither.

from httpd import HTTPError
from httpd.origin import cross_site

_FORM = "application/x-www-form-urlencoded"
settings = None  # guard.configure()'s: AUTH_FAILURES and AUTH_WINDOW_S for lib/auth.py


def configure(config):
    """Keep the settings (app.build calls it when API_TOKEN is set); lib/auth.py
    reads AUTH_FAILURES and AUTH_WINDOW_S from them when a token is first
    given (from config.py when none were kept)."""
    global settings
    settings = config


def same_origin(request):
    """HTTPError 403 when a page of another site sent the request (see
    httpd/origin.py; the server applies this to every POST, PUT, PATCH and
    DELETE itself)."""
    if cross_site(request.headers):
        raise HTTPError(403, "cross-site request refused")


def form(request):
    """The body of a form post as a dict; 415 unless it is sent as one."""
    if not request.headers.get("content-type", "").startswith(_FORM):
        raise HTTPError(415, "send a form (%s)" % _FORM)
    return request.form()


def check_token(request, token, form=None):
    """HTTPError 401 when `token` is set and the request carries neither it
    (`Authorization: Bearer`, `X-API-Token`, form field `token`) nor a login
    cookie; 429 with Retry-After while its address has guessed wrong too often."""
    if not token:
        return
    headers = request.headers
    given = headers.get("x-api-token")
    if given is None:
        bearer = headers.get("authorization", "")
        if bearer[:7].lower() == "bearer ":
            given = bearer[7:].strip()
    if given is None and form is not None:
        given = form.get("token")
    import auth  # (only with a token: see lib/auth.py)

    if given is None:
        if auth.logged_in(request):
            return
        raise HTTPError(401, "API token missing or wrong", [("WWW-Authenticate", "Bearer")])
    auth.verify(request, given, token)
