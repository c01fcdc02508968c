"""Complex tensors as pairs of float32 ones, and RFFT as a matrix product (`fft_as_matmul`).

TF.js's wasm backend has no complex numbers (no Complex, RFFT, Real, Imag or
ComplexAbs kernel), so a model that computes a spectrum
(`tf.abs(tf.signal.stft(...))`, a log-mel front end) fails there; on cpu and
webgl, `tf.signal.mfccs_from_log_mel_spectrograms` failed too
(`stridedSlice does not support complex64 tensors`). With fft_as_matmul,
each complex64 tensor of the main graph becomes two float32 tensors, its
real and imaginary parts, where every op on it can be so written:

- RFFT over a last axis of known size: one MatMul by the real DFT basis
  [cos | -sin] of fft_length (after cropping or zero-padding the axis to it),
  a constant of fft_length x (fft_length + 2) float32 values: 1 MB for 512;
- Complex, Real, Imag: the parts themselves; ComplexAbs: sqrt(re^2 + im^2);
  Angle: atan2(im, re); Mul: (ac - bd, ad + bc); Conj: (re, -im);
- Add, Sub, Neg and the ops that only move values (Identity, Reshape,
  slices, Transpose, Concat, ...): the same op on each part;
- a complex value computed from constants only (the DCT's twiddle factors,
  `exp(-i*pi*k/2N)`): evaluated now, two constants.

Where any complex op is left that this does not write (an FFT of complex
values, a complex output, complex128, a lowered loop), the graph is left as
it was: the report and the `backends` budget name the kernels it needs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import node_def_pb2

from tfjs_converter.einsum import einsum_as_matmul, parse
from tfjs_converter.graph_nodes import (
    GraphScope,
    Operand,
    build_fragment,
    const_node,
    control_inputs,
    data_inputs,
)

# Ops that only move values, or act on each part alone: run once per part.
_PART_BY_PART = frozenset(
    {
        "Add",
        "AddV2",
        "BroadcastTo",
        "ConcatV2",
        "ExpandDims",
        "GatherV2",
        "Identity",
        "Neg",
        "Pack",
        "Pad",
        "PadV2",
        "Reshape",
        "ReverseV2",
        "Slice",
        "Squeeze",
        "StridedSlice",
        "Sub",
        "Tile",
        "Transpose",
    }
)
_PAIRED = _PART_BY_PART | {"RFFT", "Complex", "Cast", "Mul", "Conj"}
# Ops that take complex values and give real ones.
_TO_REAL = frozenset({"Real", "Imag", "ComplexAbs", "Angle"})
_COMPLEX = tf.complex64.as_datatype_enum
_FLOAT = tf.float32.as_datatype_enum

# A complex tensor's parts, as inputs of the graph name them.
Pair = tuple[str, str]


def complex_as_real_pairs(graph: tf.Graph) -> tf.Graph:
    """graph, or a copy of it whose complex64 tensors are pairs of float32 ones.

    The copy has the same outputs, computed without complex numbers; graph is
    returned as it is when it has none, or some this module cannot write.
    """
    region = [op for op in graph.get_operations() if _is_complex(op)]
    if not region or not _writable(graph, region):
        return graph
    graph_def = graph.as_graph_def()
    dropped = {op.name for op in region}
    if any(f"^{name}" in node.input for node in graph_def.node for name in dropped):
        return graph  # something waits for a complex op: it cannot go
    scope = GraphScope(graph_def.node)
    nodes = {node.name: node for node in graph_def.node}
    pairs = _constant_pairs(graph, scope, [op for op in region if _constant(op)])
    for op in region:
        if op.outputs[0].name not in pairs:
            pairs[op.outputs[0].name] = _pair(scope, nodes[op.name], op, pairs)
    for op in graph.get_operations():
        if op.type in _TO_REAL and not _is_complex(op):
            _to_real(scope, nodes[op.name], pairs[op.inputs[0].name])
    kept = [node for node in graph_def.node if node.name not in dropped]
    del graph_def.node[:]
    graph_def.node.extend(kept)
    rewritten = tf.Graph()
    with rewritten.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    return rewritten


def _is_complex(op: tf.Operation) -> bool:
    return any(tensor.dtype.is_complex for tensor in op.outputs)


def _writable(graph: tf.Graph, region: list[tf.Operation]) -> bool:
    """Whether every op on complex values can be written with pairs."""
    if any(op.type == "Enter" for op in graph.get_operations()):
        return False  # a lowered loop: new constants would need its frame
    for op in region:
        if len(op.outputs) != 1 or op.outputs[0].dtype != tf.complex64:
            return False
        consumers = op.outputs[0].consumers()
        if not consumers:  # maybe an output of the model
            return False
        for consumer in consumers:
            if not (_is_complex(consumer) or consumer.type in _TO_REAL):
                return False
        if not _constant(op) and not (op.type in _PAIRED and _pairable(op)):
            return False
    return True


def _pairable(op: tf.Operation) -> bool:
    if op.type == "RFFT":
        length = tf.get_static_value(op.inputs[1])
        return length is not None and op.inputs[0].shape.rank and op.inputs[0].shape[-1] is not None
    if op.type == "Cast":
        return not op.inputs[0].dtype.is_complex
    return True


def _constant(op: tf.Operation) -> bool:
    """Whether op's value depends on constants only (and on no state)."""
    if op.type == "Const":
        return True
    if op.type == "Placeholder" or op.op_def.is_stateful or op.control_inputs:
        return False
    return all(_constant(tensor.op) for tensor in op.inputs)


