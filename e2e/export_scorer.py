"""A small sentence scorer: bag of token ids to a score, seeded weights.

Usage: export_scorer.py OUTPUT_DIR
"""

import sys

import numpy as np
import tensorflow as tf

VOCABULARY = 100


class Scorer(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(11)
        self.embedding = tf.Variable(rng.normal(0, 0.1, (VOCABULARY, 8)).astype(np.float32))
        self.weights = tf.Variable(rng.normal(0, 0.5, (8, 1)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.int32, name="tokens")])
    def score(self, tokens):
        pooled = tf.reduce_mean(tf.gather(self.embedding, tokens), axis=1)
        return {"score": tf.sigmoid(tf.matmul(pooled, self.weights))}


if __name__ == "__main__":
    scorer = Scorer()
    tf.saved_model.save(scorer, sys.argv[1], signatures={"serving_default": scorer.score})
