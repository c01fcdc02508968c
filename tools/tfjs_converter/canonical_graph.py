"""A converted graph made independent of what its process did before.

Two parts of a graph TensorFlow builds depend on the process's history, so a
model converted after another one in the same process (a persistent worker)
got other bytes for the same action key:

* Function names. TensorFlow names the functions of a loaded SavedModel with
  a number from a counter that runs for the whole process
  (`__inference_while_body_48_174`), and tensorflowjs's freezing adds another
  (`__inference_cond_true_16_frozen_276`). They reach model.json, the weight
  names (tensorflowjs prefixes a function's constants with its name) and so
  the shard layout. Each function is renamed to its name without those
  numbers (and without any other trailing number: a function named `step_2`
  becomes `step_0`) and an index that counts, per name, in the order the
  graph first uses them: the main graph's nodes in order, then, depth first,
  the nodes of each function they call. The library is then listed in that
  order.
* The `_has_manual_control_dependencies` attribute, a note TensorFlow's
  tracing leaves on ops; lowering control flow (`control_flow_v2` off) copies
  it onto more or fewer nodes from one conversion to the next. TF.js never
  reads it, so it is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from tensorflow.core.framework import attr_value_pb2, function_pb2, graph_pb2, node_def_pb2

# Trailing counters: `_174`, `_frozen_276`, and runs of them.
_COUNTERS = re.compile(r"(?:_frozen|_\d+)+$")


# Attributes that vary with the process's history and that TF.js never reads.
_HISTORY_ATTRIBUTES = ("_has_manual_control_dependencies",)


def canonicalize_graph(graph_def: graph_pb2.GraphDef) -> dict[str, str]:
    """Makes graph_def the same whatever its process converted before, in place.

    Returns:
      The old name of each function -> its new name.
    """
    for node in _all_nodes(graph_def):
        for attribute in _HISTORY_ATTRIBUTES:
            if attribute in node.attr:
                del node.attr[attribute]
    return canonicalize_function_names(graph_def)


def canonicalize_function_names(graph_def: graph_pb2.GraphDef) -> dict[str, str]:
    """Renames graph_def's functions in place, and every use of them.

    Returns:
      The old name of each function -> its new name.
    """
    functions = {function.signature.name: function for function in graph_def.library.function}
    if not functions:
        return {}
    order = _first_use_order(graph_def, functions)
    renamed: dict[str, str] = {}
    count: dict[str, int] = {}
    for name in order:
        stem = _COUNTERS.sub("", name) or "function"
        renamed[name] = f"{stem}_{count.get(stem, 0)}"
        count[stem] = count.get(stem, 0) + 1
    for node in _all_nodes(graph_def):
        _rename_node(node, renamed)
    for function in functions.values():
        for call in _function_attributes(function.attr):
            call.name = renamed.get(call.name, call.name)
    listed = []
    for name in order:
        function = functions[name]
        function.signature.name = renamed[name]
        listed.append(function)
    del graph_def.library.function[:]
    graph_def.library.function.extend(listed)
    for gradient in graph_def.library.gradient:
        gradient.function_name = renamed.get(gradient.function_name, gradient.function_name)
        gradient.gradient_func = renamed.get(gradient.gradient_func, gradient.gradient_func)
    return renamed


def _first_use_order(
    graph_def: graph_pb2.GraphDef, functions: dict[str, function_pb2.FunctionDef]
) -> list[str]:
    order: dict[str, None] = {}  # insertion-ordered set

    def walk(nodes: Iterable[node_def_pb2.NodeDef]) -> None:
        stack = [_calls(nodes)]
        while stack:
            name = next(stack[-1], None)
            if name is None:
                stack.pop()
            elif name in functions and name not in order:
                order[name] = None
                stack.append(_calls(functions[name].node_def))

    walk(graph_def.node)
    # Functions the graph never calls come last, by their numbers: counters
    # only grow, so those keep their relative order in every process.
    for name in sorted(functions, key=_numbers_then_name):
        if name not in order:
            order[name] = None
            walk(functions[name].node_def)
    return list(order)


def _calls(nodes: Iterable[node_def_pb2.NodeDef]) -> Iterator[str]:
    for node in nodes:
        yield from _called_functions(node)


def _numbers_then_name(name: str) -> tuple[tuple[int, ...], str]:
    match = _COUNTERS.search(name)
    numbers = re.findall(r"\d+", match.group()) if match else []
    return tuple(int(n) for n in numbers), name


def _all_nodes(graph_def: graph_pb2.GraphDef) -> Iterator[node_def_pb2.NodeDef]:
    yield from graph_def.node
    for function in graph_def.library.function:
        yield from function.node_def


def _called_functions(node: node_def_pb2.NodeDef) -> Iterator[str]:
    """The functions node calls: as its op, or in its attributes (If, While, PartitionedCall)."""
    yield node.op
    for call in _function_attributes(node.attr):
        yield call.name


def _rename_node(node: node_def_pb2.NodeDef, renamed: dict[str, str]) -> None:
    node.op = renamed.get(node.op, node.op)
    for call in _function_attributes(node.attr):
        call.name = renamed.get(call.name, call.name)


def _function_attributes(
    attributes: Mapping[str, attr_value_pb2.AttrValue],
) -> Iterator[attr_value_pb2.NameAttrList]:
    """Every function value among attributes, and among those functions' own attributes."""
    for key in sorted(attributes):
        value = attributes[key]
        for call in [value.func] if value.HasField("func") else value.list.func:
            yield call
            yield from _function_attributes(call.attr)
