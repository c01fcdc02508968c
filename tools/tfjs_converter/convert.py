"""One conversion request: a SavedModel, loaded once, into one directory per signature."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tfjs_converter import saved_model
from tfjs_converter.budget import NO_BUDGET, Budget, check_budget
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
      options: conversion options of every signature not in signature_options.
      signature_options: signature key to its own options.
      budget: limits the converted model must stay within; a model over
        budget fails the request.
      report_json, report_markdown: where to write report.json and report.md
        (see report.py); None writes none.
      report_title: the heading of report.md.
    """

    saved_model_dir: Path
    outputs: Mapping[str, Path]
    tags: tuple[str, ...] = ("serve",)
    options: ConversionOptions = DEFAULT_OPTIONS
    signature_options: Mapping[str, ConversionOptions] = dataclasses.field(default_factory=dict)
    budget: Budget = NO_BUDGET
    report_json: Path | None = None
    report_markdown: Path | None = None
    report_title: str = "TensorFlow.js model"

    def options_for(self, signature: str) -> ConversionOptions:
        return self.signature_options.get(signature, self.options)


def convert(request: ConversionRequest, load: Loader | None = None) -> None:
    """Carries out a request; `load` may be a caching SavedModel loader."""
    if not request.outputs:
        raise ConversionError("no signatures to convert: name at least one")
    load = load or saved_model.load_saved_model
    model = load(Path(request.saved_model_dir), request.tags)
    model.check_signatures(list(request.outputs))
    unknown = sorted(
        (set(request.signature_options) | set(request.budget.signature_max_bytes))
        - set(request.outputs)
    )
    if unknown:
        raise ConversionError(
            f"options are given for signature{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}, which {'are' if len(unknown) > 1 else 'is'} not converted; "
            f"the converted signatures are: {', '.join(request.outputs)}"
        )
    staged: dict[str, Path] = {}
    try:
        weights: dict[str, dict] = {}
        for signature, output_dir in request.outputs.items():
            staged[signature] = _staging_directory(Path(output_dir))
            weights[signature] = convert_concrete_function(
                model.concrete_function(signature),
                staged[signature],
                signature_def=model.signature_def(signature),
                module=model.module,
                options=request.options_for(signature),
                tensorflow_version=model.tensorflow_version,
            )
        _check_quantization_patterns(request, weights)
        if request.report_json or request.report_markdown or request.budget != NO_BUDGET:
            from tfjs_converter import report

            model_report = report.model_report(
                {
                    signature: report.signature_report(
                        staged[signature], request.options_for(signature), weights[signature]
                    )
                    for signature in request.outputs
                }
            )
            check_budget(request.budget, model_report)
        for signature, staging_dir in staged.items():
            _replace_directory(Path(request.outputs[signature]), staging_dir)
        if request.report_json or request.report_markdown:
            report.write_report(
                model_report,
                request.report_json,
                request.report_markdown,
                title=request.report_title,
            )
    finally:
        for staging_dir in staged.values():
            shutil.rmtree(staging_dir, ignore_errors=True)


def _check_quantization_patterns(request: ConversionRequest, weights: Mapping[str, dict]) -> None:
    # Each pattern must match a weight of the signatures it applies to.
    groups: list[tuple[ConversionOptions, list[str]]] = []
    for signature, signature_weights in weights.items():
        options = request.options_for(signature)
        for group_options, names in groups:
            if group_options == options:
                names += list(signature_weights)
                break
        else:
            groups.append((options, list(signature_weights)))
    for options, names in groups:
        check_quantization_patterns(options, names)


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
