# A gzip body joined from pieces, with no compressor on the board: pieces
# made per request go as stored (uncompressed) deflate blocks, fixed ones as
# deflate data compressed at build time. A page of fixed styles and script
# around a few values is then about 60 % of its size on the wire.
# MIT license
#
#   css = deflated(files.read("app.css", gz=True))  # memoryview, or None
#   body = join((top, (css_plain, css), values, end))
#   Response(body, 200, HTML, [("Content-Encoding", "gzip"), ...])
#
# A fixed piece's deflate data can be joined only if it ends on a byte
# boundary and is not final: tools/build.py writes every .gz so (a sync
# flush, then an empty final block of its own), and deflated() cuts that
# data out of it. A .gz from elsewhere gives None: send the plain pieces.

import binascii
import struct

_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no flags, mtime 0
_LAST = b"\x01\x00\x00\xff\xff"  # an empty stored block, final
_STORED_MAX = 0xFFFF


def deflated(gz):
    """The deflate data inside a joinable gzip member (a memoryview: frozen
    bytes stay in flash), or None if gz is not one."""
    if gz is None or len(gz) < 23 or gz[:4] != b"\x1f\x8b\x08\x00" or gz[-13:-8] != _LAST:
        return None
    return memoryview(gz)[10:-13]


def join(pieces):
    """One gzip member from pieces, each bytes (sent stored) or a pair
    (plain bytes, their deflate data from deflated()). Returns a tuple of
    bytes-like pieces for Response; the plain bytes are read once here,
    for the checksum."""
    out: list = [_HEADER]
    crc = 0
    size = 0
    for piece in pieces:
        if isinstance(piece, tuple):
            plain = piece[0]
            out.append(piece[1])
        else:
            plain = piece
            n = len(piece)
            off = 0
            while off < n:  # a stored block holds at most 65535 bytes
                k = min(n - off, _STORED_MAX)
                out.append(struct.pack("<BHH", 0, k, k ^ 0xFFFF))
                out.append(piece if k == n else memoryview(piece)[off : off + k])
                off += k
        crc = binascii.crc32(plain, crc)
        size += len(plain)
    out.append(_LAST + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return tuple(out)
