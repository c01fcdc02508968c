"""Reference outputs: a SavedModel's signatures run by TensorFlow, for TF.js to match.

The inputs are given, or made up deterministically from each signature's
input specs (every unknown dimension set to REFERENCE_DIMENSION). A feedback
sequence runs a signature for several steps, feeding some outputs back into
inputs, the way a streaming model keeps its state; the other inputs are new
at every step.

Generated strings come from the model's own vocabulary (the string keys of
its lookup tables) with one word it does not know last, to exercise the
out-of-vocabulary path; a model without tables gets fixed words.

The result is JSON, the tensor format `tools/tfjs_runner` reads:
`{"dtype": "float32" | "int32" | "bool" | "string", "shape": [...], "data": [flat values]}`
with non-finite numbers as the strings "NaN", "Infinity", "-Infinity" and
strings as UTF-8 text.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfjs_converter.errors import ConversionError
from tfjs_converter.saved_model import LoadedSavedModel

REFERENCE_DIMENSION = 2

# TF.js computes in these dtypes; int64 and float64 inputs arrive narrowed.
_TFJS_DTYPES = {"float": "float32", "int": "int32", "bool": "bool", "string": "string"}

FIXED_WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog")
UNKNOWN_WORD = "zzxqvj"
# TensorFlow's error where a loaded graph calls Python that was not saved.
_PYTHON_CALLBACK_LOST = "Could not find callback with key="
_GIVE_INPUTS = "tfjs_model_test's `inputs`, a JSON file {signature: {input key: nested list}}"


def tfjs_dtype(dtype: tf.DType) -> str:
    if dtype.is_floating:
        return _TFJS_DTYPES["float"]
    if dtype.is_integer:
        return _TFJS_DTYPES["int"]
    if dtype.is_bool:
        return _TFJS_DTYPES["bool"]
    if dtype == tf.string:
        return _TFJS_DTYPES["string"]
    raise ConversionError(
        f"inputs of dtype {dtype.name} cannot be generated or compared; "
        "give the signature's inputs in an inputs JSON file"
    )


def _encode(array: np.ndarray) -> dict[str, Any]:
    def number(value):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return str(value).replace("inf", "Infinity").replace("nan", "NaN")
        return value

    if array.dtype == object:
        data = [value.decode("utf-8", errors="replace") for value in array.ravel()]
        return {"dtype": "string", "shape": list(array.shape), "data": data}
    dtype = tfjs_dtype(tf.as_dtype(array.dtype))
    data = np.asarray(array, np.float32 if dtype == "float32" else array.dtype).ravel()
    return {"dtype": dtype, "shape": list(array.shape), "data": [number(v) for v in data]}


def _decode(spec: Any, tensor_spec: tf.TensorSpec) -> np.ndarray:
    values = spec["data"] if isinstance(spec, dict) else spec
    if tensor_spec.dtype == tf.string:
        values = np.vectorize(lambda v: str(v).encode("utf-8"), otypes=[object])(
            np.asarray(values, dtype=object)
        )
    array = np.asarray(values, dtype=tensor_spec.dtype.as_numpy_dtype)
    if isinstance(spec, dict):
        array = array.reshape(spec["shape"])
    if not tensor_spec.shape.is_compatible_with(array.shape):
        raise ConversionError(
            f"input {tensor_spec.name!r} has shape {list(array.shape)}, but the "
            f"signature takes {tensor_spec.shape}"
        )
    return array


def generated_input(
    tensor_spec: tf.TensorSpec, seed_text: str, vocabulary: Sequence[str] = ()
) -> np.ndarray:
    """A deterministic input for one TensorSpec: the same on every machine.

    Strings are words of `vocabulary` (FIXED_WORDS if empty), the last one
    UNKNOWN_WORD when the vocabulary is the model's.
    """
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    shape = [REFERENCE_DIMENSION if d is None else d for d in tensor_spec.shape.as_list()]
    dtype = tensor_spec.dtype
    tfjs_dtype(dtype)  # fails early for dtypes TF.js cannot take
    if dtype == tf.string:
        words = sorted(vocabulary) or list(FIXED_WORDS)
        chosen = [words[i] for i in rng.integers(0, len(words), int(np.prod(shape)))]
        if vocabulary and chosen:
            chosen[-1] = UNKNOWN_WORD
        return np.array([w.encode("utf-8") for w in chosen], dtype=object).reshape(shape)
    if dtype.is_floating:
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32).astype(dtype.as_numpy_dtype)
    if dtype.is_integer:
        return rng.integers(0, 10, shape).astype(dtype.as_numpy_dtype)
    return rng.integers(0, 2, shape).astype(bool)


def _table_dtypes(resource) -> tuple[tf.DType, tf.DType] | None:
    """A hash table's (key, value) dtypes, read from the graph that creates it."""
    create = getattr(resource, "_create_resource", None)
    functions = getattr(create, "concrete_functions", None) or []
    for function in functions:
        for op in function.graph.get_operations():
            if op.type in ("HashTableV2", "HashTable"):
                return op.get_attr("key_dtype"), op.get_attr("value_dtype")
    return None


