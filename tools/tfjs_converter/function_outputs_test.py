import tensorflow as tf

from tfjs_converter.function_outputs import flat_output_indices


def _body(graph_def):
    (body,) = [f for f in graph_def.library.function if "while_body" in f.signature.name]
    return body


def test_a_later_output_argument_is_named_by_its_flat_index_in_a_loop_body():
    @tf.function(input_signature=[tf.TensorSpec([None, 5], tf.int32, name="x")])
    def picks(x):
        total = tf.zeros([tf.shape(x)[0]], tf.int32)
        for _ in tf.range(3):
            values, indices = tf.math.top_k(x, k=2)
            total += indices[:, 0] + values[:, 1]
            x = x + 1
        return total

    graph_def = picks.get_concrete_function().graph.as_graph_def()
    before = [name for node in _body(graph_def).node_def for name in node.input]
    assert any(name.endswith(":indices:0") for name in before)

    changed = flat_output_indices(graph_def)

    after = [name for node in _body(graph_def).node_def for name in node.input]
    assert changed and all(name.startswith("while_body") for name in changed)
    assert not any(name.endswith(":indices:0") for name in after)
    assert any(name.endswith(":indices:1") for name in after)
    assert any(name.endswith(":values:0") for name in after)  # the first argument stays


def test_single_output_ops_and_the_main_graph_are_left_as_they_are():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def halve(x):
        for _ in tf.range(2):
            x = x / 2.0
        values, indices = tf.math.top_k(x, k=1)
        return values, indices

    graph_def = halve.get_concrete_function().graph.as_graph_def()
    before = graph_def.SerializeToString()
    assert flat_output_indices(graph_def) == []
    assert graph_def.SerializeToString() == before
