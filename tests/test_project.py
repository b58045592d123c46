"""The project's own promises: settings in one place and documented (in
docs/configuration.md), a core free of hardware imports, the two commands in
the README."""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARDWARE = {"machine", "network", "rp2", "bluetooth", "esp", "esp32", "pyb"}


def config_settings():
    tree = ast.parse((ROOT / "config.py").read_text())
    return {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}


def core_defaults():
    """The settings of httpd.Server: its lower-case class attributes."""
    tree = ast.parse((ROOT / "lib/httpd/server.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Server":
            plain = {n.targets[0].id: n.value for n in node.body if isinstance(n, ast.Assign)}
            annotated = {n.target.id: n.value for n in node.body  # (name: "type" = value)
                         if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value}
            return {name: ast.literal_eval(value) for name, value in dict(plain, **annotated).items()
                    if not name.startswith("_")}
    raise AssertionError("class Server not found in server.py")


def test_config_py_sets_every_server_setting_to_the_core_default():
    config = config_settings()
    for name, default in core_defaults().items():
        assert name.upper() in config, "config.py lacks %s" % name.upper()
        assert config[name.upper()] == default, name


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
