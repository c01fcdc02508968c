import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.fused_bias import rank_one_biases

RNG = np.random.default_rng(5)
X = RNG.normal(size=(1, 4, 4, 3)).astype(np.float32)
FILTER = RNG.normal(size=(1, 1, 3, 3)).astype(np.float32)
VECTORS = RNG.normal(size=(2, 3)).astype(np.float32)
WEIGHT = RNG.normal(size=(3, 4)).astype(np.float32)


def _const_node(name: str, value: np.ndarray) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = tf.float32.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value.astype(np.float32)))
    return node


def _placeholder(name: str, shape) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op="Placeholder")
    node.attr["dtype"].type = tf.float32.as_datatype_enum
    node.attr["shape"].shape.CopyFrom(tf.TensorShape(shape).as_proto())
    return node


def _fused(op: str, inputs: list[str], fused_ops: list[str], **attributes) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name="fused", op=op, input=inputs)
    node.attr["T"].type = tf.float32.as_datatype_enum
    node.attr["fused_ops"].list.s.extend(op.encode() for op in fused_ops)
    arguments = len([name for name in inputs if not name.startswith("^")]) - 2
    node.attr["num_args"].i = arguments
    node.attr["TArgs"].list.type.extend([tf.float32.as_datatype_enum] * arguments)
    if op == "_FusedConv2D":
        node.attr["strides"].list.i.extend([1, 1, 1, 1])
        node.attr["padding"].s = b"VALID"
    for key, value in attributes.items():
        if isinstance(value, float):
            node.attr[key].f = value
        else:
            node.attr[key].b = value
    return node


def _graph(*nodes: node_def_pb2.NodeDef) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    graph.node.extend([*nodes, node_def_pb2.NodeDef(name="out", op="Identity", input=["fused"])])
    graph.node[-1].attr["T"].type = tf.float32.as_datatype_enum
    return graph


def _run(graph_def: graph_pb2.GraphDef, feeds: dict[str, np.ndarray]) -> np.ndarray:
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run("out:0", {f"{k}:0": v for k, v in feeds.items()})


def _nodes(graph_def: graph_pb2.GraphDef) -> dict[str, node_def_pb2.NodeDef]:
    return {node.name: node for node in graph_def.node}


def test_a_scalar_bias_becomes_one_value_per_channel():
    # MobileNetV3's hard-sigmoid: relu6(conv(x) + 3).
    graph = _graph(
        _placeholder("x", [1, 4, 4, 3]),
        _const_node("filter", FILTER),
        _const_node("three", np.float32(3.0)),
        _fused("_FusedConv2D", ["x", "filter", "three"], ["BiasAdd", "Relu6"]),
    )
    assert rank_one_biases(graph) == ["fused"]

    nodes = _nodes(graph)
    assert nodes["fused"].op == "_FusedConv2D"
    assert nodes["fused"].input[2] == "fused/bias"
    assert tf.make_ndarray(nodes["fused/bias"].attr["value"].tensor).tolist() == [3.0] * 3
    assert "three" not in nodes  # nothing reads it: it would be a weight
    expected = tf.nn.relu6(tf.nn.conv2d(X, FILTER, 1, "VALID") + 3.0).numpy()
    np.testing.assert_allclose(_run(graph, {"x": X}), expected, rtol=1e-6)


def test_a_bias_of_ones_and_channels_becomes_a_vector():
    bias = RNG.normal(size=(1, 4)).astype(np.float32)
    graph = _graph(
        _placeholder("v", [2, 3]),
        _const_node("weight", WEIGHT),
        _const_node("bias", bias),
        _fused("_FusedMatMul", ["v", "weight", "bias"], ["BiasAdd"], transpose_b=False),
    )
    assert rank_one_biases(graph) == ["fused"]
    vector = tf.make_ndarray(_nodes(graph)["fused/bias"].attr["value"].tensor)
    assert vector.shape == (4,)
    np.testing.assert_allclose(_run(graph, {"v": VECTORS}), VECTORS @ WEIGHT + bias, rtol=1e-6)


def test_a_one_value_vector_becomes_one_value_per_channel():
    # wasm's _FusedMatMul checks the bias's rank, not its length: with [3.0]
    # it read past the one value and gave wrong numbers without an error.
    graph = _graph(
        _placeholder("v", [2, 3]),
        _const_node("weight", WEIGHT),
        _const_node("bias", np.array([3.0], np.float32)),
        _fused("_FusedMatMul", ["v", "weight", "bias"], ["BiasAdd", "Relu"], transpose_b=False),
    )
    assert rank_one_biases(graph) == ["fused"]
    vector = tf.make_ndarray(_nodes(graph)["fused/bias"].attr["value"].tensor)
    assert vector.tolist() == [3.0] * 4


