"""Loops and branches return the tensors they store in TensorLists, so TF.js keeps them.

A `tf.TensorArray` written in a `tf.while_loop` (and every Keras RNN: LSTM,
GRU, SimpleRNN) becomes a `TensorListSetItem` (or `TensorListPushBack`)
inside the While's body function, or inside a branch function of an If in
that body. When TF.js has run a function, it disposes every tensor the
function computed except its results, inputs and weights, whether a
TensorList holds it or not. The list then holds disposed tensors, and
reading it after the loop fails: `Cannot read properties of undefined
(reading 'backend')`. On the cpu backend a single Keras RNN escapes by
chance, as its stored tensor shares its memory with a returned Identity;
wasm's Identity copies, and other writes fail on both.

So each stored tensor that a function does not already return, take as an
input or hold as a constant becomes one more result of that function:
- of a loop body, as one more loop variable (the body returns it through an
  Identity, the condition takes and ignores it, the While starts it at a
  scalar zero);
- of an If's branch, as one more output of the If (the other branch returns
  a scalar zero in its place).
The new outputs of a loop or an If inside a function are in turn results of
that function, as the list may be one made outside it (a loop in a loop
writing the outer loop's array).
TF.js then keeps each stored tensor as it keeps every result (and the list
keeps it through the next iteration). TensorFlow computes what it computed
before. Only While and If are followed: a store in a function that
something else calls is left as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import (
    FreeNames,
    GraphScope,
    const_node,
    control_inputs,
    data_inputs,
    graph_scopes,
    identity_node,
)

# TensorList op -> the index of the input it stores.
_STORES = {"TensorListSetItem": 2, "TensorListPushBack": 1}
_WHILE_OPS = ("While", "StatelessWhile")
_IF_OPS = ("If", "StatelessIf")


@dataclasses.dataclass
class _Stored:
    """A tensor a function must return, as its nodes' inputs name it; the stores it serves."""

    tensor: str
    dtype: int
    after: str | None  # the node that made TF.js keep it: the store, or the If
    stores: list[str]


