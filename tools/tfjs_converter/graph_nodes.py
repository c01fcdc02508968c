"""Pieces the graph rewrites share: free node names, constant nodes, the node an input names."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import node_def_pb2


class FreeNames:
    """Hands out node names no node of a graph has yet: `X/bias`, else `X/bias_1`, ...

    TensorFlow's name scopes keep `X/bias` free beside a node `X` in graphs
    that Python code built; a hand-made or imported graph may still hold it.
    """

    def __init__(self, taken: Iterable[str]) -> None:
        self._taken = set(taken)

    def free(self, name: str) -> str:
        candidate, suffix = name, 0
        while candidate in self._taken:
            suffix += 1
            candidate = f"{name}_{suffix}"
        self._taken.add(candidate)
        return candidate


def const_node(name: str, values: np.ndarray | int, dtype: tf.DType) -> node_def_pb2.NodeDef:
    """A Const node holding values as dtype."""
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = dtype.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values, dtype=dtype))
    return node


def node_name(node_input: str) -> str:
    """The node a NodeDef input names: `x` of `x`, `x:1` and `^x`."""
    return node_input.lstrip("^").split(":")[0]
