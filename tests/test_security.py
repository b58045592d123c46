"""Safe by default, as a user's own route gets it without writing a line:
state changes from other sites refused before routing (403), Host names the
board is not known by refused (421, DNS rebinding), JSON only when sent as
JSON (415), the headers that keep pages and state out of other sites' reach,
the API token (compared by digest, guesses throttled, a login cookie), and
crowded networks where every accepted client is answered.

Each test runs in the Pico W profile (180K heap, 5 client sockets) and in the
unix port's default profile (no limits: more sockets than connection slots).
The user's route is tests/apps/hello.py, the README's "Adding a route" module.
"""

import json
import socket
import time

import pytest

import client
from serverproc import ServerProcess

TOKEN = "sec-T0ken-4c7e91"
PROFILES = {"pico": {}, "default": {"heap": None, "client_sockets": None}}
HELLO = {"APP_MODULES": "hello"}
WITH_HELLO = ("lib", ".", "tests/apps")  # hello.py is found like a file in lib/


@pytest.fixture(params=sorted(PROFILES))
def start(request):
    """start(**settings) -> a running server in the profile of this run, with
    the real default ALLOWED_HOSTS (the other tests allow their own names)."""
    started = []

    def run(settings=None, **kwargs):
        settings = dict(dict(HELLO, ALLOWED_HOSTS=""), **(settings or {}))
        options = dict(PROFILES[request.param], path=WITH_HELLO)
        options.update(kwargs)
        srv = ServerProcess(settings=settings, **options)
        started.append(srv)
        return srv.start()

    yield run
    for srv in started:
        srv.stop()


def host(srv):
    return "127.0.0.1:%d" % srv.port


def send(srv, method, path, headers=None, body=b"", bind=None):
    h = {"Host": host(srv)}
    h.update(headers or {})
    with client.Conn(srv.port) as c:
        if bind:  # another client address: 127.0.0.2 is loopback as well
            c.sock.close()
            c.sock = socket.socket()
            c.sock.settimeout(5)
            c.sock.bind((bind, 0))
            c.sock.connect(("127.0.0.1", srv.port))
        return c.request(method, path, h, body)


JSON_BODY = {"Content-Type": "application/json"}
CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling host name is still another origin
    {"Origin": "http://evil.example"},
    {"Origin": "null"},  # a sandboxed frame or a file:// page
    {"Origin": "http://127.0.0.1:1"},  # another port is another origin
    {"Referer": "http://evil.example/page.html"},
]


# -- 1. cross-site state changes, before routing ---------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_cross_site_state_changes_to_a_users_route_are_403(start, method):
    srv = start()
    for headers in CROSS_SITE:
        r = send(srv, method, "/api/hello/x", dict(JSON_BODY, **headers), b"{}")
        assert r.status == 403, (headers, r)
    assert "handler" not in srv.output()


def test_cross_site_posts_to_a_page_that_does_not_exist_are_403_not_404(start):
    srv = start()
    for headers in CROSS_SITE:
        assert send(srv, "POST", "/no/such/page", headers, b"x").status == 403, headers
    assert send(srv, "POST", "/no/such/page", {}, b"x").status == 404


