"""`bazel build //models:wake_tfjs`: what it produces, checked against TensorFlow and tensorflowjs."""

import json

import pytest
from conftest import WAKE_SIGNATURES

# tensorflowjs's own module, imported the only way the light environment allows.
from tfjs_converter.pipeline import tfjs_saved_model
from tfjs_converter.saved_model import read_meta_graph


def _model_json(directory):
    return json.loads((directory / "model.json").read_text())


def test_each_signature_has_its_own_directory_with_model_json_and_shards(wake_tfjs):
    # Beside them lies only Bazel's params file of the conversion action.
    assert sorted(p.name for p in wake_tfjs.iterdir() if p.is_dir()) == sorted(WAKE_SIGNATURES)
    for signature in WAKE_SIGNATURES:
        files = sorted(p.name for p in (wake_tfjs / signature).iterdir())
        assert files[-1] == "model.json"
        assert files[:-1] and all(
            f.startswith("group1-shard") and f.endswith(".bin") for f in files[:-1]
        )


def test_model_json_keys_are_the_saved_models_signature_keys(wake_tfjs, bazel):
    meta_graph = read_meta_graph(bazel.bin / "models" / "wake", ["serve"])
    for signature in WAKE_SIGNATURES:
        expected = meta_graph.signature_def[signature]
        converted = _model_json(wake_tfjs / signature)["signature"]
        assert sorted(converted["inputs"]) == sorted(expected.inputs), signature
        assert sorted(converted["outputs"]) == sorted(expected.outputs), signature
        assert not any(":" in key for key in [*converted["inputs"], *converted["outputs"]])


@pytest.mark.parametrize("signature", WAKE_SIGNATURES)
def test_weights_equal_tensorflowjs_public_converter(wake_tfjs, bazel, tmp_path, signature):
    tfjs_saved_model.convert_tf_saved_model(
        str(bazel.bin / "models" / "wake"),
        str(tmp_path),
        signature_def=signature,
        control_flow_v2=True,
    )
    ours = wake_tfjs / signature
    public_manifest = _model_json(tmp_path)["weightsManifest"]
    assert _model_json(ours)["weightsManifest"] == public_manifest
    shards = [path for group in public_manifest for path in group["paths"]]
    for shard in shards:
        assert (ours / shard).read_bytes() == (tmp_path / shard).read_bytes(), shard


def test_an_output_group_names_just_that_signature(bazel):
    result = bazel("build", "//models:wake_tfjs", "--output_groups=encode")
    assert "bazel-bin/models/wake_tfjs/encode" in result.stderr
    assert "wake_tfjs/filter" not in result.stderr
    assert "wake_tfjs/detect" not in result.stderr
