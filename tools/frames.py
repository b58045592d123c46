"""Frame sizes of the functions in .mpy files: which calls allocate on the heap.

MicroPython runs a call of a bytecode function in a frame of n_state words
(arguments, locals and the deepest value stack) plus 3 words for each
try/with block that can be active at once. A frame of more than 11 words
(VM_MAX_STATE_ON_STACK in py/objfun.c, the same in words on every port) is
allocated on the heap at every call and freed on return. On a fragmented
heap that allocation is a search of the allocation table: measured at about
2.5 us per call on the unix port with the server's heap (against 0.2 us for
a call whose frame fits on the C stack), more on a Pico W. Functions on the
request path are therefore kept at 11 words or less; generators and
coroutines are exempt (their frame is allocated once, when they are created).

Reads the .mpy v6 format (py/persistentcode.c): the constant tables, then the
tree of raw code, each bytecode function opening with its prelude.

    python3 tools/frames.py build/lib/httpd/*.mpy      # every function
    python3 tools/frames.py --over build/lib/httpd/*.mpy  # only those over 11
"""

import sys

ON_STACK_WORDS = 11  # VM_MAX_STATE_ON_STACK / sizeof(mp_uint_t)
EXC_STACK_WORDS = 3  # sizeof(mp_exc_stack_t) / sizeof(mp_uint_t)
_MPY_VERSION = 6
_KIND_BYTECODE = 0  # raw code kind, less MP_CODE_BYTECODE
# Persistent object types (MP_PERSISTENT_OBJ_*): no payload, str/bytes, tuple.
_OBJ_BARE = (0, 1, 2, 3, 4)
_OBJ_STR_BYTES = (5, 6)
_OBJ_TUPLE = 10
_SCOPE_GENERATOR = 0x01  # MP_SCOPE_FLAG_GENERATOR: async def and generators


def _uint(data, i):
    """A variable-length unsigned int (7 bits a byte, high bit: more): (value, next i)."""
    value = 0
    while True:
        byte = data[i]
        i += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, i


def _skip_obj(data, i):
    kind = data[i]
    i += 1
    if kind in _OBJ_BARE:
        return i
    if kind in _OBJ_STR_BYTES:
        n, i = _uint(data, i)
        return i + n + 1  # and its null terminator
    if kind == _OBJ_TUPLE:
        n, i = _uint(data, i)
        for _ in range(n):
            i = _skip_obj(data, i)
        return i
    n, i = _uint(data, i)  # int, float, complex: as text
    return i + n


def _prelude(code):
    """(n_state, n_exc_stack, is a generator, name index) from a bytecode
    function's prelude (MP_BC_PRELUDE_SIG_DECODE_INTO, then
    MP_BC_PRELUDE_SIZE_DECODE_INTO)."""
    z = code[0]
    i = 1
    n_state = (z >> 3) & 0xF
    n_exc = (z >> 2) & 1
    flags = 0
    shift = 0
    while z & 0x80:
        z = code[i]
        i += 1
        n_state |= (z & 0x30) << (2 * shift)
        n_exc |= (z & 0x02) << shift
        flags |= ((z & 0x40) >> 6) << shift
        shift += 1
    while code[i] & 0x80:  # the size field: skip it
        i += 1
    i += 1
    name, _ = _uint(code, i)  # the info section opens with the simple name
    return n_state + 1, n_exc, bool(flags & _SCOPE_GENERATOR), name


def functions(path):
    """[(depth, name, n_state, n_exc_stack, generator)] for each bytecode
    function of a .mpy."""
    data = open(path, "rb").read()
    if data[:2] != bytes((ord("M"), _MPY_VERSION)):
        raise ValueError("%s: not a .mpy of version %d" % (path, _MPY_VERSION))
    i = 4
    n_qstr, i = _uint(data, i)
    n_obj, i = _uint(data, i)
    names = []
    for _ in range(n_qstr):
        v, i = _uint(data, i)
        if v & 1:  # a qstr of the firmware itself, by number
            names.append({7: "<module>", 17: "__init__"}.get(v >> 1, "<qstr %d>" % (v >> 1)))
        else:
            names.append(data[i : i + (v >> 1)].decode())
            i += (v >> 1) + 1
    for _ in range(n_obj):
        i = _skip_obj(data, i)
    out = []

    def raw_code(i, depth):
        v, i = _uint(data, i)
        size, has_children, kind = v >> 3, v & 4, v & 3
        if kind == _KIND_BYTECODE:
            n_state, n_exc, generator, name = _prelude(data[i : i + size])
            out.append((depth, names[name] if name < len(names) else "?", n_state, n_exc, generator))
        i += size
        if has_children:
            n, i = _uint(data, i)
            for _ in range(n):
                i = raw_code(i, depth + 1)
        return i

    raw_code(i, 0)
    return out


def words(n_state, n_exc):
    return n_state + EXC_STACK_WORDS * n_exc


def plain_calls(path):
    """{'Class.method' or 'function': frame words} for the plain (not
    generator) functions of one .mpy; nested ones named by their path."""
    result = {}
    stack = []
    for depth, name, n_state, n_exc, generator in functions(path):
        del stack[depth:]
        stack.append(name)
        if depth and not generator:
            result[".".join(stack[1:])] = words(n_state, n_exc)
    return result


def main(argv):
    over = "--over" in argv
    for path in [a for a in argv if a != "--over"]:
        for name, w in sorted(plain_calls(path).items()):
            if w > ON_STACK_WORDS or not over:
                print("%-28s %-36s %2d words%s" % (path.rsplit("/", 1)[-1], name, w,
                                                   "  heap at every call" if w > ON_STACK_WORDS else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
