import numpy as np
import tensorflow as tf

from tfjs_converter.graph_nodes import FreeNames, const_node, node_name


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
