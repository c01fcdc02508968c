"""Constants a branch returns pass through an Identity, which TF.js runs in the branch.

Kept control flow (`control_flow_v2` on): tensorflowjs moves each constant of
a library function into the weights, renamed `function/name`, and renames
the inputs that name it, but not the function's results (`ret`), which go on
naming the old one. TF.js then never finds the result: a `tf.cond` branch
returning a constant (`y = tf.constant(1.0)` under an `if`) and every
autograph `break`, whose branches return True or False, failed in TF.js with
`Cannot compute the outputs [Identity] from the provided inputs` or `Cannot
read properties of undefined (reading 'id')`. tensorflowjs's own converter
writes the same files. An Identity between the constant and the result is
renamed with the other inputs.

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

from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import GraphScope, graph_scopes


def branch_constants_through_identities(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Puts an Identity between each constant and the result or Merge it is, in place.

    Returns:
      `function/result` of each function result changed, and `merge:index` of
      each Merge input.
    """
    return _merged_constants(graph_def) + _constant_results(graph_def)


def _constant_results(graph_def: graph_pb2.GraphDef) -> list[str]:
    changed = []
    for scope in graph_scopes(graph_def)[1:]:
        constants = {node.name: node for node in scope.nodes if node.op == "Const"}
        # Sorted: a map's order is not the same in every process.
        for result, tensor in sorted(scope.function.ret.items()):
            constant = constants.get(tensor.split(":")[0])
            if constant is not None:
                scope.function.ret[result] = _identity(scope, constant, tensor, controls=False)
                changed.append(f"{scope.function.signature.name}/{result}")
    return changed


def _merged_constants(graph_def: graph_pb2.GraphDef) -> list[str]:
    scope = graph_scopes(graph_def)[0]
    constants = {node.name: node for node in scope.nodes if node.op == "Const"}
    changed = []
    for merge in [node for node in scope.nodes if node.op == "Merge"]:
        for index, tensor in enumerate(merge.input):
            constant = constants.get(tensor)
            if constant is not None and any(i.startswith("^") for i in constant.input):
                merge.input[index] = _identity(scope, constant, tensor, controls=True)
                changed.append(f"{merge.name}:{index}")
    return changed


def _identity(
    scope: GraphScope, constant: node_def_pb2.NodeDef, tensor: str, controls: bool
) -> str:
    """Adds an Identity of tensor, constant's output, to scope: its output."""
    identity = node_def_pb2.NodeDef(
        name=scope.names.free(f"{constant.name}/result"),
        op="Identity",
        input=[tensor, *(i for i in constant.input if controls and i.startswith("^"))],
    )
    identity.attr["T"].type = constant.attr["dtype"].type
    scope.nodes.append(identity)
    return scope.output(identity)
