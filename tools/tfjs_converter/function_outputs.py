"""Inside a function, an op's outputs named as TF.js reads them: by their flat index.

A function names another node's output by the op's output argument and an
index within it (`top_k:indices:0`), where the main graph counts all outputs
(`top_k:1`). TF.js looks the argument's position up only for the two ops
whose output names its op table lists (StringSplit, StringNGrams); for every
other op it takes the index alone, so `top_k:indices:0` was TopKV2's output
0, its values. A `tf.math.top_k` in a loop body (greedy decoding, beam
search) then computed with the values where it asked for the indices: an
argmax sum came out as 27 where TensorFlow gives 4, with no error, and a
decoder failed with `op elements float32, but list elements int32`.

Each input and result naming an output of an argument after the op's first
is written with the flat index instead (`top_k:indices:1`): TF.js then reads
the right output. TensorFlow would refuse that name, but nothing reads the
converted graph with TensorFlow again; outputs of an op's first argument
(every single-output op, every element of a While's or If's list) are left
as they are.
"""

from __future__ import annotations

from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2
from tensorflow.python.framework import op_def_registry

from tfjs_converter.graph_nodes import graph_scopes


def flat_output_indices(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Writes each function input and result naming a later output argument by flat index.

    Returns:
      `function/node` of each node whose inputs changed, and `function/result`
      of each result.
    """
    library = {function.signature.name: function for function in graph_def.library.function}
    changed = []
    for scope in graph_scopes(graph_def)[1:]:
        nodes = {node.name: node for node in scope.nodes}
        for node in scope.nodes:
            flat = [_flat(name, nodes, library) for name in node.input]
            if flat != list(node.input):
                del node.input[:]
                node.input.extend(flat)
                changed.append(scope.qualified_name(node))
        for key, name in sorted(scope.function.ret.items()):
            flat_name = _flat(name, nodes, library)
            if flat_name != name:
                scope.function.ret[key] = flat_name
                changed.append(f"{scope.function.signature.name}/{key}")
    return changed


def _flat(
    name: str,
    nodes: dict[str, node_def_pb2.NodeDef],
    library: dict[str, function_pb2.FunctionDef],
) -> str:
    """name (`node:argument:index`) with the index counted over all of node's outputs."""
    parts = name.split(":")
    if name.startswith("^") or len(parts) != 3 or parts[0] not in nodes:
        return name  # a control input, or an argument of the function
    node_name, argument, index = parts
    offset = _argument_offset(nodes[node_name], argument, library)
    if not offset:
        return name
    return f"{node_name}:{argument}:{offset + int(index)}"


def _argument_offset(
    node: node_def_pb2.NodeDef, argument: str, library: dict[str, function_pb2.FunctionDef]
) -> int | None:
    """How many outputs of node come before its output argument, or None if unknown."""
    op_def = op_def_registry.get(node.op)
    if op_def is None:  # a call of a library function: one output per argument
        function = library.get(node.op)
        names = [arg.name for arg in function.signature.output_arg] if function else []
        return names.index(argument) if argument in names else None
    offset = 0
    for output in op_def.output_arg:
        if output.name == argument:
            return offset
        if output.number_attr:
            offset += node.attr[output.number_attr].i
        elif output.type_list_attr:
            offset += len(node.attr[output.type_list_attr].list.type)
        else:
            offset += 1
    return None
