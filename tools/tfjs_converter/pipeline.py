"""tensorflowjs's graph-model pipeline for one concrete function, run in-process.

The steps are those of tensorflowjs's own `convert_tf_saved_model` (freeze,
build the signature, optimize, extract the weights, write), called directly so
that one loaded SavedModel serves any number of signatures and the bytes
written are canonical.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflowjs.converters import tf_saved_model_conversion_v2 as tfjs_saved_model

from tfjs_converter.errors import ConversionError
from tfjs_converter.options import DEFAULT_OPTIONS, ConversionOptions

MODEL_JSON = "model.json"

# tensorflowjs reports unsupported ops as a ValueError with this prefix.
_UNSUPPORTED_OPS_PREFIX = "Unsupported Ops in the model"


def convert_concrete_function(
    concrete_function,
    output_dir: str | Path,
    *,
    signature_def: meta_graph_pb2.SignatureDef | None = None,
    options: ConversionOptions = DEFAULT_OPTIONS,
    tensorflow_version: str | None = None,
) -> dict[str, np.ndarray]:
    """Writes a TensorFlow.js graph model of concrete_function into output_dir.

    Args:
      concrete_function: a `tf.function`'s concrete function, for example
        `loaded_saved_model.signatures["serving_default"]`.
      output_dir: an existing, empty directory for model.json and the shards.
      signature_def: the SavedModel's SignatureDef of this function; its input
        and output keys name the model.json's inputs and outputs. Without it
        they are tensor names such as `x:0`.
      options: conversion options.
      tensorflow_version: recorded as model.json's `generatedBy`.

    Returns:
      The model's weights by name, as computed before any quantization.

    Raises:
      ConversionError: TensorFlow.js cannot run an op of the graph.
    """
    frozen_graph = tfjs_saved_model._freeze_saved_model_v2(
        concrete_function, control_flow_v2=options.control_flow_v2
    )
    inputs = [t for t in concrete_function.inputs if t.dtype != tf.resource]
    signature = tfjs_saved_model._build_signature_def(
        frozen_graph, inputs, concrete_function.outputs, signature_def
    )
    try:
        graph_def = tfjs_saved_model.optimize_graph(
            frozen_graph,
            signature,
            skip_op_check=options.skip_op_check,
            strip_debug_ops=options.strip_debug_ops,
            experiments=False,
        )
    except ValueError as error:
        if not str(error).startswith(_UNSUPPORTED_OPS_PREFIX):
            raise
        ops = sorted(str(error).splitlines()[1].split(", "))
        raise ConversionError(
            f"TensorFlow.js has no kernel for op{'s' if len(ops) > 1 else ''} "
            f"{', '.join(ops)}: change the model to avoid "
            f"{'them' if len(ops) > 1 else 'it'}, or set skip_op_check to "
            "convert anyway (the model then fails when it runs "
            f"{'them' if len(ops) > 1 else 'it'})"
        ) from None
    weights = tfjs_saved_model.extract_weights(graph_def)
    model_json = Path(output_dir) / MODEL_JSON
    tfjs_saved_model.write_artifacts(
        MessageToDict(graph_def),
        weights,
        str(model_json),
        tensorflow_version or tf.__version__,
        signature,
        quantization_dtype_map=options.quantization_dtype_map(),
        weight_shard_size_bytes=options.weight_shard_size_bytes,
        metadata=dict(options.metadata) or None,
    )
    canonicalize_model_json(model_json)
    return {weight["name"]: weight["data"] for group in weights for weight in group}


def canonicalize_model_json(path: Path) -> None:
    """Rewrites model.json with sorted keys.

    tensorflowjs serializes protobuf maps (node attributes) in an order that
    differs from one process to the next; sorted keys make equal models equal
    bytes.
    """
    model = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(model, sort_keys=True), encoding="utf-8")


def check_quantization_patterns(options: ConversionOptions, weight_names: Sequence[str]) -> None:
    """Fails if a quantization pattern matches none of weight_names."""
    if options.quantization is None:
        return
    unused = [p for p in options.quantization_patterns if not fnmatch.filter(weight_names, p)]
    if unused:
        raise ConversionError(
            f"quantization pattern{'s' if len(unused) > 1 else ''} "
            f"{', '.join(repr(p) for p in unused)} match no weight; the "
            f"weights are: {', '.join(sorted(set(weight_names)))}"
        )
