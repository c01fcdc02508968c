"""Exports a small Keras image classifier as a SavedModel.

Usage: export_classifier.py OUTPUT_DIR

`model.export()` writes a SavedModel whose `serve` endpoint is also saved as
the `serving_default` signature. The weights are seeded, so every export is
identical; a real project would load trained weights here instead.
"""

import sys

import keras

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


if __name__ == "__main__":
    build_classifier().export(sys.argv[1])
