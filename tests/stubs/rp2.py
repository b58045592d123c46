# Stand-in for the rp2 port's `rp2` module (test path only): what Wi-Fi needs.
_country = "XX"


def country(code=None):
    global _country
    if code is None:
        return _country
    _country = code
    print("FAKE rp2: country", code)
