import json

import numpy as np
import pytest
import tensorflow as tf

from tfjs_converter.convert import ConversionRequest, convert, convert_saved_model
from tfjs_converter.options import ConversionOptions
from tfjs_converter.quantization_limits import quantization_map, unquantizable


def _weights(**arrays):
    return [[{"name": name, "data": np.asarray(data)} for name, data in arrays.items()]]


def test_weights_float16_cannot_hold_are_named_with_the_value_it_would_lose():
    weights = _weights(
        mask=np.float32([0.0, -1e9]),
        epsilon=np.float32(1e-12),
        kernel=np.float32([[0.5, -2.0], [1e-3, 300.0]]),
        basis=np.float32([1.0, np.sin(np.pi), -1.0]),  # 1.2e-16 is rounding beside 1
        ids=np.int32([1, 2]),
    )
    assert unquantizable(weights, "float16") == {
        "mask": "-1e+09 would be -inf",
        "epsilon": "1e-12 would be 0",
    }
    assert unquantizable(weights, None) == {}


def test_affine_quantizations_cannot_hold_infinities():
    weights = _weights(mask=np.float32([0.0, -np.inf]), scale=np.float32([1e9, 1e-12]))
    for quantization in ("uint8", "uint16"):
        assert unquantizable(weights, quantization) == {"mask": "holds an infinity or NaN"}


def test_the_map_lists_every_other_matching_weight_literally():
    options = ConversionOptions(quantization="float16", quantization_patterns=("dense/*",))
    names = ["dense/kernel[0]", "dense/mask", "conv/kernel"]
    assert quantization_map(options, names, {}) == {"float16": ["dense/*"]}
    assert quantization_map(options, names, {"dense/mask": "…"}) == {
        "float16": ["dense/kernel[[]0]"]
    }
    assert quantization_map(options, ["dense/mask"], {"dense/mask": "…"}) is None


class Masked(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([4, 4], seed=[1, 2]))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def masked(self, x):
        scores = tf.matmul(x, self.kernel) + tf.where(x > 0.0, 0.0, -1e9)
        centered = x - tf.reduce_mean(x, -1, keepdims=True)
        normalized = centered / tf.sqrt(tf.reduce_mean(centered**2, -1, keepdims=True) + 1e-12)
        return {
            "y": tf.nn.softmax(scores) + normalized,
            "floor": tf.maximum(x, tf.where(x > 1.0, 1.0, -np.inf)),
        }


@pytest.mark.parametrize(
    ("quantization", "reasons"),
    [
        ("float16", ["-1e+09 would be -inf", "1e-12 would be 0"]),  # -inf it holds
        ("uint8", ["holds an infinity or NaN"]),
    ],
)
def test_a_quantized_model_keeps_what_the_quantization_cannot_hold(
    tmp_path, capfd, quantization, reasons
):
    module = Masked()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"masked": module.masked})
    options = ConversionOptions(quantization=quantization)
    directory = convert_saved_model(
        tmp_path / "model", ["masked"], tmp_path / "out", options=options
    )

    def refuse(constant):
        raise AssertionError(f"model.json holds {constant}, which TF.js's JSON parser refuses")

    text = (directory["masked"] / "model.json").read_text()
    model = json.loads(text, parse_constant=refuse)
    weights = [w for group in model["weightsManifest"] for w in group["weights"]]
    floats = [w for w in weights if w["dtype"] == "float32"]
    kept = [w["name"] for w in floats if "quantization" not in w]
    note = capfd.readouterr().err
    assert (
        f"{len(kept)} weight{'s' if len(kept) > 1 else ''} kept float32, as {quantization}" in note
    )
    assert all(name in note for name in kept) and all(reason in note for reason in reasons)
    assert any("ReadVariableOp" in w["name"] and "quantization" in w for w in floats)


def test_the_report_names_the_weights_kept_float32(tmp_path):
    module = Masked()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"masked": module.masked})
    request = ConversionRequest(
        tmp_path / "model",
        {"masked": tmp_path / "out"},
        options=ConversionOptions(quantization="float16"),
        report_json=tmp_path / "report.json",
        report_markdown=tmp_path / "report.md",
    )
    convert(request)
    report = json.loads((tmp_path / "report.json").read_text())
    kept = report["signatures"]["masked"]["kept_float32"]
    assert sorted(kept.values()) == ["-1e+09 would be -inf", "1e-12 would be 0"]
    assert "kept float32, as float16 cannot hold them: `" in (tmp_path / "report.md").read_text()
