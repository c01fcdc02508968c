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


class Checked(tf.Module):
    """Debug checks: CheckNumerics, and an Assert inside an If's function."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def root(self, x):
        x = tf.debugging.check_numerics(x, "x")
        with tf.control_dependencies([tf.debugging.assert_non_negative(x)]):
            return {"y": tf.sqrt(x)}


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


class Refiner(tf.Module):
    """A loop whose trip count is an input and a branch on an input, each with weights."""

    def __init__(self) -> None:
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([3, 3], seed=[1, 2]), name="kernel")

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 3], tf.float32, name="x"),
            tf.TensorSpec([], tf.int32, name="steps"),
            tf.TensorSpec([], tf.bool, name="scale"),
        ]
    )
    def refine(self, x, steps, scale):
        for _ in tf.range(steps):
            x = tf.tanh(tf.matmul(x, self.kernel))
        if scale:
            x = x * 2.0 + 1.0
        return {"y": x}


class Writer(tf.Module):
    """A loop that gathers from a variable, writes a TensorArray in a branch, and breaks."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal([10, 3], seed=[3, 4]), name="table")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="ids")])
    def write(self, ids):
        rows = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        total = tf.constant(0.0)
        for i in tf.range(6):
            row = tf.gather(self.table, (ids + i) % 10)
            if tf.reduce_sum(row) > 0:
                rows = rows.write(i, tf.tanh(row))
            else:
                rows = rows.write(i, -row)
            total += tf.reduce_sum(row)
            if total > 3.0:
                break
        return {"rows": rows.stack(), "total": total}


class OddKeys(tf.Module):
    """Keys that are not Python names; the first two share a dtype and shape."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 3], tf.float32, name="Image-Input.v2"),
            tf.TensorSpec([None, 3], tf.float32, name="MixedCase"),
            # Sorts before a_a as a key, after it as a Python name (a_b).
            tf.TensorSpec([None], tf.int32, name="a-b"),
            tf.TensorSpec([None, 3], tf.float32, name="a_a"),
        ]
    )
    def odd(self, image, mixed, counts, other):
        shifted = image + tf.cast(counts, tf.float32)[:, None] + other
        return {"Out-Put.1": shifted + mixed, "UPPER": image * mixed, "with space": image - mixed}


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


class Twins(tf.Module):
    """Two inputs and two outputs that share one dtype and shape."""

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.float32, name="a"),
            tf.TensorSpec([None], tf.float32, name="b"),
        ]
    )
    def serving_default(self, a, b):
        return {"sum": a + b, "diff": a - b}


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
def checked_saved_model(tmp_path_factory) -> Path:
    model = Checked()
    return _save(model, tmp_path_factory.mktemp("checked") / "model", root=model.root)


@pytest.fixture(scope="session")
def spectrum_saved_model(tmp_path_factory) -> Path:
    model = SpectrumModel()
    return _save(model, tmp_path_factory.mktemp("spectrum") / "model", spectrum=model.spectrum)


@pytest.fixture(scope="session")
def loop_saved_model(tmp_path_factory) -> Path:
    model = LoopModel()
    return _save(model, tmp_path_factory.mktemp("loop") / "model", halve=model.halve)


@pytest.fixture(scope="session")
def refiner_saved_model(tmp_path_factory) -> Path:
    model = Refiner()
    return _save(model, tmp_path_factory.mktemp("refiner") / "model", refine=model.refine)


@pytest.fixture(scope="session")
def writer_saved_model(tmp_path_factory) -> Path:
    model = Writer()
    return _save(model, tmp_path_factory.mktemp("writer") / "model", write=model.write)


@pytest.fixture(scope="session")
def odd_keys_saved_model(tmp_path_factory) -> Path:
    model = OddKeys()
    return _save(model, tmp_path_factory.mktemp("odd_keys") / "model", odd=model.odd)


@pytest.fixture(scope="session")
def twins_saved_model(tmp_path_factory) -> Path:
    model = Twins()
    directory = tmp_path_factory.mktemp("twins") / "model"
    return _save(model, directory, serving_default=model.serving_default)


@pytest.fixture(scope="session")
def accumulator_saved_model(tmp_path_factory) -> Path:
    model = Accumulator()
    return _save(model, tmp_path_factory.mktemp("accumulator") / "model", step=model.step)


class ColourTable(tf.Module):
    """A constant-keyed table, string -> int64, read by two signatures."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                ["red", "green", "blue"], tf.constant([0, 1, 2], tf.int64)
            ),
            default_value=-1,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="colour")])
    def lookup(self, colour):
        return {"index": self.table.lookup(colour)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="colours")])
    def count(self, colours):
        return {"known": tf.reduce_sum(tf.cast(self.table.lookup(colours) >= 0, tf.int32), -1)}


