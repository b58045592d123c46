"""Where the emulated board's instructions go, by C function.

tools/emulator/run.mjs with RUNNER_PROFILE=FILE samples the program counter
about once in 1000 instructions and keeps the counts in FILE; this names
the functions from the image's ELF (beside its .uf2) and compares two
snapshots (a phase against the one before it):

    python tests/board/pcprofile.py IMAGE.elf FILE [BEFORE_FILE]

costs.py --profile does that per kind of request. Python code shows as the
interpreter's own functions (mp_execute_bytecode and what it calls): the
share of each says which kind of work a request is made of (the VM,
formatting, the heap, lwIP, the test link's SLIP and UART).
"""
import bisect
import json
import pathlib
import subprocess
import sys


class Symbols:
    """The ELF's functions, for naming a program counter."""

    def __init__(self, elf):
        out = subprocess.run(["arm-none-eabi-nm", "-n", "-S", "--defined-only", str(elf)],
                             capture_output=True, text=True, check=True).stdout
        self.starts, self.names = [], []
        for line in out.splitlines():
            f = line.split()
            if len(f) == 4 and f[2] in "tTwW":
                self.starts.append(int(f[0], 16))
                self.names.append((f[3], int(f[1], 16)))
            elif len(f) == 3 and f[1] in "tTwW" and not f[2].startswith(("$", ".L")):
                # assembly (the SDK's divider and float wrappers): no size,
                # so it reaches the next symbol
                self.starts.append(int(f[0], 16))
                self.names.append((f[2], 0))

    def name(self, pc):
        i = bisect.bisect_right(self.starts, pc) - 1
        if i < 0:
            return "?"
        name, size = self.names[i]
        return name if size == 0 or pc < self.starts[i] + size else "?%s" % name


def load(file):
    try:
        return {int(k, 16): v for k, v in json.loads(pathlib.Path(file).read_text()).items()}
    except (OSError, ValueError):
        return {}


def by_function(symbols, counts, before=None):
    """{function: samples} of counts minus before."""
    out = {}
    for pc, n in counts.items():
        n -= (before or {}).get(pc, 0)
        if n:
            name = symbols.name(pc & ~1)
            out[name] = out.get(name, 0) + n
    return out


def table(funcs, top=20):
    total = sum(funcs.values()) or 1
    rows = sorted(funcs.items(), key=lambda kv: -kv[1])[:top]
    return "\n".join("  %5.1f%%  %s" % (100 * n / total, name) for name, n in rows)


if __name__ == "__main__":
    sym = Symbols(sys.argv[1])
    funcs = by_function(sym, load(sys.argv[2]), load(sys.argv[3]) if len(sys.argv) > 3 else None)
    print("%d samples\n%s" % (sum(funcs.values()), table(funcs, 40)))