def _constant_pairs(graph: tf.Graph, scope: GraphScope, ops: list[tf.Operation]) -> dict[str, Pair]:
    if not ops:
        return {}
    with tf.compat.v1.Session(graph=graph) as session:
        values = session.run([op.outputs[0] for op in ops])
    pairs = {}
    for op, value in zip(ops, values, strict=True):
        parts = []
        for part, numbers in (("real", np.real(value)), ("imag", np.imag(value))):
            node = const_node(scope.names.free(f"{op.name}/{part}"), numbers, tf.float32)
            scope.nodes.append(node)
            parts.append(node.name)
        pairs[op.outputs[0].name] = (parts[0], parts[1])
    return pairs


def _input(tensor: tf.Tensor) -> str:
    return tensor.op.name if tensor.value_index == 0 else f"{tensor.op.name}:{tensor.value_index}"


def _pair(
    scope: GraphScope, node: node_def_pb2.NodeDef, op: tf.Operation, pairs: dict[str, Pair]
) -> Pair:
    if op.type == "Complex":
        return _input(op.inputs[0]), _input(op.inputs[1])
    if op.type in _PART_BY_PART:
        return _part_by_part(scope, node, op, pairs)
    build, operands = _BUILDERS[op.type](op, pairs)
    fragment = build_fragment(operands, build)
    made = scope.add_fragment(fragment, op.name, control_inputs(node))
    scope.nodes.extend(made.values())
    real, imag = fragment.results
    return scope.output(made[real]), scope.output(made[imag])


def _part_by_part(
    scope: GraphScope, node: node_def_pb2.NodeDef, op: tf.Operation, pairs: dict[str, Pair]
) -> Pair:
    names = []
    for index, part in enumerate(("real", "imag")):
        new = node_def_pb2.NodeDef()
        new.CopyFrom(node)
        new.name = scope.names.free(f"{op.name}/{part}")
        del new.input[:]
        for tensor, name in zip(op.inputs, data_inputs(node), strict=True):
            new.input.append(pairs[tensor.name][index] if tensor.dtype.is_complex else name)
        new.input.extend(control_inputs(node))
        for value in new.attr.values():
            if value.type == _COMPLEX:
                value.type = _FLOAT
        scope.nodes.append(new)
        names.append(new.name)
    return names[0], names[1]


