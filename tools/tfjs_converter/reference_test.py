import subprocess
import sys

import numpy as np
import pytest

from tfjs_converter.errors import ConversionError
from tfjs_converter.reference import REFERENCE_DIMENSION, reference
from tfjs_converter.saved_model import load_saved_model


def _array(spec):
    return np.array(spec["data"], dtype=np.float32).reshape(spec["shape"])


def test_generated_inputs_are_deterministic_and_fill_unknown_dimensions(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    first = reference(model, ["scale", "mix"])
    second = reference(load_saved_model(tiny_saved_model), ["scale", "mix"])

    assert first == second
    x = first["signatures"]["scale"]["inputs"]["x"]
    assert (x["dtype"], x["shape"]) == ("float32", [REFERENCE_DIMENSION, 4])
    assert all(-1.0 <= v <= 1.0 for v in x["data"])
    assert sorted(first["signatures"]["mix"]["outputs"]) == ["mixed", "total"]


def test_outputs_are_what_tensorflow_computes(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    given = {"scale": {"x": [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]}}
    data = reference(model, ["scale"], given)
    expected = model.concrete_function("scale")(x=np.array(given["scale"]["x"], np.float32))["y"]
    assert np.array_equal(_array(data["signatures"]["scale"]["outputs"]["y"]), expected.numpy())


def test_feedback_runs_a_sequence_feeding_outputs_back(accumulator_saved_model):
    model = load_saved_model(accumulator_saved_model)
    data = reference(model, [], feedback={"step": {"total": "new_total"}}, steps=4)

    sequence = data["sequences"]["step"]
    assert sequence["feed"] == {"total": "new_total"}
    assert sorted(sequence["frames"][0]) == ["total", "x"]
    assert all(sorted(frame) == ["x"] for frame in sequence["frames"][1:])
    total = _array(sequence["frames"][0]["total"]) + sum(_array(f["x"]) for f in sequence["frames"])
    assert np.allclose(_array(sequence["steps"][-1]["new_total"]), total, atol=1e-6)
    assert sequence["steps"][0]["count"] == {
        "dtype": "int32",
        "shape": [],
        "data": [REFERENCE_DIMENSION],
    }


def test_samples_run_a_signature_on_several_generated_inputs(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    given = {"mix": {"weights": [[1.0, 0.0, 0.0, 0.0, 0.0]], "offset": [[2.0, 1.0]]}}
    single = reference(model, ["scale", "mix"], given)
    data = reference(model, ["scale", "mix"], given, samples=3)

    sampled = data["sequences"]["scale"]
    assert sampled["feed"] == {} and len(sampled["frames"]) == len(sampled["steps"]) == 3
    # The first sample is the single run's input; the others differ from it.
    assert sampled["frames"][0] == single["signatures"]["scale"]["inputs"]
    assert sampled["frames"][1] != sampled["frames"][0] != sampled["frames"][2]
    x = _array(sampled["frames"][2]["x"])
    expected = model.concrete_function("scale")(x=x)["y"].numpy()
    assert np.array_equal(_array(sampled["steps"][2]["y"]), expected)
    # Given inputs are one input: that signature still runs once.
    assert "scale" not in data["signatures"]
    assert data["signatures"]["mix"] == single["signatures"]["mix"]
    with pytest.raises(ConversionError, match="samples must be at least 1, not 0"):
        reference(model, ["scale"], samples=0)


def test_feedback_naming_unknown_keys_lists_the_signatures_keys(accumulator_saved_model):
    model = load_saved_model(accumulator_saved_model)
    with pytest.raises(
        ConversionError,
        match=r"must map its inputs \(total, x\) to its outputs \(count, new_total\)",
    ):
        reference(model, [], feedback={"step": {"state": "new_total"}})


def test_inputs_tensorflow_rejects_fail_naming_them_and_the_fix(triples_saved_model):
    model = load_saved_model(triples_saved_model)
    with pytest.raises(ConversionError) as error:
        reference(model, ["rows"])
    assert str(error.value).startswith(
        "signature 'rows' fails in TensorFlow on generated inputs (x float32 [2]; every "
        f"unknown dimension is {REFERENCE_DIMENSION}): Input to reshape is a tensor with 2 values"
    )
    assert "Give inputs it accepts: tfjs_model_test's `inputs`" in str(error.value)

    given = {"rows": {"x": [1.0, 2.0, 3.0, 4.0]}}
    with pytest.raises(ConversionError, match=r"on the given inputs \(x float32 \[4\]\)"):
        reference(model, ["rows"], given)
    assert reference(model, ["rows"], {"rows": {"x": [1.0, 2.0, 3.0]}})["signatures"]["rows"]


def test_given_inputs_must_match_the_signature(tiny_saved_model):
    model = load_saved_model(tiny_saved_model)
    with pytest.raises(
        ConversionError, match=r"must have exactly the keys x; missing \['x'\], unknown \['y'\]"
    ):
        reference(model, ["scale"], {"scale": {"y": [[1.0, 2.0, 3.0, 4.0]]}})


def test_string_inputs_come_from_the_models_vocabulary_with_an_unknown_word(table_saved_model):
    from tfjs_converter.reference import UNKNOWN_WORD

    data = reference(load_saved_model(table_saved_model), ["lookup", "count"])

    colour = data["signatures"]["lookup"]["inputs"]["colour"]
    assert (colour["dtype"], colour["shape"]) == ("string", [REFERENCE_DIMENSION])
    assert colour["data"][0] in ("red", "green", "blue")
    assert colour["data"][-1] == UNKNOWN_WORD
    index = data["signatures"]["lookup"]["outputs"]["index"]
    assert index["data"][-1] == -1 and index["data"][0] in (0, 1, 2)
    colours = data["signatures"]["count"]["inputs"]["colours"]
    assert colours["shape"] == [REFERENCE_DIMENSION, REFERENCE_DIMENSION]
    assert colours["data"][-1] == UNKNOWN_WORD


def test_given_string_inputs_and_string_outputs_are_text(tmp_path):
    import tensorflow as tf

    from tfjs_converter.reference import FIXED_WORDS

    class Echo(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="word")])
        def shout(self, word):
            return {"loud": tf.strings.upper(word), "length": tf.strings.length(word)}

    module = Echo()
    tf.saved_model.save(module, str(tmp_path), signatures={"shout": module.shout})
    model = load_saved_model(tmp_path)

    given = reference(model, ["shout"], {"shout": {"word": ["fox", "Grüße"]}})
    assert given["signatures"]["shout"]["outputs"]["loud"] == {
        "dtype": "string",
        "shape": [2],
        "data": ["FOX", "GRüßE"],
    }
    generated = reference(model, ["shout"])["signatures"]["shout"]["inputs"]["word"]
    assert set(generated["data"]) <= set(FIXED_WORDS)  # no tables: fixed words


def test_inputs_and_outputs_are_keyed_as_in_the_signature_def(odd_keys_saved_model):
    # As model.json keys them: the SavedModel's keys, not the loaded
    # function's Python names (image_input_v2, a_b).
    model = load_saved_model(odd_keys_saved_model)
    given = {"a-b": [1, 2], "a_a": [[0.5] * 3] * 2, "Image-Input.v2": [[1.0] * 3] * 2}
    given["MixedCase"] = [[2.0] * 3] * 2
    data = reference(model, ["odd"], {"odd": given})["signatures"]["odd"]
    assert sorted(data["inputs"]) == ["Image-Input.v2", "MixedCase", "a-b", "a_a"]
    assert data["inputs"]["a-b"]["dtype"] == "int32"
    assert sorted(data["outputs"]) == ["Out-Put.1", "UPPER", "with space"]
    assert _array(data["outputs"]["UPPER"]).tolist() == [[2.0] * 3] * 2
    assert _array(data["outputs"]["Out-Put.1"]).tolist() == [[4.5] * 3, [5.5] * 3]

    generated = reference(model, ["odd"])["signatures"]["odd"]["inputs"]
    assert sorted(generated) == ["Image-Input.v2", "MixedCase", "a-b", "a_a"]


def test_an_input_of_unknown_rank_must_be_given(tmp_path):
    import tensorflow as tf

    class AnyRank(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
        def double(self, x):
            return {"y": x * 2.0}

    module = AnyRank()
    tf.saved_model.save(module, str(tmp_path), signatures={"double": module.double})
    model = load_saved_model(tmp_path)

    with pytest.raises(ConversionError) as error:
        reference(model, ["double"])
    assert str(error.value).startswith(
        "signature 'double' has input x of unknown rank, for which no input can be generated. "
        "Give its inputs: tfjs_model_test's `inputs`"
    )
    given = reference(model, ["double"], {"double": {"x": [[1.0, 2.0, 3.0]]}})
    assert given["signatures"]["double"]["outputs"]["y"]["data"] == [2.0, 4.0, 6.0]


def test_a_signature_calling_python_is_named_as_such(tmp_path):
    # Exported by another process: this one would still hold the Python function.
    export = """
import sys
import tensorflow as tf

class Callback(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def call(self, x):
        return {"y": tf.py_function(lambda v: v * 2.0, [x], tf.float32)}

module = Callback()
tf.saved_model.save(module, sys.argv[1], signatures={"call": module.call})
"""
    subprocess.run([sys.executable, "-c", export, str(tmp_path)], check=True, capture_output=True)

    with pytest.raises(ConversionError) as error:
        reference(load_saved_model(tmp_path), ["call"])
    assert str(error.value) == (
        "signature 'call' calls Python (tf.py_function or tf.numpy_function), which a "
        "SavedModel does not save: neither TensorFlow after loading it nor TF.js can run "
        "that part. Compute it outside the model."
    )


def test_a_scalar_string_output_is_text(tmp_path):
    # Its numpy() is bytes, not an array.
    import tensorflow as tf

    class Label(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def label(self, x):
            return {"word": tf.where(tf.reduce_sum(x) > 0.0, "up", "down")}

    module = Label()
    tf.saved_model.save(module, str(tmp_path / "model"), signatures={"label": module.label})
    data = reference(load_saved_model(tmp_path / "model"), ["label"], {"label": {"x": [1.0]}})
    assert data["signatures"]["label"]["outputs"]["word"] == {
        "dtype": "string",
        "shape": [],
        "data": ["up"],
    }
