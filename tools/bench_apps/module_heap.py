# Bench-only: the heap each module keeps once imported, measured inside
# MicroPython. tools/bench.py runs it (32-bit unix port, from .mpy and
# frozen) with the module names in dependency order as arguments, so that a
# module's row is its own cost: everything it imports at its top level was
# imported before it. Prints one JSON line per module:
#   {"module": NAME, "bytes": heap in use after minus before (gc.collect()
#    both times), "total": heap in use after, "error": ... when the import failed}
#
# A package's submodules are imported before the package's __init__ (which
# imports many of them): "@httpd=PATH" puts an empty stand-in module with
# __path__ PATH in sys.modules["httpd"] (pkgstub.py); the next argument
# naming the package itself removes it and imports the real __init__, whose
# row is then its own code. After each JSON line, micropython.qstr_info()
# prints the interned names' table ("qstr pool: n_pool=..., n_qstr=...,
# n_str_data_bytes=..., n_total_bytes=..."): that table grows in chunks that
# double, so whichever module overflows it pays for the next chunk;
# tools/bench.py charges every module for its own names instead. "^NAME" arguments, first, are imported before the
# first reading: the hardware stand-ins a module needs on the unix port
# (tests/stubs/network.py), not counted in any row.
import gc
import json
import sys
from micropython import qstr_info

import pkgstub

for arg in sys.argv[1:]:
    if arg.startswith("^"):
        __import__(arg[1:])

def used():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


base = used()
print(json.dumps({"module": "(start)", "bytes": base, "total": base}))
qstr_info()
stubs = {}
for arg in sys.argv[1:]:
    if arg.startswith("^"):
        continue
    if arg.startswith("@"):
        name, path = arg[1:].split("=")
        pkgstub.__path__ = path
        sys.modules[name] = pkgstub
        stubs[name] = True
        continue
    if arg in stubs:
        del sys.modules[arg]
    before = used()
    row = {"module": arg}
    try:
        __import__(arg)
    except Exception as e:  # MemoryError, or a module that cannot load here
        row["error"] = "%s: %s" % (type(e).__name__, e)
    after = used()
    row["bytes"] = after - before
    row["total"] = after
    print(json.dumps(row))
    qstr_info()
