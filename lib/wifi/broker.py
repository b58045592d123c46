# The setup portal's optional MQTT broker: the form's fields checked and
# made into mqtt.json's content (app/start.py reads it).
# Loaded by wifi/portal.py for a post only, then forgotten.
# MIT license

_HOST_CHARS = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"


def read(form):
    """The MQTT broker the form names: (mqtt.json's content or None when
    left empty, None or a sentence saying what is wrong)."""
    host = form.get("mqtt_host", "").strip()
    port = form.get("mqtt_port", "").strip() or "1883"
    user = form.get("mqtt_user", "")
    password = form.get("mqtt_password", "")
    if not host:
        if user or password or port != "1883":
            return None, "Give the broker's address, or leave every broker field empty."
        return None, None
    if len(host) > 64 or any(c not in _HOST_CHARS for c in host.encode()):  # (bytes: no interned characters)
        return None, "The broker's address must be an IP address or a host name."
    if not (port.isdigit() and 0 < int(port) < 65536):
        return None, "The broker's port must be a number from 1 to 65535."
    if len(user) > 64 or len(password) > 64:
        return None, "The broker's user and password must be at most 64 characters."
    if password and not user:  # MQTT sends no password without a user name
        return None, "A broker password needs a user name."
    data = {"host": host, "port": int(port)}
    if user:
        data["user"] = user
        data["password"] = password
    return data, None
