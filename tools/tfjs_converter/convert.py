"""One conversion request: a SavedModel, loaded once, into one directory per signature."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tfjs_converter import saved_model
from tfjs_converter.errors import ConversionError
from tfjs_converter.options import DEFAULT_OPTIONS, ConversionOptions
from tfjs_converter.pipeline import check_quantization_patterns, convert_concrete_function

Loader = Callable[[Path, Sequence[str]], saved_model.LoadedSavedModel]


@dataclasses.dataclass(frozen=True)
class ConversionRequest:
    """Convert `outputs`' signatures of the SavedModel in saved_model_dir.

    Attributes:
      saved_model_dir: the directory holding saved_model.pb.
      outputs: signature key to the directory its model goes into. Each
        directory is replaced as a whole, and only once every signature has
        converted: a failed request leaves no model half written.
      tags: the tag set of the MetaGraph to convert.
      options: conversion options, the same for every signature.
    """

    saved_model_dir: Path
    outputs: Mapping[str, Path]
    tags: tuple[str, ...] = ("serve",)
    options: ConversionOptions = DEFAULT_OPTIONS


def convert(request: ConversionRequest, load: Loader | None = None) -> None:
    """Carries out a request; `load` may be a caching SavedModel loader."""
    if not request.outputs:
        raise ConversionError("no signatures to convert: name at least one")
    load = load or saved_model.load_saved_model
    model = load(Path(request.saved_model_dir), request.tags)
    model.check_signatures(list(request.outputs))
    staged: dict[str, Path] = {}
    try:
        weight_names: list[str] = []
        for signature, output_dir in request.outputs.items():
            staged[signature] = _staging_directory(Path(output_dir))
            weight_names += convert_concrete_function(
                model.concrete_function(signature),
                staged[signature],
                signature_def=model.signature_def(signature),
                module=model.module,
                options=request.options,
                tensorflow_version=model.tensorflow_version,
            )
        check_quantization_patterns(request.options, weight_names)
        for signature, staging_dir in staged.items():
            _replace_directory(Path(request.outputs[signature]), staging_dir)
    finally:
        for staging_dir in staged.values():
            shutil.rmtree(staging_dir, ignore_errors=True)


def convert_saved_model(
    saved_model_dir: str | Path,
    signatures: Sequence[str],
    output_root: str | Path,
    *,
    tags: Sequence[str] = ("serve",),
    options: ConversionOptions = DEFAULT_OPTIONS,
) -> dict[str, Path]:
    """Converts signatures of a SavedModel into output_root/<signature>/.

    Returns:
      signature key to its model directory.
    """
    outputs = {signature: Path(output_root) / signature for signature in signatures}
    convert(ConversionRequest(Path(saved_model_dir), outputs, tuple(tags), options))
    return outputs


def _staging_directory(output_dir: Path) -> Path:
    # A sibling, so that the final rename stays within one file system.
    # Siblings left by a killed conversion of the same output are removed.
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.parent.glob(f".{output_dir.name}.*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.", dir=output_dir.parent))
    staging_dir.chmod(0o755)
    return staging_dir


def _replace_directory(output_dir: Path, staging_dir: Path) -> None:
    if output_dir.is_dir() and not output_dir.is_symlink():
        shutil.rmtree(output_dir)
    elif output_dir.exists() or output_dir.is_symlink():
        output_dir.unlink()
    os.rename(staging_dir, output_dir)
