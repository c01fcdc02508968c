"""Finds, checks and loads a SavedModel, with errors that say what to fix."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

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
    try:
        module = tf.saved_model.load(str(directory), tags=list(tags))
    except (tf.errors.OpError, ValueError, OSError) as error:
        raise ConversionError(
            f"TensorFlow cannot load the SavedModel in {directory}: {error}"
        ) from None
    return LoadedSavedModel(directory, meta_graph, module)
