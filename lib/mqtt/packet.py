# MQTT 3.1.1 packets: building the few a client sends into one reused
# buffer, and cutting the ones a broker sends out of another. No I/O here
# (mqtt/client.py does it), so both halves are tested by feeding bytes
# (tests/mp/test_mqtt_packet.py).
# MIT license

from micropython import const

CONNECT = const(0x10)
CONNACK = const(0x20)
PUBLISH = const(0x30)
PUBACK = const(0x40)
SUBSCRIBE = const(0x82)  # (its fixed header's flags must be 0010)
SUBACK = const(0x90)
PINGREQ = const(0xC0)
PINGRESP = const(0xD0)

# CONNACK's return codes 1-5, in words for the status and the log.
REFUSALS = ("", "unacceptable protocol version", "client id rejected", "broker unavailable",
            "bad user name or password", "not authorized")


class Out:
    """One packet being built, in a buffer that grows to the largest packet
    sent and is kept: a board publishing the same few messages allocates
    nothing for them after the first."""

    def __init__(self, size=128):
        self.buf = bytearray(size)
        self.n = 0

    def start(self, first, length):
        """The fixed header of a packet whose remaining length is `length`."""
        if len(self.buf) < length + 5:
            self.buf = bytearray(length + 5)
        buf = self.buf
        buf[0] = first
        i = 1
        while True:
            b = length & 0x7F
            length >>= 7
            buf[i] = b | 0x80 if length else b
            i += 1
            if not length:
                break
        self.n = i

    def u16(self, value):
        self.buf[self.n] = value >> 8
        self.buf[self.n + 1] = value & 0xFF
        self.n += 2

    def byte(self, value):
        self.buf[self.n] = value
        self.n += 1

    def raw(self, data):
        n = self.n
        self.buf[n : n + len(data)] = data
        self.n = n + len(data)

    def string(self, data):
        self.u16(len(data))
        self.raw(data)

    # -- the packets ------------------------------------------------------------

    def connect(self, client_id, keepalive_s, will_topic, will, user=None, password=None):
        """CONNECT with a clean session and a retained QoS 1 last will."""
        length = 10 + 2 + len(client_id) + 4 + len(will_topic) + len(will)
        flags = 0x02 | 0x04 | 0x08 | 0x20  # clean session, will, will QoS 1, will retained
        if user is not None:
            flags |= 0x80
            length += 2 + len(user)
            if password is not None:
                flags |= 0x40
                length += 2 + len(password)
        self.start(CONNECT, length)
        self.string(b"MQTT")
        self.byte(4)  # protocol level 4: MQTT 3.1.1
        self.byte(flags)
        self.u16(keepalive_s)
        self.string(client_id)
        self.string(will_topic)
        self.string(will)
        if user is not None:
            self.string(user)
            if password is not None:
                self.string(password)

    def publish(self, topic, payload, retain, qos, pid):
        self.start(PUBLISH | (qos << 1) | (1 if retain else 0), 2 + len(topic) + (2 if qos else 0) + len(payload))
        self.string(topic)
        if qos:
            self.u16(pid)
        self.raw(payload)

    def subscribe(self, pid, topics):
        """SUBSCRIBE to each topic at QoS 0: the broker then sends nothing
        with a higher QoS, so nothing it sends needs an answer."""
        length = 2
        for t in topics:
            length += 3 + len(t)
        self.start(SUBSCRIBE, length)
        self.u16(pid)
        for t in topics:
            self.string(t)
            self.byte(0)

    def ping(self):
        self.start(PINGREQ, 0)


class Malformed(ValueError):
    """A packet no broker may send a client, or one larger than the inbox."""


class Inbox:
    """What the broker sent, cut into packets: fill() reads into one buffer
    of `size` bytes, next() returns the next whole packet as (first byte,
    start, end) of its variable part in `buf`, or None until more arrives.
    A packet larger than the buffer, or one a broker may not send, raises
    Malformed as soon as its fixed header shows it: it is never read."""

    def __init__(self, size):
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.n = 0  # bytes in buf
        self.pos = 0  # where the next packet starts

    def clear(self):
        self.n = self.pos = 0

    def fill(self, sock):
        """Read what the socket has; the number of bytes, 0 at its end, None if
        nothing was there (a non-blocking socket)."""
        if self.pos:  # (rare: only when a packet arrived in pieces)
            buf = self.buf
            left = self.n - self.pos
            for i in range(left):
                buf[i] = buf[self.pos + i]
            self.n = left
            self.pos = 0
        got = sock.readinto(self.mv[self.n :])
        if got:
            self.n += got
        return got

    def next(self):
        buf = self.buf
        i = self.pos
        n = self.n
        if n - i < 2:
            return None
        first = buf[i]
        length = 0
        shift = 0
        j = i + 1
        while True:
            if j >= n:
                return None
            b = buf[j]
            j += 1
            length |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 21:
                raise Malformed("a remaining length of more than 4 bytes")
        check(first, length)
        if j - i + length > len(buf):
            raise Malformed("a packet of %d bytes, more than MQTT_MAX_PACKET (%d)" % (j - i + length, len(buf)))
        if n - j < length:
            return None
        self.pos = j + length
        if self.pos == n:
            self.n = self.pos = 0  # (the usual case: no bytes to move at the next fill)
        return first, j, j + length


# The packets a broker may send a client that subscribes at QoS 0, with
# their flags and the length of their variable part (None: any).
_LENGTHS = {CONNACK: 2, PUBACK: 2, PINGRESP: 0, SUBACK: None}


def check(first, length):
    kind = first & 0xF0
    if kind == PUBLISH:
        if first & 0x06:  # QoS 1 or 2: never sent to a QoS 0 subscription
            raise Malformed("a PUBLISH with QoS %d" % ((first >> 1) & 3))
        if length < 2:
            raise Malformed("a PUBLISH without a topic")
        return
    if kind not in _LENGTHS or first & 0x0F:
        raise Malformed("a packet of type %d (flags %d) a broker does not send" % (first >> 4, first & 0x0F))
    want = _LENGTHS[kind]
    if want is not None and length != want or kind == SUBACK and length < 3:
        raise Malformed("a packet of type %d with %d bytes" % (first >> 4, length))


def u16(buf, i):
    return buf[i] << 8 | buf[i + 1]


def published(buf, start, end):
    """(topic, payload) of a PUBLISH at QoS 0, as bytes."""
    topic_end = start + 2 + u16(buf, start)
    if topic_end > end:
        raise Malformed("a PUBLISH whose topic runs past its end")
    return bytes(buf[start + 2 : topic_end]), bytes(buf[topic_end:end])
