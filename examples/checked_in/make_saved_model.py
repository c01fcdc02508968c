"""Made the checked-in SavedModel in saved_model/ (kept to show how).

A colour namer: RGB values in [0, 1] to scores for the names in labels.json,
with hand-set weights. To regenerate: python make_saved_model.py saved_model
(with TensorFlow 2.19, as in requirements_lock.txt).
"""

import sys

import numpy as np
import tensorflow as tf

# Rows: red, green, blue input; columns: red, green, blue scores.
WEIGHTS = np.array([[4.0, -2.0, -2.0], [-2.0, 4.0, -2.0], [-2.0, -2.0, 4.0]], np.float32)


class ColourNamer(tf.Module):
    def __init__(self):
        super().__init__()
        self.weights = tf.Variable(WEIGHTS)
        self.gray_weight = tf.Variable(np.array([4.0], np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="rgb")])
    def name_colour(self, rgb):
        spread = tf.reduce_max(rgb, axis=-1, keepdims=True) - tf.reduce_min(
            rgb, axis=-1, keepdims=True
        )
        # Concatenated, not added to the product: grappler would fuse the add
        # into the MatMul, and TF.js's wasm backend takes only rank-1 biases.
        gray = 1.0 - self.gray_weight * spread
        logits = tf.concat([tf.matmul(rgb, self.weights), gray], axis=-1)
        return {"scores": tf.nn.softmax(logits)}


if __name__ == "__main__":
    namer = ColourNamer()
    tf.saved_model.save(namer, sys.argv[1], signatures={"serving_default": namer.name_colour})