Builder = Callable[[tf.Operation, dict[str, Pair]], tuple[Callable, list[Operand]]]


def _parts(tensor: tf.Tensor, pairs: dict[str, Pair]) -> list[Operand]:
    return [(tf.float32, tensor.shape, name) for name in pairs[tensor.name]]


def _rfft(op: tf.Operation, pairs: dict[str, Pair]) -> tuple[Callable, list[Operand]]:
    signal = op.inputs[0]
    (length,) = tf.get_static_value(op.inputs[1])
    size, bins = signal.shape[-1], length // 2 + 1
    angles = 2 * np.pi * np.outer(np.arange(length), np.arange(bins)) / length
    sines = np.sin(angles)
    # The first bin's and (for an even length) the last one's imaginary part is
    # exactly 0, as an FFT of real values gives it, not 1e-16 of rounding.
    sines[:, 0] = 0.0
    if length % 2 == 0:
        sines[:, -1] = 0.0
    basis = np.concatenate([np.cos(angles), -sines], 1).astype(np.float32)

    def build(x):
        if size > length:
            x = x[..., :length]
        elif size < length:
            x = tf.pad(x, [[0, 0]] * (x.shape.rank - 1) + [[0, length - size]])
        equation = parse("...n,nk->...k", [x.shape.rank, 2])
        product = einsum_as_matmul(equation, [x, tf.constant(basis)])
        return product[..., :bins], product[..., bins:]

    return build, [(signal.dtype, signal.shape, _input(signal))]


def _cast(op: tf.Operation, pairs: dict[str, Pair]) -> tuple[Callable, list[Operand]]:
    def build(x):
        real = tf.cast(x, tf.float32)
        return real, tf.zeros_like(real)

    return build, [(op.inputs[0].dtype, op.inputs[0].shape, _input(op.inputs[0]))]


def _mul(op: tf.Operation, pairs: dict[str, Pair]) -> tuple[Callable, list[Operand]]:
    def build(a, b, c, d):  # (a + bi)(c + di)
        return a * c - b * d, a * d + b * c

    return build, _parts(op.inputs[0], pairs) + _parts(op.inputs[1], pairs)


def _conj(op: tf.Operation, pairs: dict[str, Pair]) -> tuple[Callable, list[Operand]]:
    return (lambda a, b: (tf.identity(a), -b)), _parts(op.inputs[0], pairs)


_BUILDERS: dict[str, Builder] = {"RFFT": _rfft, "Cast": _cast, "Mul": _mul, "Conj": _conj}


def _to_real(scope: GraphScope, node: node_def_pb2.NodeDef, pair: Pair) -> None:
    """Rewrites node (Real, Imag, ComplexAbs, Angle) in place to read pair."""
    real, imag = pair
    controls = control_inputs(node)
    if node.op in ("Real", "Imag"):
        part = real if node.op == "Real" else imag
        node.op = "Identity"
        node.attr.clear()
        node.attr["T"].type = _FLOAT
        del node.input[:]
        node.input.extend([part, *controls])
        return
    build = _magnitude if node.op == "ComplexAbs" else _phase
    unknown = tf.TensorShape(None)
    fragment = build_fragment([(tf.float32, unknown, real), (tf.float32, unknown, imag)], build)
    scope.nodes.extend(scope.splice(node, fragment, controls))


def _magnitude(real: tf.Tensor, imag: tf.Tensor) -> tf.Tensor:
    return tf.sqrt(real * real + imag * imag)


def _phase(real: tf.Tensor, imag: tf.Tensor) -> tf.Tensor:
    # A product gives -0.0 where an FFT gives 0.0 (a sum of x * -0.0), and
    # atan2 tells them apart (-pi, pi) where the real part is negative.
    return tf.math.atan2(tf.where(tf.equal(imag, 0.0), 0.0, imag), real)
