# MQTT's settings besides MQTT_HOST and MQTT_CREDENTIALS_FILE (config.py's:
# every start and the setup portal read that file), with their defaults:
# the one place they are written. Read by mqtt/setup.py only when MQTT_HOST is set, for
# each name config.py does not set, then forgotten; docs/configuration.md
# says what each is for.
# MIT license

MQTT_PORT = 1883  # the broker's port (plain MQTT; no TLS)
MQTT_PREFIX = "picow"  # the board's topics: PREFIX/<board id>/led, .../status ...
MQTT_DISCOVERY = True  # announce the entities to Home Assistant (retained configs under MQTT_DISCOVERY_PREFIX)
MQTT_DISCOVERY_PREFIX = "homeassistant"  # Home Assistant's discovery prefix (its default)
MQTT_KEEPALIVE_S = 60  # a ping every half of it; the broker says "offline" 1.5 x this after the board went silent
MQTT_TIMEOUT_MS = 5000  # each wait on the broker: connecting, CONNACK, a write, PINGRESP, PUBACK
MQTT_RETRY_MS = 2000  # first pause before connecting again; doubles each time
MQTT_MAX_BACKOFF_MS = 60000  # longest pause between attempts, so a dead broker is not hammered
MQTT_QUEUE = 8  # messages waiting to be sent; a newer state replaces one of the same topic, the oldest goes when full
MQTT_MAX_PACKET = 512  # largest packet accepted from the broker (a larger one ends the connection); the buffer's size
MQTT_STATE_INTERVAL_S = 60  # the sensors' states are published this often (the LED's at each change)
