"""`Einsum` as the sums, transposes, reshapes and one matrix product it stands for.

TF.js's wasm backend has no Einsum kernel, and its cpu kernel gave
`bij,bjk->b` the shape [2, 6] instead of [2]; Keras's `MultiHeadAttention`
and `EinsumDense` (so most transformer blocks) are made of Einsums. Every
backend runs MatMul, BatchMatMul, Transpose, Reshape and Sum, which is how
TensorFlow's own Einsum kernel computes it too: a label only one operand has
and the output lacks is summed away first; each operand is then transposed
to [batch, free, contracted] (the other to [batch, contracted, free]) and
reshaped to three axes, multiplied, and the product reshaped and transposed
to the output's labels.

An ellipsis stands for as many axes as its operand has beyond its labels,
aligned from the right across operands, as numpy broadcasts them; batch axes
both operands have are broadcast against each other before the product
(`_broadcast_batches` says why). A label repeated within one operand (a
diagonal, `ii->i`) is not decomposed: the Einsum stays, for the op check to
name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

# A letter of the equation, or ("...", k): the ellipsis's axis k from the right.
Label = str | tuple[str, int]

_ELLIPSIS = "..."


@dataclass(frozen=True)
class Equation:
    """An Einsum equation with its ellipses expanded to one label per axis."""

    operands: tuple[tuple[Label, ...], ...]
    output: tuple[Label, ...]


def parse(equation: str, ranks: Sequence[int | None]) -> Equation | None:
    """equation (`ab,bc->ac`, `...j,jk->...k`, or implicit: `ab,bc`) for operands of ranks.

    Returns None where an ellipsis stands for the axes of an operand of
    unknown rank, or where the labels do not fit the ranks.
    """
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != len(ranks):
        return None
    operands = []
    for subscript, rank in zip(subscripts, ranks, strict=True):
        labels = _expanded(subscript, rank)
        if labels is None:
            return None
        operands.append(labels)
    ellipsis_axes = max(
        (sum(isinstance(label, tuple) for label in labels) for labels in operands), default=0
    )
    if not arrow:  # numpy's implicit output: the ellipsis, then labels used once, sorted
        letters = [label for labels in operands for label in labels if isinstance(label, str)]
        output = _ELLIPSIS * bool(ellipsis_axes) + "".join(
            sorted(label for label in set(letters) if letters.count(label) == 1)
        )
    expanded_output = _expanded(output, None, ellipsis_axes)
    if expanded_output is None:
        return None
    return Equation(tuple(operands), expanded_output)


def _expanded(
    subscript: str, rank: int | None, ellipsis_axes: int | None = None
) -> tuple[Label, ...] | None:
    head, ellipsis, tail = subscript.partition(_ELLIPSIS)
    if not ellipsis:
        return tuple(subscript) if rank in (None, len(subscript)) else None
    if ellipsis_axes is None:
        if rank is None or rank < len(head) + len(tail):
            return None
        ellipsis_axes = rank - len(head) - len(tail)
    axes = tuple((_ELLIPSIS, k) for k in reversed(range(ellipsis_axes)))
    return (*head, *axes, *tail)


def einsum_as_matmul(equation: Equation, operands: Sequence[tf.Tensor]) -> tf.Tensor | None:
    """Builds equation over operands (one or two) without Einsum, in the current graph.

    Returns None for what is not decomposed: a label repeated within one
    operand, or more than two operands (TensorFlow's Einsum op takes two).
    """
    if not 1 <= len(operands) <= 2 or any(len(set(o)) != len(o) for o in equation.operands):
        return None
    summed = [
        _summed_away(tensor, labels, _labels_elsewhere(equation, index))
        for index, (tensor, labels) in enumerate(zip(operands, equation.operands, strict=True))
    ]
    if len(summed) == 1:
        tensor, labels = summed[0]
        return _transposed(tensor, labels, equation.output)
    (a, a_labels), (b, b_labels) = summed
    output = equation.output
    batch = [label for label in output if label in a_labels and label in b_labels]
    contracted = [label for label in a_labels if label in b_labels and label not in output]
    free_a = [label for label in output if label in a_labels and label not in b_labels]
    free_b = [label for label in output if label in b_labels and label not in a_labels]
    a = _transposed(a, a_labels, (*batch, *free_a, *contracted))
    b = _transposed(b, b_labels, (*batch, *contracted, *free_b))
    if any(isinstance(label, tuple) for label in batch) and not _same_sizes(a, b, len(batch)):
        a, b = _broadcast_batches(a, b, len(batch))
    product = tf.linalg.matmul(
        _reshaped_to_three(a, len(batch), len(free_a)),
        _reshaped_to_three(b, len(batch), len(contracted)),
    )
    if len(free_a) != 1 or len(free_b) != 1:
        sizes = [
            *_axes(product, range(len(batch))),
            *_axes(a, range(len(batch), len(batch) + len(free_a))),
            *_axes(b, range(len(batch) + len(contracted), len(b.shape))),
        ]
        product = tf.reshape(product, _shape_of_products(sizes))
    return _transposed(product, (*batch, *free_a, *free_b), output)


def _labels_elsewhere(equation: Equation, operand: int) -> set[Label]:
    """The labels of the output and of the operands but the one at index operand."""
    others = equation.operands[:operand] + equation.operands[operand + 1 :]
    return set(equation.output).union(*others)


def _summed_away(
    tensor: tf.Tensor, labels: tuple[Label, ...], kept: set[Label]
) -> tuple[tf.Tensor, tuple[Label, ...]]:
    axes = [axis for axis, label in enumerate(labels) if label not in kept]
    if not axes:
        return tensor, labels
    return tf.reduce_sum(tensor, axes), tuple(label for label in labels if label in kept)


def _transposed(tensor: tf.Tensor, labels: Sequence[Label], order: Sequence[Label]) -> tf.Tensor:
    permutation = [list(labels).index(label) for label in order]
    if permutation == list(range(len(permutation))):
        return tensor
    return tf.transpose(tensor, permutation)


def _same_sizes(a: tf.Tensor, b: tf.Tensor, axes: int) -> bool:
    """Whether a's and b's first axes are known to have the same sizes."""
    sizes = [(a.shape[axis], b.shape[axis]) for axis in range(axes)]
    return all(x is not None and x == y for x, y in sizes)


def _broadcast_batches(a: tf.Tensor, b: tf.Tensor, axes: int) -> tuple[tf.Tensor, tf.Tensor]:
    """a and b with their first axes broadcast against each other.

    TF.js's BatchMatMul broadcasts batch axes wrong where both operands do
    ([2, 1] against [1, 3] gave a [2, 3] product holding half its values, or
    wrong ones on wasm), so the product gets batch axes that are equal.
    """
    known = [a.shape[:axes], b.shape[:axes]]
    if all(shape.is_fully_defined() for shape in known):
        batch = tf.constant(np.broadcast_shapes(*(tuple(shape) for shape in known)), tf.int32)
    else:
        batch = tf.raw_ops.BroadcastArgs(s0=tf.shape(a)[:axes], s1=tf.shape(b)[:axes])
    return tuple(
        tf.broadcast_to(
            tensor,
            _concat([batch, *(_product(tensor, range(i, i + 1)) for i in range(axes, rank))]),
        )
        for tensor, rank in ((a, len(a.shape)), (b, len(b.shape)))
    )


# Axes of a tensor whose sizes multiply into one size of a new shape.
_Group = tuple[tf.Tensor, range]


def _axes(tensor: tf.Tensor, axes: range) -> list[_Group]:
    """Each of tensor's axes, a group of its own."""
    return [(tensor, range(axis, axis + 1)) for axis in axes]


def _reshaped_to_three(tensor: tf.Tensor, batch: int, middle: int) -> tf.Tensor:
    """tensor as [its first batch axes, the next middle ones' product, the rest's product]."""
    rank = len(tensor.shape)
    if rank == batch + 2 and middle == 1:
        return tensor
    groups = [
        *_axes(tensor, range(batch)),
        (tensor, range(batch, batch + middle)),
        (tensor, range(batch + middle, rank)),
    ]
    return tf.reshape(tensor, _shape_of_products(groups))


def _shape_of_products(groups: Sequence[_Group]) -> tf.Tensor:
    """The shape whose sizes are the products of each group's sizes.

    A constant where at most one size is unknown (as -1, which Reshape
    infers, unless a known size is 0), so that most models reshape by
    constants; else computed from the tensors' shapes.
    """
    known = [_static_product(tensor, axes) for tensor, axes in groups]
    if None not in known or (known.count(None) == 1 and 0 not in known):
        return tf.constant([-1 if size is None else size for size in known], tf.int32)
    return tf.concat([_product(tensor, axes) for tensor, axes in groups], 0)


def _static_product(tensor: tf.Tensor, axes: range) -> int | None:
    sizes = [tensor.shape[axis] for axis in axes]
    return None if None in sizes else math.prod(sizes)


def _product(tensor: tf.Tensor, axes: range) -> tf.Tensor:
    """The product of tensor's sizes over axes, as a 1-D tensor of one size."""
    known = _static_product(tensor, axes)
    if known is not None:
        return tf.constant([known], tf.int32)
    sizes = tf.shape(tensor)[axes.start : axes.stop]
    return sizes if len(axes) == 1 else tf.reduce_prod(sizes, keepdims=True)


def _concat(pieces: Sequence[tf.Tensor]) -> tf.Tensor:
    """pieces (1-D int32) end to end, as a constant where all are known."""
    known = [tf.get_static_value(piece) for piece in pieces]
    if all(values is not None for values in known):
        return tf.constant([int(size) for values in known for size in values], tf.int32)
    return tf.concat(pieces, 0)
