# The dashboard people browse to, and the board's JSON API.
# MIT license
from httpd import Response

_INDEX = Response.html(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Pico W</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto">
<h1>Pico W web server</h1>
<p>It works. Status as JSON: <a href="/api/status">/api/status</a>;
health check: <a href="/health">/health</a>.</p>
</body></html>
"""
)


def install(app):
    app.router.add("/", lambda request: _INDEX)