def model_vocabulary(model: LoadedSavedModel) -> list[str]:
    """The string keys of every hash table of the model, sorted; [] without tables."""
    from tensorflow.python.checkpoint.trackable_view import TrackableView
    from tensorflow.python.trackable.resource import TrackableResource

    words: set[str] = set()
    for resource in TrackableView(model.module).descendants():
        dtypes = _table_dtypes(resource) if isinstance(resource, TrackableResource) else None
        if dtypes is None or dtypes[0] != tf.string:
            continue
        # The dtypes must be the table's own: the kernel does not check them.
        keys, _ = tf.raw_ops.LookupTableExportV2(
            table_handle=resource.resource_handle, Tkeys=dtypes[0], Tvalues=dtypes[1]
        )
        words |= {key.decode("utf-8", errors="replace") for key in keys.numpy()}
    words.discard(UNKNOWN_WORD)
    return sorted(words)


def _run(
    model: LoadedSavedModel, signature: str, inputs: Mapping[str, np.ndarray], generated: bool
) -> dict[str, np.ndarray]:
    try:
        outputs = model.concrete_function(signature)(
            **{k: tf.constant(v) for k, v in inputs.items()}
        )
    except tf.errors.OpError as error:
        if _PYTHON_CALLBACK_LOST in error.message:
            raise ConversionError(
                f"signature {signature!r} calls Python (tf.py_function or tf.numpy_function), "
                "which a SavedModel does not save: neither TensorFlow after loading it nor "
                "TF.js can run that part. Compute it outside the model."
            ) from None
        shapes = ", ".join(f"{k} {v.dtype} {list(v.shape)}" for k, v in sorted(inputs.items()))
        made = (
            f"generated inputs ({shapes}; every unknown dimension is {REFERENCE_DIMENSION})"
            if generated
            else f"the given inputs ({shapes})"
        )
        raise ConversionError(
            f"signature {signature!r} fails in TensorFlow on {made}: {_op_error_cause(error)}. "
            f"Give inputs it accepts: {_GIVE_INPUTS}"
        ) from None
    # A scalar string's numpy() is bytes, not an array of them.
    return {
        key: np.asarray(value.numpy(), dtype=object if value.dtype == tf.string else None)
        for key, value in outputs.items()
    }


def _op_error_cause(error: tf.errors.OpError) -> str:
    """The line of TensorFlow's message that says what went wrong."""
    noise = ("Graph execution error", "Detected at node", "<stack traces", "[[", "File ")
    lines = [line.strip() for line in error.message.splitlines()]
    causes = [line for line in lines if line and not line.startswith(noise)]
    return (causes or [type(error).__name__])[0][:300]


