# Percent-decoding and form/query parsing (httpd.codec) on MicroPython.
# Both functions raise ValueError on malformed input; Request turns that into 400.
from httpd.codec import parse_qs, unquote


def value_error(fn, *args):
    """Assert fn(*args) raises ValueError (UnicodeError is a subclass)."""
    try:
        result = fn(*args)
    except ValueError:
        return
    raise AssertionError("expected ValueError, got %r" % (result,))


# -- unquote --------------------------------------------------------------------


def test_unquote_without_escapes_returns_text_unchanged():
    assert unquote("") == ""
    assert unquote("/a/b.txt") == "/a/b.txt"
    assert unquote("caf\u00e9") == "caf\u00e9"


def test_unquote_decodes_percent_escapes():
    assert unquote("a%20b") == "a b"
    assert unquote("%2F%3f%3D") == "/?="
    assert unquote("%41%42%43") == "ABC"
    assert unquote("100%25") == "100%"


def test_unquote_accepts_upper_and_lower_case_hex():
    assert unquote("%7e%7E") == "~~"
    assert unquote("%c3%a9%C3%A9") == "\u00e9\u00e9"


def test_unquote_decodes_utf8_sequences():
    assert unquote("%E2%82%AC") == "\u20ac"
    assert unquote("%F0%9F%98%80") == "\U0001f600"


def test_unquote_keeps_non_ascii_text_around_escapes():
    assert unquote("\u00e9%20\u00e9") == "\u00e9 \u00e9"


def test_unquote_decodes_nul_escape():
    # unquote itself decodes %00; refusing NUL in a path is Request's job.
    assert unquote("a%00b") == "a\x00b"


def test_unquote_bad_hex_is_value_error():
    value_error(unquote, "%zz")
    value_error(unquote, "%g0")
    value_error(unquote, "%0g")
    value_error(unquote, "a%-1")
    value_error(unquote, "a% 1")


def test_unquote_truncated_escape_is_value_error():
    value_error(unquote, "%")
    value_error(unquote, "a%")
    value_error(unquote, "a%4")
    value_error(unquote, "%4")


def test_unquote_escape_at_end_is_decoded():
    assert unquote("a%41") == "aA"


def test_unquote_non_utf8_result_is_value_error():
    value_error(unquote, "%ff")
    value_error(unquote, "%C3")  # a truncated two-byte sequence
    value_error(unquote, "%C3%28")  # an invalid continuation byte
    value_error(unquote, "%80")  # a lone continuation byte


def test_unquote_leaves_plus_alone_by_default():
    assert unquote("a+b") == "a+b"
    assert unquote("a+b%20c") == "a+b c"


def test_unquote_with_plus_turns_plus_into_space():
    assert unquote("a+b", True) == "a b"
    assert unquote("a+b%20c", True) == "a b c"
    assert unquote("++", True) == "  "


def test_unquote_with_plus_keeps_encoded_plus():
    # '+' is replaced before escapes are decoded, so %2B stays a literal '+'.
    assert unquote("%2B", True) == "+"
    assert unquote("1%2B1+%3D+2", True) == "1+1 = 2"


# -- parse_qs -------------------------------------------------------------------


def test_parse_qs_of_empty_string_is_empty():
    assert parse_qs("") == {}
    assert parse_qs(None) == {}


def test_parse_qs_splits_pairs():
    assert parse_qs("a=1&b=2") == {"a": "1", "b": "2"}


def test_parse_qs_decodes_names_and_values():
    assert parse_qs("na%20me=va%20lue") == {"na me": "va lue"}
    assert parse_qs("q=caf%C3%A9") == {"q": "caf\u00e9"}


def test_parse_qs_plus_is_space_in_names_and_values():
    assert parse_qs("a+b=c+d") == {"a b": "c d"}
    assert parse_qs("q=1%2B1") == {"q": "1+1"}


def test_parse_qs_name_without_equals_has_empty_value():
    assert parse_qs("flag") == {"flag": ""}
    assert parse_qs("a=1&flag") == {"a": "1", "flag": ""}


def test_parse_qs_empty_value():
    assert parse_qs("a=") == {"a": ""}


def test_parse_qs_empty_name():
    assert parse_qs("=v") == {"": "v"}


def test_parse_qs_value_may_contain_equals():
    assert parse_qs("a=1=2") == {"a": "1=2"}
    assert parse_qs("a=%3D") == {"a": "="}


def test_parse_qs_skips_empty_pairs():
    assert parse_qs("&&a=1&&b=2&") == {"a": "1", "b": "2"}
    assert parse_qs("&") == {}


def test_parse_qs_repeated_name_keeps_last_value():
    assert parse_qs("a=1&a=2&a=3") == {"a": "3"}


def test_parse_qs_encoded_ampersand_does_not_split():
    assert parse_qs("a=x%26b%3Dy") == {"a": "x&b=y"}


def test_parse_qs_bad_escape_is_value_error():
    value_error(parse_qs, "a=%zz")
    value_error(parse_qs, "%zz=1")
    value_error(parse_qs, "a=1&b=%2")
    value_error(parse_qs, "a=%")
    value_error(parse_qs, "flag%")


def test_parse_qs_non_utf8_is_value_error():
    value_error(parse_qs, "a=%ff")
    value_error(parse_qs, "%ff=1")
    value_error(parse_qs, "a=%C3")