def test_a_constant_that_is_not_per_channel_splits_the_op():
    # One value per position and channel: no vector of channels holds it.
    bias = RNG.normal(size=(4, 4, 3)).astype(np.float32)
    graph = _graph(
        _placeholder("x", [1, 4, 4, 3]),
        _const_node("filter", FILTER),
        _const_node("bias", bias),
        _fused("_FusedConv2D", ["x", "filter", "bias"], ["BiasAdd", "Relu"]),
    )
    assert rank_one_biases(graph) == ["fused"]
    assert _nodes(graph)["fused"].op == "Relu"
    expected = tf.nn.relu(tf.nn.conv2d(X, FILTER, 1, "VALID") + bias).numpy()
    np.testing.assert_allclose(_run(graph, {"x": X}), expected, rtol=1e-6)


def test_a_scalar_bias_of_a_computed_weight_splits_the_op():
    # No constant weight tells the channel count.
    graph = _graph(
        _placeholder("v", [2, 3]),
        _placeholder("w", [3, 4]),
        _const_node("three", np.float32(3.0)),
        _fused("_FusedMatMul", ["v", "w", "three"], ["BiasAdd"], transpose_b=False),
    )
    assert rank_one_biases(graph) == ["fused"]
    assert _nodes(graph)["fused"].op == "AddV2"
    np.testing.assert_allclose(
        _run(graph, {"v": VECTORS, "w": WEIGHT}), VECTORS @ WEIGHT + 3.0, rtol=1e-6
    )


def test_new_nodes_take_names_no_node_has():
    graph = _graph(
        _placeholder("v", [2, 3]),
        _const_node("weight", WEIGHT),
        _const_node("fused/bias", np.float32(1.0)),
        _fused("_FusedMatMul", ["v", "weight", "fused/bias"], ["BiasAdd"], transpose_b=False),
    )
    graph.node.append(_const_node("fused/bias_1", np.float32(2.0)))
    assert rank_one_biases(graph) == ["fused"]
    nodes = _nodes(graph)
    assert nodes["fused"].input[2] == "fused/bias_2"
    np.testing.assert_allclose(_run(graph, {"v": VECTORS}), VECTORS @ WEIGHT + 1.0, rtol=1e-6)


def test_a_computed_bias_splits_the_op_under_its_name():
    # A residual connection: leaky_relu(conv(x) + x).
    graph = _graph(
        _placeholder("x", [1, 4, 4, 3]),
        _const_node("filter", FILTER),
        _fused(
            "_FusedConv2D",
            ["x", "filter", "x", "^x"],
            ["BiasAdd", "LeakyRelu"],
            leakyrelu_alpha=0.2,
        ),
    )
    assert rank_one_biases(graph) == ["fused"]

    nodes = _nodes(graph)
    assert (nodes["fused/Conv2D"].op, list(nodes["fused/Conv2D"].input)) == (
        "Conv2D",
        ["x", "filter", "^x"],
    )
    assert (nodes["fused/BiasAdd"].op, list(nodes["fused/BiasAdd"].input)) == (
        "AddV2",
        ["fused/Conv2D", "x"],
    )
    assert (nodes["fused"].op, list(nodes["fused"].input)) == ("LeakyRelu", ["fused/BiasAdd"])
    expected = tf.nn.leaky_relu(tf.nn.conv2d(X, FILTER, 1, "VALID") + X, 0.2).numpy()
    np.testing.assert_allclose(_run(graph, {"x": X}), expected, rtol=1e-6)


def test_a_matmul_with_a_computed_bias_and_no_activation_becomes_matmul_and_add():
    graph = _graph(
        _placeholder("v", [2, 3]),
        _placeholder("term", [2, 4]),
        _const_node("weight", WEIGHT),
        _fused("_FusedMatMul", ["v", "weight", "term"], ["BiasAdd"], transpose_b=False),
    )
    assert rank_one_biases(graph) == ["fused"]
    assert _nodes(graph)["fused"].op == "AddV2"
    term = RNG.normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(
        _run(graph, {"v": VECTORS, "term": term}), VECTORS @ WEIGHT + term, rtol=1e-6
    )


def test_a_rank_one_bias_is_left_as_it_is():
    graph = _graph(
        _placeholder("v", [2, 3]),
        _const_node("weight", WEIGHT),
        _const_node("bias", np.ones([4], np.float32)),
        _fused("_FusedMatMul", ["v", "weight", "bias"], ["BiasAdd", "Relu"], transpose_b=False),
    )
    before = graph.SerializeToString()
    assert rank_one_biases(graph) == []
    assert graph.SerializeToString() == before
