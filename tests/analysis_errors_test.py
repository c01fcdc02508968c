"""Bad tfjs_model attributes fail the build with a message that names the problem."""

import pytest

TFJS_MODEL = """
load("//rules_tfjs:defs.bzl", "tfjs_model")

tfjs_model(
    name = "model",
    saved_model = "{saved_model}",
    {attributes}
)
"""


def _build(bazel, package, attributes, saved_model="//models:wake", *flags):
    package.write("BUILD.bazel", TFJS_MODEL.format(saved_model=saved_model, attributes=attributes))
    return bazel("build", *flags, f"{package.label}:model", check=False)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("signatures = [],", "signatures is empty: list the SavedModel signature keys"),
        ('signatures = ["encode", "encode"],', "signatures lists 'encode' twice"),
        ('signatures = ["../x"],', "signatures has '../x', which cannot name an output directory"),
        ('signatures = ["a/b"],', "signatures has 'a/b', which cannot name an output directory"),
        ('signatures = [""],', "signatures has '', which cannot name an output directory"),
        (
            'signatures = ["encode"], quantization = "int4",',
            "invalid value in 'quantization' attribute: has to be one of 'none', 'float16', 'uint8' or 'uint16' instead of 'int4'",
        ),
        (
            'signatures = ["encode"], quantization_patterns = ["*"],',
            'quantization_patterns is set but quantization is "none"',
        ),
        (
            'signatures = ["encode"], quantization = "uint8", quantization_patterns = [""],',
            "quantization_patterns has an empty pattern",
        ),
        (
            'signatures = ["encode"], weight_shard_size_bytes = 0,',
            "weight_shard_size_bytes must be positive, not 0",
        ),
        ('signatures = ["encode"], saved_model_tags = [],', "saved_model_tags is empty"),
        (
            'signatures = ["encode"], signature_options = {"encdoe": ["quantization=uint8"]},',
            "signature_options names 'encdoe', which is not in signatures (encode)",
        ),
        (
            'signatures = ["encode"], signature_options = {"encode": ["quantisation=uint8"]},',
            "signature_options[\"encode\"] has 'quantisation=uint8', which is not KEY=VALUE",
        ),
        (
            'signatures = ["encode"], signature_options = {"encode": ["quantization=int4"]},',
            "signature_options[\"encode\"] sets quantization to 'int4': use one of none,",
        ),
        (
            'signatures = ["encode"], signature_options = {"encode": ["max_bytes=1MB"]},',
            "sets max_bytes to '1MB': use a positive whole number of bytes",
        ),
        (
            'signatures = ["encode"], signature_options = {"encode": ["skip_op_check=yes"]},',
            "sets skip_op_check to 'yes': use true or false",
        ),
        (
            'signatures = ["encode"], signature_options = {"encode": ["quantization_patterns=a*"]},',
            'sets quantization_patterns but its quantization is "none"',
        ),
        (
            'signatures = ["encode"], signature_options = '
            '{"encode": ["quantization=uint8", "quantization=float16"]},',
            'signature_options["encode"] sets quantization twice',
        ),
        (
            'signatures = ["encode"], backends = ["wasm", "metal"],',
            "backends has 'metal': use some of cpu, wasm, webgl, webgpu",
        ),
        (
            'signatures = ["encode"], max_bytes = -1,',
            "max_bytes must be positive (or 0 for no limit), not -1",
        ),
        (
            'signatures = ["report"],',
            "signatures has 'report', the name of the report's output group",
        ),
    ],
)
def test_bad_attribute_fails_analysis(bazel, scratch_package, attributes, message):
    result = _build(bazel, scratch_package, attributes, "//models:wake", "--nobuild")
    assert result.returncode != 0
    assert message in result.stderr


def test_a_target_without_saved_model_pb_is_rejected(bazel, scratch_package):
    scratch_package.write("notes/readme.txt", "not a model\n")
    result = _build(
        bazel, scratch_package, 'signatures = ["encode"],', ":notes/readme.txt", "--nobuild"
    )
    assert result.returncode != 0
    assert "is not a SavedModel: it has no saved_model.pb" in result.stderr


def test_an_unknown_signature_fails_the_build_listing_the_models_signatures(bazel, scratch_package):
    result = _build(bazel, scratch_package, 'signatures = ["encode", "wakeword"],')
    assert result.returncode != 0
    assert (
        "has no signature 'wakeword'; its signatures are: detect, encode, filter" in result.stderr
    )
