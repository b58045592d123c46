# The request line (httpd.request.Request.request_line) on MicroPython: methods,
# versions, targets, and the status each malformed one raises.
#
# References: RFC 9110 (HTTP semantics), RFC 9112 (HTTP/1.1 message syntax).

from heads import parse, head, get, parses_to


# -- request line: methods -------------------------------------------------------


def test_implemented_methods_parse():
    for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        req = parse(head("%s /x HTTP/1.1" % m, "Host: a"))
        assert req.method == m, (m, req.method)
        assert req.path == "/x"
        assert req.version == 11


def test_unknown_token_method_is_501():
    # RFC 9110 9.1: an unrecognized method -> 501 Not Implemented.
    parses_to(head("BREW /pot HTTP/1.1", "Host: a"), 501)
    parses_to(head("PROPFIND / HTTP/1.1", "Host: a"), 501)


def test_lowercase_method_is_a_valid_unknown_token_so_501():
    # RFC 9110 9.1: methods are case-sensitive tokens; "get" is a token that
    # is not GET, so it is an unimplemented method, not a syntax error.
    parses_to(head("get / HTTP/1.1", "Host: a"), 501)
    parses_to(head("Get / HTTP/1.1", "Host: a"), 501)


def test_method_with_non_token_character_is_400():
    parses_to(head("G(T / HTTP/1.1", "Host: a"), 400)
    parses_to(head("GE@T / HTTP/1.1", "Host: a"), 400)
    parses_to(head("GET/ HTTP/1.1", "Host: a"), 400)
    parses_to(head(b"\x01GET / HTTP/1.1", "Host: a"), 400)


def test_request_line_starting_with_space_is_400():
    parses_to(head(" / HTTP/1.1", "Host: a"), 400)
    parses_to(head(" GET / HTTP/1.1", "Host: a"), 400)


def test_request_line_with_only_a_word_is_400():
    parses_to(head("GET", "Host: a"), 400)
    parses_to(head("BREW", "Host: a"), 400)


def test_tab_as_request_line_separator_is_400():
    parses_to(head("GET\t/ HTTP/1.1", "Host: a"), 400)
    parses_to(head("GET /\tHTTP/1.1", "Host: a"), 400)


# -- request line: version -------------------------------------------------------


def test_missing_version_is_400():
    parses_to(head("GET /", "Host: a"), 400)
    parses_to(head("GET / ", "Host: a"), 400)


def test_trailing_space_after_version_is_400():
    parses_to(head("GET / HTTP/1.1 ", "Host: a"), 400)


def test_two_spaces_between_method_and_target_is_400():
    parses_to(head("GET  / HTTP/1.1", "Host: a"), 400)


def test_two_spaces_between_target_and_version_is_400():
    parses_to(head("GET /  HTTP/1.1", "Host: a"), 400)


def test_space_inside_target_is_400():
    parses_to(head("GET /a b HTTP/1.1", "Host: a"), 400)


def test_http_2_0_is_505():
    parses_to(head("GET / HTTP/2.0", "Host: a"), 505)
    parses_to(head("GET / HTTP/3.0", "Host: a"), 505)


def test_http_1_0_parses_as_version_10():
    req = parse(head("GET / HTTP/1.0"))
    assert req.version == 10


def test_http_1_1_parses_as_version_11():
    assert parse(head("GET / HTTP/1.1", "Host: a")).version == 11


def test_higher_http_1_minor_version_is_treated_as_1_1():
    # RFC 9110 2.5: process as the highest minor version the server supports.
    assert parse(head("GET / HTTP/1.9", "Host: a")).version == 11


def test_misspelled_protocol_name_is_400():
    parses_to(head("GET / HTTX/1.1", "Host: a"), 400)


def test_lowercase_protocol_name_is_400():
    # RFC 9112 2.3: HTTP-name is %s"HTTP", case-sensitive.
    parses_to(head("GET / http/1.1", "Host: a"), 400)


def test_malformed_version_digits_are_400():
    parses_to(head("GET / HTTP/1", "Host: a"), 400)
    parses_to(head("GET / HTTP/1.x", "Host: a"), 400)
    parses_to(head("GET / HTTP/1,1", "Host: a"), 400)
    parses_to(head("GET / HTTP/11.1", "Host: a"), 400)
    parses_to(head("GET / HTTP/a.1", "Host: a"), 400)


# -- request line: target -------------------------------------------------------