class Triples(tf.Module):
    """Takes a length that is a multiple of 3, which generated inputs are not."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def rows(self, x):
        return {"rows": tf.reshape(x, [-1, 3])}

    @tf.function(input_signature=[])
    def constant(self):
        return {"one": tf.constant([1.0])}


@pytest.fixture(scope="session")
def triples_saved_model(tmp_path_factory) -> Path:
    model = Triples()
    directory = tmp_path_factory.mktemp("triples") / "model"
    return _save(model, directory, rows=model.rows, constant=model.constant)


class Counter(tf.Module):
    """A signature that changes a variable each call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = tf.Variable(0.0, name="calls")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def bump(self, x):
        self.calls.assign_add(1.0)
        return {"y": x + self.calls}


@pytest.fixture(scope="session")
def counter_saved_model(tmp_path_factory) -> Path:
    model = Counter()
    return _save(model, tmp_path_factory.mktemp("counter") / "model", bump=model.bump)


class Activations(tf.Module):
    """Dense layers: tanh and sigmoid, which oneDNN's rewrites fuse into _FusedMatMul; GELU."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(11)
        self.kernel = tf.Variable(rng.normal(size=(3, 4)).astype(np.float32), name="kernel")
        self.bias = tf.Variable(rng.normal(size=(4,)).astype(np.float32), name="bias")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def squash(self, x):
        return {
            "tanh": tf.tanh(tf.nn.bias_add(tf.matmul(x, self.kernel), self.bias)),
            "sigmoid": tf.sigmoid(tf.nn.bias_add(tf.matmul(x, -self.kernel), self.bias)),
            # The exact GELU, computed with Erfc.
            "gelu": tf.nn.gelu(tf.matmul(x, 0.5 * self.kernel), approximate=False),
        }


@pytest.fixture(scope="session")
def activations_saved_model(tmp_path_factory) -> Path:
    model = Activations()
    return _save(model, tmp_path_factory.mktemp("activations") / "model", squash=model.squash)


class Words(tf.Module):
    """String tensors through ops TF.js runs on them, on wasm not, and on no backend."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.string, name="text")])
    def kept(self, text):
        return {"y": tf.expand_dims(tf.concat([text, text], 1), 0)}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.string, name="text")])
    def tiled(self, text):
        return {"y": tf.tile(text, [1, 2])}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.string, name="text")])
    def transposed(self, text):
        return {"y": tf.transpose(text)}


@pytest.fixture(scope="session")
def words_saved_model(tmp_path_factory) -> Path:
    model = Words()
    return _save(
        model,
        tmp_path_factory.mktemp("words") / "model",
        kept=model.kept,
        tiled=model.tiled,
        transposed=model.transposed,
    )


class Int64Offset(tf.Module):
    """An int64 variable, which TF.js holds as int32."""

    def __init__(self, offset: list[int]) -> None:
        super().__init__()
        self.offset = tf.Variable(tf.constant(offset, tf.int64), name="offset")

    @tf.function(input_signature=[tf.TensorSpec([2], tf.int64, name="k")])
    def shift(self, k):
        return {"y": k + self.offset}


@pytest.fixture(scope="session")
def wide_integer_saved_model(tmp_path_factory) -> Path:
    """Beyond int32's range, which TF.js cannot hold."""
    model = Int64Offset([2**40 + 3, 5])
    return _save(model, tmp_path_factory.mktemp("wide_integer") / "model", shift=model.shift)


@pytest.fixture(scope="session")
def int64_saved_model(tmp_path_factory) -> Path:
    model = Int64Offset([3, 5])
    return _save(model, tmp_path_factory.mktemp("int64") / "model", shift=model.shift)


