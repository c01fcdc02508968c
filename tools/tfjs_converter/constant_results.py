"""Function results that name a constant name an Identity of it instead.

tensorflowjs moves each constant of a library function into the weights,
renamed `function/name`, and renames the inputs that name it, but not the
function's results (`ret`), which go on naming the old one. TF.js then
never finds the result: a `tf.cond` branch returning a constant (`y =
tf.constant(1.0)` under an `if`) and every autograph `break`, whose
branches return True or False, failed in TF.js with `Cannot compute the
outputs [Identity] from the provided inputs` or `Cannot read properties of
undefined (reading 'id')`. tensorflowjs's own converter writes the same
files. An Identity between the constant and the result is renamed with the
other inputs.
"""

from __future__ import annotations

from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import graph_scopes


def constant_results_through_identities(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Makes every function result naming a Const name an Identity of it, in place.

    Returns:
      `function/result` of each result changed.
    """
    changed = []
    for scope in graph_scopes(graph_def)[1:]:
        constants = {node.name: node for node in scope.nodes if node.op == "Const"}
        # Sorted: a map's order is not the same in every process.
        for result, tensor in sorted(scope.function.ret.items()):
            constant = constants.get(tensor.split(":")[0])
            if constant is None:
                continue
            identity = node_def_pb2.NodeDef(
                name=scope.names.free(f"{constant.name}/result"), op="Identity", input=[tensor]
            )
            identity.attr["T"].type = constant.attr["dtype"].type
            scope.nodes.append(identity)
            scope.function.ret[result] = scope.output(identity)
            changed.append(f"{scope.function.signature.name}/{result}")
    return changed
