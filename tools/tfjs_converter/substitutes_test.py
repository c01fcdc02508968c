import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import graph_pb2
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfjs_converter import substitutes
from tfjs_converter.graph_nodes import data_inputs, node_name
from tfjs_converter.substitutes import (
    bool_reverse_in_int32,
    bool_selects_in_int32,
    gathers_of_frozen_variables,
    one_hot_in_int32,
    substitute_erfc,
    substitute_missing_kernels,
)


def _erfc_graph() -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        with tf.control_dependencies([tf.no_op(name="first")]):
            y = tf.math.erfc(x, name="y")
        tf.identity(y * 2.0, name="out")
    return graph


def test_erfc_becomes_one_minus_erf_under_its_own_name():
    graph_def = _erfc_graph().as_graph_def()
    assert substitute_erfc(graph_def) == ["y"]

    nodes = {node.name: node for node in graph_def.node}
    assert (nodes["y"].op, list(nodes["y"].input)) == ("Sub", ["y/one", "y/erf"])
    assert (nodes["y/erf"].op, list(nodes["y/erf"].input)) == ("Erf", ["x", "^first"])
    assert tf.make_ndarray(nodes["y/one"].attr["value"].tensor) == np.float32(1.0)
    assert "Erfc" not in {node.op for node in graph_def.node}


def test_the_substituted_graph_computes_erfc():
    graph = substitute_missing_kernels(_erfc_graph())
    x = np.linspace(-10.0, 10.0, 2001, dtype=np.float32)
    with tf.compat.v1.Session(graph=graph) as session:
        (out,) = session.run(["out:0"], {"x:0": x})
    # Within two float32 steps of erfc's largest values (2), and as exact as
    # float32 allows where erfc is small and 1 - erf rounds it to 0.
    difference = np.abs(out / 2.0 - tf.math.erfc(x).numpy())
    assert np.max(difference) <= 2.4e-7
    assert np.max(difference[x > 3.0]) <= 3e-5


def test_a_graph_without_substitutable_ops_is_returned_as_it_is():
    graph = tf.Graph()
    with graph.as_default():
        tf.math.erf(tf.compat.v1.placeholder(tf.float32, [None], name="x"), name="y")
    assert substitute_missing_kernels(graph) is graph


def test_new_nodes_take_names_no_node_has():
    graph = _erfc_graph()
    with graph.as_default():
        tf.constant(5.0, name="y/one")
    graph_def = graph.as_graph_def()
    substitute_erfc(graph_def)
    nodes = {node.name: node for node in graph_def.node}
    assert list(nodes["y"].input) == ["y/one_1", "y/erf"]
    assert tf.make_ndarray(nodes["y/one"].attr["value"].tensor) == np.float32(5.0)


