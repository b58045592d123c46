# Log in with the API token from a browser, with or without JavaScript.
# MIT license
#
#   GET  /login    a form asking for the token (only while API_TOKEN is set)
#   POST /login    form field token -> 303 to / with the session cookie, or
#                  401 and the form again (429 after repeated wrong guesses)
#   POST /logout   ends every session (the cookie and the value it matched)
#
# The cookie is HttpOnly (no script can read it) and SameSite=Strict (a page
# of another site cannot make the browser send it). Plain HTTP: anyone who can
# watch the Wi-Fi traffic can read it, as they could read the token.

from access import token
from httpd import HTTPError, Response

_PAGE = """<!doctype html><html lang=en><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1"><title>Log in</title>
<link rel=stylesheet href=/static/app.css><body><h1>Log in</h1>%s
<form method=post action=/login><label>API token
<input type=password name=token required autocomplete=current-password autofocus></label>
<button>Log in</button></form><p><a href=/>Back to the dashboard</a></p>
"""
_NO_STORE = ("Cache-Control", "no-store")
_MAX_AGE = 30 * 86400  # the browser keeps the cookie a month (a restart ends it sooner)


def _page(message="", status=200, headers=None):
    message = "<p class=err>%s</p>" % message if message else ""
    return Response.html(_PAGE % message, status, [_NO_STORE] + (headers or []))


class Login:
    def __init__(self, config):
        self.config = config

    def form(self, request):
        if not self.config.API_TOKEN:
            return Response.redirect("/")
        return _page()

    def submit(self, request):
        if not self.config.API_TOKEN:
            return Response.redirect("/")
        from access import form_fields  # (here: the bench measures a submodule before its package)

        fields = form_fields(request)
        try:  # the typed token only (a login cookie or header logs nobody in)
            token.verify(request, fields.get("token", ""), self.config)
        except HTTPError as e:
            text = "Too many wrong tokens: wait %s s." % e.headers[0][1] if e.status == 429 and e.headers \
                else "That is not the token."
            return _page(text, e.status, e.headers)
        cookie = "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict" % (
            token.COOKIE, token.session(True), _MAX_AGE)
        return Response(b"", 303, None, [("Location", "/"), ("Set-Cookie", cookie), _NO_STORE])

    def logout(self, request):
        token.end_sessions()
        cookie = "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" % token.COOKIE
        return Response(b"", 303, None, [("Location", "/"), ("Set-Cookie", cookie)])


def install(app):
    login = Login(app.config)
    add = app.router.add
    add("/login", login.form)
    add("/login", login.submit, ("POST",))
    add("/logout", login.logout, ("POST",))
    return login
