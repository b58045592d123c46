# Wi-Fi for the Pico W: join at boot, keep the link up, credentials on flash.
# MIT license
#
# boot.py calls boot(): it joins the network named in the credentials file
# (bounded: a few attempts with a timeout each, Ctrl-C works throughout) and
# says what happened in words. main.py then finds the result in `station`
# and `mode` ("station", or "portal" when there are no credentials or joining
# failed every time). Station.monitor() runs beside the web server and rejoins
# with backoff whenever the link is lost.

import gc
import json
from time import sleep_ms, ticks_add, ticks_diff, ticks_ms

import network
from httpd import log

_log = log.get_logger("wifi")

_WORDS = {
    network.STAT_IDLE: "not connected",
    network.STAT_CONNECTING: "still connecting",
    network.STAT_GOT_IP: "connected",
    network.STAT_CONNECT_FAIL: "connect failed",
    network.STAT_NO_AP_FOUND: "no access point found",
    network.STAT_WRONG_PASSWORD: "wrong password",
}
_FAILED = (network.STAT_CONNECT_FAIL, network.STAT_NO_AP_FOUND, network.STAT_WRONG_PASSWORD)
_POLL_MS = 100
_BLINK_MS = 250
_PM_NONE = 0xA11140  # power saving off (WLAN.PM_NONE where the firmware has it)

# What boot() decided, kept for main.py: boot.py and main.py are two scripts,
# and a module is what one leaves for the other (see handover()).
_station = None  # the Station boot() joined with
_mode = None  # "station" or "portal"; None where there is no radio


def words(status):
    return _WORDS.get(status, "status %d" % status)


# -- credentials -----------------------------------------------------------------


