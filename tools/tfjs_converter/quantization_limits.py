"""Weights a quantization cannot hold, kept float32.

float16 holds magnitudes from about 6e-8 (smaller ones become 0) to 65504
(larger ones become infinite): the -1e9 a masked attention adds became -inf,
and a row whose mask is all zeros then gave NaN; BERT's LayerNormalization
epsilon of 1e-12 became 0, and zero-padded rows gave NaN. The affine uint8
and uint16 quantizations store a weight's range as JSON numbers: an infinite
value (a -inf mask) wrote `"min": -Infinity` into model.json, which TF.js's
JSON parser refuses, so the model did not load. tensorflowjs's command line
writes the same files.

Such weights stay float32 (they are constants of a few values, not the bulk
of a model), and the conversion names them; the report counts the weights
that were quantized.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase
from typing import Any

import numpy as np

from tfjs_converter.options import ConversionOptions

# float16's relative resolution: 11 significant bits.
_FLOAT16_RESOLUTION = 2.0**-11


def unquantizable(weights: Sequence[Sequence[dict]], quantization: str | None) -> dict[str, str]:
    """Weight name -> why, for each float32 weight quantization would ruin."""
    if quantization is None:
        return {}
    ruined = {}
    for group in weights:
        for weight in group:
            data = np.asarray(weight["data"])
            if data.dtype == np.float32 and data.size:
                why = _why_ruined(data, quantization)
                if why:
                    ruined[weight["name"]] = why
    return ruined


def _why_ruined(data: np.ndarray, quantization: str) -> str | None:
    finite = data[np.isfinite(data)]
    if quantization != "float16":
        return None if finite.size == data.size else "holds an infinity or NaN"
    with np.errstate(over="ignore"):
        converted = finite.astype(np.float16)
    # A value that float16 rounds to 0 is lost only if float16 would hold it
    # beside the weight's largest one (a DFT basis's 1e-16 for sin(pi) is not).
    magnitudes = np.abs(finite)
    held = magnitudes >= magnitudes.max(initial=0.0) * _FLOAT16_RESOLUTION
    vanishing = (finite != 0) & (converted == 0) & held
    for lost, becomes in ((np.isinf(converted), "inf"), (vanishing, "0")):
        if lost.any():
            value = finite[lost].flat[0]
            return f"{value:g} would be {'-' if becomes == 'inf' and value < 0 else ''}{becomes}"
    return None


def quantization_map(
    options: ConversionOptions, weight_names: Sequence[str], kept: Collection[str]
) -> dict[str, Any] | None:
    """tensorflowjs's quantization map for options, leaving the weights in kept float32."""
    if not kept:
        return options.quantization_dtype_map()
    chosen = [
        name
        for name in weight_names
        if name not in kept and any(fnmatchcase(name, p) for p in options.quantization_patterns)
    ]
    return {options.quantization: [_literal(name) for name in chosen]} if chosen else None


def kept_note(kept: dict[str, str], quantization: str) -> str:
    """One line naming the weights kept float32 and why."""
    names = sorted(kept)
    listed = "; ".join(f"{name} ({kept[name]})" for name in names[:5])
    more = f"; and {len(names) - 5} more" if len(names) > 5 else ""
    return (
        f"rules_tfjs: {len(names)} weight{'s' if len(names) > 1 else ''} kept float32, "
        f"as {quantization} cannot hold {'their' if len(names) > 1 else 'its'} values: "
        f"{listed}{more}"
    )


def _literal(name: str) -> str:
    """A pattern matching exactly name (fnmatch's `*`, `?` and `[` in brackets)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
