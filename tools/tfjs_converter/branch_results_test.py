import json

import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2

from tfjs_converter.branch_results import branch_results_for_tfjs
from tfjs_converter.convert import convert_saved_model
from tfjs_converter.options import ConversionOptions


class Breaks(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
    def constant_branch(self, x):
        if x > -2.0:
            y = tf.constant(1.0)
        else:
            y = x
        return {"y": y * x}

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.int32, name="n"),
            tf.TensorSpec([], tf.float32, name="x"),
        ]
    )
    def early_exit(self, n, x):
        # autograph's break: branches that return the constants True and False.
        total = tf.constant(0.0)
        for _ in tf.range(n + 5):
            total += tf.abs(x) + 0.1
            if total > 0.5:
                break
        return {"total": total}


def _graph_def() -> graph_pb2.GraphDef:
    function = function_pb2.FunctionDef()
    function.signature.name = "branch"
    function.signature.input_arg.add(name="x", type=tf.float32.as_datatype_enum)
    function.signature.output_arg.add(name="one", type=tf.float32.as_datatype_enum)
    function.signature.output_arg.add(name="same", type=tf.float32.as_datatype_enum)
    constant = function.node_def.add(name="c", op="Const")
    constant.attr["dtype"].type = tf.float32.as_datatype_enum
    function.ret["one"] = "c:output:0"
    function.ret["same"] = "x"
    graph_def = graph_pb2.GraphDef()
    graph_def.library.function.append(function)
    return graph_def


def test_a_result_naming_a_constant_names_an_identity_of_it():
    graph_def = _graph_def()
    assert branch_results_for_tfjs(graph_def) == ["branch/one"]
    function = graph_def.library.function[0]
    assert dict(function.ret) == {"one": "c/result:output:0", "same": "x"}
    identity = function.node_def[-1]
    assert (identity.name, identity.op, list(identity.input)) == (
        "c/result",
        "Identity",
        ["c:output:0"],
    )
    assert identity.attr["T"].type == tf.float32.as_datatype_enum


def test_results_naming_outputs_of_one_node_name_identities_of_their_own():
    # TF.js keeps one output index per node: both results returned the last.
    function = function_pb2.FunctionDef()
    function.signature.name = "body"
    for name in ("first", "second", "alone"):
        function.signature.output_arg.add(name=name, type=tf.int32.as_datatype_enum)
    function.node_def.add(name="branch", op="If")
    function.node_def.add(name="other", op="Identity")
    function.ret["first"] = "branch:output:0"
    function.ret["second"] = "branch:output:1"
    function.ret["alone"] = "other:output:0"
    graph_def = graph_pb2.GraphDef()
    graph_def.library.function.append(function)

    assert branch_results_for_tfjs(graph_def) == ["body/first", "body/second"]
    function = graph_def.library.function[0]
    assert dict(function.ret) == {
        "first": "branch/result:output:0",
        "second": "branch/result_1:output:0",
        "alone": "other:output:0",
    }
    identities = {node.name: list(node.input) for node in function.node_def[2:]}
    assert identities == {
        "branch/result": ["branch:output:0"],
        "branch/result_1": ["branch:output:1"],
    }


def test_a_lowered_branch_constant_reaches_its_merge_through_an_identity_in_the_branch(
    tmp_path,
):
    # TF.js holds a Const as a weight, ready in either branch: a Merge taking
    # it first returned it even where the other branch ran.
    module = Breaks()
    tf.saved_model.save(
        module, str(tmp_path / "model"), signatures={"early_exit": module.early_exit}
    )
    options = ConversionOptions(control_flow_v2=False)
    outputs = convert_saved_model(
        tmp_path / "model", ["early_exit"], tmp_path / "out", options=options
    )

    topology = json.loads((outputs["early_exit"] / "model.json").read_text())["modelTopology"]
    nodes = {node["name"]: node for node in topology["node"]}
    merged = [
        nodes[i.split(":")[0]] for n in nodes.values() if n["op"] == "Merge" for i in n["input"]
    ]
    passed_on = [node for node in merged if node["op"] == "Identity" and "/result" in node["name"]]
    assert passed_on and all(node["op"] != "Const" for node in merged)
    for identity in passed_on:
        constant = nodes[identity["input"][0]]
        assert constant["op"] == "Const"
        assert identity["input"][1:] == constant["input"]  # the branch's pivot


def test_every_function_result_names_a_node_of_its_function(tmp_path):
    # tensorflowjs renames a function's constants (not its results): the
    # branch's result named a node that no longer existed.
    module = Breaks()
    signatures = {"constant_branch": module.constant_branch, "early_exit": module.early_exit}
    tf.saved_model.save(module, str(tmp_path / "model"), signatures=signatures)
    outputs = convert_saved_model(tmp_path / "model", list(signatures), tmp_path / "out")

    for signature, directory in outputs.items():
        topology = json.loads((directory / "model.json").read_text())["modelTopology"]
        functions = topology["library"]["function"]
        assert functions, signature
        for function in functions:
            names = {node["name"] for node in function.get("nodeDef", [])}
            names |= {argument["name"] for argument in function["signature"].get("inputArg", [])}
            for result, tensor in function.get("ret", {}).items():
                assert tensor.split(":")[0] in names, (signature, result, tensor)
