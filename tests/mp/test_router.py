# Routing (httpd.router.Router) on MicroPython: static, "<name>" and
# "<path:name>" routes, 404, 405 with its Allow header, HEAD -> GET, allow().
from httpd.router import Router
from checks import raises


def allow_of(err):
    """The Allow value an HTTPError carries (exactly one Allow header)."""
    values = [v for n, v in (err.headers or ()) if n == "Allow"]
    assert len(values) == 1, err.headers
    return values[0]


def h_index(request):
    return "index"


def h_get(request):
    return "get"


def h_post(request):
    return "post"


def h_put(request):
    return "put"


def h_user(request):
    return "user"


def h_file(request):
    return "file"


# -- static routes ----------------------------------------------------------------


def test_static_route_matches_with_no_params():
    r = Router()
    r.add("/", h_index)
    r.add("/api/led", h_get)
    assert r.match("GET", "/") == (h_index, None)
    assert r.match("GET", "/api/led") == (h_get, None)


def test_route_decorator_registers_and_returns_handler():
    r = Router()

    @r.route("/x", methods=("GET", "POST"))
    def handler(request):
        return 1

    assert handler(None) == 1
    assert r.match("GET", "/x")[0] is handler
    assert r.match("POST", "/x")[0] is handler


def test_default_method_is_get_only():
    r = Router()
    r.add("/x", h_get)
    assert r.match("GET", "/x")[0] is h_get
    raises(405, r.match, "POST", "/x")


def test_methods_of_one_path_can_have_different_handlers():
    r = Router()
    r.add("/x", h_get, ("GET",))
    r.add("/x", h_post, ("POST",))
    assert r.match("GET", "/x")[0] is h_get
    assert r.match("POST", "/x")[0] is h_post


def test_static_match_is_exact():
    r = Router()
    r.add("/a", h_get)
    raises(404, r.match, "GET", "/a/")
    raises(404, r.match, "GET", "/A")
    raises(404, r.match, "GET", "/ab")


def test_route_not_starting_with_slash_is_value_error():
    r = Router()
    try:
        r.add("x", h_get)
    except ValueError:
        return
    raise AssertionError("route without leading / was accepted")


# -- parameter routes ---------------------------------------------------------------


def test_param_route_captures_one_segment():
    r = Router()
    r.add("/users/<id>", h_user)
    assert r.match("GET", "/users/42") == (h_user, {"id": "42"})


def test_several_params():
    r = Router()
    r.add("/a/<x>/b/<y>", h_user)
    assert r.match("GET", "/a/1/b/2") == (h_user, {"x": "1", "y": "2"})
    raises(404, r.match, "GET", "/a/1/c/2")


def test_param_does_not_match_empty_or_extra_segments():
    r = Router()
    r.add("/users/<id>", h_user)
    raises(404, r.match, "GET", "/users/")
    raises(404, r.match, "GET", "/users")
    raises(404, r.match, "GET", "/users/42/x")
    raises(404, r.match, "GET", "/users/42/")


def test_param_route_at_root_does_not_match_root():
    r = Router()
    r.add("/<name>", h_user)
    assert r.match("GET", "/x") == (h_user, {"name": "x"})
    raises(404, r.match, "GET", "/")


def test_path_param_captures_the_rest_of_the_path():
    r = Router()
    r.add("/files/<path:name>", h_file)
    assert r.match("GET", "/files/a.txt") == (h_file, {"name": "a.txt"})
    assert r.match("GET", "/files/a/b/c.txt") == (h_file, {"name": "a/b/c.txt"})
    assert r.match("GET", "/files/dir/") == (h_file, {"name": "dir/"})


def test_path_param_needs_something_to_capture():
    r = Router()
    r.add("/files/<path:name>", h_file)
    raises(404, r.match, "GET", "/files/")
    raises(404, r.match, "GET", "/files")


def test_path_param_after_named_param():
    r = Router()
    r.add("/u/<user>/<path:rest>", h_file)
    assert r.match("GET", "/u/bob/x/y") == (h_file, {"user": "bob", "rest": "x/y"})


def test_path_param_not_last_is_value_error():
    r = Router()
    try:
        r.add("/files/<path:name>/edit", h_file)
    except ValueError:
        return
    raise AssertionError("<path:...> before the end was accepted")


def test_static_route_wins_over_param_route():
    r = Router()
    r.add("/users/<id>", h_user)
    r.add("/users/me", h_index)
    assert r.match("GET", "/users/me") == (h_index, None)
    assert r.match("GET", "/users/7") == (h_user, {"id": "7"})


