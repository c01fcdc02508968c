"""tensorflowjs's graph-model pipeline for one concrete function, run in-process.

The steps are those of tensorflowjs's own `convert_tf_saved_model` (freeze,
build the signature, optimize, extract the weights, write), called directly so
that one loaded SavedModel serves any number of signatures and the bytes
written are canonical.

Lookup tables are kept as the command line keeps them: a model's resources
(hash tables) are created and filled by an initializer graph, written as
model.json's `modelInitializer` with its `initializerSignature`, and each
table input of the signature carries the `resourceId` of the initializer
output that fills it. Beyond the command line, tables filled from vocabulary
files are filled from constants (see vocabulary.py), lookups keep the keys'
shape in TF.js (see lookup_tables.py), and the initializer graph passes the
same op check as the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import importlib
import importlib.util
import json
import re
import sys
import types
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.python.checkpoint.trackable_view import TrackableView
from tensorflow.python.eager import context
from tensorflow.python.trackable.resource import TrackableResource
from tensorflow.python.util import _pywrap_util_port

from tfjs_converter import ONEDNN_VARIABLE
from tfjs_converter.branch_results import branch_results_for_tfjs
from tfjs_converter.canonical_graph import canonicalize_graph
from tfjs_converter.complex_pairs import complex_as_real_pairs
from tfjs_converter.errors import ConversionError
from tfjs_converter.function_outputs import flat_output_indices
from tfjs_converter.fused_bias import rank_one_biases
from tfjs_converter.graph_nodes import node_name
from tfjs_converter.lookup_tables import reshape_table_lookups
from tfjs_converter.lowered_loops import lowered_loops_for_tfjs
from tfjs_converter.options import DEFAULT_OPTIONS, ConversionOptions
from tfjs_converter.quantization_limits import kept_note, quantization_map, unquantizable
from tfjs_converter.saved_model import flattened_keys, signature_input_keys
from tfjs_converter.small_integers import (
    small_integer_types_as_int32,
    small_integer_weights_as_int32,
)
from tfjs_converter.substitutes import (
    bool_reverse_in_int32,
    bool_selects_in_int32,
    one_hot_in_int32,
    substitute_missing_kernels,
)
from tfjs_converter.tensor_lists import return_stored_tensors
from tfjs_converter.tfjs_registry import ops_on_strings, refused_on_strings
from tfjs_converter.vocabulary import inline_vocabulary_files

# The tensorflowjs release the import below was written for and tested with.
TENSORFLOWJS_VERSION = "4.22.0"
# Imported by tensorflowjs at module level yet unused by graph-model conversion:
# the `tensorflowjs` and `tensorflowjs.converters` package __init__s import
# every converter, jax's included (jax, jaxlib, flax: ~400 MB), and
# tf_saved_model_conversion_v2 imports these two (TF-DF needs the GPU-capable
# `tensorflow`, tensorflow_hub needs tf_keras) for its TF-Hub and TF-DF paths.
UNUSED_IMPORTS = ("tensorflow_decision_forests", "tensorflow_hub")


def _import_saved_model_conversion() -> types.ModuleType:
    """tensorflowjs 4.22's tf_saved_model_conversion_v2, without jax, TF-DF or TF-Hub.

    The default environment leaves those packages out (requirements_overrides.txt),
    so the two package __init__s are not run (their modules are registered with
    their `__path__` only), and a missing TF-DF or tensorflow_hub is stood in for
    by an empty module while the conversion module is imported, then removed
    again. Where they are installed (a user's full lock file), they are imported
    for real: TF-DF's import registers the ops its models use.
    """
    for name in ("tensorflowjs", "tensorflowjs.converters"):
        if name not in sys.modules:
            spec = importlib.util.find_spec(name)
            if spec is None:
                raise ImportError(f"{name} is not installed in the converter environment")
            sys.modules[name] = importlib.util.module_from_spec(spec)
    sys.modules["tensorflowjs"].converters = sys.modules["tensorflowjs.converters"]
    stand_ins = [
        name
        for name in UNUSED_IMPORTS
        if name not in sys.modules and importlib.util.find_spec(name) is None
    ]
    sys.modules.update((name, types.ModuleType(name)) for name in stand_ins)
    try:
        module = importlib.import_module("tensorflowjs.converters.tf_saved_model_conversion_v2")
    finally:
        for name in stand_ins:
            del sys.modules[name]
    sys.modules["tensorflowjs"].__version__ = importlib.import_module(
        "tensorflowjs.version"
    ).version
    return module


tfjs_saved_model = _import_saved_model_conversion()
# Imported after the conversion module, so the package __init__ stays bypassed.
tfjs_read_weights = importlib.import_module("tensorflowjs.read_weights")

MODEL_JSON = "model.json"
_MAX_WEIGHTS_LISTED = 40

# The ops tensorflowjs's strip_debug_ops removes (its optimize_graph's list).
_STRIPPED_DEBUG_OPS = frozenset({"Assert", "CheckNumerics", "Print"})
# Ops whose names do not tell which TensorFlow call made them.
_OP_SOURCES = {
    "_SwitchN": "tf.switch_case",
    "Case": "tf.switch_case",
    "EagerPyFunc": "tf.py_function",
    "PyFunc": "tf.numpy_function",
    "PyFuncStateless": "tf.numpy_function",
    # Freezing inlines every function call but those TensorFlow must compile
    # with XLA; Keras 3 compiles its Conv2D with groups > 1 so.
    "StatefulPartitionedCall": "a function only XLA compiles, such as Keras 3's Conv2D "
    "with groups > 1 in ConvNeXt: TF.js has no grouped convolution; use groups=1, or a "
    "DepthwiseConv2D where the groups are the channels",
}
# tensorflowjs reports unsupported ops as a ValueError with this prefix.
_UNSUPPORTED_OPS_PREFIX = "Unsupported Ops in the model"


def convert_concrete_function(
    concrete_function,
    output_dir: str | Path,
    *,
    signature_def: meta_graph_pb2.SignatureDef | None = None,
    module=None,
    options: ConversionOptions = DEFAULT_OPTIONS,
    tensorflow_version: str | None = None,
) -> dict[str, np.ndarray]:
    """Writes a TensorFlow.js graph model of concrete_function into output_dir.

    Args:
      concrete_function: a `tf.function`'s concrete function, for example
        `loaded_saved_model.signatures["serving_default"]`.
      output_dir: an existing, empty directory for model.json and the shards.
      signature_def: the SavedModel's SignatureDef of this function; its input
        and output keys name the model.json's inputs and outputs. Without it
        they are tensor names such as `x:0`.
      module: the object (a loaded SavedModel, a tf.Module) owning the lookup
        tables the function uses; their initializer is written into the
        model. Needed only if the function uses tables.
      options: conversion options.
      tensorflow_version: recorded as model.json's `generatedBy`.

    Returns:
      The model's weights by name, as computed before any quantization.

    Raises:
      ConversionError: TensorFlow.js would not run the graph, or would run it
        wrong; or TensorFlow runs with its oneDNN rewrites on (import this
        package before TensorFlow).
    """
    _check_onednn_is_off()
    _check_no_variable_writes(concrete_function)
    frozen_graph = substitute_missing_kernels(
        _frozen_graph(concrete_function, options.control_flow_v2)
    )
    if options.fft_as_matmul:
        frozen_graph = complex_as_real_pairs(frozen_graph)
    initializer = _resource_initializer(module, options) if module is not None else None
    table_inputs = initializer.table_inputs(concrete_function) if initializer else {}
    _check_tables_are_initialized(frozen_graph, table_inputs)
    _check_no_table_reads_in_functions(frozen_graph)
    inputs = [
        t for t in concrete_function.inputs if t.dtype != tf.resource or t.name in table_inputs
    ]
    signature = tfjs_saved_model._build_signature_def(
        frozen_graph, inputs, concrete_function.outputs, signature_def
    )
    if signature_def is not None:
        signature = _keyed_as_in(signature, _signature_keys(concrete_function, signature_def))
    with _unsupported_ops_as_conversion_errors():
        graph_def = tfjs_saved_model.optimize_graph(
            frozen_graph,
            signature,
            skip_op_check=options.skip_op_check,
            strip_debug_ops=options.strip_debug_ops,
            experiments=False,
        )
    for rewrite in _TFJS_REWRITES:
        rewrite(graph_def)
    canonicalize_graph(graph_def)
    initializer_graph_def = initializer.graph_def() if initializer else None
    if initializer_graph_def is not None:
        canonicalize_graph(initializer_graph_def)
    weights = tfjs_saved_model.extract_weights(graph_def, initializer_graph_def)
    small_integer_weights_as_int32(weights)
    kept_float32 = unquantizable(weights, options.quantization)
    if kept_float32:
        print(kept_note(kept_float32, options.quantization), file=sys.stderr)
    topology = _model_topology(graph_def)
    if not options.skip_op_check:
        _check_ops_on_strings(topology)
    _check_int64_weights_fit_int32(weights)
    model_json = Path(output_dir) / MODEL_JSON
    # tensorflowjs prints each int64 weight it writes as int32 (lossless here:
    # checked above) with print(); a library keeps its caller's stdout clean.
    with contextlib.redirect_stdout(sys.stderr):
        tfjs_saved_model.write_artifacts(
            topology,
            weights,
            str(model_json),
            tensorflow_version or tf.__version__,
            signature,
            quantization_dtype_map=quantization_map(
                options, [w["name"] for group in weights for w in group], kept_float32
            ),
            weight_shard_size_bytes=options.weight_shard_size_bytes,
            initializer_graph_def=initializer_graph_def,
            initializer_signature_def=initializer.signature if initializer else None,
            resource_ids_maps=(table_inputs, initializer.output_ids) if initializer else None,
            metadata=dict(options.metadata) or None,
        )
    canonicalize_model_json(model_json)
    return {weight["name"]: weight["data"] for group in weights for weight in group}


# What TF.js would run wrong or not at all in an optimized graph, rewritten
# after tensorflowjs's optimizer, which would undo some of it (moving casts,
# dropping Identities). Each module says what it rewrites and why.
_TFJS_REWRITES = (
    reshape_table_lookups,
    rank_one_biases,
    one_hot_in_int32,
    bool_reverse_in_int32,
    bool_selects_in_int32,
    return_stored_tensors,
    branch_results_for_tfjs,
    lowered_loops_for_tfjs,
    small_integer_types_as_int32,
    flat_output_indices,
)

_DUPLICATE_FUNCTION = re.compile(r"Attempting to add a duplicate function with name: (\S+) ")


def _frozen_graph(concrete_function, control_flow_v2: bool) -> tf.Graph:
    """The function's graph with its variables as constants, as tensorflowjs freezes it.

    Freezing adds the frozen graph's functions to TensorFlow's process-wide
    eager context, and TensorFlow's optimizer names some of them without a
    counter (`while_cond_function` for a loop with `break` and `continue`):
    in a persistent worker, the next model's different function of that name
    was refused ("Attempting to add a duplicate function"). The earlier
    conversion's function is then removed, and the freezing done again.
    """
    try:
        return tfjs_saved_model._freeze_saved_model_v2(
            concrete_function, control_flow_v2=control_flow_v2
        )
    except tf.errors.InvalidArgumentError as error:
        duplicate = _DUPLICATE_FUNCTION.search(error.message)
        if duplicate is None:
            raise
        context.context().remove_function(duplicate.group(1))
    return tfjs_saved_model._freeze_saved_model_v2(
        concrete_function, control_flow_v2=control_flow_v2
    )


def _model_topology(graph_def: graph_pb2.GraphDef) -> dict:
    """graph_def as model.json's modelTopology, with every function's argument lists.

    MessageToDict leaves an empty list out, and TF.js reads a function's
    `inputArg` without checking for it: an If branch that takes no input (a
    `tf.cond` returning constants, autograph's `continue`) failed with
    `Cannot read properties of undefined (reading 'forEach')`.
    """
    topology = MessageToDict(graph_def)
    for function in topology.get("library", {}).get("function", []):
        function["signature"].setdefault("inputArg", [])
        function["signature"].setdefault("outputArg", [])
    return topology


def _signature_keys(
    concrete_function, signature_def: meta_graph_pb2.SignatureDef
) -> dict[str, str]:
    """Tensor name -> SignatureDef key of each input and output of a signature's function.

    tensorflowjs's `_build_signature_def` finds a tensor's key by its dtype and
    shape, and names the tensor by itself (`a:0`, `Identity:0`) when two keys
    share both: model.json would then lose the SavedModel's keys. A
    signature's function knows them by position: its inputs begin with its
    flattened keyword arguments, its outputs are its flattened output dict.
    Empty unless both sides name exactly the SignatureDef's keys.
    """
    args, kwargs = concrete_function.structured_input_signature
    structured_outputs = concrete_function.structured_outputs
    if args or not _is_flat_dict(kwargs) or not _is_flat_dict(structured_outputs):
        return {}
    input_keys = signature_input_keys(concrete_function)
    output_keys = flattened_keys(structured_outputs)
    inputs = concrete_function.inputs[: len(input_keys)]
    outputs = concrete_function.outputs
    if (
        sorted(input_keys) != sorted(signature_def.inputs)
        or sorted(output_keys) != sorted(signature_def.outputs)
        or len(outputs) != len(output_keys)
    ):
        return {}
    pairs = [*zip(inputs, input_keys, strict=True), *zip(outputs, output_keys, strict=True)]
    keys = {tensor.name: key for tensor, key in pairs}
    if len(keys) != len(pairs):  # a tensor both input and output, or output twice
        return {}
    return keys


def _is_flat_dict(structure) -> bool:
    return isinstance(structure, dict) and all(
        isinstance(value, tf.Tensor | tf.TensorSpec) for value in structure.values()
    )


def _keyed_as_in(
    signature: meta_graph_pb2.SignatureDef, keys: dict[str, str]
) -> meta_graph_pb2.SignatureDef:
    """signature with each tensor named in keys under its key; the others as they were."""
    keyed = meta_graph_pb2.SignatureDef()
    for field in ("inputs", "outputs"):
        for name, info in getattr(signature, field).items():
            getattr(keyed, field)[keys.get(info.name, name)].CopyFrom(info)
    return keyed


@contextlib.contextmanager
def _unsupported_ops_as_conversion_errors() -> Iterator[None]:
    """tensorflowjs's unsupported-op ValueError, as a ConversionError saying what to do."""
    try:
        yield
    except ValueError as error:
        if not str(error).startswith(_UNSUPPORTED_OPS_PREFIX):
            raise
        raise _unsupported_ops_error(str(error).splitlines()[1].split(", ")) from None


def _unsupported_ops_error(ops: Sequence[str], where: str = "") -> ConversionError:
    ops = sorted(set(ops))
    debug = [op for op in ops if op in _STRIPPED_DEBUG_OPS]
    if debug == ops:
        fix = (
            f"{_they(debug, 'they only check', 'it only checks')} values while debugging: "
            f"set strip_debug_ops to remove {_they(debug, 'them', 'it')}"
        )
    else:
        them = _they(ops, "them", "it")
        fix = (
            f"change the model to avoid {them}, or set skip_op_check to convert anyway "
            f"(the model then fails when it runs {them})"
        )
        if debug:
            fix += (
                f"; {', '.join(debug)} {_they(debug, 'only check', 'only checks')} values "
                f"while debugging: strip_debug_ops removes {_they(debug, 'them', 'it')}"
            )
    named = [f"{op} (from {_OP_SOURCES[op]})" if op in _OP_SOURCES else op for op in ops]
    return ConversionError(
        f"TensorFlow.js has no kernel for op{'s' if len(ops) > 1 else ''} "
        f"{', '.join(named)}{where}: {fix}"
    )


def _they(items: Sequence[str], plural: str, singular: str) -> str:
    return plural if len(items) > 1 else singular


@dataclasses.dataclass
class _ResourceInitializer:
    """The graph that creates and fills a module's lookup tables.

    Attributes:
      frozen_graph: the initializer graph, vocabulary files inlined.
      signature: its SignatureDef: one output per table.
      resources: the tables, in the order of the outputs.
      output_ids: initializer output name -> resource id (the table's index).
    """

    frozen_graph: graph_pb2.GraphDef
    signature: meta_graph_pb2.SignatureDef
    resources: list[TrackableResource]
    output_ids: dict[str, int]

    def graph_def(self) -> graph_pb2.GraphDef:
        """A fresh copy: writing the model strips the constants it writes as weights."""
        copy = graph_pb2.GraphDef()
        copy.CopyFrom(self.frozen_graph)
        return copy

    def table_inputs(self, concrete_function) -> dict[str, int]:
        """The function's table inputs (tensor names) -> resource id."""
        captured = {t._id: i for i, t in enumerate(concrete_function._captured_inputs)}
        first_captured = len(concrete_function.inputs) - len(concrete_function._captured_inputs)
        inputs = {}
        for resource_id, resource in enumerate(self.resources):
            index = captured.get(resource.resource_handle._id)
            if index is not None:
                inputs[concrete_function.inputs[first_captured + index].name] = resource_id
        return inputs


# tensorflowjs's initializer function re-points each table's `_initialize` at
# a new table, so it can be made only once per loaded module: the function is
# kept here (with the resources it fills), and each set of options that
# changes the graph gets its own frozen, checked initializer from it.
_initializers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FUNCTION = "function"


def _resource_initializer(module, options: ConversionOptions) -> _ResourceInitializer | None:
    cached = _initializers.setdefault(module, {})
    if _FUNCTION not in cached:
        cached[_FUNCTION] = _initializer_function(module)
    resources, function = cached[_FUNCTION]
    if function is None:
        return None
    key = (options.control_flow_v2, options.skip_op_check, options.strip_debug_ops)
    if key not in cached:
        cached[key] = _make_resource_initializer(resources, function, options)
    return cached[key]


def _initializer_function(module):
    """(the tables, tensorflowjs's function creating and filling them), or ([], None)."""
    resources = _initialized_resources(module)
    if not resources:
        return [], None
    function = tfjs_saved_model._get_resource_initializer_concrete_function(module)
    if function is None or len(function.outputs) != len(resources):
        raise ConversionError(
            f"tensorflowjs made an initializer for {len(function.outputs) if function else 0} "
            f"of the model's {len(resources)} lookup tables; the model's tables can be "
            "converted once per loaded model: load it again"
        )
    return resources, function


def _initialized_resources(module) -> list[TrackableResource]:
    """The resources tensorflowjs's initializer function fills, in its order.

    Those whose `_initialize` function captures their own handle: a hash
    table filled from constants or a file. A MutableHashTable is filled by
    inserts when the model runs, and has no initializer to keep.
    """
    resources = []
    for resource in TrackableView(module).descendants():
        if not isinstance(resource, TrackableResource):
            continue
        try:
            captured = resource._initialize.get_concrete_function()._captured_inputs
        except (AttributeError, TypeError, ValueError):
            continue
        if any(t._id == resource.resource_handle._id for t in captured):
            resources.append(resource)
    return resources


def _make_resource_initializer(
    resources: list[TrackableResource], function, options: ConversionOptions
) -> _ResourceInitializer:
    try:
        frozen = tfjs_saved_model._freeze_saved_model_v2(
            function, control_flow_v2=options.control_flow_v2
        )
    except (tf.errors.OpError, ValueError) as error:
        detail = getattr(error, "message", str(error)).splitlines()[0]
        raise ConversionError(
            "the initializer that fills the model's lookup tables cannot be made a "
            f"graph TF.js runs ({detail}): fill tables from constants "
            "(KeyValueTensorInitializer) or a vocabulary file (TextFileInitializer)"
        ) from None
    signature = tfjs_saved_model._build_signature_def(frozen, [], frozen.outputs)
    graph_def = frozen.as_graph_def()
    inline_vocabulary_files(graph_def)
    _canonicalize_initializer(graph_def)
    if not options.skip_op_check:
        unsupported = tfjs_saved_model.validate(graph_def, False, options.strip_debug_ops)
        if unsupported:
            raise _unsupported_ops_error(
                unsupported, " in the initializer that fills the model's lookup tables"
            )
    output_ids = {output.name: i for i, output in enumerate(frozen.outputs)}
    return _ResourceInitializer(graph_def, signature, resources, output_ids)


def _canonicalize_initializer(graph_def: graph_pb2.GraphDef) -> None:
    """Makes the initializer the same bytes in every process.

    Inlining puts its nodes in an order that changes from one load to the
    next, its constants are named by a per-process counter, and its tables'
    shared_name holds load counters and the vocabulary file's path. Nodes are
    sorted by name, constants named after the nodes that read them, and
    shared_name cleared: TF.js finds tables by node name and reads neither.
    """
    readers: dict[str, list[str]] = {}
    for node in graph_def.node:
        for name in node.input:
            readers.setdefault(node_name(name), []).append(node.name)
    constants = sorted(
        (node for node in graph_def.node if node.op == "Const"),
        key=lambda node: (
            sorted(readers.get(node.name, [])),
            node.attr["value"].SerializeToString(deterministic=True),
        ),
    )
    renamed = {node.name: f"table_initializer/const_{i}" for i, node in enumerate(constants)}
    for node in graph_def.node:
        node.name = renamed.get(node.name, node.name)
        inputs = []
        for name in node.input:
            control = "^" if name.startswith("^") else ""
            op_name, colon, index = name.lstrip("^").partition(":")
            inputs.append(f"{control}{renamed.get(op_name, op_name)}{colon}{index}")
        del node.input[:]
        node.input.extend(inputs)
        if "shared_name" in node.attr:
            node.attr["shared_name"].s = b""
    nodes = sorted(graph_def.node, key=lambda node: node.name)
    del graph_def.node[:]
    graph_def.node.extend(nodes)


def _check_tables_are_initialized(frozen_graph, table_inputs: dict[str, int]) -> None:
    """Fails if the graph reads a lookup table that nothing would fill."""
    unfilled = sorted(
        op.name
        for op in frozen_graph.get_operations()
        if op.type == "Placeholder"
        and op.outputs[0].dtype == tf.resource
        and op.outputs[0].name not in table_inputs
    )
    if unfilled:
        them = "them" if len(unfilled) > 1 else "it"
        raise ConversionError(
            f"the function reads lookup table input{'s' if len(unfilled) > 1 else ''} "
            f"{', '.join(unfilled)}, but no initializer fills {them}, so TF.js would "
            f"find {them} empty: a table filled by inserts when the model runs "
            "(MutableHashTable, DenseHashTable) cannot be converted, use a "
            "StaticHashTable or StaticVocabularyTable; without the module that owns "
            "the tables, pass it (convert_concrete_function(..., module=...))"
        )


# Ops that change a variable; freezing fails on them with a ValueError about
# resource inputs that names neither the cause nor a fix.
_VARIABLE_WRITES = ("AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp")
_VARIABLE_WRITE_PREFIXES = ("ResourceScatter", "ResourceApply", "ResourceSparseApply")


def _function_nodes(graph_def: graph_pb2.GraphDef) -> Iterator:
    """The nodes of graph_def's library functions (kept control flow, calls)."""
    return (node for function in graph_def.library.function for node in function.node_def)


def _check_onednn_is_off() -> None:
    """Refuses a TensorFlow imported with oneDNN on, before this package set it off."""
    if _pywrap_util_port.IsMklEnabled():
        raise ConversionError(
            "TensorFlow runs with its oneDNN rewrites on, which change the converted graph "
            "by CPU and fuse Tanh into ops TF.js cannot run: import tfjs_converter before "
            f"TensorFlow, or set {ONEDNN_VARIABLE}=0 in the environment of the process"
        )


def _check_no_variable_writes(concrete_function) -> None:
    """Fails if the function changes a variable: a TF.js graph model holds none."""
    graph_def = concrete_function.graph.as_graph_def()
    writes = sorted(
        {
            node.op
            for node in [*graph_def.node, *_function_nodes(graph_def)]
            if node.op in _VARIABLE_WRITES or node.op.startswith(_VARIABLE_WRITE_PREFIXES)
        }
    )
    if writes:
        raise ConversionError(
            f"the function changes a variable ({', '.join(writes)}), and a TF.js graph "
            "model has no variables, only constants: return the new value as an output "
            "and pass it back in as an input on the next call, as a streaming model "
            "passes its state"
        )


def _check_int64_weights_fit_int32(weights: Sequence[Sequence[dict]]) -> None:
    """Fails if an int64 weight holds a value that int32 cannot.

    TF.js has no int64: tensorflowjs writes int64 weights as int32, and would
    wrap such a value into another number without failing.
    """
    low, high = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    for group in weights:
        for weight in group:
            data = np.asarray(weight["data"])
            if data.dtype != np.int64 or not data.size:
                continue
            outside = data[(data < low) | (data > high)]
            if outside.size:
                value = int(outside.flat[0])
                raise ConversionError(
                    f"weight {weight['name']} is int64 and holds {value}, outside int32's "
                    f"range [{low}, {high}]: TF.js has no int64 and stores the weight as "
                    f"int32, so the model would compute with {np.int64(value).astype(np.int32)} "
                    "instead. Keep the model's int64 constants and variables within int32's "
                    "range"
                )


def _check_ops_on_strings(topology: dict) -> None:
    """Fails if the graph applies an op to string tensors that no TF.js backend runs on them."""
    refused = refused_on_strings(ops_on_strings(topology))
    if refused:
        them = _they(refused, "them", "it")
        raise ConversionError(
            f"TensorFlow.js runs no {', '.join(refused)} on string tensors: its op "
            f"function{'s refuse' if len(refused) > 1 else ' refuses'} them on every "
            'backend ("must be numeric tensor, but got string tensor"), so the model '
            f"would fail when it runs {them}. Do {them} on numbers (ids, before a lookup "
            "turns them into strings or after one turns strings into ids), or outside the "
            "model; or set skip_op_check to convert anyway"
        )


def _check_no_table_reads_in_functions(frozen_graph) -> None:
    """Fails if a lookup table is read inside a kept If/While branch or body.

    TF.js runs such a function without the model's tables (its
    `getHashTableById` is undefined there), so the model would fail the
    first time it ran. Lowered control flow (control_flow_v2 off) keeps every
    lookup in the main graph, where TF.js finds the tables.
    """
    reads = sorted(
        {
            node.op
            for node in _function_nodes(frozen_graph.as_graph_def())
            if node.op.startswith("LookupTable")
        }
    )
    if reads:
        raise ConversionError(
            f"the function reads a lookup table ({', '.join(reads)}) inside control flow "
            "(tf.cond, tf.while_loop), which TF.js runs without the model's tables: "
            "convert it with control_flow_v2 off (tfjs_model: control_flow_v2 = False, "
            'or for one signature signature_options = {"<signature>": '
            '["control_flow_v2=false"]}), which moves the lookups into the main graph'
        )


def canonicalize_model_json(path: Path) -> None:
    """Rewrites model.json with sorted keys, its signature with both its maps.

    tensorflowjs serializes protobuf maps (node attributes) in an order that
    differs from one process to the next; sorted keys make equal models equal
    bytes. Protobuf's JSON leaves default values out, which readers of
    model.json do not expect: an empty map (a signature without inputs would
    have no "inputs"), and a dimension's size of 0 (`{}`, which TF.js reads
    as NaN: it then refused every input of that shape).
    """
    model = json.loads(path.read_text(encoding="utf-8"))
    if "signature" in model:
        for field in ("inputs", "outputs"):
            model["signature"].setdefault(field, {})
    for field, value in model.items():
        if field != "userDefinedMetadata":  # the user's JSON, as given
            _write_zero_sizes(value)
    path.write_text(json.dumps(model, sort_keys=True), encoding="utf-8")


def _write_zero_sizes(value: Any) -> None:
    """Gives each dimension of every shape in value its size, 0 where protobuf left it out."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "dim" and isinstance(item, list):
                for dimension in item:
                    dimension.setdefault("size", "0")
            else:
                _write_zero_sizes(item)
    elif isinstance(value, list):
        for item in value:
            _write_zero_sizes(item)


def check_quantization_patterns(options: ConversionOptions, weight_names: Sequence[str]) -> None:
    """Fails if a quantization pattern matches none of weight_names."""
    if options.quantization is None:
        return
    unused = [p for p in options.quantization_patterns if not fnmatch.filter(weight_names, p)]
    if unused:
        names = sorted(set(weight_names))
        listed = "".join(f"\n  {name}" for name in names[:_MAX_WEIGHTS_LISTED])
        more = len(names) - _MAX_WEIGHTS_LISTED
        raise ConversionError(
            f"quantization pattern{'s' if len(unused) > 1 else ''} "
            f"{', '.join(repr(p) for p in unused)} "
            f"{'match' if len(unused) > 1 else 'matches'} no weight. Patterns match "
            f"the weight names of model.json's weightsManifest; the {len(names)} "
            f"weights are:{listed}" + (f"\n  ... and {more} more" if more > 0 else "")
        )
