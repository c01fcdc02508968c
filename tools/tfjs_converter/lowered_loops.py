"""Lowered loops in the form TF.js runs every iteration of.

With `control_flow_v2` off, each loop is lowered into Enter, Merge, Switch,
NextIteration and Exit nodes. TF.js's executor runs a node once every input
it names, control inputs included, has a value in the current iteration,
and two forms of TensorFlow's lowering never have one after the first:

* A value the loop reads but never changes (a variable the body reads,
  frozen into a constant: an RNN's weights, an embedding a decoder gathers
  from) enters the loop once, through an Enter marked `is_constant`. TF.js
  ignores the mark and gives the value to the first iteration only. TF.js
  holds a constant as a weight, which every iteration sees: such an Enter
  of a Const is dropped, its consumers read the Const, and control inputs
  on it go.
* A control input on a loop's Switch (an inlined body's
  `input_control_node` waits for the body's inputs so): TF.js looks at the
  Switch's first output, which has a value only when the loop exits. It
  becomes a control input on `Identity(switch:1)`, the value going into the
  body, which has one in each iteration the body runs.

Otherwise the nodes after them never ran in the second iteration, and the
model failed with `Cannot compute the outputs [...] from the provided
inputs` (a Keras LSTM, a greedy decoder; tensorflowjs's own output too).

And a node all of whose data inputs are constants (a `TensorListReserve` of
a TensorArray made in each iteration) is ready once, from the weights, not
once per iteration or only in its branch: TensorFlow ties it to its frame
through its constants' control inputs, which TF.js does not read on a
weight. Such a node takes its constants' control inputs as its own; without
them a loop in a loop wrote every outer iteration into one array, without
an error.
Only TF.js runs the result: TensorFlow wants every input of a loop's node to
come from the loop's frame.
"""

from __future__ import annotations

from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.graph_nodes import (
    FreeNames,
    control_inputs,
    data_inputs,
    identity_node,
    node_name,
)


def lowered_loops_for_tfjs(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Rewrites graph_def's lowered loops as the module says, in place.

    Returns:
      The names of the Enter nodes dropped, of the Switch nodes whose control
      inputs moved, and of the nodes that took their constants' control
      inputs.
    """
    return (
        _constants_without_enters(graph_def)
        + _switch_controls_on_the_body(graph_def)
        + _constant_fed_nodes_in_their_frame(graph_def)
    )


def _constants_without_enters(graph_def: graph_pb2.GraphDef) -> list[str]:
    nodes = {node.name: node for node in graph_def.node}
    entered = {
        node.name: node.input[0]
        for node in graph_def.node
        if node.op == "Enter"
        and "is_constant" in node.attr
        and node.attr["is_constant"].b
        and nodes[node_name(node.input[0])].op == "Const"
    }
    if not entered:
        return []
    for node in graph_def.node:
        _replace_inputs(
            node,
            [
                entered.get(node_name(i), i)
                for i in node.input
                if not (i.startswith("^") and i[1:] in entered)
            ],
        )
    kept = [node for node in graph_def.node if node.name not in entered]
    del graph_def.node[:]
    graph_def.node.extend(kept)
    return sorted(entered)


def _switch_controls_on_the_body(graph_def: graph_pb2.GraphDef) -> list[str]:
    nodes = {node.name: node for node in graph_def.node}
    loop_switches = {
        node.name: node
        for node in graph_def.node
        if node.op == "Switch" and nodes[node_name(node.input[1])].op == "LoopCond"
    }
    names = FreeNames(nodes)
    taken: dict[str, node_def_pb2.NodeDef] = {}
    for node in list(graph_def.node):
        inputs = []
        for i in node.input:
            switch = loop_switches.get(i[1:]) if i.startswith("^") else None
            if switch is not None:
                if switch.name not in taken:
                    taken[switch.name] = identity_node(
                        names.free(f"{switch.name}/taken"),
                        f"{switch.name}:1",
                        switch.attr["T"].type,
                    )
                i = f"^{taken[switch.name].name}"
            inputs.append(i)
        _replace_inputs(node, inputs)
    graph_def.node.extend(taken.values())
    return sorted(taken)


def _constant_fed_nodes_in_their_frame(graph_def: graph_pb2.GraphDef) -> list[str]:
    nodes = {node.name: node for node in graph_def.node}
    changed = []
    for node in graph_def.node:
        data = [nodes[node_name(i)] for i in data_inputs(node)]
        if node.op in ("Const", "Merge") or not data or any(n.op != "Const" for n in data):
            continue
        controls = [i for n in data for i in control_inputs(n)]
        added = [i for i in dict.fromkeys(controls) if i not in node.input]
        if added:
            node.input.extend(added)
            changed.append(node.name)
    return changed


def _replace_inputs(node: node_def_pb2.NodeDef, inputs: list[str]) -> None:
    if inputs != list(node.input):
        del node.input[:]
        node.input.extend(inputs)