def test_control_character_in_target_is_400():
    parses_to(head(b"GET /a\x01b HTTP/1.1", "Host: a"), 400)
    parses_to(head(b"GET /a\x7f HTTP/1.1", "Host: a"), 400)
    parses_to(head(b"GET /a\x00 HTTP/1.1", "Host: a"), 400)


def test_non_ascii_byte_in_target_is_400():
    parses_to(head(b"GET /caf\xc3\xa9 HTTP/1.1", "Host: a"), 400)
    parses_to(head(b"GET /\xff HTTP/1.1", "Host: a"), 400)


def test_target_without_leading_slash_is_400():
    parses_to(head("GET a/b HTTP/1.1", "Host: a"), 400)
    parses_to(head("GET ?x HTTP/1.1", "Host: a"), 400)


def test_root_path():
    req = parse(get("Host: a"))
    assert req.path == "/"
    assert req.query == ""


def test_query_is_split_from_path_and_kept_raw():
    req = parse(get("Host: a", target="/a/b?x=%20&y=1"))
    assert req.path == "/a/b"
    assert req.query == "x=%20&y=1"


def test_query_on_root_path():
    req = parse(get("Host: a", target="/?x=1"))
    assert req.path == "/"
    assert req.query == "x=1"


def test_absolute_form_target_keeps_path_and_query():
    req = parse(get("Host: host", target="http://host/a?b"))
    assert req.path == "/a", req.path
    assert req.query == "b", req.query


def test_absolute_form_https_with_port():
    req = parse(get("Host: host", target="https://host:8443/x/y"))
    assert req.path == "/x/y"


def test_absolute_form_without_path_is_root():
    req = parse(get("Host: host", target="http://host"))
    assert req.path == "/"


def test_absolute_form_authority_ends_at_question_mark():
    # RFC 3986 3.2: the authority ends at the first "/", "?" or "#"; here the
    # path is empty (-> "/") and the query is "a=/b". The "/" inside the query
    # must not be taken as the start of the path.
    req = parse(get("Host: host", target="http://host?a=/b"))
    assert req.path == "/", req.path
    assert req.query == "a=/b", req.query


def test_asterisk_form_is_accepted_for_options():
    req = parse(head("OPTIONS * HTTP/1.1", "Host: a"))
    assert req.method == "OPTIONS"
    assert req.path == "*"


def test_asterisk_form_is_400_for_other_methods():
    # RFC 9112 3.2.4: asterisk-form is only used for a server-wide OPTIONS.
    parses_to(head("GET * HTTP/1.1", "Host: a"), 400)
    parses_to(head("POST * HTTP/1.1", "Host: a"), 400)


def test_fragment_is_stripped_from_target():
    req = parse(get("Host: a", target="/a#frag"))
    assert req.path == "/a"
    assert req.query == ""
    req = parse(get("Host: a", target="/a?b=1#frag"))
    assert req.path == "/a"
    assert req.query == "b=1"


def test_percent_encoded_path_is_decoded():
    assert parse(get("Host: a", target="/a%20b")).path == "/a b"
    assert parse(get("Host: a", target="/caf%C3%A9")).path == "/caf\u00e9"
    assert parse(get("Host: a", target="/%7euser")).path == "/~user"


def test_bad_percent_escape_in_path_is_400():
    parses_to(get("Host: a", target="/%zz"), 400)
    parses_to(get("Host: a", target="/a%2"), 400)
    parses_to(get("Host: a", target="/a%"), 400)
    parses_to(get("Host: a", target="/a%g0"), 400)


def test_percent_encoded_nul_in_path_is_400():
    parses_to(get("Host: a", target="/a%00b"), 400)


def test_percent_encoded_non_utf8_path_is_400():
    parses_to(get("Host: a", target="/%ff"), 400)
    parses_to(get("Host: a", target="/%C3"), 400)


def test_empty_lines_before_request_line_are_ignored():
    # RFC 9112 2.2: a server SHOULD ignore at least one empty line before it.
    req = parse(b"\r\n\r\n" + get("Host: a", target="/x"))
    assert req.method == "GET"
    assert req.path == "/x"


def test_bare_lf_line_ends_are_accepted():
    # RFC 9112 2.2: a recipient MAY recognize a single LF as a line terminator.
    req = parse(b"GET /x HTTP/1.1\nHost: a\nX-A: 1\n\n")
    assert req.path == "/x"
    assert req.headers["x-a"] == "1"
