"""Fused convolutions and matmuls whose bias TF.js's wasm backend refuses.

tensorflowjs's `remap` pass fuses `Conv2D`, `DepthwiseConv2dNative` and
`MatMul` with the add after them (and an activation) into one op. Its wasm
kernels take only a bias of rank 1, one value per output channel, and fail
on any other (`FusedConv2D only supports rank-1 bias but got rank 0`), while
cpu and webgl broadcast it. Two kinds of models meet this:

* a constant that is one value, or one value per channel in another shape:
  `+ 3` before MobileNetV3's hard-sigmoid (a scalar), or a `[1, 1, 1, C]`
  constant. It becomes a vector of one value per channel, and the op stays
  fused. (A bias of shape `[1]` passes wasm's check, and its `_FusedMatMul`
  then reads past it: wrong values, no error.)
* any other bias: a computed tensor (a residual connection `conv(x) +
  shortcut`, as in EfficientNet and ResNets), a constant of another shape,
  or one whose channel count is unknown (the weight is computed). The op is
  split again into the convolution (or matmul), an `AddV2` and the
  activation, under the fused op's name.

Both compute what the fused op computed, on every backend. Only the main
graph is rewritten: tensorflowjs's passes fuse nothing inside a function (a
kept loop body's MatMul, AddV2 and Relu stay three ops), and with
control_flow_v2 off the lowered loops are in the main graph.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import (
    FreeNames,
    const_node,
    control_inputs,
    data_inputs,
    node_name,
)

# Fused op -> the op it fused, and the attributes that op takes.
_BASE_OPS = {
    "_FusedConv2D": (
        "Conv2D",
        ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    ),
    "FusedDepthwiseConv2dNative": (
        "DepthwiseConv2dNative",
        ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    ),
    "_FusedMatMul": ("MatMul", ("T", "transpose_a", "transpose_b")),
}
_ACTIVATIONS = ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu")


def rank_one_biases(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Gives every fused op of graph_def's main graph a bias wasm runs right, in place.

    Returns:
      The names of the fused ops changed.
    """
    nodes = {node.name: node for node in graph_def.node}
    names = FreeNames(nodes)
    changed, added, replaced_biases = [], [], set()
    for node in list(graph_def.node):
        if node.op not in _BASE_OPS or _fused_ops(node)[:1] != ["BiasAdd"]:
            continue
        bias = nodes.get(node_name(node.input[2]))
        channels = _channels(node, nodes)
        if bias is not None and bias.op == "Const":
            value = tf.make_ndarray(bias.attr["value"].tensor)
            if value.shape == (channels,):
                continue  # what wasm expects
            vector = _channel_vector(value, channels)
        else:
            vector = None
        if vector is not None:
            bias_name = names.free(f"{node.name}/bias")
            added.append(const_node(bias_name, vector, tf.as_dtype(vector.dtype)))
            node.input[2] = added[-1].name
            replaced_biases.add(bias.name)
        else:
            split = _split(node, names)
            if split is None:
                continue
            added += split
        changed.append(node.name)
    graph_def.node.extend(added)
    _drop_unused_constants(graph_def, replaced_biases)
    return changed


def _fused_ops(node: node_def_pb2.NodeDef) -> list[str]:
    return [op.decode() for op in node.attr["fused_ops"].list.s]


def _channels(node: node_def_pb2.NodeDef, nodes: dict[str, node_def_pb2.NodeDef]) -> int | None:
    """The fused op's output channels, from its constant filter or weight."""
    weight = nodes.get(node_name(node.input[1]))
    if weight is None or weight.op != "Const":
        return None
    shape = [d.size for d in weight.attr["value"].tensor.tensor_shape.dim]
    if node.op == "_FusedConv2D":
        return shape[3]
    if node.op == "FusedDepthwiseConv2dNative":
        return shape[2] * shape[3]
    return shape[0] if node.attr["transpose_b"].b else shape[1]


def _channel_vector(value: np.ndarray, channels: int | None) -> np.ndarray | None:
    """A constant bias as one value per channel; None if it is not one or that."""
    if channels is None:
        return None
    if value.size == 1:
        return np.full([channels], value.reshape(()), value.dtype)
    if value.size == channels and value.shape[-1] == channels:
        return value.reshape([channels])
    return None


def _split(fused: node_def_pb2.NodeDef, names: FreeNames) -> list[node_def_pb2.NodeDef] | None:
    """The fused op as its base op, an AddV2 and its activation, the last under its name.

    Returns the nodes to add beside the rewritten one; None (and fused left as
    it is) for an activation this module does not know.
    """
    base_op, attributes = _BASE_OPS[fused.op]
    activation = _fused_ops(fused)[1:]
    if len(activation) > 1 or (activation and activation[0] not in _ACTIVATIONS):
        return None
    data, controls = data_inputs(fused), control_inputs(fused)
    dtype = fused.attr["T"].type
    base = node_def_pb2.NodeDef(name=names.free(f"{fused.name}/{base_op}"), op=base_op)
    base.input.extend([*data[:2], *controls])
    for key in attributes:
        if key in fused.attr:
            base.attr[key].CopyFrom(fused.attr[key])
    # The last node takes the fused op's name, so its consumers are unchanged.
    add_name = names.free(f"{fused.name}/BiasAdd") if activation else fused.name
    add = node_def_pb2.NodeDef(name=add_name, op="AddV2", input=[base.name, data[2]])
    add.attr["T"].type = dtype
    new = [base, add]
    if activation:
        (op,) = activation
        inputs = [add.name, data[3]] if op == "Prelu" else [add.name]
        new.append(node_def_pb2.NodeDef(name=fused.name, op=op, input=inputs))
        new[-1].attr["T"].type = dtype
        if op == "LeakyRelu":
            new[-1].attr["alpha"].f = fused.attr["leakyrelu_alpha"].f
    for node in new:
        node.device = fused.device
    fused.CopyFrom(new.pop())
    return new


def _drop_unused_constants(graph_def: graph_pb2.GraphDef, candidates: set[str]) -> None:
    """Removes the replaced biases that nothing reads any more (they would be weights)."""
    used = {node_name(name) for node in graph_def.node for name in node.input}
    kept = [n for n in graph_def.node if not (n.name in candidates and n.name not in used)]
    if len(kept) != len(graph_def.node):
        del graph_def.node[:]
        graph_def.node.extend(kept)
