"""Part "modules": the heap each module of lib/ keeps once imported, on the
32-bit port, from .mpy and frozen, in dependency order (module_heap.py in
tools/bench_apps imports them one by one), and which of them the serving
firmware has loaded."""

import ast
import json
import os
import re
import subprocess

import picow_profile

from .common import ROOT, WWW, fresh_dir
from .httpclient import Client, numbers
from .prepare import APPS32, LIB32, MP32, MP32_FROZEN, STUBS32
from .servers import Server

# module_heap.py's line after each import: the interned names' table then
_QSTR = re.compile(r"qstr pool: ")
_QSTR_FIELD = re.compile(r"(n_\w+)=(\d+)")


def lib_modules():
    """{module name: its top-level imports among lib/'s modules} for every
    module of lib/ (a package's __init__ named as the package), and config."""
    files = {}
    for py in sorted((ROOT / "lib").rglob("*.py")):
        rel = py.relative_to(ROOT / "lib").with_suffix("")
        parts = [x for x in rel.parts if x != "__pycache__"]
        if len(parts) != len(rel.parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = py
    files["config"] = ROOT / "config.py"
    deps = {}
    for name, py in files.items():
        package = name if py.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        body = list(ast.parse(py.read_text()).body)
        while body:  # top-level statements, and those of top-level if/try blocks
            node = body.pop(0)
            if isinstance(node, (ast.If, ast.Try)):
                body += node.body + node.orelse + getattr(node, "finalbody", [])
                for h in getattr(node, "handlers", []):
                    body += h.body
            elif isinstance(node, ast.Import):
                for a in node.names:
                    found.add(a.name)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                found.add(base)
                for a in node.names:
                    found.add(base + "." + a.name)
        # importing a.b imports a first
        full = set()
        for f in found:
            bits = f.split(".")
            full |= {".".join(bits[:i]) for i in range(1, len(bits) + 1)}
        deps[name] = sorted(d for d in full if d in files and d != name)
    return deps


def module_order(deps):
    """Every module after the modules it imports at its top level; a package's
    submodules before the package itself (module_heap.py stands a stub in for it)."""
    packages = {n.rpartition(".")[0] for n in deps if "." in n}
    order = []
    done = set()

    def visit(name, stack=()):
        if name in done or name in stack:
            return
        for d in deps[name]:
            if d in packages and name.startswith(d + "."):
                continue  # the stub stands in for the package
            visit(d, stack + (name,))
        if name in packages:  # its submodules first, then its __init__
            for sub in sorted(n for n in deps if n.startswith(name + ".")):
                visit(sub, stack + (name,))
        done.add(name)
        order.append(name)

    for name in sorted(deps, key=lambda n: (n.count(".") == 0 and n not in packages, n)):
        visit(name)
    return order


def module_heap(interp, lib, label):
    """Rows of tools/bench_apps/module_heap.py: asyncio, then every module of
    lib/ in dependency order, on the 32-bit port from LIB (None: frozen)."""
    deps = lib_modules()
    order = module_order(deps)
    packages = sorted({n.rpartition(".")[0] for n in deps if "." in n})
    argv = ["^network", "asyncio"]  # network: the Pico W's, stood in for by tests/stubs
    for name in order:
        pkg = name.rpartition(".")[0]
        if pkg in packages and "@" + pkg not in " ".join(argv):
            argv.append("@%s=%s/%s" % (pkg, lib if lib else ".frozen", pkg.replace(".", "/")))
        argv.append(name)
    path = ([lib, ROOT] if lib else []) + [APPS32, STUBS32]
    env = dict(os.environ, MICROPYPATH=picow_profile.micropypath(path), PICO_WWW_ROOT=str(WWW))
    run = subprocess.run(picow_profile.command(interpreter=interp) + ["-m", "module_heap"] + argv,
                         cwd=fresh_dir("probe"), env=env, capture_output=True, text=True, timeout=120)
    rows = []
    for line in run.stdout.splitlines():
        q = _QSTR.match(line)
        if q and rows:
            rows[-1]["qstr"] = {k: int(v) for k, v in _QSTR_FIELD.findall(line)}
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            pass
    # The interned names' table grows in doubling chunks, paid for by the
    # module that overflows it: take the table out of each row and charge the
    # module its own names instead, each at the table's average cost per name
    # at the end (the spare room of the last chunk shared out).
    last = rows[-1]["qstr"] if rows and "qstr" in rows[-1] else None
    if last and last["n_qstr"]:
        per_name = (last["n_total_bytes"] - last["n_str_data_bytes"]) / last["n_qstr"]
        for prev, row in zip(rows, rows[1:]):
            a, b = prev["qstr"], row["qstr"]
            row["names"] = b["n_qstr"] - a["n_qstr"]
            row["raw_bytes"] = row["bytes"]
            row["bytes"] = round(row["bytes"] - (b["n_total_bytes"] - a["n_total_bytes"])
                                 + row["names"] * per_name + (b["n_str_data_bytes"] - a["n_str_data_bytes"]))
    if run.returncode != 0:
        raise SystemExit("error: module_heap.py (%s) failed:\n%s" % (label, (run.stdout + run.stderr)[-2000:]))
    return rows


def started_modules():
    """The modules the whole firmware (ours, 32-bit, .mpy) has loaded once it
    serves, and its heap in use then (after GET / and GET /api/status)."""
    with Server("ours", picow_profile.HEAP, bits=32) as srv:
        client = Client(srv.port)
        try:
            client.get("/")
            client.get("/api/status")
            status, body = client.get("/bench/modules")
            if status != 200:
                raise SystemExit("error: /bench/modules answered %d" % status)
            modules = sorted(body.decode().split())
            in_use, free = numbers(client, "/bench/heap")
        finally:
            client.close()
    return {"modules": modules, "in_use": in_use, "free": free}


def modules_table():
    mpy = {r["module"]: r for r in module_heap(MP32, LIB32, ".mpy")}
    frozen = {r["module"]: r for r in module_heap(MP32_FROZEN, None, "frozen")}
    started = started_modules()
    rows = []
    for name, r in mpy.items():
        if name == "(start)":
            continue
        src = ROOT / "lib" / (name.replace(".", "/") + ".py")
        if not src.exists():
            src = ROOT / "lib" / name.replace(".", "/") / "__init__.py"
        mpy_file = LIB32 / src.relative_to(ROOT / "lib").with_suffix(".mpy") if src.exists() else None
        f = frozen.get(name, {})
        rows.append({"module": name, "mpy": r["bytes"], "frozen": f.get("bytes"),
                     "error": r.get("error") or f.get("error"),
                     "mpy_file": mpy_file.stat().st_size if mpy_file and mpy_file.exists() else None,
                     "at_start": name in started["modules"]})
    return {"rows": rows,
            "total_mpy": sum(r["mpy"] for r in rows), "total_frozen": sum(r["frozen"] or 0 for r in rows),
            "at_start_mpy": sum(r["mpy"] for r in rows if r["at_start"]),
            "at_start_frozen": sum(r["frozen"] or 0 for r in rows if r["at_start"]),
            "serving_in_use": started["in_use"], "started_modules": started["modules"]}
