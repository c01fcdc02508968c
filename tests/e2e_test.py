"""An outside workspace (e2e/) that depends on rules_tfjs, with the host's Bazel 4."""

import json

from conftest import WORKSPACE, Bazel, reported_passed


def test_an_outside_workspace_converts_and_tests_its_own_model():
    e2e = Bazel(WORKSPACE / "e2e")
    try:
        result = e2e("test", "//...")
        assert reported_passed(result, "//:scorer_tfjs_test")
        model = json.loads((e2e.bin / "scorer_tfjs" / "serving_default" / "model.json").read_text())
        assert sorted(model["signature"]["inputs"]) == ["tokens"]
        assert sorted(model["signature"]["outputs"]) == ["score"]
    finally:
        e2e.shutdown()
