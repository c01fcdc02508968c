"""Exports a model whose lookup tables are built from constants in the code.

Usage: export_colour_table.py OUTPUT_DIR

`tf.lookup.StaticHashTable` with a `KeyValueTensorInitializer`: colour names
to indices (unknown names to -1), and back from indices to canonical names
(unknown indices to "unknown"), so the signature takes and returns strings.
The tables are filled by an initializer graph, which tfjs_model writes into
model.json as `modelInitializer`; TF.js runs it when the model loads.
"""

import sys

import tensorflow as tf

COLOURS = {"red": 0, "crimson": 0, "green": 1, "lime": 1, "blue": 2, "navy": 2}
CANONICAL = ["red", "green", "blue"]


class ColourTable(tf.Module):
    def __init__(self):
        super().__init__()
        self.index = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                list(COLOURS), tf.constant(list(COLOURS.values()), tf.int64)
            ),
            default_value=-1,
        )
        self.names = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.range(len(CANONICAL), dtype=tf.int64), CANONICAL
            ),
            default_value="unknown",
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="colour")])
    def canonicalize(self, colour):
        index = self.index.lookup(colour)
        return {"index": index, "canonical": self.names.lookup(index)}


if __name__ == "__main__":
    module = ColourTable()
    tf.saved_model.save(module, sys.argv[1], signatures={"canonicalize": module.canonicalize})
