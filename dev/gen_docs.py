"""Writes the README's rule, repository-rule and provider tables from the .bzl docstrings.

    python3 dev/gen_docs.py           rewrite README.md's generated blocks
    python3 dev/gen_docs.py --check   exit 1 if README.md is not what it would write

A generated block is the text between

    <!-- generated: KIND NAME -->
    <!-- end generated -->

where KIND is `attributes` (a rule's or repository rule's attribute table),
`fields` (a provider's fields) or `doc` (a rule's docstring). Starlark's syntax
is a subset of Python's, so the .bzl files are read with Python's own parser;
nothing is loaded or run, and no Bazel is needed.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SOURCES = sorted((ROOT / "rules_tfjs").rglob("*.bzl"))
_BLOCK = re.compile(
    r"(<!-- generated: (?P<kind>\w+) (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
    re.DOTALL,
)
_DECLARATIONS = {"rule", "repository_rule", "provider", "module_extension", "tag_class"}


@dataclass
class Declaration:
    kind: str
    name: str
    doc: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)


class _Evaluator:
    """Evaluates the constant expressions of one .bzl file (strings, numbers, lists)."""

    def __init__(self, module: ast.Module) -> None:
        self.names: dict[str, object] = {}
        for statement in module.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    try:
                        self.names[target.id] = self(statement.value)
                    except ValueError:
                        pass

    def __call__(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.names:
            return self.names[node.id]
        if isinstance(node, ast.Name) and node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if isinstance(node, ast.List | ast.Tuple):
            return [self(element) for element in node.elts]
        if isinstance(node, ast.Dict):
            return {self(k): self(v) for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
            left, right = self(node.left), self(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        if isinstance(node, ast.Call) and _called(node) == "Label" and node.args:
            return self(node.args[0])
        raise ValueError(ast.unparse(node))

    def text(self, node: ast.expr) -> str:
        try:
            return _starlark_literal(self(node))
        except ValueError:
            return ast.unparse(node)


def _called(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Name):
        return function.id
    if isinstance(function, ast.Attribute):
        return function.attr
    return ""


def _starlark_literal(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_starlark_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{_starlark_literal(k)}: {_starlark_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return str(value)


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}


def _attribute_row(name: str, call: ast.expr, evaluate: _Evaluator) -> tuple[str, str, str]:
    if not isinstance(call, ast.Call):
        return name, "", ""
    keywords = _keywords(call)
    doc = str(evaluate(keywords["doc"])) if "doc" in keywords else ""
    if "mandatory" in keywords and evaluate(keywords["mandatory"]) is True:
        default = "required"
    elif "default" in keywords:
        default = f"`{evaluate.text(keywords['default'])}`"
    else:
        default = _EMPTY_DEFAULTS.get(_called(call), "")
    return name, default, doc


_EMPTY_DEFAULTS = {
    "bool": "`False`",
    "int": "`0`",
    "string": '`""`',
    "string_list": "`[]`",
    "label_list": "`[]`",
    "string_dict": "`{}`",
    "string_list_dict": "`{}`",
    "label_keyed_string_dict": "`{}`",
    "label": "`None`",
}


def declarations(path: Path) -> Iterator[Declaration]:
    """The rules, repository rules, providers and tag classes a .bzl file declares."""
    module = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    evaluate = _Evaluator(module)
    for statement in module.body:
        if not (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Call)
            and _called(statement.value) in _DECLARATIONS
            and isinstance(statement.targets[0], ast.Name)
        ):
            continue
        call, name = statement.value, statement.targets[0].id
        keywords = _keywords(call)
        declaration = Declaration(_called(call), name)
        if "doc" in keywords:
            declaration.doc = str(evaluate(keywords["doc"]))
        table = keywords.get("attrs") or keywords.get("fields")
        if isinstance(table, ast.Dict):
            for key, value in zip(table.keys, table.values, strict=True):
                attribute = str(evaluate(key))
                if attribute.startswith("_"):
                    continue
                if declaration.kind == "provider":
                    declaration.rows.append((attribute, "", str(evaluate(value))))
                else:
                    declaration.rows.append(_attribute_row(attribute, value, evaluate))
        yield declaration


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(kind: str, declaration: Declaration) -> str:
    if kind == "doc":
        return declaration.doc.strip() + "\n"
    if kind == "fields":
        lines = ["| field | meaning |", "| --- | --- |"]
        lines += [f"| `{name}` | {_cell(doc)} |" for name, _, doc in declaration.rows]
    else:
        lines = ["| attribute | default | meaning |", "| --- | --- | --- |"]
        lines += [
            f"| `{name}` | {_cell(default)} | {_cell(doc)} |"
            for name, default, doc in declaration.rows
        ]
    return "\n".join(lines) + "\n"


def generate(readme: str, sources: list[Path]) -> str:
    known = {d.name: d for path in sources for d in declarations(path)}

    def block(match: re.Match) -> str:
        name = match["name"]
        if name not in known:
            raise SystemExit(f"gen_docs: README.md asks for {name}, which no .bzl file declares")
        return match.group(1) + render(match["kind"], known[name]) + match.group(5)

    return _BLOCK.sub(block, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md would change")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = generate(current, SOURCES)
    if not args.check:
        README.write_text(wanted, encoding="utf-8")
        return 0
    if current != wanted:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            "README.md",
            "README.md (from the docstrings)",
        )
        sys.stderr.write("".join(diff))
        sys.stderr.write(
            "gen_docs: README.md's tables differ from the docstrings; run dev/gen_docs.py\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
