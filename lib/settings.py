# Loads config.py; on the unix port, environment variables PICO_<NAME> override
# single settings (make run PORT=8091, and the tests, use this).
# MIT license


def _convert(text, current):
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    return text


def load():
    import config

    try:
        from os import getenv
    except ImportError:  # a board has no environment
        return config
    for name in dir(config):
        if name.isupper():
            text = getenv("PICO_" + name)
            if text is not None:
                setattr(config, name, _convert(text, getattr(config, name)))
    return config
