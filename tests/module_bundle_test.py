"""module_bundle: byte code imported from one file, as it would be from the files."""

import json
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import WORKSPACE

sys.path.insert(0, str(WORKSPACE / "rules_tfjs" / "private"))
import module_bundle

SITE = "lib/site"
SOURCES = {
    # A package whose module `kept` stays a file, as extension modules do.
    "pkg/__init__.py": "from . import sub\nWHERE = 'pkg'\n",
    "pkg/sub.py": "VALUE = 42\n",
    "pkg/kept.py": "from .sub import VALUE\n",
    "pkg/deeper/__init__.py": "",
    "pkg/deeper/leaf.py": "LEAF = __name__\n",
    # A namespace package: no __init__, only bundled modules.
    "ns/inner.py": "INNER = 'inner'\n",
    "mod.py": "import pkg.sub\nWHERE = 'site'\n",
    "shadowed.py": "WHERE = 'site'\n",
}
KEPT_SOURCES = {"pkg/kept.py"}
# What one interpreter reports of every module, with the tree's root as ROOT.
REPORT = """
import importlib, importlib.resources, json, pkgutil, sys
mode, root, site, earlier = sys.argv[1:]
sys.path[:0] = [earlier, site]
if mode == "bundled":
    import module_bundle
    module_bundle.install(root)
names = ["pkg", "pkg.sub", "pkg.kept", "pkg.deeper", "pkg.deeper.leaf", "ns", "ns.inner",
         "mod", "shadowed"]
report = {}
for name in names:
    module = importlib.import_module(name)
    report[name] = {
        "file": getattr(module, "__file__", None),
        "path": list(getattr(module, "__path__", [])) or None,
        "cached": getattr(module, "__cached__", None),
        "origin": module.__spec__.origin,
        "package": module.__package__,
        "values": {k: v for k, v in vars(module).items() if k.isupper()},
    }
report["iter_modules"] = sorted(m.name for m in pkgutil.iter_modules(sys.modules["pkg"].__path__))
report["walk"] = sorted(m.name for m in pkgutil.walk_packages(sys.modules["pkg"].__path__, "pkg."))
report["data"] = importlib.resources.files("pkg").joinpath("data.txt").read_text()
print(json.dumps(report).replace(root, "ROOT"))
"""


def make_tree(root: Path) -> Path:
    """A small environment of byte code, as python_env leaves it before packing."""
    site = root / SITE
    for name, text in SOURCES.items():
        source = site / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(text)
        if name not in KEPT_SOURCES:
            py_compile.compile(
                str(source),
                cfile=str(source.with_suffix(".pyc")),
                dfile=name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            source.unlink()
    (site / "pkg" / "data.txt").write_text("data beside the package\n")
    (root / "lib" / "startup.pyc").write_bytes(
        (site / "pkg" / "sub.pyc").read_bytes()
    )  # a module the interpreter would import before the hook
    return root


def report(root: Path, mode: str, tmp_path: Path) -> dict:
    # An earlier sys.path entry outside the tree: its `shadowed` wins, as it
    # would over the files.
    earlier = tmp_path / "earlier"
    earlier.mkdir(exist_ok=True)
    (earlier / "shadowed.py").write_text("WHERE = 'earlier'\n")
    result = subprocess.run(
        [sys.executable, "-s", "-B", "-c", REPORT, mode, str(root), str(root / SITE), str(earlier)],
        env={"PYTHONPATH": str(Path(module_bundle.__file__).parent)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def trees(tmp_path):
    files = make_tree(tmp_path / "files" / "env")
    bundled = make_tree(tmp_path / "bundled" / "env")
    module_bundle.pack(str(bundled), {"lib/startup.pyc"})
    return files, bundled


def test_bundled_modules_import_as_the_files_did(trees, tmp_path):
    files, bundled = trees
    from_files = report(files, "files", tmp_path)
    from_bundle = report(bundled, "bundled", tmp_path)
    assert from_bundle == from_files
    # The files' own answers, so that a wrong expectation cannot pass both.
    assert from_files["pkg"]["file"] == f"ROOT/{SITE}/pkg/__init__.pyc"
    assert from_files["pkg"]["path"] == [f"ROOT/{SITE}/pkg"]
    assert from_files["pkg.kept"]["file"] == f"ROOT/{SITE}/pkg/kept.py"
    assert from_files["ns"]["file"] is None
    assert from_files["shadowed"]["values"] == {"WHERE": "earlier"}
    assert from_files["iter_modules"] == ["deeper", "kept", "sub"]
    assert from_files["data"] == "data beside the package\n"


def test_pack_leaves_files_only_for_what_is_kept(trees):
    _, bundled = trees
    left = sorted(p.relative_to(bundled).as_posix() for p in bundled.rglob("*") if p.is_file())
    assert left == [
        f"lib/{module_bundle.BUNDLE}",
        f"{SITE}/pkg/data.txt",
        f"{SITE}/pkg/kept.py",
        "lib/startup.pyc",
    ]
    # Directories that held only byte code are gone, as a sandbox of the
    # declared files would not have them either.
    assert not (bundled / SITE / "ns").exists()


def test_the_bundle_depends_on_paths_and_bytes_not_on_where_it_was_made(tmp_path):
    bundles = []
    for place in ("one", "another/deeper"):
        root = make_tree(tmp_path / place / "env")
        module_bundle.pack(str(root), set())
        bundles.append((root / "lib" / module_bundle.BUNDLE).read_bytes())
    assert bundles[0] == bundles[1]


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / module_bundle.BUNDLE).write_bytes(b"something else entirely")
    with pytest.raises(ImportError, match="not a rules_tfjs module bundle"):
        module_bundle.install(str(tmp_path))
