"""Graph rewrites so that TF.js's hash tables answer as TensorFlow's do.

TF.js's `LookupTableFindV2` returns one value per key stacked into a vector,
whatever the rank of the keys: words of shape [batch, length] come back as
[batch * length], and the layers after the lookup fail or compute something
else. TensorFlow returns the keys' shape. Each lookup is therefore given
flat keys and its result reshaped to the keys' shape, which is the same
computation in TensorFlow and the right one in TF.js.
"""

from __future__ import annotations

from tensorflow.core.framework import graph_pb2, node_def_pb2, types_pb2
from tensorflow.python.framework import tensor_util

FIND_OPS = ("LookupTableFindV2",)


def _node(name: str, op: str, inputs: list[str], **types: int) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op=op, input=inputs)
    for attr, dtype in types.items():
        node.attr[attr].type = dtype
    return node


def reshape_table_lookups(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Makes every table lookup of graph_def's main graph rank-preserving in TF.js, in place.

    A lookup node N keeps its name, now on a Reshape of `N/flat` (the lookup of
    `N/flat_keys`) to `N/keys_shape`, so its consumers are unchanged.

    Returns:
      The names of the lookups rewritten.
    """
    rewritten = []
    added: list[node_def_pb2.NodeDef] = []
    for find in graph_def.node:
        if find.op not in FIND_OPS or find.name.endswith("/flat"):
            continue
        name, keys = find.name, find.input[1]
        key_type, value_type = find.attr["Tin"].type, find.attr["Tout"].type
        flat_shape = _node(f"{name}/flat_shape", "Const", [], dtype=types_pb2.DT_INT32)
        flat_shape.attr["value"].tensor.CopyFrom(
            tensor_util.make_tensor_proto([-1], dtype=types_pb2.DT_INT32)
        )
        flat_keys = _node(
            f"{name}/flat_keys",
            "Reshape",
            [keys, flat_shape.name],
            T=key_type,
            Tshape=types_pb2.DT_INT32,
        )
        keys_shape = _node(
            f"{name}/keys_shape", "Shape", [keys], T=key_type, out_type=types_pb2.DT_INT32
        )
        find.name = f"{name}/flat"
        find.input[1] = flat_keys.name
        reshaped = _node(
            name, "Reshape", [find.name, keys_shape.name], T=value_type, Tshape=types_pb2.DT_INT32
        )
        added += [flat_shape, flat_keys, keys_shape, reshaped]
        rewritten.append(name)
    graph_def.node.extend(added)
    return rewritten
