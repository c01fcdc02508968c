"""Ops TF.js has no kernel for, or computes wrong, computed with ops it runs right.

`Erfc`: TensorFlow computes the exact GELU as `0.5·x·erfc(-x/√2)`
(`tf.nn.gelu`, Keras's `activation="gelu"`, so most transformer blocks), and
no TF.js backend has an Erfc kernel, while all have Erf. `Erfc(x)` becomes
`1 - Erf(x)`: equal, except that where erfc is below float32's resolution
around 1 (x above about 3.9) it is 0 instead. GELU multiplies it by x/2 where
x is below -5.5, so the difference there stays under 1e-7·|x|.

`OneHot` of any dtype but int32: the wasm backend writes the on and off
values' int32 bits into the output (1.0 comes out as 1.4e-45, -1.0 as NaN),
while its int32 OneHot is right. It becomes an int32 OneHot of 1 and 0 that
selects the on or off value (`SelectV2`), the same on every backend.

Only the main graph is rewritten; an op inside a function (a loop body, a
kept branch) is left for the op check to name.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import FreeNames, const_node


def substitute_missing_kernels(graph: tf.Graph) -> tf.Graph:
    """graph, or a copy of it with every substitutable op replaced."""
    graph_def = graph.as_graph_def()
    if not substitute_erfc(graph_def):
        return graph
    substituted = tf.Graph()
    with substituted.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return substituted


def substitute_erfc(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each Erfc node N of the main graph with `1 - Erf`, in place.

    N keeps its name, now on the Sub, so its consumers are unchanged; the Erf
    is `N/erf` and the constant `N/one` (names made free if taken).

    Returns:
      The names of the nodes replaced.
    """
    replaced = []
    added = []
    names = FreeNames(node.name for node in graph_def.node)
    for node in graph_def.node:
        if node.op != "Erfc":
            continue
        dtype = node.attr["T"].type
        erf = node_def_pb2.NodeDef(name=names.free(f"{node.name}/erf"), op="Erf")
        # Erfc's control inputs now guard the Erf.
        erf.input.extend([node.input[0], *(i for i in node.input[1:] if i.startswith("^"))])
        erf.attr["T"].type = dtype
        one = const_node(names.free(f"{node.name}/one"), 1, tf.as_dtype(dtype))
        node.op = "Sub"
        del node.input[:]
        node.input.extend([one.name, erf.name])
        node.attr.clear()
        node.attr["T"].type = dtype
        added += [one, erf]
        replaced.append(node.name)
    graph_def.node.extend(added)
    return replaced


def one_hot_in_int32(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each non-int32 OneHot node N of the main graph, in place.

    N keeps its name, now on `SelectV2(N/mask, on, off)`, so its consumers
    are unchanged; `N/int32` is the int32 OneHot and `N/mask` its cast to
    bool.

    Returns:
      The names of the nodes replaced.
    """
    int32 = tf.int32.as_datatype_enum
    replaced, added = [], []
    names = FreeNames(node.name for node in graph_def.node)
    for node in graph_def.node:
        if node.op != "OneHot" or node.attr["T"].type == int32:
            continue
        indices, depth, on, off, *controls = node.input
        one, zero = (
            const_node(names.free(f"{node.name}/{name}"), value, tf.int32)
            for name, value in (("one", 1), ("zero", 0))
        )
        ints = node_def_pb2.NodeDef(name=names.free(f"{node.name}/int32"), op="OneHot")
        ints.input.extend([indices, depth, one.name, zero.name, *controls])
        ints.attr["T"].type = int32
        ints.attr["TI"].CopyFrom(node.attr["TI"])
        ints.attr["axis"].CopyFrom(node.attr["axis"])
        mask = node_def_pb2.NodeDef(
            name=names.free(f"{node.name}/mask"), op="Cast", input=[ints.name]
        )
        mask.attr["SrcT"].type = int32
        mask.attr["DstT"].type = tf.bool.as_datatype_enum
        dtype = node.attr["T"].type
        node.op = "SelectV2"
        del node.input[:]
        node.input.extend([mask.name, on, off])
        node.attr.clear()
        node.attr["T"].type = dtype
        added += [one, zero, ints, mask]
        replaced.append(node.name)
    graph_def.node.extend(added)
    return replaced