def test_same_origin_and_header_less_requests_pass(start):
    srv = start()
    same = [
        {},  # curl, scripts: no browser page sent it
        {"Origin": "http://" + host(srv)},
        {"Origin": "http://" + host(srv), "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
        {"Referer": "http://%s/" % host(srv)},
    ]
    for headers in same:
        r = send(srv, "POST", "/api/hello/ann", dict(JSON_BODY, **headers), b'{"n": 1}')
        assert r.status == 200, (headers, r)
        assert json.loads(r.body) == {"hello": "ann", "got": {"n": 1}}
    # Sec-Fetch-Site decides when a browser sends it, whatever Origin says
    r = send(srv, "POST", "/api/hello/ann", dict(JSON_BODY, **{"Sec-Fetch-Site": "cross-site",
                                                                "Origin": "http://" + host(srv)}), b"{}")
    assert r.status == 403


def test_safe_methods_from_other_sites_are_served(start):
    srv = start()
    r = send(srv, "GET", "/api/hello/x", {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status == 200 and r.header("access-control-allow-origin") is None  # unreadable to that page


def test_a_route_added_with_cross_origin_true_takes_other_sites(start):
    srv = start()
    for headers in CROSS_SITE:
        assert send(srv, "POST", "/api/public", headers, b"").status == 200, headers


def test_the_dashboards_own_forms_are_refused_from_other_sites(start):
    srv = start()
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"}
    assert send(srv, "POST", "/led", form, b"action=on").status == 403
    assert json.loads(send(srv, "GET", "/api/led").body) == {"on": False}


# -- 2. Host names: DNS rebinding --------------------------------------------------------


def test_a_rebinding_host_name_gets_421_and_changes_nothing(start):
    srv = start()
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    r = send(srv, "POST", "/api/led", dict(JSON_BODY, **evil), b'{"on": true}')
    assert r.status == 421, r
    assert send(srv, "GET", "/api/status", {"Host": "evil.example:%d" % srv.port}).status == 421
    assert json.loads(send(srv, "GET", "/api/led").body) == {"on": False}


def test_the_boards_own_names_and_addresses_are_answered(start):
    srv = start(dict(HOSTNAME="greenhouse", ALLOWED_HOSTS="pumps.example.org"))
    for name in ("127.0.0.1", "192.168.1.50:80", "[::1]:8080", "localhost", "LOCALHOST:8080",
                 "greenhouse", "greenhouse.local", "Greenhouse.Local.", "pumps.example.org"):
        r = send(srv, "GET", "/api/status", {"Host": name})
        assert r.status == 200, (name, r)
    for name in ("greenhouse.evil.example", "evil.example", "local", "pumps.example.org.evil"):
        assert send(srv, "GET", "/", {"Host": name}).status == 421, name


def test_allowed_hosts_star_answers_any_name(start):
    srv = start(dict(ALLOWED_HOSTS="*"))
    assert send(srv, "GET", "/health", {"Host": "anything.example"}).status == 200


# -- 3. JSON bodies --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded",
                                  "multipart/form-data; boundary=b", None])
def test_a_body_an_html_form_could_send_is_not_decoded_as_json(start, kind):
    srv = start()
    r = send(srv, "POST", "/api/hello/x", {"Content-Type": kind}, b'{"on": true}')
    assert r.status == 415, r
    assert json.loads(r.body)["status"] == 415  # under /api/: a JSON error


# -- 4. headers --------------------------------------------------------------------------


def test_api_answers_are_never_cached(start):
    srv = start()
    for path in ("/api/status", "/api/led", "/health", "/api/no-such-thing", "/api/hello/x"):
        r = send(srv, "GET", path)
        assert r.header("cache-control") == "no-store", (path, r)


def test_html_pages_are_not_sniffed_framed_or_referred(start):
    srv = start()
    for path in ("/", "/no-such-page-but-html?"):
        r = send(srv, "GET", path)
        if not r.header("content-type", "").startswith("text/html"):
            continue
        assert r.header("x-content-type-options") == "nosniff"
        csp = r.header("content-security-policy")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
        assert "unsafe-inline" not in csp  # scripts and styles only from the board's files
        assert r.header("referrer-policy") == "same-origin"


# -- 5. the token ------------------------------------------------------------------------


def led(srv, on, headers=None, bind=None):
    return send(srv, "POST", "/api/led", dict(JSON_BODY, **(headers or {})),
                json.dumps({"on": on}).encode(), bind=bind)


def test_a_users_route_asks_for_the_token_when_it_is_set(start):
    srv = start(dict(API_TOKEN=TOKEN))
    assert send(srv, "POST", "/api/hello/x", JSON_BODY, b"{}").status == 401
    assert send(srv, "POST", "/api/hello/x", dict(JSON_BODY, **{"X-API-Token": TOKEN}), b"{}").status == 200


def test_wrong_guesses_are_slowed_down_then_forgiven(start):
    srv = start(dict(API_TOKEN=TOKEN, AUTH_FAILURES=3, AUTH_WINDOW_S=2, ACCESS_LOG="true"))
    for guess in ("x", TOKEN[:-1], TOKEN + "x"):
        assert led(srv, True, {"X-API-Token": guess}).status == 401
    r = led(srv, True, {"X-API-Token": "y"})
    assert r.status == 429 and 1 <= int(r.header("retry-after")) <= 2, r
    # The answer says how long, as its Retry-After does.
    assert json.loads(r.body)["error"] == "too many wrong tokens; wait %s s" % r.header("retry-after")
    # While it waits, even the right token is not compared: guessing stops.
    assert led(srv, True, {"X-API-Token": TOKEN}).status == 429
    # Another address is not held up by this one's guesses.
    assert led(srv, True, {"X-API-Token": TOKEN}, bind="127.0.0.2").status == 200
    time.sleep(2.2)  # the window passes: the right token works again
    assert led(srv, False, {"X-API-Token": TOKEN}).status == 200
    assert TOKEN not in srv.output()


def test_the_login_form_sets_a_session_cookie_that_is_not_the_token(start):
    srv = start(dict(API_TOKEN=TOKEN, ACCESS_LOG="true"))
    page = send(srv, "GET", "/login")
    assert page.status == 200 and b'name=token' in page.body and TOKEN.encode() not in page.body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    wrong = send(srv, "POST", "/login", form, b"token=nope")
    assert wrong.status == 401 and wrong.header("set-cookie") is None and b"name=token" in wrong.body
    r = send(srv, "POST", "/login", form, ("token=" + TOKEN).encode())
    assert r.status == 303 and r.header("location") == "/"
    cookie = r.header("set-cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie, cookie
    session = cookie.split(";")[0]
    assert led(srv, True, {"Cookie": session}).status == 200
    assert led(srv, True, {"Cookie": session + "0"}).status == 401
    assert led(srv, True, {"Cookie": "other=1; " + session}).status == 200
    # a logout ends the session
    assert send(srv, "POST", "/logout", {"Cookie": session}).status == 303
    assert led(srv, True, {"Cookie": session}).status == 401
    assert TOKEN not in srv.output()


def test_without_a_token_there_is_no_login_page(start):
    srv = start()
    assert send(srv, "GET", "/login").status == 404


# -- 6. crowded networks ----------------------------------------------------------------


def test_eight_silent_clients_do_not_keep_a_visitor_out(start):
    srv = start(dict(LOG_LEVEL="WARNING"))
    silent = []
    try:
        for _ in range(8):
            c = socket.socket()
            c.settimeout(5)
            c.connect(("127.0.0.1", srv.port))
            silent.append(c)
        # Four hold the slots (not idle long enough to be closed for a
        # newcomer yet) and four fill the waiting room.
        time.sleep(0.1)
        t0 = time.monotonic()
        r = send(srv, "GET", "/health")
        took = time.monotonic() - t0
        assert r.status == 200, r
        # the idle ones make room after 250 ms of silence; generous for a loaded machine
        assert took < 2.0, "the visitor waited %.2f s" % took
    finally:
        for c in silent:
            c.close()


def test_a_hundred_clients_at_once_are_each_answered_200_or_503(start):
    # More sockets than slots (the unix port, an ESP32): the server itself
    # must hold the crowd back. (In the Pico W profile the 5 sockets do, and
    # test_robustness.py's flood covers it.)
    srv = start(dict(LOG_LEVEL="WARNING"), heap=None, client_sockets=None)
    busy = []  # every slot busy with a request under way: none can be evicted
    for _ in range(4):
        c = client.Conn(srv.port)
        c.send(b"GET / HTTP/1.1\r\n")
        busy.append(c)
    results = client.crowd(srv.port, 100, "/health", timeout=20)
    answers = [r[0] for r in results]
    unanswered = [r for r in results if r[0] not in (200, 503)]
    assert not unanswered, unanswered  # nobody closed without an answer
    for c in busy:
        c.close()
    assert send(srv, "GET", "/health").status == 200
