"""What is published and built: package.json (mip) and manifest.py list
exactly the server library's files at the project's version; make build
turns lib/ into valid .mpy files and www/ into reproducible gzip copies."""

import ast
import gzip
import json
import os
import pathlib
import subprocess
import sys

import pytest

from serverproc import ROOT, micropython

sys.path.insert(0, str(ROOT / "tools"))
import build  # noqa: E402
import mip_package  # noqa: E402

LIB = ROOT / "lib"


def httpd_files():
    """lib/httpd's modules as paths relative to lib/."""
    return sorted(p.relative_to(LIB).as_posix() for p in (LIB / "httpd").rglob("*.py")
                  if "__pycache__" not in p.parts)


def project_version():
    tree = ast.parse((LIB / "httpd" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":
            return ast.literal_eval(node.value)
    raise AssertionError("lib/httpd/__init__.py has no __version__")


def run_manifest():
    """Execute manifest.py as MicroPython's manifestfile does, recording calls."""
    calls = []

    def record(name):
        return lambda *args, **kwargs: calls.append((name, args, kwargs))

    names = {n: record(n) for n in ("metadata", "require", "package", "module", "include", "freeze")}
    exec(compile((ROOT / "manifest.py").read_text(), "manifest.py", "exec"), names)
    return calls


# -- package.json and manifest.py ---------------------------------------------------


def test_package_json_installs_exactly_the_files_of_lib_httpd_into_lib():
    data = json.loads((ROOT / "package.json").read_text())
    urls = data["urls"]
    assert sorted(dest for dest, _ in urls) == httpd_files(), "run make package"
    for dest, source in urls:
        assert source == "lib/" + dest  # relative to package.json: fetched from the same repo
        assert (ROOT / source).is_file()
    assert data["deps"] == []  # logging is optional: httpd/log.py prints without it


def test_package_json_and_manifest_carry_the_project_version():
    version = project_version()
    assert json.loads((ROOT / "package.json").read_text())["version"] == version
    metadata = [kw for name, _, kw in run_manifest() if name == "metadata"]
    assert metadata and metadata[0]["version"] == version


def test_package_json_is_what_make_package_writes():
    assert (ROOT / "package.json").read_text() == mip_package.package_json(), "run make package"


def test_manifest_freezes_exactly_lib_httpd_and_requires_nothing():
    calls = run_manifest()
    assert [args for name, args, _ in calls if name == "require"] == []  # logging is optional
    frozen = []
    for name, args, kwargs in calls:
        if name == "package":
            # package(name, base_path=...) freezes every .py under base_path/name
            base = ROOT / kwargs.get("base_path", ".")
            frozen += [p.relative_to(base).as_posix() for p in (base / args[0]).rglob("*.py")
                       if "__pycache__" not in p.parts]
        elif name == "module":
            frozen.append(pathlib.PurePosixPath(args[0]).as_posix())
        assert name in ("metadata", "require", "package", "module"), name
    assert sorted(frozen) == httpd_files()


def test_mip_installs_the_library_from_package_json_and_nothing_else(tmp_path):
    """The real `mpremote mip install` reads package.json and writes the
    library into a stand-in board's /lib. It has no dependency to fetch (the
    index given is empty: there is no internet here)."""
    from standin import StandIn

    index = tmp_path / "index"
    index.mkdir()
    with StandIn() as board:
        run = board.mpremote("mip", "install", "--target", "lib", "--index", str(index),
                             str(ROOT / "package.json"))
        assert run.returncode == 0, run.stdout + run.stderr
        on_board = board.files()
        for rel in httpd_files():
            assert on_board["lib/" + rel] == (LIB / rel).read_bytes(), rel
        assert sorted(on_board) == sorted("lib/" + r for r in httpd_files())
        out = board.exec("import sys\nsys.path.insert(0, 'lib')\nimport httpd\nprint(httpd.__version__)")
        assert out.strip() == project_version()


# -- make build -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def built():
    run = subprocess.run(["make", "build"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return ROOT / "build"


def test_build_compiles_every_py_of_lib_to_a_valid_mpy_in_the_same_tree(built):
    sources = sorted(p.relative_to(LIB).with_suffix(".mpy").as_posix()
                     for p in LIB.rglob("*.py") if "__pycache__" not in p.parts)
    outputs = sorted(p.relative_to(built / "lib").as_posix()
                     for p in (built / "lib").rglob("*") if p.is_file())
    assert outputs == sources
    for rel in outputs:
        header = (built / "lib" / rel).read_bytes()[:4]
        assert header[0:1] == b"M" and header[1] == 6, (rel, header)
        # bytecode only: no native code, so no architecture or sub-version
        assert header[2] == 0 and header[3] == 31, (rel, header)


def test_build_keeps_boot_main_and_config_as_py(built):
    # (build/ also holds the firmware image's work, where they are frozen)
    for name in ("boot", "main", "config"):
        for out in ("lib", "www"):
            assert not list((built / out).rglob(name + ".mpy"))


def test_mpy_build_is_what_the_unix_port_imports():
    """With build/lib on the path (PICO_LIB=build/lib) the modules come from
    the .mpy files, not from sources elsewhere."""
    env = dict(os.environ, MICROPYPATH=".frozen:build/lib:.")
    code = "import app, settings, httpd, httpd.server\nprint(app.__file__, httpd.server.__file__)"
    run = subprocess.run([micropython(), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split() == ["build/lib/app/__init__.mpy", "build/lib/httpd/server.mpy"]


def test_build_gzips_each_web_asset_reproducibly(tmp_path):
    (tmp_path / "www" / "css").mkdir(parents=True)
    (tmp_path / "www" / "index.html").write_text("<h1>hello</h1>\n" * 50)
    (tmp_path / "www" / "css" / "site.css").write_text("body { margin: 0 }\n" * 20)
    (tmp_path / "www" / "already.gz").write_bytes(gzip.compress(b"x"))
    first = build.build_www(tmp_path)
    names = sorted(p.relative_to(tmp_path / "build" / "www").as_posix() for p in first)
    assert names == ["already.gz", "css/site.css", "css/site.css.gz", "index.html", "index.html.gz"]
    snapshot = {p: p.read_bytes() for p in first}
    build.build_www(tmp_path)
    assert {p: p.read_bytes() for p in first} == snapshot  # same bytes every build
    for src in ("index.html", "css/site.css"):
        gz = (tmp_path / "build" / "www" / (src + ".gz")).read_bytes()
        assert gzip.decompress(gz) == (tmp_path / "www" / src).read_bytes()
        assert gz[3] & 0x08 == 0  # FLG.FNAME clear: no file name in the header
        assert gz[4:8] == b"\0\0\0\0"  # MTIME 0
        assert gz[8] == 2  # XFL 2: compressed at level 9
        assert len(gz) < len((tmp_path / "www" / src).read_bytes())


def test_build_without_www_makes_no_web_root(tmp_path):
    assert build.build_www(tmp_path) == []
    assert not (tmp_path / "build" / "www").exists()
