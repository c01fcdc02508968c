"""A 30,000-word vocabulary file through rules_tfjs's converter, then in Chromium.

Run by bench/vocabulary.sh with the converter environment's Python. It
exports a Keras text classifier whose StringLookup reads a seeded
30,000-word vocabulary file (embedding 8, dense head), converts it in-process
with tfjs_converter, and reports model.json's size (the vocabulary must live
in the weight files), the shards' size, the conversion time, and, in headless
Chromium (bench/vocabulary_load.js), the time tf.loadGraphModel takes over
HTTP from 127.0.0.1 and the first and second predictions (the first runs the
initializer that fills the table), the median of REPEATS pages per backend.
It asserts nothing; it writes a Markdown table to bench/VOCABULARY.md
(--results) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE / "tools"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tfjs_converter  # noqa: E402, F401 - before TensorFlow: keeps TF-DF's banner off
from tfjs_converter.convert import convert_saved_model  # noqa: E402

VOCABULARY_SIZE = 30_000
SIGNATURE = "serving_default"


def vocabulary_words(size: int) -> list[str]:
    """`size` distinct seeded lowercase words of 3 to 10 letters."""
    rng = np.random.default_rng(30_000)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(letters, rng.integers(3, 11)))] = None
    return list(words)


def export(directory: Path, vocabulary_file: Path) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(7)
    words = keras.Input((None,), dtype="string", name="words")
    lookup = keras.layers.StringLookup(vocabulary=str(vocabulary_file), num_oov_indices=1)
    x = keras.layers.Embedding(lookup.vocabulary_size(), 8)(lookup(words))
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(words, keras.layers.Dense(3, activation="softmax")(x))

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="words")])
        def classify(self, words):
            return {"scores": self.model(words, training=False)}

    serving = Serving()
    tf.saved_model.save(serving, str(directory), signatures={SIGNATURE: serving.classify})


def browser_timings(model_dir: Path, repeats: int, node_modules: Path) -> dict[str, list[dict]]:
    result = subprocess.run(
        [
            str(node_modules.parent / "bin" / "node"),
            str(WORKSPACE / "bench" / "vocabulary_load.js"),
            str(model_dir),
            "words",
            str(repeats),
        ],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node_modules", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--results", type=Path, default=WORKSPACE / "bench" / "VOCABULARY.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        vocabulary_file = scratch / "vocabulary.txt"
        vocabulary_file.write_text("".join(f"{w}\n" for w in vocabulary_words(VOCABULARY_SIZE)))
        export(scratch / "saved_model", vocabulary_file)
        started = time.perf_counter()
        model_dir = convert_saved_model(scratch / "saved_model", [SIGNATURE], scratch / "tfjs")[
            SIGNATURE
        ]
        convert_seconds = time.perf_counter() - started
        model_json = (model_dir / "model.json").stat().st_size
        shards = sum(p.stat().st_size for p in model_dir.glob("*.bin"))
        timings = browser_timings(model_dir, args.repeats, args.node_modules)

    rows = [
        f"| measure ({VOCABULARY_SIZE:,}-word vocabulary file) | value |",
        "| --- | --- |",
        f"| vocabulary file | {vocabulary_file_size(VOCABULARY_SIZE):,} bytes |",
        f"| model.json | {model_json:,} bytes |",
        f"| weight shards (vocabulary, ids, embedding, head) | {shards:,} bytes |",
        f"| conversion, in-process (export excluded) | {convert_seconds:.1f} s |",
    ]
    for backend, runs in timings.items():
        for what in ("load", "first", "second"):
            median = statistics.median(run[what] for run in runs)
            rows.append(
                f"| Chromium {backend}: {WHAT[what]} (median of {len(runs)}) | {median:.0f} ms |"
            )
    table = "\n".join(rows)
    args.results.write_text(
        f"# A {VOCABULARY_SIZE:,}-word vocabulary file\n\n"
        f"Written by `bench/vocabulary.sh` ({time.strftime('%Y-%m-%d', time.gmtime())}, "
        f"{os.cpu_count()} cores, {platform.platform()}).\n\n{table}\n",
        encoding="utf-8",
    )
    print(table)
    return 0


WHAT = {
    "load": "tf.loadGraphModel over HTTP",
    "first": "first prediction (fills the table)",
    "second": "second prediction",
}


def vocabulary_file_size(size: int) -> int:
    return sum(len(w) + 1 for w in vocabulary_words(size))


if __name__ == "__main__":
    sys.exit(main())
