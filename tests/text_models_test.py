"""Text models end to end: lookup tables, vocabulary files and strings, in Node and Chromium."""

import json

from conftest import read_test_log, reported_passed

TEXT_TESTS = {
    "//examples/text_classifier:text_classifier_tfjs_test": {
        "serving_default": ("ids", "label", "scores"),
    },
    "//examples/lookup_table:colour_table_tfjs_test": {"canonicalize": ("canonical", "index")},
}
ENVIRONMENTS = ("node cpu", "node wasm", "chromium cpu", "chromium wasm")

UNFILLED_BZL = '''
load("//rules_tfjs:defs.bzl", "TfjsModelInfo")

def _without_initializer_impl(ctx):
    model = ctx.attr.model[TfjsModelInfo]
    original = model.signatures["canonicalize"]
    copy = ctx.actions.declare_directory(ctx.label.name + "/canonicalize")
    # The same model, converted as rules_tfjs did before it kept initializers.
    ctx.actions.run_shell(
        inputs = [original],
        outputs = [copy],
        command = """cp -rL {original}/. {copy} && chmod -R u+w {copy} && python3 -c '
import json, sys
path = sys.argv[1] + "/model.json"
model = json.load(open(path))
del model["modelInitializer"], model["initializerSignature"]
json.dump(model, open(path, "w"))
' {copy}
""".format(original = original.path, copy = copy.path),
        use_default_shell_env = True,
    )
    return [
        DefaultInfo(files = depset([copy])),
        TfjsModelInfo(
            signatures = {"canonicalize": copy},
            saved_model = model.saved_model,
            saved_model_tags = model.saved_model_tags,
            options = model.options,
        ),
    ]

without_initializer = rule(
    _without_initializer_impl,
    attrs = {"model": attr.label(providers = [TfjsModelInfo])},
)
'''

UNFILLED_BUILD = """
load("//rules_tfjs:defs.bzl", "tfjs_model_test")
load(":without_initializer.bzl", "without_initializer")

without_initializer(
    name = "unfilled",
    model = "//examples/lookup_table:colour_table_tfjs",
)

tfjs_model_test(
    name = "unfilled_test",
    model = ":unfilled",
)
"""


def test_table_models_pass_with_string_inputs_in_node_and_chromium(bazel):
    result = bazel("test", *TEXT_TESTS)
    for label, signatures in TEXT_TESTS.items():
        assert reported_passed(result, label), label
        log = read_test_log(bazel, label)
        for environment in ENVIRONMENTS:
            for signature, outputs in signatures.items():
                for output in outputs:
                    assert f"ok   {environment:15} {signature:14} {output:14}" in log, (
                        label,
                        environment,
                        output,
                    )
        assert "strings equal" in log


def test_generated_string_inputs_hold_vocabulary_words_and_an_unknown_one(bazel):
    bazel("build", "//examples/text_classifier:text_classifier_tfjs_test")
    reference = json.loads(
        (
            bazel.bin / "examples/text_classifier/text_classifier_tfjs_test.reference.json"
        ).read_text()
    )
    run = reference["signatures"]["serving_default"]
    vocabulary = (bazel.workspace / "examples/text_classifier/vocabulary.txt").read_text().split()
    words = run["inputs"]["words"]["data"]
    assert all(word in vocabulary for word in words[:-1])
    assert words[-1] not in vocabulary
    assert run["outputs"]["ids"]["data"][-1] == 0  # StringLookup's OOV index


def test_vocabulary_lives_in_the_weight_files_not_in_model_json(bazel):
    bazel("build", "//examples/text_classifier:text_classifier_tfjs")
    model_dir = bazel.bin / "examples/text_classifier/text_classifier_tfjs/serving_default"
    model = json.loads((model_dir / "model.json").read_text())
    weights = {w["name"]: w for w in model["weightsManifest"][0]["weights"]}
    assert any(w["dtype"] == "string" and w["shape"] == [15] for w in weights.values())
    assert "terrible" not in (model_dir / "model.json").read_text()


def test_a_table_model_without_its_initializer_fails_saying_the_table_is_unfilled(
    bazel, scratch_package
):
    scratch_package.write("without_initializer.bzl", UNFILLED_BZL)
    scratch_package.write("BUILD.bazel", UNFILLED_BUILD)
    result = bazel("test", f"{scratch_package.label}:unfilled_test", check=False)
    assert result.returncode == 3, result.stderr[-3000:]  # built, and the test failed
    log = read_test_log(bazel, f"{scratch_package.label}:unfilled_test")
    for environment in ("node cpu", "node wasm"):
        assert (
            f"FAIL {environment:15} canonicalize   *              TF.js failed: lookup tables "
            'unknown:0, unknown_1:0 of "canonicalize" are never filled: model.json has no '
            "modelInitializer, so the tables are empty when the model runs"
        ) in log
    assert "0 passed, 2 failed" in log
