# GET /metrics: the board's counters and gauges in the Prometheus text
# exposition format, version 0.0.4, for a Prometheus server scraping a fleet.
# MIT license
#
# One template (HELP and TYPE lines and the series' names, one literal)
# filled with % per scrape: a scrape allocates its answer and the few
# numbers' texts, nothing else. Names follow Prometheus' conventions: a
# picow_ prefix, base units (bytes, seconds, celsius), _total on counters.
# Series that do not exist on this board (Wi-Fi on the unix port) are left
# out rather than sent as NaN, so absent() tells a board without Wi-Fi.

import sys

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# Values in order: the server's counters (app.server.stats), connections,
# heap free, used and size, uptime, temperature, LED, log lines, crash. One
# literal: frozen into the firmware it stays in flash (no heap at all).
_MAIN = (
    b"# HELP picow_http_connections_accepted_total TCP connections accepted.\n"
    b"# TYPE picow_http_connections_accepted_total counter\n"
    b"picow_http_connections_accepted_total %d\n"
    b"# HELP picow_http_requests_total HTTP responses sent.\n"
    b"# TYPE picow_http_requests_total counter\n"
    b"picow_http_requests_total %d\n"
    b"# HELP picow_http_bad_requests_total Requests refused by the parser before routing.\n"
    b"# TYPE picow_http_bad_requests_total counter\n"
    b"picow_http_bad_requests_total %d\n"
    b"# HELP picow_http_timeouts_total Connections cut by a head, body, handler or write deadline.\n"
    b"# TYPE picow_http_timeouts_total counter\n"
    b"picow_http_timeouts_total %d\n"
    b"# HELP picow_http_idle_closed_total Connections closed after the idle timeout.\n"
    b"# TYPE picow_http_idle_closed_total counter\n"
    b"picow_http_idle_closed_total %d\n"
    b"# HELP picow_http_dropped_total Connections the client reset or closed mid-request.\n"
    b"# TYPE picow_http_dropped_total counter\n"
    b"picow_http_dropped_total %d\n"
    b"# HELP picow_http_rejected_total Clients answered 503 because every slot was busy.\n"
    b"# TYPE picow_http_rejected_total counter\n"
    b"picow_http_rejected_total %d\n"
    b"# HELP picow_http_evicted_total Idle connections closed to make room for a new client.\n"
    b"# TYPE picow_http_evicted_total counter\n"
    b"picow_http_evicted_total %d\n"
    b"# HELP picow_http_errors_total Handler exceptions, 500s and MemoryErrors.\n"
    b"# TYPE picow_http_errors_total counter\n"
    b"picow_http_errors_total %d\n"
    b"# HELP picow_http_connections Connections holding a slot now.\n"
    b"# TYPE picow_http_connections gauge\n"
    b"picow_http_connections %d\n"
    b"# HELP picow_heap_free_bytes Free MicroPython heap after a collection.\n"
    b"# TYPE picow_heap_free_bytes gauge\n"
    b"picow_heap_free_bytes %d\n"
    b"# HELP picow_heap_used_bytes Used MicroPython heap after a collection.\n"
    b"# TYPE picow_heap_used_bytes gauge\n"
    b"picow_heap_used_bytes %d\n"
    b"# HELP picow_heap_size_bytes Size of the MicroPython heap.\n"
    b"# TYPE picow_heap_size_bytes gauge\n"
    b"picow_heap_size_bytes %d\n"
    b"# HELP picow_uptime_seconds Seconds since the firmware started.\n"
    b"# TYPE picow_uptime_seconds gauge\n"
    b"picow_uptime_seconds %d\n"
    b"# HELP picow_temperature_celsius The chip's own temperature sensor (RP2040 or RP2350).\n"
    b"# TYPE picow_temperature_celsius gauge\n"
    b"picow_temperature_celsius %.1f\n"
    b"# HELP picow_led_on 1 while the onboard LED is on.\n"
    b"# TYPE picow_led_on gauge\n"
    b"picow_led_on %d\n"
    b"# HELP picow_log_lines_total Lines logged since start (the last ones at /api/logs).\n"
    b"# TYPE picow_log_lines_total counter\n"
    b"picow_log_lines_total %d\n"
    b"# HELP picow_crash_recorded 1 while a crash record is kept (see /api/crash).\n"
    b"# TYPE picow_crash_recorded gauge\n"
    b"picow_crash_recorded %d\n"
)
_WIFI = (
    b"# HELP picow_wifi_connected 1 while the Wi-Fi link is up.\n"
    b"# TYPE picow_wifi_connected gauge\n"
    b"picow_wifi_connected %d\n"
    b"# HELP picow_wifi_rssi_dbm Wi-Fi signal strength (dBm); absent while disconnected.\n"
    b"# TYPE picow_wifi_rssi_dbm gauge\n"
    b"picow_wifi_rssi_dbm %d\n"
    b"# HELP picow_wifi_reconnects_total Times the Wi-Fi link was joined again after a loss.\n"
    b"# TYPE picow_wifi_reconnects_total counter\n"
    b"picow_wifi_reconnects_total %d\n"
    b"# HELP picow_wifi_downtime_seconds_total Seconds the Wi-Fi link was down since start.\n"
    b"# TYPE picow_wifi_downtime_seconds_total counter\n"
    b"picow_wifi_downtime_seconds_total %d\n"
)
_RSSI_LINE = b"picow_wifi_rssi_dbm "  # dropped from the text while there is no value
_INFO = (b"# HELP picow_info Firmware (version running, image, MicroPython) and board; always 1.\n"
         b"# TYPE picow_info gauge\npicow_info{%s} 1\n")


def _label(value):
    """A label value, escaped as the format says (backslash, quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self, app, ring=None, crash_recorded=None):
        self.app = app
        self.ring = ring
        self.crash_recorded = crash_recorded or (lambda: False)
        board = app.board
        v = sys.implementation.version
        # image: "" where none (stock MicroPython, a PC), as chip on a PC: an
        # empty label is no label to Prometheus.
        self._info = _INFO % ('version="%s",image="%s",micropython="%d.%d.%d",board="%s",chip="%s",id="%s"'
                              % (_label(app.version), _label(app.image or ""), v[0], v[1], v[2],
                                 _label(board.name), _label(board.chip or ""), _label(app.board_id)))

    def text(self):
        """The exposition as bytes."""
        app = self.app
        s = app.server.stats
        board = app.board
        used = app.heap_used()
        body = _MAIN % (
            s.accepted, s.requests, s.bad_requests, s.timed_out, s.idle_closed, s.dropped,
            s.rejected, s.evicted, s.errors, app.server.active,
            app.heap_size - used, used, app.heap_size, app.uptime.seconds(),
            board.temperature_c(), 1 if board.led else 0,
            self.ring.lines if self.ring else 0, 1 if self.crash_recorded() else 0,
        )
        if app.mqtt is not None:  # (absent without a broker, as Wi-Fi's on a PC)
            body += app.mqtt.metrics()
        if app.wifi is not None:
            w = app.wifi.status()
            rssi = w.get("rssi")
            up = bool(w.get("connected"))
            wifi = _WIFI % (1 if up else 0, rssi if up and rssi is not None else 0,
                            w.get("reconnects") or 0, w.get("downtime_s") or 0)
            if not up or rssi is None:  # no sample rather than a made-up value
                i = wifi.find(_RSSI_LINE)
                wifi = wifi[:i] + wifi[wifi.find(b"\n", i) + 1 :]
            return body + wifi + self._info
        return body + self._info
