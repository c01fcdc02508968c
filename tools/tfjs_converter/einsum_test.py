import numpy as np
import pytest
import tensorflow as tf

from tfjs_converter.einsum import Equation, einsum_as_matmul, parse

E0, E1 = ("...", 0), ("...", 1)


def test_an_equation_expands_each_ellipsis_to_its_operands_axes():
    assert parse("abc,cde->abde", [3, 3]) == Equation((tuple("abc"), tuple("cde")), tuple("abde"))
    assert parse("...j, jk -> ...k", [3, 2]) == Equation(((E1, E0, "j"), ("j", "k")), (E1, E0, "k"))
    # Broadcast axes align from the right, as numpy's do.
    assert parse("...ij,...jk->...ik", [4, 3]).operands == ((E1, E0, "i", "j"), (E0, "j", "k"))


def test_an_implicit_output_is_the_labels_used_once_in_order():
    assert parse("bij,jk", [3, 2]).output == tuple("bik")
    assert parse("...j,jk", [2, 2]).output == (E0, "k")


def test_what_cannot_be_expanded_is_none():
    assert parse("...j,jk->...k", [None, 2]) is None  # an ellipsis of unknown rank
    assert parse("ij,jk->ik", [3, 2]) is None  # labels that do not fit the rank
    assert parse("ij->ij", [2, 2]) is None  # two ranks for one operand
    assert parse("ij,jk->ik", [None, None]) == Equation((tuple("ij"), tuple("jk")), tuple("ik"))


# Keras's MultiHeadAttention (projections, scores, combination, output), then
# sums, transposes, outer products and broadcast batches.
EQUATIONS = [
    ("abc,cde->abde", [[2, 3, 4], [4, 5, 6]]),
    ("aecd,abcd->acbe", [[2, 3, 4, 5], [2, 6, 4, 5]]),
    ("acbe,aecd->abcd", [[2, 4, 6, 3], [2, 3, 4, 5]]),
    ("abcd,cde->abe", [[2, 3, 4, 5], [4, 5, 6]]),
    ("bij,bjk->b", [[2, 3, 4], [2, 4, 5]]),  # TF.js cpu gave the shape [2, 6]
    ("ij->ji", [[3, 4]]),
    ("ij->", [[3, 4]]),
    ("...b,bc->...c", [[2, 3, 4], [4, 5]]),
    ("...ij,...jk->...ik", [[2, 1, 3, 4], [5, 4, 2]]),
    ("...ij,...jk->...ik", [[2, 1, 3, 4], [1, 3, 4, 5]]),  # both broadcast
    ("i,j->ij", [[3], [4]]),
    ("ij,ij->i", [[3, 4], [3, 4]]),
    ("bij,jk", [[2, 3, 4], [4, 5]]),
    ("ab,cd->", [[2, 3], [4, 5]]),
    ("ab,b->a", [[0, 3], [3]]),
]


@pytest.mark.parametrize("equation,shapes", EQUATIONS)
@pytest.mark.parametrize("known", ["all", "first_unknown"])
def test_the_decomposition_computes_numpys_einsum(equation, shapes, known):
    rng = np.random.default_rng(7)
    values = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    graph = tf.Graph()
    with graph.as_default():
        operands = [
            tf.compat.v1.placeholder(
                tf.float32, [None, *shape[1:]] if known == "first_unknown" and shape else shape
            )
            for shape in shapes
        ]
        parsed = parse(equation, [len(shape) for shape in shapes])
        result = einsum_as_matmul(parsed, operands)
    assert "Einsum" not in {op.type for op in graph.get_operations()}
    with tf.compat.v1.Session(graph=graph) as session:
        out = session.run(result, dict(zip(operands, values, strict=True)))
    expected = np.einsum(equation, *values)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_known_shapes_reshape_by_constants():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, 16])
        kernel = tf.compat.v1.placeholder(tf.float32, [16, 4, 8])
        einsum_as_matmul(parse("abc,cde->abde", [3, 3]), [x, kernel])
    ops = [op.type for op in graph.get_operations()]
    # The batch and time sizes are read where the output needs them apart.
    assert ops.count("MatMul") == 1 and "BatchMatMulV2" not in ops and "Prod" not in ops
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 16])
        kernel = tf.compat.v1.placeholder(tf.float32, [16, 4, 8])
        einsum_as_matmul(parse("bc,cde->bde", [2, 3]), [x, kernel])
    assert {op.type for op in graph.get_operations()} == {
        "Placeholder",
        "Const",
        "Reshape",
        "MatMul",
    }


def test_a_diagonal_is_not_decomposed():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [3, 3])
        assert einsum_as_matmul(parse("ii->i", [2]), [x]) is None


def test_batch_axes_both_operands_broadcast_are_broadcast_before_the_product():
    # TF.js's BatchMatMul got [2, 1] against [1, 3] wrong.
    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.placeholder(tf.float32, [None, 1, 3, 4])
        b = tf.compat.v1.placeholder(tf.float32, [1, 3, 4, 5])
        einsum_as_matmul(parse("...ij,...jk->...ik", [4, 4]), [a, b])
        c = tf.compat.v1.placeholder(tf.float32, [None, 5, 3, 4])
        d = tf.compat.v1.placeholder(tf.float32, [None, 5, 4, 2])
        einsum_as_matmul(parse("abij,abjk->abik", [4, 4]), [c, d])  # named: equal sizes
    products = [op for op in graph.get_operations() if op.type == "BatchMatMulV2"]
    assert [op.inputs[0].op.type for op in products] == ["BroadcastTo", "Placeholder"]
