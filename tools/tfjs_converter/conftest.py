"""Small real SavedModels for the converter's unit tests, made once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf


class TinyModel(tf.Module):
    """Two signatures with distinct tensor shapes, seeded weights."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(7)
        self.kernel = tf.Variable(rng.normal(size=(4, 3)).astype(np.float32), name="kernel")
        self.bias = tf.Variable(rng.normal(size=(3,)).astype(np.float32), name="bias")
        self.table = tf.Variable(rng.normal(size=(5, 2)).astype(np.float32), name="table")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def scale(self, x):
        return {"y": tf.matmul(x, self.kernel) + self.bias}

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 5], tf.float32, name="weights"),
            tf.TensorSpec([None, 2], tf.float32, name="offset"),
        ]
    )
    def mix(self, weights, offset):
        mixed = tf.matmul(weights, self.table) + offset
        return {"mixed": mixed, "total": tf.reduce_sum(mixed, axis=-1)}


class UnsupportedOpModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def gamma(self, x):
        return {"y": tf.math.lgamma(x)}


class SpectrumModel(tf.Module):
    """RFFT and ComplexAbs: kernels TF.js's wasm backend lacks."""

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
    def spectrum(self, x):
        return {"magnitude": tf.abs(tf.signal.rfft(x))}


class LoopModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
    def halve(self, x):
        steps = tf.constant(0.0)
        while x > 1.0:
            x = x / 2.0
            steps += 1.0
        return {"steps": steps}


class Accumulator(tf.Module):
    """A running sum: the smallest stateful, streaming signature."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 2], tf.float32, name="x"),
            tf.TensorSpec([None, 2], tf.float32, name="total"),
        ]
    )
    def step(self, x, total):
        return {"new_total": total + x, "count": tf.shape(x)[0]}


def _save(module: tf.Module, directory: Path, **signatures) -> Path:
    tf.saved_model.save(module, str(directory), signatures=signatures)
    return directory


@pytest.fixture(scope="session")
def tiny_saved_model(tmp_path_factory) -> Path:
    model = TinyModel()
    return _save(model, tmp_path_factory.mktemp("tiny") / "model", scale=model.scale, mix=model.mix)


@pytest.fixture(scope="session")
def unsupported_op_saved_model(tmp_path_factory) -> Path:
    model = UnsupportedOpModel()
    return _save(model, tmp_path_factory.mktemp("unsupported") / "model", gamma=model.gamma)


@pytest.fixture(scope="session")
def spectrum_saved_model(tmp_path_factory) -> Path:
    model = SpectrumModel()
    return _save(model, tmp_path_factory.mktemp("spectrum") / "model", spectrum=model.spectrum)


@pytest.fixture(scope="session")
def loop_saved_model(tmp_path_factory) -> Path:
    model = LoopModel()
    return _save(model, tmp_path_factory.mktemp("loop") / "model", halve=model.halve)


@pytest.fixture(scope="session")
def accumulator_saved_model(tmp_path_factory) -> Path:
    model = Accumulator()
    return _save(model, tmp_path_factory.mktemp("accumulator") / "model", step=model.step)
