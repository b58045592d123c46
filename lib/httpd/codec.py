# Percent-decoding and application/x-www-form-urlencoded parsing, and the
# one HTML escape every page of the application uses.
# MIT license
#
# Both raise ValueError on malformed input (a bad %XX escape, bytes that are not
# UTF-8); the server turns that into a 400 answer.
#
# Request data is only ever looked at as bytes, never one str character at a
# time: MicroPython interns every 1-character str it makes, permanently, so
# iterating over client text would grow the heap with each new character.

_HEX = b"0123456789abcdefABCDEF"


def unquote(text, plus=False):
    """Decode %XX escapes (and '+' as space when `plus`) in a str."""
    if plus and "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    return unquote_bytes(text).decode()


def unquote_bytes(text):
    """The bytes that %XX escapes in `text` stand for."""
    raw = text.encode()
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 37:  # '%'
            if i + 2 >= n:
                raise ValueError("bad escape")
            hi = raw[i + 1]
            lo = raw[i + 2]
            if hi not in _HEX or lo not in _HEX:
                raise ValueError("bad escape")
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out


def parse_qs(text):
    """'a=1&b=x%20y' -> {'a': '1', 'b': 'x y'}; a repeated name keeps its last value."""
    result = {}
    if not text:
        return result
    for pair in text.split("&"):
        if not pair:
            continue
        eq = pair.find("=")
        if eq < 0:
            result[unquote(pair, True)] = ""
        else:
            result[unquote(pair[:eq], True)] = unquote(pair[eq + 1 :], True)
    return result


def escape(text):
    """Text made safe to put between HTML tags or in a quoted attribute."""
    text = str(text)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        if a in text:
            text = text.replace(a, b)
    return text
