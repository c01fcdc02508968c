"""Exports a small Keras image classifier as a SavedModel.

Usage: export_classifier.py OUTPUT_DIR

The weights are seeded, so every export is identical; a real project would
load trained weights here instead. The model is saved through a tf.Module
rather than with `model.export()`: Keras 3's export lists the variables in an
order that changes from one process to the next, so its SavedModels (and
everything converted from them) would never hit a cache.
"""

import sys

import keras
import tensorflow as tf

IMAGE_SIZE = 32
CLASSES = 10


def build_classifier() -> keras.Model:
    keras.utils.set_random_seed(20261123)
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255)(inputs)
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.DepthwiseConv2D(3, activation="relu")(x)
    x = keras.layers.Conv2D(32, 1, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="classifier")


class ServingModule(tf.Module):
    def __init__(self, model: keras.Model):
        super().__init__()
        self.model = model

    @tf.function(
        input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 3], tf.float32, name="image")]
    )
    def classify(self, image):
        return {"scores": self.model(image, training=False)}


if __name__ == "__main__":
    module = ServingModule(build_classifier())
    tf.saved_model.save(module, sys.argv[1], signatures={"serving_default": module.classify})
