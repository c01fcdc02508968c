"""One conversion request: a SavedModel, loaded once, into one directory per signature."""

from __future__ import annotations

import dataclasses
import os
import re
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
_STAGING = ".staging-"


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
    outputs = _output_directories(request)
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
        for signature, output_dir in outputs.items():
            staged[signature] = _staging_directory(output_dir)
            try:
                weights[signature] = convert_concrete_function(
                    model.concrete_function(signature),
                    staged[signature],
                    signature_def=model.signature_def(signature),
                    module=model.module,
                    options=request.options_for(signature),
                    tensorflow_version=model.tensorflow_version,
                )
            except ConversionError as error:
                raise ConversionError(f"signature {signature!r}: {error}") from None
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
            _replace_directory(outputs[signature], staging_dir)
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


def _output_directories(request: ConversionRequest) -> dict[str, Path]:
    """The request's output directories, absolute, checked to lie apart."""
    # Each output directory is replaced as a whole: one that holds another
    # output, or the SavedModel, would delete what the request still needs.
    saved_model_dir = Path(os.path.abspath(request.saved_model_dir))
    outputs = {s: Path(os.path.abspath(d)) for s, d in request.outputs.items()}
    for signature, output_dir in outputs.items():
        if _holds(output_dir, saved_model_dir):
            raise ConversionError(
                f"the output directory of signature {signature!r} ({output_dir}) holds "
                f"the SavedModel ({saved_model_dir}), and is replaced as a whole: "
                "write the model somewhere else"
            )
        for other, other_dir in outputs.items():
            if other != signature and _holds(output_dir, other_dir):
                raise ConversionError(
                    f"the output directory of signature {signature!r} ({output_dir}) is or "
                    f"holds that of signature {other!r} ({other_dir}), and is replaced as a "
                    "whole: give each signature a directory of its own"
                )
    return outputs


def _holds(directory: Path, path: Path) -> bool:
    return directory == path or directory in path.parents


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

    Raises:
      ConversionError: also for a signature key that is not one plain path
        component (`v1/predict`, `..`); convert such a signature with
        `ConversionRequest`, which takes its directory.
    """
    for signature in signatures:
        if signature in ("", ".", "..") or "/" in signature or "\0" in signature:
            raise ConversionError(
                f"signature {signature!r} cannot name a directory under {output_root}: "
                "a key used as a directory name must be one path component, not empty, "
                "'.' or '..'; convert it with ConversionRequest(outputs={key: directory}) "
                "(on the command line: --output KEY=DIRECTORY)"
            )
    outputs = {signature: Path(output_root) / signature for signature in signatures}
    convert(ConversionRequest(Path(saved_model_dir), outputs, tuple(tags), options))
    return outputs


def _staging_directory(output_dir: Path) -> Path:
    # A sibling, so that the final rename stays within one file system.
    # Siblings left by a killed conversion of the same output are removed:
    # exactly this output's prefix and mkdtemp's eight random characters, so
    # never the staging directory of an output named with this one's name
    # and more (`a.b` beside `a`).
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{output_dir.name}{_STAGING}"
    left_by_a_killed_conversion = re.compile(re.escape(prefix) + "[a-z0-9_]{8}")
    for stale in output_dir.parent.iterdir():
        if left_by_a_killed_conversion.fullmatch(stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    staging_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=output_dir.parent))
    staging_dir.chmod(0o755)
    return staging_dir


def _replace_directory(output_dir: Path, staging_dir: Path) -> None:
    if output_dir.is_dir() and not output_dir.is_symlink():
        shutil.rmtree(output_dir)
    elif output_dir.exists() or output_dir.is_symlink():
        output_dir.unlink()
    os.rename(staging_dir, output_dir)
