import json

import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2

from tfjs_converter.constant_results import constant_results_through_identities
from tfjs_converter.convert import convert_saved_model


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
    assert constant_results_through_identities(graph_def) == ["branch/one"]
    function = graph_def.library.function[0]
    assert dict(function.ret) == {"one": "c/result:output:0", "same": "x"}
    identity = function.node_def[-1]
    assert (identity.name, identity.op, list(identity.input)) == (
        "c/result",
        "Identity",
        ["c:output:0"],
    )
    assert identity.attr["T"].type == tf.float32.as_datatype_enum


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
