"""Exports a model with TF2 control flow: a loop run a number of times given as input,
and a branch on an input.

Usage: export_refiner.py OUTPUT_DIR

`tf.function` turns the `for` over `tf.range(steps)` into a While op and the
`if` on a tensor into an If op, each calling functions of the graph's
library. tfjs_model keeps them as they are (`control_flow_v2`, the default),
and TF.js runs them with `executeAsync`.
"""

import sys

import tensorflow as tf


class Refiner(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([4, 4], seed=[1, 2]), name="kernel")
        self.bias = tf.Variable(tf.random.stateless_normal([4], seed=[3, 4]), name="bias")

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 4], tf.float32, name="state"),
            tf.TensorSpec([], tf.int32, name="steps"),
            tf.TensorSpec([], tf.bool, name="clip"),
        ]
    )
    def refine(self, state, steps, clip):
        for _ in tf.range(steps):
            state = tf.tanh(tf.matmul(state, self.kernel) + self.bias)
        if clip:
            state = tf.clip_by_value(state, -0.5, 0.5)
        else:
            state = state * 0.9
        return {"state": state, "norm": tf.norm(state, axis=-1)}


if __name__ == "__main__":
    refiner = Refiner()
    tf.saved_model.save(refiner, sys.argv[1], signatures={"refine": refiner.refine})