def _inputs(model, signature, given, step=0, vocabulary=()) -> dict[str, np.ndarray]:
    specs = model.input_specs(signature)
    if given is not None:
        missing = sorted(set(specs) - set(given))
        unknown = sorted(set(given) - set(specs))
        if missing or unknown:
            raise ConversionError(
                f"inputs for signature {signature!r} must have exactly the keys "
                f"{', '.join(sorted(specs))}; missing {missing}, unknown {unknown}"
            )
        return {key: _decode(given[key], spec) for key, spec in specs.items()}
    unknown_rank = sorted(key for key, spec in specs.items() if spec.shape.rank is None)
    if unknown_rank:
        raise ConversionError(
            f"signature {signature!r} has input{'s' if len(unknown_rank) > 1 else ''} "
            f"{', '.join(unknown_rank)} of unknown rank, for which no input can be "
            f"generated. Give its inputs: {_GIVE_INPUTS}"
        )
    return {
        key: generated_input(spec, f"{signature}/{key}/{step}", vocabulary)
        for key, spec in specs.items()
    }


def _check_feedback(model: LoadedSavedModel, signature: str, feed: Mapping[str, str]) -> None:
    inputs = set(model.input_specs(signature))
    outputs = set(model.signature_def(signature).outputs)
    if not feed or not set(feed) <= inputs or not set(feed.values()) <= outputs:
        raise ConversionError(
            f"feedback for {signature!r} must map its inputs ({', '.join(sorted(inputs))}) "
            f"to its outputs ({', '.join(sorted(outputs))}), as INPUT=OUTPUT pairs; "
            f"got {', '.join(f'{k}={v}' for k, v in feed.items()) or 'nothing'}"
        )


def reference(
    model: LoadedSavedModel,
    signatures: Sequence[str],
    given_inputs: Mapping[str, Mapping[str, Any]] | None = None,
    feedback: Mapping[str, Mapping[str, str]] | None = None,
    steps: int = 8,
    samples: int = 1,
) -> dict[str, Any]:
    """Runs signatures (and feedback sequences) and returns the reference JSON.

    Args:
      model: the loaded SavedModel.
      signatures: the signatures to run once each.
      given_inputs: signature -> input key -> tensor JSON (or nested list);
        signatures not listed get generated inputs.
      feedback: signature -> {input key: output key}: run that signature
        `steps` times, feeding each output back into its input.
      steps: the length of every feedback sequence.
      samples: run each signature with generated inputs and no feedback on
        this many inputs, as a sequence that feeds nothing back; the first
        is the input a single run gets.
    """
    if samples < 1:
        raise ConversionError(f"samples must be at least 1, not {samples}")
    given_inputs = given_inputs or {}
    feedback = feedback or {}
    model.check_signatures([*signatures, *feedback])
    vocabulary = model_vocabulary(model)
    result: dict[str, Any] = {"signatures": {}, "sequences": {}}
    for signature in signatures:
        given = given_inputs.get(signature)
        if samples > 1 and given is None and signature not in feedback:
            result["sequences"][signature] = _sequence(model, signature, {}, samples, vocabulary)
            continue
        inputs = _inputs(model, signature, given, vocabulary=vocabulary)
        outputs = _run(model, signature, inputs, generated=given is None)
        result["signatures"][signature] = {
            "inputs": {k: _encode(v) for k, v in inputs.items()},
            "outputs": {k: _encode(v) for k, v in outputs.items()},
        }
    for signature, feed in feedback.items():
        _check_feedback(model, signature, feed)
        result["sequences"][signature] = _sequence(model, signature, feed, steps, vocabulary)
    return result


def _sequence(
    model: LoadedSavedModel,
    signature: str,
    feed: Mapping[str, str],
    steps: int,
    vocabulary: Sequence[str],
) -> dict[str, Any]:
    """Runs signature `steps` times on generated inputs, feeding outputs back as feed says."""
    frames, step_outputs = [], []
    carried: dict[str, np.ndarray] = {}
    for step in range(steps):
        fresh = {
            k: v
            for k, v in _inputs(model, signature, None, step, vocabulary).items()
            if step == 0 or k not in feed
        }
        outputs = _run(model, signature, {**fresh, **carried}, generated=True)
        carried = {input_key: outputs[output_key] for input_key, output_key in feed.items()}
        frames.append({k: _encode(v) for k, v in fresh.items()})
        step_outputs.append({k: _encode(v) for k, v in outputs.items()})
    return {"feed": dict(feed), "frames": frames, "steps": step_outputs}


def write_reference(path: str | Path, data: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