def test_a_float_one_hot_becomes_an_int32_one_hot_that_selects_on_or_off():
    # wasm's float OneHot writes the values' int32 bits: 1.0 gave 1.4e-45.
    graph = tf.Graph()
    with graph.as_default():
        ids = tf.compat.v1.placeholder(tf.int64, [None], name="ids")
        hot = tf.one_hot(ids, 4, on_value=5.0, off_value=-1.0, name="hot")
        tf.identity(hot, name="out")
        tf.one_hot(ids, 4, dtype=tf.int32, name="already_int32")
    graph_def = graph.as_graph_def()
    assert one_hot_in_int32(graph_def) == ["hot"]

    nodes = {node.name: node for node in graph_def.node}
    assert (nodes["hot"].op, nodes["hot"].input[0]) == ("SelectV2", "hot/mask")
    assert nodes["hot/int32"].attr["T"].type == tf.int32.as_datatype_enum
    assert nodes["already_int32"].op == "OneHot"
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    ids = np.array([0, 3, 7, -1], np.int64)  # out of range: all off
    with tf.compat.v1.Session(graph=rewritten) as session:
        (out,) = session.run(["out:0"], {"ids:0": ids})
    expected = tf.one_hot(ids, 4, on_value=5.0, off_value=-1.0).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def _loop_graph_def() -> graph_pb2.GraphDef:
    """A While whose body holds an exact GELU and a float one_hot (control_flow_v2's form)."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([2, 4], tf.float32, name="x"),
            tf.TensorSpec([2], tf.int32, name="ids"),
        ]
    )
    def refine(x, ids):
        hot = tf.zeros([2, 4])
        for _ in tf.range(3):
            x = tf.nn.gelu(x, approximate=False) - 0.5
            hot += tf.one_hot(ids, 4, on_value=2.0, off_value=-1.0)
        return tf.identity(x, name="refined"), tf.identity(hot, name="hot")

    return refine.get_concrete_function().graph.as_graph_def()


def _function_ops(graph_def: graph_pb2.GraphDef) -> list[tuple[str, int]]:
    return [
        (node.op, node.attr["T"].type if node.op == "OneHot" else 0)
        for function in graph_def.library.function
        for node in function.node_def
    ]


def test_ops_inside_a_loop_body_are_substituted_and_compute_the_same():
    graph_def = _loop_graph_def()
    ops = _function_ops(graph_def)
    assert ("Erfc", 0) in ops and ("OneHot", tf.float32.as_datatype_enum) in ops

    replaced = substitute_erfc(graph_def) + one_hot_in_int32(graph_def)
    assert [name.split("/", 1)[1] for name in replaced] == ["while/Gelu/Erfc", "while/one_hot"]
    assert all(name.startswith("while_body_") for name in replaced)
    ops = _function_ops(graph_def)
    assert ("Erfc", 0) not in ops
    assert [dtype for op, dtype in ops if op == "OneHot"] == [tf.int32.as_datatype_enum]

    x = np.array([[-4.0, -0.5, 0.0, 0.7], [1.5, 3.0, -2.0, 9.0]], np.float32)
    ids = np.array([1, 7], np.int32)  # 7 is out of range: all off
    expected_x = x
    for _ in range(3):
        expected_x = tf.nn.gelu(expected_x, approximate=False).numpy() - 0.5
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=rewritten) as session:
        refined, hot = session.run(["refined:0", "hot:0"], {"x:0": x, "ids:0": ids})
    np.testing.assert_allclose(refined, expected_x, atol=1e-6)
    np.testing.assert_array_equal(hot, 3 * tf.one_hot(ids, 4, 2.0, -1.0).numpy())


class Lookups(tf.Module):
    def __init__(self):
        super().__init__()
        self.table = tf.Variable(np.arange(20, dtype=np.float32).reshape([10, 2]))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n")])
    def lookups(self, n):
        rows, cells = tf.zeros([2]), tf.zeros([])
        for i in tf.range(n):
            rows += tf.gather(self.table, i)
            cells += tf.gather(self.table, [1, 0], batch_dims=0)[0, 1]
        return rows, cells


def test_gathers_from_a_variable_frozen_inside_a_loop_become_gathers_of_its_value():
    module = Lookups()
    frozen = convert_variables_to_constants_v2(
        module.lookups.get_concrete_function(), lower_control_flow=False
    )
    graph_def = frozen.graph.as_graph_def()

    replaced = gathers_of_frozen_variables(graph_def)

    assert [name.split("/", 1)[1] for name in replaced] == ["while/Gather", "while/Gather_1"]
    ops = {node.op for function in graph_def.library.function for node in function.node_def}
    assert "GatherV2" in ops and "ResourceGather" not in ops
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=rewritten) as session:
        rows, cells = session.run([t.name for t in frozen.outputs], {"n:0": 4})
    np.testing.assert_array_equal(rows, [0 + 2 + 4 + 6, 1 + 3 + 5 + 7])
    assert cells == 4 * 3  # table[1, 1], four times


def test_a_bool_reverse_becomes_an_int32_reverse_between_casts():
    # wasm's bool ReverseV2 gave 99 for true, or aborted.
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        tf.identity(tf.reverse(x > 0.0, [1], name="flipped"), name="out")
        tf.reverse(x, [0], name="floats")
    graph_def = graph.as_graph_def()
    assert bool_reverse_in_int32(graph_def) == ["flipped"]

    nodes = {node.name: node for node in graph_def.node}
    assert (nodes["flipped"].op, list(nodes["flipped"].input)) == ("Cast", ["flipped/reversed"])
    assert nodes["flipped/reversed"].attr["T"].type == tf.int32.as_datatype_enum
    assert nodes["floats"].op == "ReverseV2"
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    x = np.array([[0.5, -1.0, 2.0], [-0.5, 1.0, 0.0]], np.float32)
    with tf.compat.v1.Session(graph=rewritten) as session:
        (out,) = session.run(["out:0"], {"x:0": x})
    np.testing.assert_array_equal(out, np.flip(x > 0.0, 1))


def _einsum_graph() -> tf.Graph:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3, 4], name="x")
        kernel = tf.constant(np.arange(40, dtype=np.float32).reshape([4, 2, 5]), name="kernel")
        with tf.control_dependencies([tf.no_op(name="first")]):
            projected = tf.einsum("abc,cde->abde", x, kernel, name="projected")
        tf.identity(projected, name="out")
        tf.einsum("ii->i", tf.eye(3), name="diagonal")
    return graph


def test_an_einsum_becomes_a_matmul_under_its_own_name():
    graph_def = _einsum_graph().as_graph_def()
    einsum = next(node.name for node in graph_def.node if node.name.startswith("projected"))
    assert substitutes.einsums_as_matmuls(graph_def) == [einsum]

    nodes = {node.name: node for node in graph_def.node}
    assert nodes[einsum].op == "Reshape"
    matmul = nodes[node_name(nodes[einsum].input[0])]
    assert (matmul.op, matmul.name) == ("MatMul", f"{einsum}/MatMul")
    # What reads only the einsum's inputs, or nothing, runs after its control inputs.
    added = {name for name in nodes if name.startswith(f"{einsum}/")}
    first = [
        nodes[n] for n in added if not any(node_name(i) in added for i in data_inputs(nodes[n]))
    ]
    assert first and all("^first" in node.input for node in first)
    assert [node.op for node in graph_def.node].count("Einsum") == 1  # the diagonal


def test_the_substituted_einsums_compute_the_same_in_the_graph_and_in_loops():
    @tf.function(input_signature=[tf.TensorSpec([None, 3, 4], tf.float32, name="x")])
    def attend(x):
        kernel = tf.reshape(tf.range(16, dtype=tf.float32) / 16.0, [4, 4])
        scores = tf.einsum("abc,adc->abd", x, x)
        for _ in tf.range(2):
            x = tf.einsum("abc,cd->abd", x, kernel) + tf.einsum("abd,adc->abc", scores, x)
        return tf.identity(x, name="attended")

    x = np.random.default_rng(3).standard_normal([2, 3, 4]).astype(np.float32)
    expected = attend(x).numpy()
    for lowered in (False, True):
        frozen = convert_variables_to_constants_v2(
            attend.get_concrete_function(), lower_control_flow=lowered
        )
        graph = substitute_missing_kernels(frozen.graph)
        graph_def = graph.as_graph_def()
        scopes = [graph_def.node, *(f.node_def for f in graph_def.library.function)]
        assert "Einsum" not in {node.op for nodes in scopes for node in nodes}
        with tf.compat.v1.Session(graph=graph) as session:
            (out,) = session.run([frozen.outputs[0].name], {frozen.inputs[0].name: x})
        np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_a_constant_added_in_a_lowered_loop_joins_the_loops_frame():
    # TensorFlow refuses a node with inputs from two frames ("has inputs from
    # different frames"), and so does its optimizer, which tensorflowjs runs next.
    @tf.function(input_signature=[tf.TensorSpec([4], tf.float32, name="x")])
    def refine(x):
        for _ in tf.range(3):
            x = tf.nn.gelu(x, approximate=False) - 0.5
        return tf.identity(x, name="refined")

    x = np.array([-4.0, -0.5, 0.7, 9.0], np.float32)
    expected = refine(x).numpy()
    frozen = convert_variables_to_constants_v2(
        refine.get_concrete_function(), lower_control_flow=True
    )
    graph = substitute_missing_kernels(frozen.graph)
    ones = [node for node in graph.as_graph_def().node if node.name.endswith("Erfc/one")]
    assert len(ones) == 1 and len(ones[0].input) == 1 and ones[0].input[0].startswith("^")
    with tf.compat.v1.Session(graph=graph) as session:
        (out,) = session.run([frozen.outputs[0].name], {frozen.inputs[0].name: x})
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("known", [True, False])
def test_space_to_depth_becomes_reshapes_and_a_transpose(known):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4, 6, 3] if known else None, name="x")
        tf.identity(tf.nn.space_to_depth(x, 2, name="folded"), name="out")
    substituted = substitute_missing_kernels(graph)

    ops = {op.type for op in substituted.get_operations()}
    assert "SpaceToDepth" not in ops and "Transpose" in ops
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape([2, 4, 6, 3])
    with tf.compat.v1.Session(graph=substituted) as session:
        (out,) = session.run(["out:0"], {"x:0": x})
    np.testing.assert_array_equal(out, tf.nn.space_to_depth(x, 2).numpy())


@pytest.mark.parametrize("dtype", [tf.float32, tf.bool])
def test_a_band_part_becomes_a_select_by_its_mask(dtype):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(dtype, [None, 4, 5], name="x")
        bands = [(-1, 0), (0, -1), (1, 2), (0, 0), (-1, -1)]
        for i, (below, above) in enumerate(bands):
            tf.identity(tf.linalg.band_part(x, below, above), name=f"band_{i}")
        lower = tf.compat.v1.placeholder(tf.int64, [], name="lower")
        tf.identity(tf.linalg.band_part(x, lower, tf.constant(1, tf.int64)), name="fed")
    substituted = substitute_missing_kernels(graph)

    assert "MatrixBandPart" not in {op.type for op in substituted.get_operations()}
    values = np.random.default_rng(1).standard_normal([2, 4, 5]).astype(np.float32)
    x = values > 0 if dtype == tf.bool else values
    names = [f"band_{i}:0" for i in range(len(bands))] + ["fed:0"]
    with tf.compat.v1.Session(graph=substituted) as session:
        outputs = session.run(names, {"x:0": x, "lower:0": 2})
    expected = [tf.linalg.band_part(x, b, a).numpy() for b, a in bands]
    expected.append(tf.linalg.band_part(x, 2, 1).numpy())
    for out, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(out, want)


def test_a_select_of_bools_becomes_an_int32_select_between_casts():
    # wasm's bool select wrote past its output: a later disposal aborted.
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        masks = tf.where(x > 0.0, x > 1.0, x < -1.0, name="masks")
        tf.identity(masks, name="out")
        tf.where(x > 0.0, x, -x, name="floats")
    graph_def = graph.as_graph_def()
    assert bool_selects_in_int32(graph_def) == ["masks"]

    nodes = {node.name: node for node in graph_def.node}
    assert (nodes["masks"].op, list(nodes["masks"].input)) == ("Cast", ["masks/selected"])
    assert nodes["masks/selected"].attr["T"].type == tf.int32.as_datatype_enum
    assert nodes["floats"].op == "SelectV2"
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    x = np.array([[2.0, 0.5, -2.0], [-0.5, 1.5, 0.0]], np.float32)
    with tf.compat.v1.Session(graph=rewritten) as session:
        (out,) = session.run(["out:0"], {"x:0": x})
    np.testing.assert_array_equal(out, np.where(x > 0.0, x > 1.0, x < -1.0))


@pytest.mark.parametrize(
    ("params_shape", "indices_shape", "batch_dims"),
    [([2, 10, 4], [2, 6], 1), ([3, 4, 2], [3, 2], 1), ([2, 3, 5], [2, 3, 4], 2), ([2, 4], [2], 1)],
)
def test_a_gather_with_batch_axes_becomes_a_flat_gather(params_shape, indices_shape, batch_dims):
    rng = np.random.default_rng(4)
    params = rng.standard_normal(params_shape).astype(np.float32)
    indices = rng.integers(0, params_shape[batch_dims], indices_shape).astype(np.int64)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, *params_shape[1:]], name="x")
        ids = tf.compat.v1.placeholder(tf.int64, [None, *indices_shape[1:]], name="ids")
        tf.identity(tf.gather(x, ids, batch_dims=batch_dims), name="out")
    substituted = substitute_missing_kernels(graph)

    gathers = [op for op in substituted.get_operations() if op.type == "GatherV2"]
    assert [op.get_attr("batch_dims") for op in gathers] == [0]
    with tf.compat.v1.Session(graph=substituted) as session:
        (out,) = session.run(["out:0"], {"x:0": params, "ids:0": indices})
    np.testing.assert_array_equal(out, tf.gather(params, indices, batch_dims=batch_dims).numpy())
