"""int8, uint8, int16 and uint16 tensors as TF.js has them: int32.

TF.js has no integer dtype but int32. Its graph loader reads a node's int8
and uint8 types as int32 (and int64: see `pipeline._check_int64_weights_fit_int32`),
but int16 and uint16 as nothing at all: a `tf.cast` to int16 failed with
`Failed to cast to unknown dtype null`. Its weight loader takes no such
weights: a uint8 constant (also one TensorFlow's optimizer makes, `x + x`
becoming `x * 2`) failed the model's load with `Unsupported dtype in weight`,
and tensorflowjs could not write an int8 or int16 one (a bare `ValueError`).

So the weights of these dtypes are written as int32, which holds each of
their values, and the int16 and uint16 types of the graph's nodes become
int32 as its int8 and uint8 ones already are in TF.js. TF.js then computes
such tensors as int32, without wrapping at their own range; the README says
so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from tfjs_converter.graph_nodes import graph_scopes

_SMALL_INTEGERS = (np.int8, np.uint8, np.int16, np.uint16)
_UNKNOWN_TO_TFJS = frozenset(t.as_datatype_enum for t in (tf.int16, tf.uint16))
_INT32 = tf.int32.as_datatype_enum


def small_integer_weights_as_int32(weights: Sequence[Sequence[dict]]) -> list[str]:
    """Makes each int8, uint8, int16 or uint16 weight (tensorflowjs's groups of
    {"name", "data"}) an int32 one of the same values, in place: their names."""
    changed = []
    for group in weights:
        for weight in group:
            data = np.asarray(weight["data"])
            if data.dtype in _SMALL_INTEGERS:
                weight["data"] = data.astype(np.int32)
                changed.append(weight["name"])
    return changed


def small_integer_types_as_int32(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Makes every int16 and uint16 type of graph_def's nodes int32, in place.

    Returns:
      The names of the nodes changed (`function/N` inside a function).
    """
    changed = []
    for scope in graph_scopes(graph_def):
        for node in scope.nodes:
            if _retyped(node.attr.values()):
                changed.append(scope.qualified_name(node))
        if scope.function is not None:
            signature = scope.function.signature
            for argument in (*signature.input_arg, *signature.output_arg):
                if argument.type in _UNKNOWN_TO_TFJS:
                    argument.type = _INT32
    return changed


def _retyped(values) -> bool:
    retyped = False
    for value in values:
        if value.type in _UNKNOWN_TO_TFJS:
            value.type = _INT32
            retyped = True
        types = value.list.type
        for index, dtype in enumerate(types):
            if dtype in _UNKNOWN_TO_TFJS:
                types[index] = _INT32
                retyped = True
    return retyped
