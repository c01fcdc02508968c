import numpy as np
import tensorflow as tf

from tfjs_converter.small_integers import (
    small_integer_types_as_int32,
    small_integer_weights_as_int32,
)


def test_small_integer_weights_become_int32_of_the_same_values():
    weights = [
        [
            {"name": "u8", "data": np.array([0, 255], np.uint8)},
            {"name": "i16", "data": np.array([-32768, 7], np.int16)},
            {"name": "f", "data": np.array([1.5], np.float32)},
        ],
        [{"name": "i8", "data": np.array(-128, np.int8)}],
    ]
    assert small_integer_weights_as_int32(weights) == ["u8", "i16", "i8"]
    assert [w["data"].dtype for group in weights for w in group] == [
        np.int32,
        np.int32,
        np.float32,
        np.int32,
    ]
    assert weights[0][0]["data"].tolist() == [0, 255]
    assert weights[0][1]["data"].tolist() == [-32768, 7]
    assert weights[1][0]["data"].tolist() == -128


def test_int16_and_uint16_types_become_int32_in_nodes_and_functions():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def scaled(x):
        counts = tf.cast(x * 100.0, tf.int16)
        for _ in tf.range(2):
            counts += tf.constant(3, tf.int16)
        return tf.cast(counts, tf.uint16), tf.cast(x, tf.uint8)

    graph_def = scaled.get_concrete_function().graph.as_graph_def()
    changed = small_integer_types_as_int32(graph_def)

    assert changed
    int32, uint8 = tf.int32.as_datatype_enum, tf.uint8.as_datatype_enum
    unknown = {tf.int16.as_datatype_enum, tf.uint16.as_datatype_enum}
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    types = [v.type for n in nodes for v in n.attr.values()]
    types += [t for n in nodes for v in n.attr.values() for t in v.list.type]
    types += [
        a.type
        for f in graph_def.library.function
        for a in (*f.signature.input_arg, *f.signature.output_arg)
    ]
    assert not unknown & set(types)
    assert int32 in types and uint8 in types  # TF.js reads uint8 as int32 itself
