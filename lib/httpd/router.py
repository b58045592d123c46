# Routes by method and path, with path parameters.
# MIT license
#
#   router = Router()
#
#   @router.route("/api/led", methods=("GET", "POST"))
#   async def led(request): ...
#
#   @router.route("/files/<path:name>")     # the rest of the path
#   def files(request): request.params["name"]
#
# "<name>" matches one path segment. Paths without parameters are found with
# one dict lookup; the others are tried in the order they were added.
#
# The server refuses a POST, PUT, PATCH or DELETE sent by a page of another
# site (403) before it routes it (origin.py). A route meant to be called from
# other sites (an API with CORS headers of its own) says so:
#
#   @router.route("/api/public", methods=("POST",), cross_origin=True)
#
# A WebSocket endpoint (websocket.py, loaded at the first handshake); a
# handshake from a page of another site is refused unless cross_origin=True:
#
#   @router.websocket("/ws")
#   async def echo(ws): ...

from .status import HTTPError


class Router:
    def __init__(self):
        self._static = {}  # path -> {method: handler}
        self._dynamic = []  # (segments, {method: handler})
        self._cross_origin = []  # (methods table, method) open to other sites

    def route(self, path, methods=("GET",), cross_origin=False):
        def register(handler):
            self.add(path, handler, methods, cross_origin)
            return handler

        return register

    def websocket(self, path, cross_origin=False):
        def register(handler):
            self.add_websocket(path, handler, cross_origin)
            return handler

        return register

    def add_websocket(self, path, handler, cross_origin=False):
        """A WebSocket at `path`: `await handler(ws)` runs for each one
        (websocket.py says what `ws` offers). cross_origin=True lets pages
        of other sites open it."""

        def handshake(request):
            from . import load

            return load("httpd.websocket").accept(request, handler, cross_origin)

        self.add(path, handshake)

    def add(self, path, handler, methods=("GET",), cross_origin=False):
        """Route `methods` of `path` to `handler`. cross_origin=True lets pages
        of other sites call it (the server refuses them otherwise)."""
        if not path.startswith("/"):
            raise ValueError("route must start with /")
        if "<" not in path:
            table = self._static.setdefault(path, {})
        else:
            segments = []
            parts = path.split("/")
            for i, part in enumerate(parts):
                if part.startswith("<") and part.endswith(">"):
                    name = part[1:-1]
                    rest = name.startswith("path:")
                    if rest and i != len(parts) - 1:
                        raise ValueError("<path:...> must be last")
                    segments.append((name[5:] if rest else name, rest))
                else:
                    segments.append(part)
            table = None
            for segs, t in self._dynamic:
                if segs == segments:
                    table = t
            if table is None:
                table = {}
                self._dynamic.append((segments, table))
        for m in methods:
            table[m] = handler
            if cross_origin:
                self._cross_origin.append((table, m))

    def _find(self, path):
        """Return (methods table, params) for a path, or (None, None)."""
        table = self._static.get(path)
        if table is not None:
            return table, None
        parts = None
        for segments, table in self._dynamic:
            if parts is None:
                parts = path.split("/")
            params = _match(segments, parts)
            if params is not None:
                return table, params
        return None, None

    def match(self, method, path):
        """Return (handler, params); raise HTTPError 404 or 405 (with Allow)."""
        table = self._static.get(path)  # the usual case, looked up inline
        params = None
        if table is None:
            table, params = self._find(path)
            if table is None:
                raise HTTPError(404, "no such page")
        handler = table.get(method)
        if handler is None and method == "HEAD":
            handler = table.get("GET")
        if handler is None:
            raise _not_allowed(table)
        return handler, params

    def cross_origin(self, method, path):
        """Whether the route for method and path was added with cross_origin=True."""
        if not self._cross_origin:
            return False
        table, _ = self._find(path)
        for t, m in self._cross_origin:
            if t is table and m == method:
                return True
        return False

    def allow(self, path):
        """The Allow header value for a path (all routes for '*'), or None."""
        if path == "*":
            merged = {}
            for t in self._static.values():
                merged.update(t)
            for _, t in self._dynamic:
                merged.update(t)
            return _allow(merged)
        table, _ = self._find(path)
        return None if table is None else _allow(table)


def _not_allowed(table):
    # Apart from match(), which runs for every request and so keeps its frame
    # within 11 words (tools/frames.py).
    return HTTPError(405, "method not allowed", [("Allow", _allow(table))])


def _allow(table):
    methods = list(table)
    if "GET" in table and "HEAD" not in table:
        methods.append("HEAD")
    if "OPTIONS" not in table:
        methods.append("OPTIONS")
    methods.sort()
    return ", ".join(methods)


def _match(segments, parts):
    params = {}
    n = len(segments)
    for i in range(n):
        seg = segments[i]
        if isinstance(seg, str):
            if i >= len(parts) or parts[i] != seg:
                return None
            continue
        name, rest = seg
        if rest:
            value = "/".join(parts[i:])
            if not value:
                return None
            params[name] = value
            return params
        if i >= len(parts) or not parts[i]:
            return None
        params[name] = parts[i]
    return params if len(parts) == n else None
