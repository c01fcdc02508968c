import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tfjs_converter.complex_pairs import complex_as_real_pairs


def _complex_ops(graph: tf.Graph) -> list[str]:
    return sorted(
        {
            op.type
            for op in graph.get_operations()
            if any(t.dtype.is_complex for t in [*op.inputs, *op.outputs])
        }
    )


@tf.function(input_signature=[tf.TensorSpec([None, 400], tf.float32, name="audio")])
def front_ends(audio):
    stft = tf.signal.stft(audio, 64, 32, fft_length=64)
    magnitude = tf.abs(stft)
    mel = tf.tensordot(magnitude, tf.signal.linear_to_mel_weight_matrix(16, 33, 8000.0), 1)
    return {
        "magnitude": magnitude,
        "power": tf.math.real(stft * tf.math.conj(stft)),
        # A DCT: an RFFT, a slice, a product by constant twiddle factors, Real.
        "mfcc": tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6)),
        "phase": tf.math.angle(stft),
        "padded": tf.abs(tf.signal.rfft(audio[:, :50], [64])),
        "cropped": tf.math.imag(tf.signal.rfft(audio, [32])),
    }


def test_front_ends_compute_the_same_without_complex_numbers():
    frozen = convert_variables_to_constants_v2(front_ends.get_concrete_function())
    assert "RFFT" in _complex_ops(frozen.graph)

    graph = complex_as_real_pairs(frozen.graph)

    assert _complex_ops(graph) == []
    audio = np.random.default_rng(0).standard_normal([2, 400]).astype(np.float32)
    expected = {key: value.numpy() for key, value in front_ends(audio).items()}
    with tf.compat.v1.Session(graph=graph) as session:
        outputs = session.run([t.name for t in frozen.outputs], {frozen.inputs[0].name: audio})
    keys = sorted(expected)  # a dict's outputs come in sorted key order
    for key, value in zip(keys, outputs, strict=True):
        scale = np.max(np.abs(expected[key]))
        np.testing.assert_allclose(value, expected[key], atol=1e-6 * scale, err_msg=key)


@pytest.mark.parametrize(
    "spectrum",
    [
        lambda x: tf.signal.rfft(x),  # a complex output of the model
        lambda x: tf.abs(tf.signal.fft(tf.complex(x, x))),  # an FFT of complex values
        lambda x: tf.abs(tf.signal.rfft(tf.reshape(x, [-1]))),  # a length not known
    ],
)
def test_a_graph_with_complex_ops_this_cannot_write_is_left_as_it_is(spectrum):
    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32)])
    def function(x):
        return spectrum(x)

    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    assert complex_as_real_pairs(frozen.graph) is frozen.graph
