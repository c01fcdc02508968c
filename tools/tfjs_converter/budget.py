"""Budgets that fail a conversion: size limits and the backends a model must run on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tfjs_converter.errors import ConversionError
from tfjs_converter.tfjs_registry import BACKENDS

BIGGEST_WEIGHTS_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class Budget:
    """What a converted model must stay within.

    Attributes:
      max_bytes: largest size of all signatures together (model.json and
        weight shards); None for no limit.
      signature_max_bytes: signature key to its own largest size.
      backends: TF.js backends every op must have a kernel on.
    """

    max_bytes: int | None = None
    signature_max_bytes: Mapping[str, int] = dataclasses.field(default_factory=dict)
    backends: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [b for b in self.backends if b not in BACKENDS]
        if unknown:
            raise ConversionError(
                f"unknown backend{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: "
                f"use {', '.join(BACKENDS)}"
            )
        limits = [("max_bytes", self.max_bytes)] + [
            (f"max_bytes of {s!r}", n) for s, n in self.signature_max_bytes.items()
        ]
        for what, limit in limits:
            if limit is not None and limit <= 0:
                raise ConversionError(f"{what} must be positive, not {limit}")


def _biggest_weights(signatures: Mapping[str, Mapping[str, Any]]) -> str:
    weights = [
        (w["bytes"], name, w["name"], w["dtype"])
        for name, signature in signatures.items()
        for w in signature["largest_weights"]
    ]
    weights.sort(key=lambda w: (-w[0], w[1], w[2]))
    return ", ".join(
        f"{signature}/{weight} ({dtype}, {nbytes} bytes)"
        for nbytes, signature, weight, dtype in weights[:BIGGEST_WEIGHTS_SHOWN]
    )


_SIZE_FIX = "quantize (quantization = float16 or uint8), shrink the model or raise max_bytes"
_BACKEND_FIX = "change the model to avoid ops a backend lacks, or drop that backend from backends"
# RFFT is missing only where the conversion kept complex numbers.
_FFT_HINT = "; fft_as_matmul writes it, and the complex values after it, as matrix products"


def _size_problems(budget: Budget, report: Mapping[str, Any]) -> list[str]:
    problems = []
    signatures = report["signatures"]
    if budget.max_bytes is not None and report["bytes"] > budget.max_bytes:
        problems.append(
            f"the model is {report['bytes']} bytes, {report['bytes'] - budget.max_bytes} over "
            f"max_bytes {budget.max_bytes}; biggest weights: {_biggest_weights(signatures)}"
            + _graph_share(signatures)
        )
    for name, limit in sorted(budget.signature_max_bytes.items()):
        size = signatures[name]["bytes"]
        if size > limit:
            problems.append(
                f"signature {name!r} is {size} bytes, {size - limit} over its max_bytes {limit}; "
                f"biggest weights: {_biggest_weights({name: signatures[name]})}"
                + _graph_share({name: signatures[name]})
            )
    return problems


def _graph_share(signatures: Mapping[str, Mapping[str, Any]]) -> str:
    """A note when model.json, which quantizing does not shrink, is most of the bytes."""
    graph = sum(signature["model_json_bytes"] for signature in signatures.values())
    total = sum(signature["bytes"] for signature in signatures.values())
    if 2 * graph < total:
        return ""
    return f"; model.json (the graph, which quantizing does not shrink) is {graph} of them"


def _backend_problems(budget: Budget, report: Mapping[str, Any]) -> list[str]:
    problems = []
    for backend in budget.backends:
        for name, signature in report["signatures"].items():
            coverage = signature["kernel_coverage"]
            for op, kernels in coverage[backend]["missing"].items():
                problems.append(
                    f"signature {name!r}: op {op} has no kernel on {backend} "
                    f"(missing {', '.join(kernels)})" + (_FFT_HINT if op == "RFFT" else "")
                )
            for op in coverage["ops_unknown_to_tfjs"]:
                problems.append(f"signature {name!r}: op {op} is unknown to TF.js ({backend})")
            for op in coverage[backend]["fails_on_strings"]:
                problems.append(f"signature {name!r}: op {op} fails on string tensors on {backend}")
    return problems


def check_budget(budget: Budget, report: Mapping[str, Any]) -> None:
    """Raises ConversionError listing every problem at once, with the fixes that apply."""
    size, backends = _size_problems(budget, report), _backend_problems(budget, report)
    if size or backends:
        fixes = [fix for fix, problems in ((_SIZE_FIX, size), (_BACKEND_FIX, backends)) if problems]
        raise ConversionError(
            "the converted model breaks its budget:\n"
            + "".join(f"  - {p}\n" for p in size + backends)
            + f"Fix: {'; '.join(fixes)}. Nothing was written."
        )


NO_BUDGET = Budget()
