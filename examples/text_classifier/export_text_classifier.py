"""Exports a small Keras text classifier whose vocabulary is a file.

Usage: export_text_classifier.py OUTPUT_DIR

A `StringLookup` layer reads vocabulary.txt (one word per line, next to this
script, a `data` file of the saved_model target) into a
lookup table; words it does not know go to one OOV index. An embedding,
averaged over the words, feeds a dense softmax head, and the signature also
returns the winning label as a string, looked up in a second table (TF.js's
`gather` takes no strings, so `tf.gather(labels, index)` would not run).
The SavedModel keeps the vocabulary as an asset; rules_tfjs reads it at
conversion time and writes the words into the weight files, because TF.js
cannot read files.

The weights are seeded, so every export is identical; a real project would
load trained weights here instead. Saved through a tf.Module (as
examples/keras_classifier explains, Keras 3's export is not reproducible).
"""

import sys
from pathlib import Path

import keras
import tensorflow as tf

LABELS = ["negative", "neutral", "positive"]
# Relative, as Bazel gives it: the path is recorded in the SavedModel.
VOCABULARY_FILE = Path(__file__).parent / "vocabulary.txt"


def build_classifier(vocabulary_file: str) -> keras.Model:
    keras.utils.set_random_seed(20261126)
    words = keras.Input((None,), dtype="string", name="words")
    lookup = keras.layers.StringLookup(vocabulary=vocabulary_file, num_oov_indices=1)
    ids = lookup(words)
    x = keras.layers.Embedding(lookup.vocabulary_size(), 8)(ids)
    x = keras.layers.GlobalAveragePooling1D()(x)
    scores = keras.layers.Dense(len(LABELS), activation="softmax", name="scores")(x)
    return keras.Model(words, [ids, scores], name="text_classifier")


class ServingModule(tf.Module):
    def __init__(self, model: keras.Model):
        super().__init__()
        self.model = model
        self.labels = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.range(len(LABELS), dtype=tf.int64), LABELS),
            default_value="",
        )

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="words")])
    def classify(self, words):
        ids, scores = self.model(words, training=False)
        label = self.labels.lookup(tf.argmax(scores, axis=-1))
        return {"ids": ids, "scores": scores, "label": label}


if __name__ == "__main__":
    module = ServingModule(build_classifier(str(VOCABULARY_FILE)))
    tf.saved_model.save(module, sys.argv[1], signatures={"serving_default": module.classify})