def load_credentials(path):
    """(ssid, password) from the JSON credentials file, or None."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError:
        return None
    except ValueError:
        _log.error("%s is not valid JSON; ignoring it", path)
        return None
    ssid = data.get("ssid") if isinstance(data, dict) else None
    password = data.get("password", "") if isinstance(data, dict) else ""
    if not isinstance(ssid, str) or not isinstance(password, str) or validate(ssid, password):
        _log.error("%s does not hold a valid ssid and password; ignoring it", path)
        return None
    return ssid, password


def validate(ssid, password):
    """None if the pair can be used, else a sentence saying what is wrong."""
    if not ssid:
        return "The network name is empty."
    if len(ssid.encode()) > 32:
        return "The network name is longer than 32 bytes."
    if password:
        n = len(password)
        if n == 64:  # a raw WPA key: 64 hexadecimal digits
            for c in password:
                if c not in "0123456789abcdefABCDEF":
                    return "A 64-character password must be hexadecimal."
            return None
        if n < 8 or n > 63:
            return "The password must be 8 to 63 characters (or empty for an open network)."
        for c in password.encode():  # bytes: a str's characters would be interned
            if not 32 <= c <= 126:
                return "The password may contain only printable ASCII characters."
    return None


def save_json(path, data):
    """Write a credentials file (wifi.json, the portal's mqtt.json); a
    temporary file first, so a power cut cannot leave half a file behind."""
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    try:
        os.remove(path)
    except OSError:
        pass
    os.rename(tmp, path)


# -- station ---------------------------------------------------------------------


class Station:
    def __init__(self, config, board):
        self.config = config
        self.board = board
        self.wlan = network.WLAN(network.STA_IF)
        self.ssid = None
        self._password = None  # kept in RAM to rejoin; never logged or served
        self.reconnects = 0
        self.last_error = None
        self._down_since = None
        self._downtime_ms = 0
        self.beat = ticks_ms()  # the monitor's last sign of life

    def prepare(self):
        """Country, hostname and power saving must be set before joining."""
        try:
            import rp2

            rp2.country(self.config.WIFI_COUNTRY)
        except ImportError:
            network.country(self.config.WIFI_COUNTRY)
        network.hostname(self.config.HOSTNAME)
        self.wlan.active(True)
        if not self.config.WIFI_POWER_SAVING:
            self.wlan.config(pm=getattr(network.WLAN, "PM_NONE", _PM_NONE))

    def join(self, ssid, password):
        """Join at boot: WIFI_CONNECT_ATTEMPTS attempts, each bounded by
        WIFI_CONNECT_TIMEOUT_MS, with a doubling pause between them. Blocks
        (there is no event loop yet) but Ctrl-C interrupts it. True if joined."""
        self.ssid = ssid
        self._password = password
        self.prepare()
        pause = self.config.WIFI_RETRY_MS
        attempts = self.config.WIFI_CONNECT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            _log.info("joining %r (attempt %d of %d)", ssid, attempt, attempts)
            status = self._attempt()
            if status == network.STAT_GOT_IP:
                _log.info("connected to %r; got IP %s: browse to http://%s/", ssid, self.ip(), self.ip())
                self.board.set_led(True)
                sleep_ms(2000)  # steady light: joined
                self.board.set_led(False)
                return True
            self.last_error = "timed out" if status == network.STAT_CONNECTING else words(status)
            _log.warning("joining %r failed: %s", ssid, self.last_error)
            if status == network.STAT_WRONG_PASSWORD:
                break  # retrying will not help
            if attempt < attempts:
                sleep_ms(pause)
                pause *= 2
        self._blink(10, 100)  # fast blinking: failed
        return False

    def _attempt(self):
        self.wlan.disconnect()
        self.wlan.connect(self.ssid, self._password)
        until = ticks_add(ticks_ms(), self.config.WIFI_CONNECT_TIMEOUT_MS)
        led = False
        next_blink = ticks_ms()
        while ticks_diff(until, ticks_ms()) > 0:
            status = self.wlan.status()
            if status == network.STAT_GOT_IP or status in _FAILED:
                self.board.set_led(False)
                return status
            if ticks_diff(ticks_ms(), next_blink) >= 0:  # slow blinking: joining
                led = not led
                self.board.set_led(led)
                next_blink = ticks_add(next_blink, _BLINK_MS)
            sleep_ms(_POLL_MS)
        self.board.set_led(False)
        return self.wlan.status()

    def _blink(self, times, ms):
        for _ in range(times):
            self.board.set_led(True)
            sleep_ms(ms)
            self.board.set_led(False)
            sleep_ms(ms)

    # -- while serving -------------------------------------------------------

    def ip(self):
        return self.wlan.ifconfig()[0]

    def connected(self):
        # status() and an address, not isconnected(): that has been seen to
        # stay True on a dead link (micropython#16290).
        return self.wlan.status() == network.STAT_GOT_IP and self.ip() != "0.0.0.0"

    async def monitor(self):
        """Check the link every WIFI_CHECK_MS; rejoin with doubling backoff
        (up to WIFI_MAX_BACKOFF_MS) while it is down. Never raises."""
        import asyncio

        backoff = self.config.WIFI_RETRY_MS
        while True:
            self.beat = ticks_ms()
            try:
                if self.connected():
                    if self._down_since is not None:
                        down = ticks_diff(ticks_ms(), self._down_since)
                        self._downtime_ms += down
                        self._down_since = None
                        _log.info("Wi-Fi back after %d s; IP %s", down // 1000, self.ip())
                    backoff = self.config.WIFI_RETRY_MS
                    await asyncio.sleep_ms(self.config.WIFI_CHECK_MS)
                    continue
                if self._down_since is None:
                    self._down_since = ticks_ms()
                    self.last_error = words(self.wlan.status())
                    _log.warning("Wi-Fi link lost (%s); rejoining", self.last_error)
                self.reconnects += 1
                self.wlan.disconnect()
                self.wlan.connect(self.ssid, self._password)
                until = ticks_add(ticks_ms(), self.config.WIFI_CONNECT_TIMEOUT_MS)
                while ticks_diff(until, ticks_ms()) > 0 and self.wlan.status() == network.STAT_CONNECTING:
                    self.beat = ticks_ms()
                    await asyncio.sleep_ms(250)
                if not self.connected():
                    self.last_error = words(self.wlan.status())
                    _log.warning("rejoining failed (%s); next try in %d s", self.last_error, backoff // 1000)
                    await asyncio.sleep_ms(backoff)
                    backoff = min(backoff * 2, self.config.WIFI_MAX_BACKOFF_MS)
            except OSError as e:  # the radio driver can fail transiently
                self.last_error = "error %s" % e
                _log.error("Wi-Fi monitor: %s", e)
                await asyncio.sleep_ms(backoff)
            except MemoryError:  # a full heap passes; ending here would leave the link unwatched
                gc.collect()
                await asyncio.sleep_ms(backoff)

    def alive(self):
        """False if the monitor has not run for far longer than it ever waits."""
        limit = 2 * (self.config.WIFI_MAX_BACKOFF_MS + self.config.WIFI_CONNECT_TIMEOUT_MS)
        return ticks_diff(ticks_ms(), self.beat) < limit

    def up(self):
        """The monitor's view of the link at its last check, without asking
        the driver: what other clients of the network (MQTT) wait on."""
        return self._down_since is None

    def rssi(self):
        """The signal in dBm, or None where the driver cannot say."""
        try:
            return self.wlan.status("rssi")
        except (OSError, ValueError):
            return None

    def status(self):
        down = self._downtime_ms
        if self._down_since is not None:
            down += ticks_diff(ticks_ms(), self._down_since)
        rssi = self.rssi()
        return {
            "mode": _mode,
            "connected": self.connected(),
            "ssid": self.ssid,
            "ip": self.ip(),
            "rssi": rssi,
            "reconnects": self.reconnects,
            "downtime_s": down // 1000,
            "last_error": self.last_error,
        }


# -- boot ------------------------------------------------------------------------


def boot(config, board):
    """boot.py: join the configured network, or decide on the setup portal.
    Returns the mode; main.py takes the result with handover()."""
    global _station, _mode
    if board.wifi_chip is False:
        # Neither joining nor the portal's access point can work without the
        # radio, and a restart does not revive a chip: serve on whatever other
        # network interface there is, and say so once.
        _log.error("the wireless chip (CYW43439) does not answer: no Wi-Fi, no setup portal; "
                   "serving on other network interfaces only")
        _station = _mode = None
        return _mode
    _station = Station(config, board)
    credentials = load_credentials(config.WIFI_CREDENTIALS_FILE)
    if credentials is None:
        _log.warning("no Wi-Fi credentials in %s: starting the setup portal", config.WIFI_CREDENTIALS_FILE)
        _mode = "portal"
    elif _station.join(*credentials):
        _mode = "station"
    else:
        _log.warning("could not join %r: starting the setup portal", credentials[0])
        _mode = "portal"
    return _mode


def handover():
    """main.py: (station, mode) as boot.py's boot() left them; (None, None)
    if boot() did not run."""
    return _station, _mode
