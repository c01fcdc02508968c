"""Pieces the graph rewrites share: free node names, constant nodes, the node an input
names, and the scopes (main graph, library functions) a rewrite works in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, MutableSequence, Sequence

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2
from tensorflow.python.framework import op_def_registry


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


def identity_node(
    name: str, tensor: str, dtype: int, controls: Sequence[str] = ()
) -> node_def_pb2.NodeDef:
    """An Identity node of tensor (of dtype), run after the control inputs (`^x`)."""
    node = node_def_pb2.NodeDef(name=name, op="Identity", input=[tensor, *controls])
    node.attr["T"].type = dtype
    return node


def control_inputs(node: node_def_pb2.NodeDef) -> list[str]:
    """node's control inputs (`^x`)."""
    return [name for name in node.input if name.startswith("^")]


def data_inputs(node: node_def_pb2.NodeDef) -> list[str]:
    """node's inputs but its control inputs."""
    return [name for name in node.input if not name.startswith("^")]


def node_name(node_input: str) -> str:
    """The node a NodeDef input names: `x` of `x`, `x:1` and `^x`."""
    return node_input.lstrip("^").split(":")[0]


class GraphScope:
    """The nodes of a GraphDef's main graph, or of one function of its library.

    Kept control flow (a While's body, an If's branches) lives in functions,
    so a rewrite that must reach every node of a model works scope by scope.
    The two kinds name a node's output differently: the main graph as `node`
    (`node:1`), a function as `node:<output argument>:<index>`, the argument
    being the op's own (`y` of Erf, `z` of Sub).

    Attributes:
      nodes: the scope's nodes, changed in place.
      function: the function, or None for the main graph.
      names: names no node (or function argument) of the scope has yet.
    """

    def __init__(
        self,
        nodes: MutableSequence[node_def_pb2.NodeDef],
        function: function_pb2.FunctionDef | None = None,
    ) -> None:
        self.nodes = nodes
        self.function = function
        taken = [node.name for node in nodes]
        if function is not None:
            taken += [argument.name for argument in function.signature.input_arg]
        self.names = FreeNames(taken)

    def qualified_name(self, node: node_def_pb2.NodeDef) -> str:
        """node's name, after its function's (`function/node`) if it is in one."""
        if self.function is None:
            return node.name
        return f"{self.function.signature.name}/{node.name}"

    def output(self, node: node_def_pb2.NodeDef, index: int = 0) -> str:
        """How an input of this scope names node's output `index`.

        In a function, index counts within the op's first output argument
        (the list of a While's or an If's outputs).
        """
        if self.function is None:
            return f"{node.name}:{index}" if index else node.name
        return f"{node.name}:{_first_output_argument(node.op)}:{index}"

    def change_op(self, node: node_def_pb2.NodeDef, op: str) -> None:
        """Gives node (of this scope, one output) the op `op` under the same name.

        In a function the new op's output argument may be another (Erfc's `y`,
        Sub's `z`), so the inputs and results that named node's output are
        renamed with it.
        """
        old_output = self.output(node)
        node.op = op
        new_output = self.output(node)
        if self.function is None or new_output == old_output:
            return
        for consumer in self.nodes:
            for index, name in enumerate(consumer.input):
                if name == old_output:
                    consumer.input[index] = new_output
        for key, name in list(self.function.ret.items()):
            if name == old_output:
                self.function.ret[key] = new_output

    def frame_anchor(self, inputs: Sequence[str]) -> list[str]:
        """A control input (`^x`) that puts a new constant in the loop frame of inputs.

        In a lowered loop (Enter, Merge, Switch, Exit nodes in the main graph)
        a node belongs to the frame of its inputs, and a constant, having
        none, to the outermost one: TensorFlow refuses a node whose inputs come
        from two frames. The anchor is the first input made by a node that is
        not a constant. Empty in functions (a kept loop's body is a frame of
        its own) and where the graph has no lowered loop.
        """
        if self.function is not None or not any(node.op == "Enter" for node in self.nodes):
            return []
        ops = {node.name: node.op for node in self.nodes}
        producers = [node_name(name) for name in inputs]
        return [f"^{name}" for name in producers if ops.get(name) != "Const"][:1]

    def add_fragment(
        self,
        fragment: Fragment,
        prefix: str,
        controls: Sequence[str] = (),
        names: Mapping[str, str] | None = None,
    ) -> dict[str, node_def_pb2.NodeDef]:
        """The nodes of fragment wired into this scope.

        fragment's placeholders stand for its operands and are not made. Its
        other nodes are named as names says, else `<prefix>/<their name>`
        (made free); those without an input from another made node run after
        controls (`^x`).

        Returns:
          The new nodes by their fragment names, not yet in the scope.
        """
        names = names or {}
        inputs = fragment.inputs
        made = {
            part.name: node_def_pb2.NodeDef(
                name=names.get(part.name) or self.names.free(f"{prefix}/{part.name}"),
                op=part.op,
                attr=part.attr,
            )
            for part in fragment.graph_def.node
            if part.name not in inputs
        }
        for part in fragment.graph_def.node:
            if part.name not in inputs:
                new = made[part.name]
                for name in part.input:
                    source, _, index = name.lstrip("^").partition(":")
                    if name.startswith("^"):
                        new.input.append(f"^{made[source].name}")
                    elif source in inputs:
                        new.input.append(inputs[source])
                    else:
                        new.input.append(self.output(made[source], int(index or 0)))
                if not any(node_name(name) in made for name in part.input):
                    new.input.extend(controls)
        return made

    def splice(
        self, node: node_def_pb2.NodeDef, fragment: Fragment, controls: Sequence[str] = ()
    ) -> list[node_def_pb2.NodeDef]:
        """Puts fragment (of one result) in the place of node (of one output).

        As add_fragment, under node's name as prefix; the result's node takes
        node's name and place, so node's consumers read it.

        Returns:
          The nodes to add to the scope (node itself is changed in place).
        """
        (output,) = fragment.results
        made = self.add_fragment(fragment, node.name, controls, {output: node.name})
        self.change_op(node, made[output].op)
        node.CopyFrom(made.pop(output))
        return list(made.values())


