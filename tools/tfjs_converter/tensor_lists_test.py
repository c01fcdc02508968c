import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2

from tfjs_converter.tensor_lists import return_stored_tensors

X = np.sin(np.arange(30, dtype=np.float32)).reshape([2, 5, 3])


def _graph_def(function) -> graph_pb2.GraphDef:
    spec = tf.TensorSpec([2, 5, 3], tf.float32, name="x")
    return tf.function(function).get_concrete_function(spec).graph.as_graph_def()


def _run(graph_def: graph_pb2.GraphDef, output: str) -> np.ndarray:
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(output, {"x:0": X})


def _intermediates(x):
    # What TF.js disposed when the body returned: tanh(...) * 2 is no loop variable.
    stored = tf.TensorArray(tf.float32, size=5)
    for i in tf.range(5):
        stored = stored.write(i, tf.tanh(x[:, i, :]) * 2.0)
    return tf.identity(stored.stack(), name="y")


def _nested(x):
    stored = tf.TensorArray(tf.float32, size=5)
    for i in tf.range(5):
        inner = tf.TensorArray(tf.float32, size=3)
        for j in tf.range(3):
            inner = inner.write(j, tf.tanh(x[:, i, j]) * tf.cast(j + 1, tf.float32))
        stored = stored.write(i, tf.reduce_sum(inner.stack(), 0) + 1.0)
    return tf.identity(stored.stack(), name="y")


def _branches(x):
    # Each branch of the If in the body stores its own value.
    stored = tf.TensorArray(tf.float32, size=5)
    for i in tf.range(5):
        if tf.reduce_sum(x[:, i, :]) > 0:
            stored = stored.write(i, tf.tanh(x[:, i, :]) * 2.0)
        else:
            stored = stored.write(i, tf.sigmoid(x[:, i, :]))
    return tf.identity(stored.stack(), name="y")


def _written_by_an_inner_loop(x):
    # The array is the outer loop's: the inner loop's last value leaves both.
    flat = tf.TensorArray(tf.float32, size=6)
    for i in tf.range(3):
        for j in tf.range(2):
            flat = flat.write(i * 2 + j, tf.tanh(x[:, i, j]) + tf.cast(j, tf.float32))
    return tf.identity(flat.stack(), name="y")


def _loop_inputs(x):
    # Each iteration stores the state it was given: an input of the body.
    stored = tf.TensorArray(tf.float32, size=5)
    state = tf.zeros([2, 3])
    for i in tf.range(5):
        stored = stored.write(i, state)
        state = tf.tanh(x[:, i, :] + state)
    return tf.identity(stored.stack(), name="y")


def _returned_node(function, result: str):
    (node,) = [n for n in function.node_def if n.name == function.ret[result].split(":")[0]]
    return node


def _bodies(graph_def: graph_pb2.GraphDef):
    return [f for f in graph_def.library.function if "while_body" in f.signature.name]


def test_a_stored_intermediate_becomes_a_loop_variable_and_the_loop_computes_the_same():
    graph_def = _graph_def(_intermediates)
    before = _run(graph_def, "y:0")

    changed = return_stored_tensors(graph_def)

    (body,) = _bodies(graph_def)
    assert changed == [f"{body.signature.name}/while/TensorArrayV2Write/TensorListSetItem"]
    (store,) = [node for node in body.node_def if node.op == "TensorListSetItem"]
    # Returned through an Identity run after the store: TF.js's Identity
    # passes the tensor the store kept on as it is.
    returned = _returned_node(body, body.signature.output_arg[-1].name)
    assert (returned.op, list(returned.input)) == ("Identity", [store.input[2], f"^{store.name}"])
    (loop,) = [node for node in graph_def.node if node.op.endswith("While")]
    assert len(loop.attr["T"].list.type) == len(body.signature.input_arg)
    assert len(body.signature.input_arg) == len(body.signature.output_arg)
    np.testing.assert_array_equal(_run(graph_def, "y:0"), before)


def test_a_loop_inside_a_loop_body_gets_its_start_value_in_that_body():
    graph_def = _graph_def(_nested)
    before = _run(graph_def, "y:0")

    changed = return_stored_tensors(graph_def)

    assert len(changed) == 2
    outer_body = next(
        f for f in _bodies(graph_def) if any(n.op.endswith("While") for n in f.node_def)
    )
    (inner_loop,) = [node for node in outer_body.node_def if node.op.endswith("While")]
    start = inner_loop.input[len(inner_loop.attr["T"].list.type) - 1]
    assert start.endswith("/stored_start:output:0")  # a function names outputs by argument
    np.testing.assert_array_equal(_run(graph_def, "y:0"), before)


def test_a_value_stored_in_a_branch_is_returned_by_the_if_and_then_by_the_loop():
    graph_def = _graph_def(_branches)
    before = _run(graph_def, "y:0")
    assert np.any(np.sum(X, axis=2) > 0) and np.any(np.sum(X, axis=2) <= 0)  # both branches run

    changed = return_stored_tensors(graph_def)

    assert [name.split("/", 1)[0].rsplit("_", 1)[0] for name in changed] == [
        "while_cond_true",
        "while_cond_false",
    ]
    (body,) = _bodies(graph_def)
    (branch,) = [node for node in body.node_def if node.op.endswith("If")]
    outputs = len(branch.attr["Tout"].list.type)
    # The If's two new outputs (then's value, else's) are loop variables now.
    assert [
        _returned_node(body, result.name).input[0] for result in body.signature.output_arg[-2:]
    ] == [f"{branch.name}:output:{outputs - 2}", f"{branch.name}:output:{outputs - 1}"]
    np.testing.assert_array_equal(_run(graph_def, "y:0"), before)


def test_the_last_value_an_inner_loop_stores_is_returned_by_the_outer_body_too():
    graph_def = _graph_def(_written_by_an_inner_loop)
    before = _run(graph_def, "y:0")

    return_stored_tensors(graph_def)

    outer_body = next(
        f for f in _bodies(graph_def) if any(n.op.endswith("While") for n in f.node_def)
    )
    (inner_loop,) = [node for node in outer_body.node_def if node.op.endswith("While")]
    last = len(inner_loop.attr["T"].list.type) - 1
    returned = _returned_node(outer_body, outer_body.signature.output_arg[-1].name)
    assert returned.input[0] == f"{inner_loop.name}:output:{last}"
    np.testing.assert_array_equal(_run(graph_def, "y:0"), before)


def test_a_loop_that_stores_its_inputs_is_left_as_it_is():
    graph_def = _graph_def(_loop_inputs)
    unchanged = graph_pb2.GraphDef()
    unchanged.CopyFrom(graph_def)
    assert return_stored_tensors(graph_def) == []
    assert graph_def == unchanged
