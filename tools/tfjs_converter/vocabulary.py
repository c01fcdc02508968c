"""Vocabulary-file tables made into tables TensorFlow.js can fill.

`tf.lookup.TextFileInitializer` (what Keras `StringLookup`, `IntegerLookup`
and `TextVectorization` build from a vocabulary file, and
`StaticVocabularyTable` from a file) fills its table with the op
`InitializeTableFromTextFileV2`, which reads the file when the model loads.
TF.js reads no files. At conversion time the file is read here, by
TensorFlow's own kernel with the node's own attributes (key and value
columns: `WHOLE_LINE`, `LINE_NUMBER` or a column number; delimiter;
`vocab_size`; the line-number offset), so the table holds exactly what
TensorFlow would put in it; the node is replaced by a `LookupTableImportV2`
of those keys and values as constants, which become weights.
The default value and OOV buckets live in the lookup graph and are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

from tfjs_converter.errors import ConversionError
from tfjs_converter.graph_nodes import const_node, control_inputs, node_name

TEXT_FILE_INITIALIZER_OPS = ("InitializeTableFromTextFileV2",)
TABLE_OPS = ("HashTableV2",)
IMPORT_OP = "LookupTableImportV2"
_FORWARDING_OPS = ("Identity",)


def read_vocabulary_file(
    filename: str,
    key_dtype: tf.DType,
    value_dtype: tf.DType,
    *,
    key_index: int,
    value_index: int,
    vocab_size: int = -1,
    delimiter: str = "\t",
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The keys and values TensorFlow's text-file initializer puts in a table.

    The attributes are those of `InitializeTableFromTextFileV2`: key_index and
    value_index are a column number, -1 (`TextFileIndex.LINE_NUMBER`) or -2
    (`TextFileIndex.WHOLE_LINE`); offset is added to line numbers.

    Returns:
      (keys, values), sorted by key so that a vocabulary gives the same bytes
      whatever order TensorFlow's hash table keeps.
    """
    table = tf.raw_ops.AnonymousHashTable(key_dtype=key_dtype, value_dtype=value_dtype)
    try:
        tf.raw_ops.InitializeTableFromTextFileV2(
            table_handle=table,
            filename=filename,
            key_index=key_index,
            value_index=value_index,
            vocab_size=vocab_size,
            delimiter=delimiter,
            offset=offset,
        )
    except tf.errors.OpError as error:
        raise ConversionError(
            f"the vocabulary file {filename} cannot fill its lookup table: "
            f"{error.message.splitlines()[0]}; fix the file or the table's "
            "TextFileInitializer and export the model again"
        ) from None
    keys, values = tf.raw_ops.LookupTableExportV2(
        table_handle=table, Tkeys=key_dtype, Tvalues=value_dtype
    )
    keys, values = keys.numpy(), values.numpy()
    order = sorted(range(len(keys)), key=lambda i: keys[i])
    return keys[order], values[order]


def _producer(
    nodes: dict[str, node_def_pb2.NodeDef], tensor: str
) -> tuple[node_def_pb2.NodeDef, list[str]]:
    """The node behind a tensor, past Identity nodes, and the names passed through."""
    passed: list[str] = []
    node = nodes[tensor.split(":")[0]]
    while node.op in _FORWARDING_OPS:
        passed.append(node.name)
        node = nodes[node.input[0].split(":")[0]]
    return node, passed


def inline_vocabulary_files(graph_def: graph_pb2.GraphDef) -> list[str]:
    """Replaces every text-file table initializer of graph_def, in place.

    Each `InitializeTableFromTextFileV2` becomes a `LookupTableImportV2` (same
    name, same control inputs) of two constants `<name>/keys` and
    `<name>/values`; the file-name constant and the nodes that only forwarded
    it are removed, so no path reaches the output.

    Returns:
      The names of the replaced nodes.
    """
    nodes = {node.name: node for node in graph_def.node}
    replaced, removed = [], set()
    added: list[node_def_pb2.NodeDef] = []
    for node in list(graph_def.node):
        if node.op not in TEXT_FILE_INITIALIZER_OPS:
            continue
        table, _ = _producer(nodes, node.input[0])
        filename_node, passed = _producer(nodes, node.input[1])
        if table.op not in TABLE_OPS or filename_node.op != "Const":
            continue  # left as it is: the op check names it
        filename = tf.make_ndarray(filename_node.attr["value"].tensor).item().decode()
        key_dtype = tf.as_dtype(table.attr["key_dtype"].type)
        value_dtype = tf.as_dtype(table.attr["value_dtype"].type)
        keys, values = read_vocabulary_file(
            filename,
            key_dtype,
            value_dtype,
            key_index=node.attr["key_index"].i,
            value_index=node.attr["value_index"].i,
            vocab_size=node.attr["vocab_size"].i,
            delimiter=node.attr["delimiter"].s.decode(),
            offset=node.attr["offset"].i,
        )
        keys_node = const_node(f"{node.name}/keys", keys, key_dtype)
        values_node = const_node(f"{node.name}/values", values, value_dtype)
        controls = control_inputs(node)
        name, table_input = node.name, node.input[0]
        node.Clear()
        node.name = name
        node.op = IMPORT_OP
        node.input.extend([table_input, keys_node.name, values_node.name, *controls])
        node.attr["Tin"].type = key_dtype.as_datatype_enum
        node.attr["Tout"].type = value_dtype.as_datatype_enum
        added += [keys_node, values_node]
        replaced.append(node.name)
        removed |= {filename_node.name, *passed}
    _remove_unused(graph_def, removed)
    graph_def.node.extend(added)
    return replaced


def _remove_unused(graph_def: graph_pb2.GraphDef, candidates: Iterable[str]) -> None:
    """Removes the candidates that no kept node reads as data; drops control edges to them."""
    removable = set(candidates)
    while True:
        read = {
            name.split(":")[0]
            for node in graph_def.node
            if node.name not in removable
            for name in node.input
            if not name.startswith("^")
        }
        if not removable & read:
            break
        removable -= read
    kept = [node for node in graph_def.node if node.name not in removable]
    del graph_def.node[:]
    graph_def.node.extend(kept)
    for node in graph_def.node:
        inputs = [name for name in node.input if node_name(name) not in removable]
        del node.input[:]
        node.input.extend(inputs)