# An operand of a fragment: its dtype, static shape and name in the scope.
Operand = tuple[tf.DType, tf.TensorShape, str]


@dataclasses.dataclass(frozen=True)
class Fragment:
    """Ops built apart, to be put in a scope (GraphScope.add_fragment, splice).

    Attributes:
      graph_def: the ops, with a placeholder for each operand.
      inputs: placeholder name -> the operand's name in the scope.
      results: the names of the nodes whose outputs are the results.
    """

    graph_def: graph_pb2.GraphDef
    inputs: dict[str, str]
    results: list[str]


def build_fragment(
    operands: Sequence[Operand], build: Callable[..., tf.Tensor | Sequence[tf.Tensor] | None]
) -> Fragment | None:
    """What build makes of placeholders standing for operands, or None if it makes nothing.

    build takes one placeholder per operand and returns a tensor or several.
    """
    graph = tf.Graph()
    with graph.as_default():
        placeholders = [
            tf.compat.v1.placeholder(dtype, shape, name=f"operand_{index}")
            for index, (dtype, shape, _) in enumerate(operands)
        ]
        built = build(*placeholders)
        if built is None:
            return None
        tensors = [built] if isinstance(built, tf.Tensor) else list(built)
        # A result that is an operand itself still needs a node of its own.
        tensors = [tf.identity(t) if t.op.type == "Placeholder" else t for t in tensors]
    inputs = {p.op.name: name for p, (_, _, name) in zip(placeholders, operands, strict=True)}
    return Fragment(graph.as_graph_def(), inputs, [tensor.op.name for tensor in tensors])


def graph_scopes(graph_def: graph_pb2.GraphDef) -> list[GraphScope]:
    """The main graph's scope, then one per function of graph_def's library."""
    return [GraphScope(graph_def.node)] + [
        GraphScope(function.node_def, function) for function in graph_def.library.function
    ]


def _first_output_argument(op: str) -> str:
    op_def = op_def_registry.get(op)
    if op_def is None or not op_def.output_arg:
        raise ValueError(f"op {op} is not registered with one output or more")
    return op_def.output_arg[0].name
