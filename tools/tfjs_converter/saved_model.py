"""Finds, checks and loads a SavedModel, with errors that say what to fix."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from tfjs_converter.errors import ConversionError

SAVED_MODEL_FILE = "saved_model.pb"


@dataclasses.dataclass
class LoadedSavedModel:
    """A SavedModel loaded once, to convert any number of its signatures."""

    directory: Path
    meta_graph: meta_graph_pb2.MetaGraphDef
    module: tf.Module

    @property
    def signature_keys(self) -> list[str]:
        # The MetaGraph's signature map also holds `__saved_model_init_op`,
        # which is no function; the loaded module lists the real ones.
        return sorted(self.module.signatures.keys())

    @property
    def tensorflow_version(self) -> str:
        return self.meta_graph.meta_info_def.tensorflow_version or tf.__version__

    def check_signatures(self, signatures: Sequence[str]) -> None:
        known = self.signature_keys
        unknown = [s for s in signatures if s not in known]
        if unknown:
            raise ConversionError(
                f"the SavedModel in {self.directory} has no signature "
                f"{', '.join(repr(s) for s in unknown)}; its signatures are: "
                f"{', '.join(known) or '(none)'}"
            )

    def signature_def(self, signature: str) -> meta_graph_pb2.SignatureDef:
        self.check_signatures([signature])
        return self.meta_graph.signature_def[signature]

    def concrete_function(self, signature: str):
        self.check_signatures([signature])
        return self.module.signatures[signature]

    def input_specs(self, signature: str) -> dict[str, Any]:
        """The signature's input specs by their SignatureDef keys, which model.json keeps."""
        function = self.concrete_function(signature)
        _, specs = function.structured_input_signature
        names = flattened_keys(specs)
        keys = signature_input_keys(function)
        return {key: specs[name] for key, name in zip(keys, names, strict=True)}


def signature_input_keys(concrete_function) -> list[str]:
    """The SignatureDef keys of a signature function's keyword arguments, in flattened order.

    The keyword arguments of a loaded signature are its keys made valid Python
    names (`input-1` becomes `input_1`, `a.b` becomes `a_b`). TensorFlow keeps
    the keys themselves as the function's argument keywords (`_arg_keywords`,
    saved with the SavedModel), in the same order, and maps keyword calls with
    either name through them.
    """
    _, specs = concrete_function.structured_input_signature
    keywords = list(getattr(concrete_function, "_arg_keywords", None) or ())
    return keywords if len(keywords) == len(specs) else flattened_keys(specs)


def flattened_keys(flat_dict: Mapping[str, Any]) -> list[str]:
    """flat_dict's keys in the order tf.nest flattens its values: a function's order."""
    return tf.nest.flatten({key: key for key in flat_dict})


def read_meta_graph(directory: str | Path, tags: Sequence[str]) -> meta_graph_pb2.MetaGraphDef:
    """Reads the MetaGraphDef with exactly `tags` from directory/saved_model.pb."""
    directory = Path(directory)
    graph_file = directory / SAVED_MODEL_FILE
    if not graph_file.is_file():
        raise ConversionError(
            f"{directory} is not a SavedModel directory: it has no {SAVED_MODEL_FILE}"
        )
    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(graph_file.read_bytes())
    except DecodeError as error:
        raise ConversionError(
            f"{graph_file} cannot be parsed ({error}): the file is truncated or "
            "not a SavedModel; export the model again"
        ) from None
    tag_sets = [sorted(m.meta_info_def.tags) for m in saved_model.meta_graphs]
    for meta_graph in saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == set(tags):
            return meta_graph
    raise ConversionError(
        f"the SavedModel in {directory} has no MetaGraph tagged "
        f"{','.join(tags)}; its tag sets are: "
        f"{'; '.join(','.join(t) for t in tag_sets) or '(none)'}"
    )


# TensorFlow Decision Forests' ops all carry this prefix. TF-DF registers them
# when imported; the default environment leaves it out (requirements_overrides.txt).
_DECISION_FORESTS_OP_PREFIX = "SimpleML"
_DECISION_FORESTS_MODULE = "tensorflow_decision_forests"


def _unregistered_ops(meta_graph: meta_graph_pb2.MetaGraphDef) -> list[str]:
    from tensorflow.python.framework import op_def_registry

    library = meta_graph.graph_def.library
    ops = {node.op for node in meta_graph.graph_def.node}
    for function in library.function:
        ops.update(node.op for node in function.node_def)
    ops -= {function.signature.name for function in library.function}
    return sorted(op for op in ops if op_def_registry.get(op) is None)


def check_ops_registered(directory: Path, meta_graph: meta_graph_pb2.MetaGraphDef) -> None:
    """Fails, saying what to install, if TensorFlow here lacks an op of the graph."""
    missing = _unregistered_ops(meta_graph)
    decision_forests = [op for op in missing if op.startswith(_DECISION_FORESTS_OP_PREFIX)]
    if decision_forests and importlib.util.find_spec(_DECISION_FORESTS_MODULE):
        importlib.import_module(_DECISION_FORESTS_MODULE)  # registers its ops
        missing = _unregistered_ops(meta_graph)
        decision_forests = [op for op in missing if op.startswith(_DECISION_FORESTS_OP_PREFIX)]
    if not missing:
        return
    plural = "s" if len(missing) > 1 else ""
    message = (
        f"the SavedModel in {directory} uses op{plural} {', '.join(missing)} that "
        f"this environment's TensorFlow {tf.__version__} does not have"
    )
    if decision_forests:
        raise ConversionError(
            f"{message}: {', '.join(decision_forests)} "
            f"{'are' if len(decision_forests) > 1 else 'is'} TensorFlow Decision "
            "Forests', which rules_tfjs's default environment leaves out. Use your "
            "own lock file, rules_tfjs_dependencies(requirements_lock = ...) or "
            "tfjs.python_environment(requirements_lock = ...), with "
            "tensorflow-decision-forests==1.12.0, tensorflow==2.19.0 (TF-DF does "
            "not load with tensorflow-cpu) and tensorflowjs==4.22.0 (README: "
            "The converter environment)"
        )
    raise ConversionError(
        f"{message}: export the model with TensorFlow {tf.__version__}, or add "
        "the library that defines the op to your own lock file (README: The "
        "converter environment)"
    )


def _has_variables(meta_graph: meta_graph_pb2.MetaGraphDef) -> bool:
    return any(node.WhichOneof("kind") == "variable" for node in meta_graph.object_graph_def.nodes)


def load_saved_model(directory: str | Path, tags: Sequence[str] = ("serve",)) -> LoadedSavedModel:
    """Checks and loads the SavedModel in directory."""
    directory = Path(directory)
    tags = tuple(tags)
    meta_graph = read_meta_graph(directory, tags)
    if _has_variables(meta_graph) and not (directory / "variables" / "variables.index").is_file():
        raise ConversionError(
            f"the SavedModel in {directory} has variables but no "
            "variables/variables.index: keep the variables/ directory next to "
            f"{SAVED_MODEL_FILE} (a checked-in SavedModel needs both)"
        )
    check_ops_registered(directory, meta_graph)
    try:
        module = tf.saved_model.load(str(directory), tags=list(tags))
    except (tf.errors.OpError, ValueError, OSError) as error:
        raise ConversionError(
            f"TensorFlow cannot load the SavedModel in {directory}: {error}"
        ) from None
    return LoadedSavedModel(directory, meta_graph, module)
