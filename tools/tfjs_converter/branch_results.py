"""What a branch or a loop body returns reaches TF.js as TensorFlow returns it.

Kept control flow (`control_flow_v2` on), a function's results (`ret`):
* tensorflowjs moves each constant of a library function into the weights,
  renamed `function/name`, and renames the inputs that name it, but not the
  results, which go on naming the old one. TF.js then never finds the
  result: a `tf.cond` branch returning a constant (`y = tf.constant(1.0)`
  under an `if`) and every autograph `break`, whose branches return True or
  False, failed with `Cannot compute the outputs [Identity] from the
  provided inputs` or `Cannot read properties of undefined (reading 'id')`.
  tensorflowjs's own converter writes the same files.
* TF.js maps each result to a node and one output index per node: results
  naming two outputs of one node (a loop body returning an If's outputs, as
  TensorFlow's optimizer leaves `break` with `continue`) all returned the
  last, and the model's outputs came out as the wrong tensors.
Each such result names an Identity of its own instead.

Lowered control flow (`control_flow_v2` off): a branch's constant is a Const
whose control input is the branch's pivot, and a Merge takes the branches'
results. TF.js holds every Const as a weight, ready whatever the branch, and
its Merge returns the first input that has a value: a constant first among
a Merge's inputs won even where the other branch ran, so a loop with `break`
returned 0 where TensorFlow returns 0.627, without an error. An Identity of
the constant with the constant's control inputs runs only in its branch, as
TF.js waits for every input of a node but a Merge.
"""

from __future__ import annotations

from collections.abc import Sequence

from tensorflow.core.framework import graph_pb2

from tfjs_converter.graph_nodes import (
    GraphScope,
    control_inputs,
    graph_scopes,
    identity_node,
    node_name,
)


def branch_results_for_tfjs(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Puts an Identity before each result or Merge input the module names, in place.

    Returns:
      `function/result` of each function result changed, and `merge:index` of
      each Merge input.
    """
    return _merged_constants(graph_def) + _function_results(graph_def)


def _function_results(graph_def: graph_pb2.GraphDef) -> list[str]:
    changed = []
    for scope in graph_scopes(graph_def)[1:]:
        constants = {node.name for node in scope.nodes if node.op == "Const"}
        outputs_of_node: dict[str, set[str]] = {}
        for tensor in scope.function.ret.values():
            outputs_of_node.setdefault(node_name(tensor), set()).add(tensor)
        types = {argument.name: argument.type for argument in scope.function.signature.output_arg}
        # Sorted: a map's order is not the same in every process.
        for result, tensor in sorted(scope.function.ret.items()):
            node = node_name(tensor)
            if node in constants or len(outputs_of_node[node]) > 1:
                scope.function.ret[result] = _identity(
                    scope, f"{node}/result", tensor, types[result]
                )
                changed.append(f"{scope.function.signature.name}/{result}")
    return changed


def _merged_constants(graph_def: graph_pb2.GraphDef) -> list[str]:
    scope = graph_scopes(graph_def)[0]
    constants = {node.name: node for node in scope.nodes if node.op == "Const"}
    changed = []
    for merge in [node for node in scope.nodes if node.op == "Merge"]:
        for index, tensor in enumerate(merge.input):
            constant = constants.get(tensor)
            controls = control_inputs(constant) if constant is not None else []
            if controls:
                merge.input[index] = _identity(
                    scope, f"{constant.name}/result", tensor, constant.attr["dtype"].type, controls
                )
                changed.append(f"{merge.name}:{index}")
    return changed


def _identity(
    scope: GraphScope, name: str, tensor: str, dtype: int, controls: Sequence[str] = ()
) -> str:
    """Adds an Identity of tensor (of dtype) to scope: its output."""
    identity = identity_node(scope.names.free(name), tensor, dtype, controls)
    scope.nodes.append(identity)
    return scope.output(identity)
