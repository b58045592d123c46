"""make run, the first command a new user types: it serves what the board
would serve (the gzip copies of www/), and the ordinary mistakes (a busy
port, a bad PICO_ value, no interpreter) end in one sentence, not a
traceback."""

import gzip
import os
import signal
import socket
import subprocess
import time

import client
from serverproc import ROOT, free_port, micropython


def make_run(*args, timeout=120):
    run = subprocess.run(["make", "--no-print-directory", "run"] + list(args), cwd=ROOT,
                         capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    run.output = run.stdout + run.stderr
    return run


def main_py(**settings):
    """main.py on the unix port with PICO_ settings; it is expected to end by itself."""
    env = dict(os.environ, MICROPYPATH=".frozen:lib:.", PICO_HOST="127.0.0.1")
    env.update({"PICO_" + k: v for k, v in settings.items()})
    run = subprocess.run([micropython(), "-X", "heapsize=180K", "main.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    run.output = run.stdout + run.stderr
    return run


def test_make_run_on_a_port_in_use_says_so_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = make_run("PORT=%d" % port)
    assert run.returncode != 0
    assert "error: port %d is in use" % port in run.stdout, run.output
    assert "make run PORT=%d" % (port + 1) in run.stdout
    assert "Traceback" not in run.output and "EADDRINUSE" not in run.output


def test_main_py_on_a_port_in_use_exits_with_status_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = main_py(PORT=str(taken.getsockname()[1]))
    assert run.returncode == 1, run.output
    assert run.output.count("\n") == 1 and run.output.startswith("error: port "), run.output
    assert "crash" not in run.output  # an ordinary mistake, not a crash to record


def test_make_run_with_a_port_that_is_not_a_number_names_the_setting():
    run = make_run("PORT=abc")
    assert run.returncode != 0
    assert "error: PICO_PORT='abc' is not a whole number (config.py sets PORT = 80)" in run.stdout, run.output
    assert "Traceback" not in run.output and "ValueError" not in run.output


def test_a_true_false_setting_refuses_other_words():
    run = main_py(PORT=str(free_port()), ACCESS_LOG="maybe")
    assert run.returncode == 1, run.output
    assert run.stdout == ("error: PICO_ACCESS_LOG='maybe' is not true or false (1/0, yes/no, on/off) "
                          "(config.py sets ACCESS_LOG = False)\n")


def test_make_run_with_a_host_that_does_not_resolve_says_so():
    run = make_run("HOST=no-such-host.invalid", "PORT=%d" % free_port())
    assert run.returncode != 0
    assert "error: HOST=no-such-host.invalid is neither an address nor a name" in run.stdout, run.output
    assert "Traceback" not in run.output


def test_make_run_without_the_interpreter_says_which_one_is_missing():
    run = make_run("MICROPYTHON=/nonexistent/micropython")
    assert run.returncode != 0
    assert "error: cannot run the MicroPython unix port MICROPYTHON=/nonexistent/micropython" in run.stdout
    assert "Traceback" not in run.output


def test_make_run_serves_the_gzip_copies_as_the_board_does():
    port = free_port()
    proc = subprocess.Popen(["make", "--no-print-directory", "run", "PORT=%d" % port], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    host = {"Host": "127.0.0.1:%d" % port}  # make run answers to its own address
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = client.get(port, "/static/app.js", dict(host, **{"Accept-Encoding": "gzip"}), timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "make run did not listen within 60 s"
                time.sleep(0.2)
        assert r.status == 200 and r.header("content-encoding") == "gzip"
        assert gzip.decompress(r.body) == (ROOT / "www/static/app.js").read_bytes()
        plain = client.get(port, "/static/app.js", host)
        assert plain.header("content-encoding") is None
        assert plain.body == (ROOT / "www/static/app.js").read_bytes()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    assert proc.returncode in (0, 2, -signal.SIGINT), proc.returncode
