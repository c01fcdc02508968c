"""The converter's modules import each other in layers: no cycle, one way in.

Read from the sources (every import, function-level ones included), so a
cycle that Python would tolerate through lazy imports is still found.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "tfjs_converter"
PACKAGE_DIR = Path(__file__).resolve().parent
# Entry points: only __main__ may import them.
ENTRY_MODULES = {"worker"}


def package_imports(source: str, modules: set[str]) -> set[str]:
    """Which of the package's modules a module's source imports, anywhere in it."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == PACKAGE and len(parts) > 1 and parts[1] in modules:
                imported.add(parts[1])
    return imported


def import_graph(directory: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, for the non-test modules in directory."""
    paths = [
        path
        for path in sorted(directory.glob("*.py"))
        if not path.stem.endswith("_test") and path.stem != "conftest"
    ]
    modules = {path.stem for path in paths}
    return {
        path.stem: package_imports(path.read_text(encoding="utf-8"), modules) - {path.stem}
        for path in paths
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as [a, b, ..., a], or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            if cycle := visit(imported, [*path, module]):
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        if cycle := visit(module, []):
            return cycle
    return None


def test_the_converters_modules_import_in_no_cycle():
    graph = import_graph()
    assert len(graph) > 8, graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_only_the_entry_point_imports_the_worker():
    importers = {
        module
        for module, imported in import_graph().items()
        if imported & ENTRY_MODULES and module != "__main__"
    }
    assert not importers


def test_a_cycle_through_a_function_level_import_is_found_and_named(tmp_path):
    (tmp_path / "a.py").write_text(f"from {PACKAGE} import b\n")
    (tmp_path / "b.py").write_text(f"def f():\n    from {PACKAGE}.c import g\n")
    (tmp_path / "c.py").write_text(f"import {PACKAGE}.a\n")
    (tmp_path / "d.py").write_text(f"from {PACKAGE} import a\n")
    assert find_cycle(import_graph(tmp_path)) == ["a", "b", "c", "a"]
