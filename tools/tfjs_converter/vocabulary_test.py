import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfjs_converter.convert import convert_saved_model
from tfjs_converter.errors import ConversionError
from tfjs_converter.pipeline import tfjs_read_weights
from tfjs_converter.vocabulary import read_vocabulary_file


def _imported_tables(model_dir: Path) -> list[dict]:
    """What each LookupTableImportV2 of the initializer puts in its table, read from the shards."""
    model = json.loads((model_dir / "model.json").read_text())
    [weights] = tfjs_read_weights.read_weights(model["weightsManifest"], str(model_dir))
    values = {w["name"]: w["data"] for w in weights}

    def python(array):
        return [v.decode() if isinstance(v, bytes) else int(v) for v in np.asarray(array).ravel()]

    return [
        dict(zip(python(values[node["input"][1]]), python(values[node["input"][2]]), strict=True))
        for node in model["modelInitializer"]["node"]
        if node["op"] == "LookupTableImportV2"
    ]


def test_vocabulary_files_become_the_tables_tensorflow_fills(
    vocabulary_saved_model, vocabulary_lines, tmp_path
):
    model_dir = convert_saved_model(vocabulary_saved_model, ["lookup"], tmp_path)["lookup"]

    words = [line.split("\t") for line in vocabulary_lines]
    expected = [
        {line: number for number, line in enumerate(vocabulary_lines)},  # WHOLE_LINE -> LINE_NUMBER
        {word: int(value) for word, value, _ in words},  # column 0 -> column 1
        {word: kind for word, _, kind in words[:2]},  # vocab_size = 2
        {number: word for number, (word, _, _) in enumerate(words)},  # LINE_NUMBER -> column 0
        {word: number for number, (word, _, _) in enumerate(words)},  # the OOV table's vocabulary
    ]
    tables = _imported_tables(model_dir)
    assert Counter(frozenset(t.items()) for t in tables) == Counter(
        frozenset(t.items()) for t in expected
    )


def test_no_file_read_and_no_path_is_left_in_the_model(vocabulary_saved_model, tmp_path):
    model_dir = convert_saved_model(vocabulary_saved_model, ["lookup"], tmp_path)["lookup"]

    model = json.loads((model_dir / "model.json").read_text())
    ops = {node["op"] for node in model["modelInitializer"]["node"]}
    assert "LookupTableImportV2" in ops and "InitializeTableFromTextFileV2" not in ops
    for path in model_dir.iterdir():
        content = path.read_bytes()
        assert (
            b"vocabulary.tsv" not in content and str(vocabulary_saved_model).encode() not in content
        )


def test_keys_come_sorted_so_the_bytes_do_not_depend_on_hash_order(tmp_path):
    vocabulary_file = tmp_path / "words.txt"
    vocabulary_file.write_text("pear\napple\nfig\n")
    keys, values = read_vocabulary_file(
        str(vocabulary_file), tf.string, tf.int64, key_index=-2, value_index=-1, offset=5
    )
    assert keys.tolist() == [b"apple", b"fig", b"pear"]
    assert values.tolist() == [6, 7, 5]


def test_a_file_that_cannot_fill_the_table_is_named(tmp_path):
    vocabulary_file = tmp_path / "short.txt"
    vocabulary_file.write_text("one\ntwo\n")
    with pytest.raises(
        ConversionError, match=r"the vocabulary file .*short.txt cannot fill its lookup table: .*"
    ):
        read_vocabulary_file(
            str(vocabulary_file), tf.string, tf.int64, key_index=-2, value_index=-1, vocab_size=5
        )