def test_param_routes_are_tried_in_the_order_added():
    r = Router()
    r.add("/x/<a>", h_user)
    r.add("/x/<b>", h_file, ("GET", "POST"))
    # The first pattern matches, so its methods table decides.
    assert r.match("GET", "/x/1") == (h_user, {"a": "1"})


def test_same_param_pattern_added_twice_shares_one_table():
    r = Router()
    r.add("/items/<id>", h_get, ("GET",))
    r.add("/items/<id>", h_put, ("PUT",))
    assert r.match("GET", "/items/1")[0] is h_get
    assert r.match("PUT", "/items/1")[0] is h_put
    assert r.allow("/items/1") == "GET, HEAD, OPTIONS, PUT"


# -- 404 ----------------------------------------------------------------------------


def test_unknown_path_is_404():
    r = Router()
    r.add("/a", h_get)
    r.add("/b/<x>", h_get)
    raises(404, r.match, "GET", "/nope")
    raises(404, r.match, "POST", "/nope")


def test_empty_router_answers_404():
    raises(404, Router().match, "GET", "/")


# -- 405 and Allow --------------------------------------------------------------------


def test_wrong_method_is_405_with_allow():
    r = Router()
    r.add("/a", h_get)
    e = raises(405, r.match, "POST", "/a")
    assert allow_of(e) == "GET, HEAD, OPTIONS", allow_of(e)


def test_allow_lists_every_method_sorted():
    r = Router()
    r.add("/a", h_get, ("POST", "GET", "DELETE"))
    e = raises(405, r.match, "PUT", "/a")
    assert allow_of(e) == "DELETE, GET, HEAD, OPTIONS, POST", allow_of(e)


def test_allow_without_get_has_no_head():
    r = Router()
    r.add("/a", h_post, ("POST",))
    e = raises(405, r.match, "GET", "/a")
    assert allow_of(e) == "OPTIONS, POST", allow_of(e)


def test_allow_does_not_repeat_explicit_head_or_options():
    r = Router()
    r.add("/a", h_get, ("GET", "HEAD", "OPTIONS"))
    e = raises(405, r.match, "DELETE", "/a")
    assert allow_of(e) == "GET, HEAD, OPTIONS", allow_of(e)


def test_wrong_method_on_param_route_is_405_with_allow():
    r = Router()
    r.add("/users/<id>", h_user, ("GET", "PUT"))
    e = raises(405, r.match, "DELETE", "/users/3")
    assert allow_of(e) == "GET, HEAD, OPTIONS, PUT", allow_of(e)


def test_head_on_post_only_route_is_405():
    r = Router()
    r.add("/a", h_post, ("POST",))
    e = raises(405, r.match, "HEAD", "/a")
    assert allow_of(e) == "OPTIONS, POST"


# -- HEAD ------------------------------------------------------------------------------


def test_head_falls_back_to_get_handler():
    r = Router()
    r.add("/a", h_get)
    r.add("/u/<id>", h_user)
    assert r.match("HEAD", "/a") == (h_get, None)
    assert r.match("HEAD", "/u/1") == (h_user, {"id": "1"})


def test_explicit_head_handler_wins_over_get():
    r = Router()
    r.add("/a", h_get, ("GET",))
    r.add("/a", h_index, ("HEAD",))
    assert r.match("HEAD", "/a")[0] is h_index


# -- allow() ----------------------------------------------------------------------------


def test_allow_for_a_path():
    r = Router()
    r.add("/a", h_get, ("GET", "POST"))
    r.add("/u/<id>", h_put, ("PUT",))
    assert r.allow("/a") == "GET, HEAD, OPTIONS, POST"
    assert r.allow("/u/1") == "OPTIONS, PUT"


def test_allow_for_unknown_path_is_none():
    r = Router()
    r.add("/a", h_get)
    assert r.allow("/b") is None


def test_allow_star_merges_all_routes():
    r = Router()
    r.add("/a", h_get)
    r.add("/b", h_post, ("POST",))
    r.add("/c/<x>", h_put, ("PUT", "DELETE"))
    r.add("/d/<path:p>", h_file, ("PATCH",))
    assert r.allow("*") == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT", r.allow("*")


def test_allow_star_of_empty_router_is_options():
    assert Router().allow("*") == "OPTIONS"


def test_allow_star_without_get_has_no_head():
    r = Router()
    r.add("/b", h_post, ("POST",))
    assert r.allow("*") == "OPTIONS, POST"


def test_options_star_is_not_a_route():
    # The server answers OPTIONS * itself from allow("*") when match() fails.
    r = Router()
    r.add("/a", h_get)
    raises(404, r.match, "OPTIONS", "*")
