"""Exports the wake-word detector that //models:wake_tfjs converts.

A streaming wake-word detector split the way production pipelines split it,
so that each stage runs at its own rate on the device:

* `filter`: one 25 ms audio frame (400 samples at 16 kHz) to 40 log-mel
  features (Hann window, 512-point DFT power spectrum, mel filterbank, log);
* `encode`: features plus the recurrent state to an encoding and the next
  state (a GRU cell), run once per frame with the state fed back;
* `detect`: the last 16 encodings to the probability that the wake word was
  said.

The DFT is a product with a constant windowed basis rather than tf.signal.rfft:
TF.js's wasm backend has no FFT kernel, and for one short frame the matrix
product costs about the same. The weights are random but seeded, so every
export is identical. Usage: `export_wake.py OUTPUT_DIR`.
"""

import sys

import numpy as np
import tensorflow as tf

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 400
FFT_LENGTH = 512
MEL_BINS = 40
STATE_SIZE = 64
ENCODING_SIZE = 32
WINDOW_FRAMES = 16
DETECTOR_CHANNELS = 24
SEED = 20261123


class WakeWordDetector(tf.Module):
    def __init__(self, seed: int = SEED):
        super().__init__(name="wake")
        rng = np.random.default_rng(seed)

        def weight(*shape):
            scale = np.sqrt(1.0 / shape[0])
            return tf.Variable(rng.normal(0.0, scale, shape).astype(np.float32))

        def bias(size):
            return tf.Variable(np.zeros(size, np.float32))

        # Windowed real and imaginary DFT bases: frame @ basis = rfft(frame * window).
        window = np.hanning(FRAME_SAMPLES)[:, None]
        phase = (
            2
            * np.pi
            * np.outer(np.arange(FRAME_SAMPLES), np.arange(FFT_LENGTH // 2 + 1))
            / FFT_LENGTH
        )
        self.dft_real = tf.constant((window * np.cos(phase)).astype(np.float32))
        self.dft_imaginary = tf.constant((window * -np.sin(phase)).astype(np.float32))
        self.mel_matrix = tf.constant(
            tf.signal.linear_to_mel_weight_matrix(
                num_mel_bins=MEL_BINS,
                num_spectrogram_bins=FFT_LENGTH // 2 + 1,
                sample_rate=SAMPLE_RATE,
                lower_edge_hertz=60.0,
                upper_edge_hertz=7600.0,
            ).numpy()
        )
        # GRU gates: update (z), reset (r) and candidate (h).
        self.input_weights = weight(MEL_BINS, 3 * STATE_SIZE)
        self.state_weights = weight(STATE_SIZE, 3 * STATE_SIZE)
        self.gate_bias = bias(3 * STATE_SIZE)
        self.encoding_weights = weight(STATE_SIZE, ENCODING_SIZE)
        self.encoding_bias = bias(ENCODING_SIZE)
        self.detector_filters = weight(3, ENCODING_SIZE, DETECTOR_CHANNELS)
        self.detector_weights = weight(DETECTOR_CHANNELS, 1)
        self.detector_bias = tf.Variable(np.full(1, -1.0, np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, FRAME_SAMPLES], tf.float32, name="audio")])
    def filter(self, audio):
        power = tf.square(tf.matmul(audio, self.dft_real)) + tf.square(
            tf.matmul(audio, self.dft_imaginary)
        )
        mel_energy = tf.matmul(power, self.mel_matrix)
        # A floor, not `+ 1e-6`: grappler would fuse a scalar add into the
        # MatMul as a rank-0 bias, which TF.js's wasm backend rejects.
        return {"features": tf.math.log(tf.maximum(mel_energy, 1e-6))}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, MEL_BINS], tf.float32, name="features"),
            tf.TensorSpec([None, STATE_SIZE], tf.float32, name="state"),
        ]
    )
    def encode(self, features, state):
        from_input = tf.matmul(features, self.input_weights) + self.gate_bias
        from_state = tf.matmul(state, self.state_weights)
        input_z, input_r, input_h = tf.split(from_input, 3, axis=-1)
        state_z, state_r, state_h = tf.split(from_state, 3, axis=-1)
        update = tf.sigmoid(input_z + state_z)
        reset = tf.sigmoid(input_r + state_r)
        candidate = tf.tanh(input_h + reset * state_h)
        new_state = (1.0 - update) * state + update * candidate
        encoding = tf.tanh(tf.matmul(new_state, self.encoding_weights) + self.encoding_bias)
        return {"encoding": encoding, "state": new_state}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, WINDOW_FRAMES, ENCODING_SIZE], tf.float32, name="encodings")
        ]
    )
    def detect(self, encodings):
        activations = tf.nn.relu(
            tf.nn.conv1d(encodings, self.detector_filters, stride=1, padding="VALID")
        )
        pooled = tf.reduce_max(activations, axis=1)
        logit = tf.matmul(pooled, self.detector_weights) + self.detector_bias
        return {"probability": tf.sigmoid(logit)}


def main(output_dir: str) -> None:
    detector = WakeWordDetector()
    tf.saved_model.save(
        detector,
        output_dir,
        signatures={
            "filter": detector.filter,
            "encode": detector.encode,
            "detect": detector.detect,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1])