class TableInBranch(tf.Module):
    """A lookup inside tf.cond: TF.js reads tables only outside control flow."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["a", "b"], tf.constant([1, 2], tf.int64)), 0
        )

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="words"),
            tf.TensorSpec([], tf.bool, name="scaled"),
        ]
    )
    def ids(self, words, scaled):
        return {
            "ids": tf.cond(
                scaled, lambda: self.table.lookup(words) * 10, lambda: self.table.lookup(words)
            )
        }


@pytest.fixture(scope="session")
def table_in_branch_saved_model(tmp_path_factory) -> Path:
    model = TableInBranch()
    return _save(model, tmp_path_factory.mktemp("table_in_branch") / "model", ids=model.ids)


VOCABULARY_LINES = ["fox\t7\tanimal", "dog\t3\tanimal", "oak\t9\tplant", "ivy\t4\tplant"]


class VocabularyTables(tf.Module):
    """Tables from one vocabulary file, read every way TextFileInitializer can."""

    def __init__(self, vocabulary_file: str) -> None:
        super().__init__()
        whole, number = tf.lookup.TextFileIndex.WHOLE_LINE, tf.lookup.TextFileIndex.LINE_NUMBER

        def table(key_dtype, key_index, value_dtype, value_index, default, **kwargs):
            return tf.lookup.StaticHashTable(
                tf.lookup.TextFileInitializer(
                    vocabulary_file, key_dtype, key_index, value_dtype, value_index, **kwargs
                ),
                default,
            )

        self.line_numbers = table(tf.string, whole, tf.int64, number, -1)
        self.columns = table(tf.string, 0, tf.int64, 1, -1, delimiter="\t")
        self.first_two = table(tf.string, 0, tf.string, 2, "?", delimiter="\t", vocab_size=2)
        self.by_number = table(tf.int64, number, tf.string, 0, "?", delimiter="\t")
        self.with_oov = tf.lookup.StaticVocabularyTable(
            tf.lookup.TextFileInitializer(
                vocabulary_file, tf.string, 0, tf.int64, number, delimiter="\t"
            ),
            num_oov_buckets=3,
        )

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="word"),
            tf.TensorSpec([None], tf.int64, name="number"),
        ]
    )
    def lookup(self, word, number):
        return {
            "line_number": self.line_numbers.lookup(word),
            "column": self.columns.lookup(word),
            "first_two": self.first_two.lookup(word),
            "by_number": self.by_number.lookup(number),
            "with_oov": self.with_oov.lookup(word),
        }


class MutableTable(tf.Module):
    """A table filled by inserts when the model runs: it has no initializer."""

    def __init__(self) -> None:
        super().__init__()
        self.table = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, -1)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="word")])
    def lookup(self, word):
        return {"value": self.table.lookup(word)}


class DatasetTable(tf.Module):
    """A table filled from a tf.data dataset: ops TF.js lacks, in the initializer."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs = tf.data.Dataset.from_tensor_slices((["a", "b"], tf.constant([1, 2], tf.int64)))
        self.table = tf.lookup.StaticHashTable(
            tf.data.experimental.DatasetInitializer(self.pairs), default_value=-1
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="word")])
    def lookup(self, word):
        return {"value": self.table.lookup(word)}


class _LgammaTable(tf.saved_model.experimental.TrackableResource):
    """A hash table whose initializer computes its values with Lgamma."""

    def _create_resource(self):
        return tf.raw_ops.HashTableV2(key_dtype=tf.int32, value_dtype=tf.float32)

    def _initialize(self):
        values = tf.math.lgamma(tf.constant([1.5, 2.5, 3.5]))
        return tf.raw_ops.LookupTableImportV2(
            table_handle=self.resource_handle, keys=tf.constant([1, 2, 3]), values=values
        )


class ComputedTable(tf.Module):
    """A table whose initializer holds an op TF.js lacks (Lgamma)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = _LgammaTable()

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32, name="key")])
    def lookup(self, key):
        value = tf.raw_ops.LookupTableFindV2(
            table_handle=self.table.resource_handle, keys=key, default_value=tf.constant(0.0)
        )
        return {"value": value}


@pytest.fixture(scope="session")
def computed_table_saved_model(tmp_path_factory) -> Path:
    model = ComputedTable()
    return _save(model, tmp_path_factory.mktemp("computed_table") / "model", lookup=model.lookup)


@pytest.fixture(scope="session")
def dataset_table_saved_model(tmp_path_factory) -> Path:
    model = DatasetTable()
    return _save(model, tmp_path_factory.mktemp("dataset_table") / "model", lookup=model.lookup)


@pytest.fixture(scope="session")
def table_saved_model(tmp_path_factory) -> Path:
    model = ColourTable()
    directory = tmp_path_factory.mktemp("table") / "model"
    return _save(model, directory, lookup=model.lookup, count=model.count)


@pytest.fixture(scope="session")
def vocabulary_saved_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vocabulary")
    vocabulary_file = root / "vocabulary.tsv"
    vocabulary_file.write_text("".join(f"{line}\n" for line in VOCABULARY_LINES))
    model = VocabularyTables(str(vocabulary_file))
    directory = _save(model, root / "model", lookup=model.lookup)
    vocabulary_file.unlink()  # the SavedModel's own copy, in assets/, is what counts
    return directory


@pytest.fixture(scope="session")
def vocabulary_lines() -> list[str]:
    """The lines of vocabulary_saved_model's vocabulary file."""
    return list(VOCABULARY_LINES)


@pytest.fixture(scope="session")
def mutable_table_saved_model(tmp_path_factory) -> Path:
    model = MutableTable()
    return _save(model, tmp_path_factory.mktemp("mutable") / "model", lookup=model.lookup)
