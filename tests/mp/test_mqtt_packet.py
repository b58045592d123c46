# MQTT packets (lib/mqtt/packet.py) built and cut without I/O, and the
# client's outgoing queue (lib/mqtt/client.py's Queue), on MicroPython.
from mqtt import packet
from mqtt.client import Queue


class Feed:
    """Stands for the connection: hands out the given chunks one per read."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)

    def readinto(self, mv):
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)
        mv[: len(chunk)] = chunk
        return len(chunk)


def cut(size, *chunks):
    """Every packet the inbox cuts from the chunks: (first byte, body)."""
    inbox = packet.Inbox(size)
    feed = Feed(*chunks)
    out = []
    while feed.chunks:
        inbox.fill(feed)
        while True:
            got = inbox.next()
            if got is None:
                break
            first, start, end = got
            out.append((first, bytes(inbox.buf[start:end])))
    return out


def malformed(size, data):
    try:
        cut(size, data)
    except packet.Malformed as e:
        return str(e)
    raise AssertionError("accepted %r" % data)


def built(method, *args):
    out = packet.Out(4)  # (smaller than any packet: it grows)
    getattr(out, method)(*args)
    return bytes(out.buf[: out.n])


# -- building --------------------------------------------------------------------


def test_connect_carries_the_retained_will_the_keepalive_and_the_login():
    data = built("connect", b"picow-host", 60, b"picow/host/status", b"offline", b"ha", b"pw")
    assert data[0] == 0x10 and data[1] == len(data) - 2
    assert data[2:10] == b"\x00\x04MQTT\x04" + bytes((0x02 | 0x04 | 0x08 | 0x20 | 0x80 | 0x40,))
    assert data[10:12] == b"\x00\x3c"  # 60 s
    assert data[12:] == (b"\x00\x0apicow-host\x00\x11picow/host/status\x00\x07offline"
                         b"\x00\x02ha\x00\x02pw")
    anonymous = built("connect", b"c", 5, b"t", b"offline")
    assert anonymous[9] == 0x02 | 0x04 | 0x08 | 0x20 and anonymous.endswith(b"\x00\x01t\x00\x07offline")


def test_publish_at_qos_0_and_1_with_retain_and_a_long_remaining_length():
    assert built("publish", b"a/b", b"ON", True, 0, 0) == b"\x31\x07\x00\x03a/bON"
    assert built("publish", b"a", b"x", False, 1, 258) == b"\x32\x06\x00\x01a\x01\x02x"
    big = built("publish", b"t", b"z" * 200, False, 0, 0)
    assert big[:3] == b"\x30\xcb\x01" and len(big) == 3 + 203  # 203 = 0x4b + 1 x 128


def test_subscribe_asks_qos_0_for_each_topic_and_ping_is_two_bytes():
    assert built("subscribe", 7, [b"a/set", b"hs"]) == b"\x82\x0f\x00\x07\x00\x05a/set\x00\x00\x02hs\x00"
    assert built("ping") == b"\xc0\x00"


def test_the_buffer_is_kept_and_reused():
    out = packet.Out(4)
    out.publish(b"t", b"x" * 50, False, 0, 0)
    buf = out.buf
    out.publish(b"t", b"y" * 10, False, 0, 0)
    assert out.buf is buf and out.n == 2 + 3 + 10


# -- cutting ----------------------------------------------------------------------


def test_packets_are_cut_whole_whether_they_come_together_or_in_pieces():
    connack = b"\x20\x02\x00\x00"
    publish = b"\x30\x09\x00\x05a/setON"
    pingresp = b"\xd0\x00"
    assert cut(64, connack + publish + pingresp) == [(0x20, b"\x00\x00"), (0x30, b"\x00\x05a/setON"),
                                                     (0xD0, b"")]
    pieces = connack + publish + pingresp
    assert cut(64, *[pieces[i : i + 1] for i in range(len(pieces))]) == cut(64, pieces)
    assert packet.published(b"\x00\x05a/setON", 0, 9) == (b"a/set", b"ON")


def test_a_packet_larger_than_the_inbox_is_refused_from_its_header():
    # 10 MB announced: refused before a byte of it is read
    assert "more than MQTT_MAX_PACKET" in malformed(64, b"\x30\x80\xad\xe2\x04")
    assert "more than MQTT_MAX_PACKET" in malformed(64, b"\x30\x3f\x00\x01t")


def test_a_remaining_length_of_five_bytes_is_refused():
    assert "4 bytes" in malformed(64, b"\x30\xff\xff\xff\xff\x01")


def test_packets_a_broker_never_sends_a_client_are_refused():
    for data in (b"\x10\x00", b"\x82\x00", b"\xc0\x00", b"\xe0\x00", b"\x00\x00", b"\xf0\x00",
                 b"\x21\x02\x00\x00", b"\x20\x03\x00\x00\x00", b"\xd0\x01\x00", b"\x90\x02\x00\x01",
                 b"\x32\x05\x00\x01a\x00\x01", b"\x30\x01\x00"):
        malformed(64, data)


def test_a_publish_whose_topic_runs_past_its_end_is_refused():
    try:
        packet.published(b"\x00\x09ab", 0, 4)
    except packet.Malformed:
        return
    raise AssertionError("accepted")


# -- the queue --------------------------------------------------------------------


def test_the_queue_keeps_the_newest_state_per_topic_and_drops_the_oldest_when_full():
    q = Queue(3)
    q.put((b"a", b"1"))
    q.put((b"b", b"1"))
    q.put((b"a", b"2"))  # replaces a's state in place
    assert q.count == 2 and q.dropped == 0
    q.put((b"c", b"1"))
    q.put((b"d", b"1"))  # full: a (the oldest) goes
    assert q.dropped == 1
    assert [q.take() for _ in range(4)] == [(b"b", b"1"), (b"c", b"1"), (b"d", b"1"), None]


def test_a_message_sent_now_discards_the_older_one_waiting_for_its_topic():
    q = Queue(4)
    for t in (b"a", b"b", b"c"):
        q.put((t, b"old"))
    q.discard(b"b")
    q.discard(b"zz")
    assert [q.take() for _ in range(3)] == [(b"a", b"old"), (b"c", b"old"), None]


def test_the_queue_does_not_grow():
    q = Queue(2)
    items = q._items
    for i in range(100):
        q.put((b"t%d" % i, b"x"))
    assert q._items is items and len(items) == 2 and q.count == 2 and q.dropped == 98