def return_stored_tensors(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Makes graph_def's loops and branches return the tensors they store, in place.

    Returns:
      `function/node` of each TensorList op whose stored tensor is now returned.
    """
    main, *functions = graph_scopes(graph_def)
    rewrite = _Rewrite({scope.function.signature.name: scope for scope in functions})
    rewrite.control_flow(main)
    return rewrite.changed


class _Rewrite:
    def __init__(self, functions: dict[str, GraphScope]) -> None:
        self._functions = functions
        # Loop body -> dtypes of the loop variables it gained; pair of
        # branches -> dtypes and stores of the If's new outputs.
        self._added: dict[str | tuple[str, str], list] = {}
        self.changed: list[str] = []

    def control_flow(self, scope: GraphScope) -> list[_Stored]:
        """Rewrites the loops and branches of scope: the outputs they gained."""
        gained = []
        for node in list(scope.nodes):
            if node.op in _WHILE_OPS:
                count = len(node.attr["T"].list.type)
                dtypes = self._loop(node.attr["body"].func.name, node.attr["cond"].func.name)
                for index, dtype in enumerate(dtypes):
                    _add_loop_input(scope, node, dtype)
                    # The last value stored: a list made outside this scope
                    # holds it after the scope has run.
                    gained.append(_Stored(scope.output(node, count + index), dtype, node.name, []))
            elif node.op in _IF_OPS:
                stored = self._branches(
                    node.attr["then_branch"].func.name, node.attr["else_branch"].func.name
                )
                outputs = node.attr["Tout"].list.type
                for dtype, stores in stored:
                    gained.append(
                        _Stored(scope.output(node, len(outputs)), dtype, node.name, stores)
                    )
                    outputs.append(dtype)
                    if "output_shapes" in node.attr:
                        node.attr["output_shapes"].list.shape.add(unknown_rank=True)
        return gained

    def _stored(self, name: str) -> list[_Stored]:
        """What function `name` must return: what it stores, what its loops and Ifs gained."""
        scope = self._functions[name]
        return self.control_flow(scope) + list(_unreturned_stores(scope))

    def _loop(self, body: str, condition: str) -> list[int]:
        if body not in self._added:
            self._added[body] = []  # a body two loops share changes once
            body_scope, dtypes = self._functions[body], []
            for stored in self._stored(body):
                _add_result(body_scope, stored)
                _add_argument(body_scope, stored.dtype)
                _add_argument(self._functions[condition], stored.dtype)
                dtypes.append(stored.dtype)
                self.changed += stored.stores
            self._added[body] = dtypes
        return self._added[body]

    def _branches(self, then_branch: str, else_branch: str) -> list[tuple[int, list[str]]]:
        """The If's new outputs, what either branch stores: their dtypes and stores.

        The If returns then's tensors, then else's; a branch returns a zero in
        place of each of the other's.
        """
        key = (then_branch, else_branch)
        if key not in self._added:
            self._added[key] = []
            then_scope, else_scope = self._functions[then_branch], self._functions[else_branch]
            then_stored, else_stored = self._stored(then_branch), self._stored(else_branch)
            for result in then_stored + [_zero_stand_in(then_scope, s.dtype) for s in else_stored]:
                _add_result(then_scope, result)
            for result in [_zero_stand_in(else_scope, s.dtype) for s in then_stored] + else_stored:
                _add_result(else_scope, result)
            self._added[key] = [(s.dtype, s.stores) for s in then_stored + else_stored]
        return self._added[key]


def _unreturned_stores(scope: GraphScope) -> Iterator[_Stored]:
    """Each tensor scope's function stores and TF.js would dispose."""
    function = scope.function
    safe = set(function.ret.values()) | {argument.name for argument in function.signature.input_arg}
    safe |= {f"{node.name}:output:0" for node in function.node_def if node.op == "Const"}
    for node in function.node_def:
        if node.op not in _STORES:
            continue
        item = node.input[_STORES[node.op]]
        dtype = node.attr["element_dtype"].type
        if item not in safe and _zero(dtype) is not None:
            safe.add(item)  # stored twice, returned once
            yield _Stored(item, dtype, node.name, [scope.qualified_name(node)])


def _add_loop_input(scope: GraphScope, loop: node_def_pb2.NodeDef, dtype: int) -> None:
    """Adds an input of dtype to loop, starting at 0, and the output that goes with it."""
    start = _zero_node(scope, dtype, f"{loop.name}/stored_start")
    # Control inputs come last in a NodeDef.
    inputs = [*data_inputs(loop), start, *control_inputs(loop)]
    del loop.input[:]
    loop.input.extend(inputs)
    loop.attr["T"].list.type.append(dtype)
    if "output_shapes" in loop.attr:
        loop.attr["output_shapes"].list.shape.add(unknown_rank=True)


def _add_argument(scope: GraphScope, dtype: int) -> None:
    scope.function.signature.input_arg.add(name=scope.names.free("stored"), type=dtype)


def _add_result(scope: GraphScope, stored: _Stored) -> None:
    """Makes scope's function return the stored tensor itself, the object TF.js then keeps.

    Through an Identity run after the node that kept it: TF.js's Identity
    passes a kept tensor on as it is (and copies any other). A result of its
    own node, as TF.js maps each result of a function to a node and one
    output index per node, so two results naming outputs of one node (an
    If's) would both return the same.
    """
    identity = identity_node(
        scope.names.free("stored/identity"),
        stored.tensor,
        stored.dtype,
        [f"^{stored.after}"] if stored.after else [],
    )
    scope.nodes.append(identity)
    outputs = FreeNames(a.name for a in scope.function.signature.output_arg)
    output = scope.function.signature.output_arg.add(name=outputs.free("stored"), type=stored.dtype)
    scope.function.ret[output.name] = scope.output(identity)


def _zero_stand_in(scope: GraphScope, dtype: int) -> _Stored:
    """A scalar zero of dtype, added to scope, to return in place of a stored tensor."""
    # No control input: tensorflowjs moves the constant out of the function.
    return _Stored(_zero_node(scope, dtype), dtype, None, [])


def _zero_node(scope: GraphScope, dtype: int, name: str = "stored_zero") -> str:
    """Adds a Const scalar zero of dtype to scope: its output."""
    zero = const_node(scope.names.free(name), _zero(dtype), tf.as_dtype(dtype))
    scope.nodes.append(zero)
    return scope.output(zero)


def _zero(dtype: int) -> np.ndarray | bytes | None:
    """A scalar of dtype to stand in for a stored tensor; None for lists of lists or resources."""
    dtype = tf.as_dtype(dtype)
    if dtype == tf.string:
        return b""
    if dtype in (tf.variant, tf.resource):
        return None
    return np.zeros((), dtype.as_numpy_dtype)
