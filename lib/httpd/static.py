# Static files from a web root on flash.
# MIT license
#
#   files = StaticFiles("www")
#   router.add("/static/<path:name>", files.handler)
#
# The web root is indexed once: only regular files found under it at start-up
# can ever be served, looked up by exact name in a dict, so no path a client
# sends (.., %2e%2e, absolute paths, symlinks, backslashes) reaches the
# filesystem. A precompressed NAME.gz next to NAME is sent instead, with
# Content-Encoding: gzip, to clients that accept it. Each file has an ETag
# (from its size and modification time), so a revalidating browser gets 304.
# Files are sent from flash in fixed-size pieces, never read whole into RAM.
#
# A bundle adds files held in memory, for a firmware image with its web assets
# frozen in (bytes constants of a frozen module stay in flash and cost no
# heap): {name: (data, gzip-compressed data or None, ETag)}. A file of the same
# name in the web root takes precedence, so a user can replace one.

import os

from .response import Response
from .status import HTTPError

_DIR = 0x4000
_FILE = 0x8000

TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "ico": "image/x-icon",
    "webmanifest": "application/manifest+json",
}


class _Entry:
    def __init__(self, path, size, etag, data=None):
        self.path = path  # the file, or None for data held in memory
        self.size = size
        self.etag = etag
        self.data = data
        self.gz: "_Entry | None" = None  # the .gz variant


class StaticFiles:
    def __init__(self, root, cache_control="no-cache", bundle=None):
        self.root = root
        self.cache_control = cache_control  # no-cache: always revalidate (cheap, via ETag)
        self._files = {}
        self._index(root, "")
        for name in [n for n in self._files if n.endswith(".gz")]:
            plain = self._files.get(name[:-3])
            if plain is not None:
                plain.gz = self._files.pop(name)
        for name, (data, gz, etag) in (bundle or {}).items():
            if name not in self._files:
                entry = self._files[name] = _Entry(None, len(data), etag, data)
                if gz is not None:
                    entry.gz = _Entry(None, len(gz), etag[:-1] + '-gz"', gz)

    def _index(self, directory, prefix):
        try:
            entries = list(os.ilistdir(directory))
        except OSError:
            return  # no web root: nothing to serve
        for entry in entries:
            name, kind = entry[0], entry[1]
            if name.startswith("."):
                continue  # hidden files are never served
            path = directory + "/" + name
            if kind == _DIR:
                self._index(path, prefix + name + "/")
            elif kind == _FILE:  # symlinks and devices are skipped
                st = os.stat(path)
                self._files[prefix + name] = _Entry(path, st[6], '"%x-%x"' % (st[6], st[8]))

    def read(self, name, gz=False):
        """File `name`'s whole contents (bytes), or None if there is no such
        file: for a small file a page carries inline. With gz, those of its
        precompressed NAME.gz (None if it has none)."""
        entry = self._files.get(name)
        if entry is not None and gz:
            entry = entry.gz
        if entry is None:
            return None
        if entry.data is not None:
            return entry.data
        with open(entry.path, "rb") as f:
            return f.read()

    def response(self, name, request):
        """The Response for file `name` (relative to the root), or HTTPError 404."""
        entry = self._files.get(name)
        if entry is None:
            raise HTTPError(404, "no such file")
        headers = [("Cache-Control", self.cache_control)]
        if entry.gz is not None:
            headers.append(("Vary", "Accept-Encoding"))
            if "gzip" in request.header_value("accept-encoding", ""):
                entry = entry.gz
                headers.append(("Content-Encoding", "gzip"))
        headers.append(("ETag", entry.etag))
        if entry.etag in request.header_value("if-none-match", ""):
            return Response(b"", 304, None, headers)
        ext = name[name.rfind(".") + 1 :] if "." in name else ""
        kind = TYPES.get(ext, "application/octet-stream")
        if entry.data is not None:
            return Response(entry.data, 200, kind, headers)
        return Response.from_file(entry.path, entry.size, kind, headers)

    def handler(self, request):
        """A route handler for a route ending in <path:name>."""
        return self.response(request.params["name"], request)
