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

`ReverseV2` of bools: the wasm backend's kernel gives wrong values (99 for
true) or aborts with `memory access out of bounds` (a Keras RNN with
`go_backwards` or a Bidirectional one reverses its bool mask). It becomes
an int32 ReverseV2 between two casts.

`Select` and `SelectV2` of bools: the wasm backend's kernel writes past its
output, and a later disposal aborts with `memory access out of bounds`
(`tf.where` between masks; TF.js's own band_part of a bool causal mask).
They become int32 selects between casts.

`ResourceGather` of a frozen variable inside a function: freezing turns a
variable a loop body reads (an embedding looked up in a decoding loop) into
a float input of the body, and its `ReadVariableOp` into an Identity, but
leaves the `tf.gather` from it a ResourceGather, which expects a resource:
TF.js has no such kernel, and TensorFlow's own optimizer refuses the graph.
It becomes the GatherV2 it stands for, along axis `batch_dims` (freezing
already does so for a ResourceGatherNd).

`Einsum`: the wasm backend has no kernel, and cpu's computed some equations
wrong (see `einsum.py`, which builds its replacement).

`SpaceToDepth` (NHWC): no backend has a kernel; a reshape, a transpose and a
reshape compute it.

`GatherV2` with batch axes: the wasm backend's gave wrong values; the same
gather from params whose batch axes are merged computes it.

`MatrixBandPart`: TF.js reads its `num_upper` from `num_lower`'s input (a
causal mask kept the whole matrix); a select by the band's mask computes it.

All are rewritten in the main graph and in every function of its library:
with `control_flow_v2` on (the default), a loop's body and a branch of a
`tf.cond` are functions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.einsum import einsum_as_matmul, parse
from tfjs_converter.graph_nodes import (
    GraphScope,
    Operand,
    build_fragment,
    const_node,
    control_inputs,
    data_inputs,
    graph_scopes,
    node_name,
)

# The static shape of a main-graph tensor, by its name in a node's input (`x`, `x:1`).
StaticShapes = Callable[[str], tf.TensorShape]


def substitute_missing_kernels(graph: tf.Graph) -> tf.Graph:
    """graph, or a copy of it with every substitutable op replaced."""
    graph_def = graph.as_graph_def()
    shapes = partial(_static_shape, graph)
    replaced = (
        substitute_erfc(graph_def)
        + gathers_of_frozen_variables(graph_def)
        + einsums_as_matmuls(graph_def, shapes)
        + space_to_depth_as_reshapes(graph_def, shapes)
        + bands_as_selects(graph_def, shapes)
        + batched_gathers_as_flat(graph_def, shapes)
    )
    if not replaced:
        return graph
    substituted = tf.Graph()
    with substituted.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return substituted


def substitute_erfc(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each Erfc node N of graph_def with `1 - Erf`, in place.

    N keeps its name, now on the Sub, so its consumers are unchanged; the Erf
    is `N/erf` and the constant `N/one` (names made free if taken).

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "Erfc", _one_minus_erf)


def one_hot_in_int32(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each non-int32 OneHot node N of graph_def, in place.

    N keeps its name, now on `SelectV2(N/mask, on, off)`, so its consumers
    are unchanged; `N/int32` is the int32 OneHot and `N/mask` its cast to
    bool.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "OneHot", _selected_by_int32_one_hot)


def bool_reverse_in_int32(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each bool ReverseV2 node N of graph_def, in place.

    N keeps its name, now on the Cast back to bool of `N/reversed`, the int32
    ReverseV2 of `N/int32`.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "ReverseV2", _reversed_as_int32)


def bool_selects_in_int32(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each Select or SelectV2 node N of bools in graph_def, in place.

    N keeps its name, now on the Cast back to bool of `N/selected`, the same
    select of int32 casts (`N/then`, `N/else`).

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "SelectV2", _selected_as_int32) + _replace_each(
        graph_def, "Select", _selected_as_int32
    )


def gathers_of_frozen_variables(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces each ResourceGather node N reading a frozen function input, in place.

    N keeps its name, now on a GatherV2; its axis is the constant `N/axis`.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "ResourceGather", _gather_v2)


