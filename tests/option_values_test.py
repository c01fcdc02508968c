"""The quantization values the rule accepts are the converter's: one set, checked across languages.

Starlark cannot import Python, so tfjs_model.bzl keeps its own list; this test
reads it (as dev/gen_docs.py does, with Python's parser) and fails if the two
ever differ.
"""

import ast
import sys

from conftest import WORKSPACE

sys.path.insert(0, str(WORKSPACE / "dev"))
import gen_docs
from tfjs_converter.options import QUANTIZATIONS


def test_the_rule_accepts_exactly_the_converters_quantizations_and_none():
    module = ast.parse((WORKSPACE / "rules_tfjs/private/tfjs_model.bzl").read_text())
    rule_values = gen_docs._Evaluator(module).names["QUANTIZATIONS"]
    assert sorted(rule_values) == sorted(["none", *QUANTIZATIONS])
