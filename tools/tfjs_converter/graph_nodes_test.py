import numpy as np
import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2

from tfjs_converter.graph_nodes import (
    FreeNames,
    build_fragment,
    const_node,
    control_inputs,
    data_inputs,
    graph_scopes,
    identity_node,
    node_name,
)


def test_a_taken_name_gets_the_first_free_suffix():
    names = FreeNames(["x/bias", "x/bias_1"])
    assert names.free("x/bias") == "x/bias_2"
    assert names.free("x/bias") == "x/bias_3"  # what it hands out is taken too
    assert names.free("y/bias") == "y/bias"


def test_a_const_node_holds_its_values_as_its_dtype():
    node = const_node("c", np.array([1, 2]), tf.float32)
    assert node.attr["dtype"].type == tf.float32.as_datatype_enum
    assert tf.make_ndarray(node.attr["value"].tensor).tolist() == [1.0, 2.0]


def test_the_node_an_input_names():
    assert [node_name(i) for i in ("x", "x:1", "^x", "a/b:0")] == ["x", "x", "x", "a/b"]


def _function_def() -> function_pb2.FunctionDef:
    """f(x) = erfc(x), its result and a consumer naming Erfc's output argument `y`."""
    function = function_pb2.FunctionDef()
    function.signature.name = "f"
    function.signature.input_arg.add(name="x", type=tf.float32.as_datatype_enum)
    function.signature.output_arg.add(name="out", type=tf.float32.as_datatype_enum)
    function.node_def.add(name="e", op="Erfc", input=["x"])
    function.node_def.add(name="d", op="Identity", input=["e:y:0", "^e"])
    function.ret["out"] = "e:y:0"
    return function


def test_a_scope_is_the_main_graph_or_one_library_function():
    graph_def = graph_pb2.GraphDef()
    graph_def.node.add(name="e", op="Erfc", input=["x"])
    graph_def.library.function.append(_function_def())
    main, function = graph_scopes(graph_def)
    assert [main.output(node) for node in main.nodes] == ["e"]
    assert [function.output(node) for node in function.nodes] == ["e:y:0", "d:output:0"]
    assert [function.qualified_name(node) for node in function.nodes] == ["f/e", "f/d"]
    assert main.names.free("x") == "x"
    assert function.names.free("x") == "x_1"  # the function's argument


def test_changing_a_function_nodes_op_renames_what_names_its_output():
    graph_def = graph_pb2.GraphDef()
    graph_def.library.function.append(_function_def())
    _, scope = graph_scopes(graph_def)
    scope.change_op(scope.nodes[0], "Sub")  # Sub's output argument is z
    function = graph_def.library.function[0]
    assert list(function.node_def[1].input) == ["e:z:0", "^e"]
    assert function.ret["out"] == "e:z:0"


def test_an_identity_node_runs_after_its_control_inputs():
    node = identity_node("i", "x:1", tf.bool.as_datatype_enum, ["^pivot"])
    assert (node.op, list(node.input)) == ("Identity", ["x:1", "^pivot"])
    assert node.attr["T"].type == tf.bool.as_datatype_enum
    assert (data_inputs(node), control_inputs(node)) == (["x:1"], ["^pivot"])


def test_a_spliced_fragment_takes_the_nodes_place_in_a_function():
    graph_def = graph_pb2.GraphDef()
    graph_def.library.function.append(_function_def())
    _, scope = graph_scopes(graph_def)
    fragment = build_fragment(
        [(tf.float32, tf.TensorShape([]), "x")],
        lambda x: tf.subtract(x, tf.constant(1.0, name="one"), name="less"),
    )
    assert fragment.inputs == {"operand_0": "x"} and fragment.results == ["less"]

    added = scope.splice(scope.nodes[0], fragment, ["^a"])

    assert [(node.name, node.op, list(node.input)) for node in added] == [
        ("e/one", "Const", ["^a"])
    ]
    function = graph_def.library.function[0]
    e, d = function.node_def
    assert (e.name, e.op, list(e.input)) == ("e", "Sub", ["x", "e/one:output:0"])
    assert list(d.input) == ["e:z:0", "^e"]  # Sub's output argument is z
    assert function.ret["out"] == "e:z:0"


def test_a_frame_anchor_is_a_non_constant_input_in_a_lowered_loop():
    graph_def = graph_pb2.GraphDef()
    graph_def.node.add(name="c", op="Const")
    graph_def.node.add(name="x", op="Identity", input=["c"])
    (scope,) = graph_scopes(graph_def)
    assert scope.frame_anchor(["c", "x:0"]) == []  # no lowered loop
    graph_def.node.add(name="enter", op="Enter", input=["x"])
    (scope,) = graph_scopes(graph_def)
    assert scope.frame_anchor(["c", "x:0"]) == ["^x"]
    assert scope.frame_anchor(["c"]) == []