def einsums_as_matmuls(
    graph_def: graph_pb2.GraphDef, shapes: StaticShapes | None = None
) -> list[str]:
    """Replaces each float Einsum node N of graph_def that `einsum.py` decomposes, in place.

    N keeps its name, on the last op of its replacement (a Transpose, a
    Reshape, the matrix product, a Sum); the others are `N/<op name>`.

    Args:
      graph_def: changed in place.
      shapes: the static shapes of the main graph's tensors, which an
        ellipsis needs (in a function, an Einsum with one is left as it is).

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "Einsum", partial(_einsum_as_matmul, shapes))


def space_to_depth_as_reshapes(
    graph_def: graph_pb2.GraphDef, shapes: StaticShapes | None = None
) -> list[str]:
    """Replaces each NHWC SpaceToDepth node N of graph_def, in place.

    N keeps its name, on the last Reshape; TF.js has no SpaceToDepth kernel
    (YOLOv5's Focus layer, `tf.nn.space_to_depth`), and a reshape, a
    transpose of four axes and a reshape compute it.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "SpaceToDepth", partial(_space_to_depth_as_reshapes, shapes))


def bands_as_selects(
    graph_def: graph_pb2.GraphDef, shapes: StaticShapes | None = None
) -> list[str]:
    """Replaces each MatrixBandPart node N of graph_def, in place.

    N keeps its name, on a SelectV2 of the band's mask, the matrix and zeros.
    TF.js reads MatrixBandPart's `num_upper` from the input of `num_lower`,
    so `tf.linalg.band_part(x, -1, 0)` (a causal mask: Keras's
    `use_causal_mask=True`) kept the whole matrix, with no error.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "MatrixBandPart", partial(_band_as_select, shapes))


def batched_gathers_as_flat(
    graph_def: graph_pb2.GraphDef, shapes: StaticShapes | None = None
) -> list[str]:
    """Replaces each GatherV2 node N with batch axes (`batch_dims` > 0), in place.

    N keeps its name, on a GatherV2 without batch axes from the params with
    their batch axes merged into the gathered one, at indices offset by
    their batch row. TF.js's wasm gather with `batch_dims` gave wrong
    values (`tf.gather(seq, ids, batch_dims=1)`). Only gathers along the
    axis right after the batch axes (the default) are rewritten.

    Returns:
      The names of the nodes replaced (`function/N` inside a function).
    """
    return _replace_each(graph_def, "GatherV2", partial(_batched_gather_as_flat, shapes))


Replacement = Callable[[GraphScope, node_def_pb2.NodeDef], list[node_def_pb2.NodeDef] | None]


def _replace_each(graph_def: graph_pb2.GraphDef, op: str, replace: Replacement) -> list[str]:
    """Calls replace on each node of op in every scope of graph_def.

    replace changes the node in place and returns the nodes it needs added,
    or None to leave the node as it is.
    """
    replaced = []
    for scope in graph_scopes(graph_def):
        added = []
        for node in scope.nodes:
            if node.op == op and (new := replace(scope, node)) is not None:
                added += new
                replaced.append(scope.qualified_name(node))
        scope.nodes.extend(added)
    return replaced


def _one_minus_erf(
    scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    dtype = node.attr["T"].type
    if not dtype:  # a polymorphic function's placeholder: left for the op check
        return None
    erf = node_def_pb2.NodeDef(name=scope.names.free(f"{node.name}/erf"), op="Erf")
    # Erfc's control inputs now guard the Erf.
    erf.input.extend([node.input[0], *control_inputs(node)])
    erf.attr["T"].type = dtype
    one = const_node(scope.names.free(f"{node.name}/one"), 1, tf.as_dtype(dtype))
    one.input.extend(scope.frame_anchor(node.input[:1]))
    scope.change_op(node, "Sub")
    del node.input[:]
    node.input.extend([scope.output(one), scope.output(erf)])
    node.attr.clear()
    node.attr["T"].type = dtype
    return [one, erf]


def _selected_by_int32_one_hot(
    scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    int32 = tf.int32.as_datatype_enum
    dtype = node.attr["T"].type
    if dtype in (0, int32):
        return None
    indices, depth, on, off, *controls = node.input
    one, zero = (
        const_node(scope.names.free(f"{node.name}/{name}"), value, tf.int32)
        for name, value in (("one", 1), ("zero", 0))
    )
    ints = node_def_pb2.NodeDef(name=scope.names.free(f"{node.name}/int32"), op="OneHot")
    ints.input.extend([indices, depth, scope.output(one), scope.output(zero), *controls])
    ints.attr["T"].type = int32
    ints.attr["TI"].CopyFrom(node.attr["TI"])
    ints.attr["axis"].CopyFrom(node.attr["axis"])
    mask = _cast(scope.names.free(f"{node.name}/mask"), scope.output(ints), tf.int32, tf.bool)
    scope.change_op(node, "SelectV2")
    del node.input[:]
    node.input.extend([scope.output(mask), on, off])
    node.attr.clear()
    node.attr["T"].type = dtype
    return [one, zero, ints, mask]


def _gather_v2(scope: GraphScope, node: node_def_pb2.NodeDef) -> list[node_def_pb2.NodeDef] | None:
    if scope.function is None:
        return None
    types = {argument.name: argument.type for argument in scope.function.signature.input_arg}
    if types.get(node.input[0], tf.resource.as_datatype_enum) == tf.resource:
        return None  # not a frozen variable: left for the op check to name
    params_type, indices_type = node.attr["dtype"].type, node.attr["Tindices"].type
    batch_dims = node.attr["batch_dims"].i
    axis = const_node(scope.names.free(f"{node.name}/axis"), batch_dims, tf.int32)
    params, indices, *controls = node.input
    scope.change_op(node, "GatherV2")
    del node.input[:]
    node.input.extend([params, indices, scope.output(axis), *controls])
    node.attr.clear()
    node.attr["Tparams"].type = params_type
    node.attr["Tindices"].type = indices_type
    node.attr["Taxis"].type = tf.int32.as_datatype_enum
    node.attr["batch_dims"].i = batch_dims
    return [axis]


def _reversed_as_int32(
    scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    if node.attr["T"].type != tf.bool.as_datatype_enum:
        return None
    tensor, axis, *controls = node.input
    ints = _cast(scope.names.free(f"{node.name}/int32"), tensor, tf.bool, tf.int32)
    reverse = node_def_pb2.NodeDef(name=scope.names.free(f"{node.name}/reversed"), op="ReverseV2")
    reverse.input.extend([scope.output(ints), axis, *controls])
    reverse.attr["T"].type = tf.int32.as_datatype_enum
    reverse.attr["Tidx"].CopyFrom(node.attr["Tidx"])
    scope.change_op(node, "Cast")
    node.CopyFrom(_cast(node.name, scope.output(reverse), tf.int32, tf.bool))
    return [ints, reverse]


_FLOAT_TYPES = frozenset(t.as_datatype_enum for t in (tf.float16, tf.float32, tf.float64))


def _einsum_as_matmul(
    shapes: StaticShapes | None, scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    dtype = node.attr["T"].type
    if dtype not in _FLOAT_TYPES:
        return None
    operands = data_inputs(node)
    known = [_known_shape(shapes, scope, name) for name in operands]
    equation = parse(node.attr["equation"].s.decode(), [shape.rank for shape in known])
    if equation is None:
        return None
    shaped = [
        shape if shape.rank is not None else tf.TensorShape([None] * len(labels))
        for shape, labels in zip(known, equation.operands, strict=True)
    ]
    return _spliced(
        scope,
        node,
        [(tf.as_dtype(dtype), shape, name) for shape, name in zip(shaped, operands, strict=True)],
        lambda *placeholders: einsum_as_matmul(equation, placeholders),
    )


def _space_to_depth_as_reshapes(
    shapes: StaticShapes | None, scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    if node.attr["data_format"].s not in (b"", b"NHWC"):
        return None
    block = node.attr["block_size"].i
    (image,) = data_inputs(node)
    shape = _known_shape(shapes, scope, image)
    if shape.rank is None:
        shape = tf.TensorShape([None] * 4)

    def build(x):
        # Rows of blocks, each row's blocks side by side: [b·h/s, s, w/s, s·c];
        # then each block's s rows of s·c values next to one another.
        size = tf.shape(x)
        rows = tf.reshape(x, tf.stack([-1, block, size[2] // block, block * size[3]]))
        blocks = tf.transpose(rows, [0, 2, 1, 3])
        depth = block * block * size[3]
        return tf.reshape(blocks, tf.stack([size[0], size[1] // block, size[2] // block, depth]))

    return _spliced(scope, node, [(tf.as_dtype(node.attr["T"].type), shape, image)], build)


def _band_as_select(
    shapes: StaticShapes | None, scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    matrix, lower, upper = data_inputs(node)
    index = tf.as_dtype(node.attr["Tindex"].type)

    def build(x, below, above):
        size = tf.shape(x)
        rows = tf.range(size[-2])[:, None]
        columns = tf.range(size[-1])[None, :]
        below, above = tf.cast(below, tf.int32), tf.cast(above, tf.int32)
        keep = tf.logical_and(
            tf.logical_or(below < 0, rows - columns <= below),
            tf.logical_or(above < 0, columns - rows <= above),
        )
        return tf.where(keep, x, tf.zeros_like(x))

    scalar = tf.TensorShape([])
    operands = [
        (tf.as_dtype(node.attr["T"].type), _known_shape(shapes, scope, matrix), matrix),
        (index, scalar, lower),
        (index, scalar, upper),
    ]
    return _spliced(scope, node, operands, build)


def _batched_gather_as_flat(
    shapes: StaticShapes | None, scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    batch_dims = node.attr["batch_dims"].i
    if batch_dims <= 0:
        return None
    params, indices, axis = data_inputs(node)
    axis_value = _constant_value(scope, axis)
    if axis_value is None or int(axis_value) != batch_dims:
        return None  # a gather along a later axis than the batch ones: left as it is

    def build(x, ids):
        # Row r of the batch starts at r * (size of the gathered axis) in x
        # with its batch axes merged into the gathered one.
        size = tf.shape(x, out_type=ids.dtype)
        rows = tf.reshape(tf.range(tf.reduce_prod(size[:batch_dims])), size[:batch_dims])
        trailing = tf.ones_like(tf.shape(ids, out_type=ids.dtype)[batch_dims:])
        rows = tf.reshape(rows, tf.concat([size[:batch_dims], trailing], 0))
        flat = tf.reshape(x, tf.concat([[-1], size[batch_dims + 1 :]], 0))
        return tf.gather(flat, ids + rows * size[batch_dims], axis=0)

    operands = [
        (tf.as_dtype(node.attr["Tparams"].type), _known_shape(shapes, scope, params), params),
        (tf.as_dtype(node.attr["Tindices"].type), _known_shape(shapes, scope, indices), indices),
    ]
    return _spliced(scope, node, operands, build)


def _constant_value(scope: GraphScope, tensor: str):
    """The value of a Const node's output, or None."""
    producer = next((n for n in scope.nodes if n.name == node_name(tensor)), None)
    if producer is None or producer.op != "Const":
        return None
    return tf.make_ndarray(producer.attr["value"].tensor)


def _spliced(
    scope: GraphScope,
    node: node_def_pb2.NodeDef,
    operands: list[Operand],
    build: Callable[..., tf.Tensor | None],
) -> list[node_def_pb2.NodeDef] | None:
    """Puts what build makes of operands in node's place; None if it makes nothing."""
    fragment = build_fragment(operands, build)
    if fragment is None:
        return None
    names = [name for _, _, name in operands]
    return scope.splice(node, fragment, control_inputs(node) + scope.frame_anchor(names))


def _known_shape(shapes: StaticShapes | None, scope: GraphScope, name: str) -> tf.TensorShape:
    """The static shape of a main-graph tensor; in a function, none is known."""
    if shapes is None or scope.function is not None:
        return tf.TensorShape(None)
    return shapes(name)


def _static_shape(graph: tf.Graph, node_input: str) -> tf.TensorShape:
    name, _, index = node_input.partition(":")
    return graph.get_tensor_by_name(f"{name}:{index or 0}").shape


def _selected_as_int32(
    scope: GraphScope, node: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef] | None:
    if node.attr["T"].type != tf.bool.as_datatype_enum:
        return None
    condition, then, otherwise, *controls = node.input
    then_ints, else_ints = (
        _cast(scope.names.free(f"{node.name}/{part}"), tensor, tf.bool, tf.int32)
        for part, tensor in (("then", then), ("else", otherwise))
    )
    selected = node_def_pb2.NodeDef(name=scope.names.free(f"{node.name}/selected"), op=node.op)
    selected.input.extend([condition, scope.output(then_ints), scope.output(else_ints), *controls])
    selected.attr["T"].type = tf.int32.as_datatype_enum
    scope.change_op(node, "Cast")
    node.CopyFrom(_cast(node.name, scope.output(selected), tf.int32, tf.bool))
    return [then_ints, else_ints, selected]


def _cast(name: str, tensor: str, source: tf.DType, destination: tf.DType) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op="Cast", input=[tensor])
    node.attr["SrcT"].type = source.as_datatype_enum
    node.attr["DstT"].type = destination.as_datatype_enum
    return node
