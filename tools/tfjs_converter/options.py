"""Conversion options: what `tensorflowjs_converter` users can set."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tfjs_converter.errors import ConversionError

QUANTIZATIONS = ("float16", "uint8", "uint16")
DEFAULT_WEIGHT_SHARD_SIZE_BYTES = 4 * 1024 * 1024
ALL_WEIGHTS = ("*",)


@dataclasses.dataclass(frozen=True)
class ConversionOptions:
    """How each signature is converted.

    Attributes:
      quantization: store weights as `float16`, `uint8` or `uint16`; None
        keeps float32.
      quantization_patterns: fnmatch-style patterns of the weight names to
        quantize; `("*",)` is every weight.
      weight_shard_size_bytes: largest size of one weight shard file.
      strip_debug_ops: remove Print, Assert and CheckNumerics ops.
      skip_op_check: convert even if TensorFlow.js lacks some of the ops.
      control_flow_v2: keep TF2 While/If ops rather than lowering them.
      fft_as_matmul: compute RFFT and the complex values around it with
        real matrix products (`complex_pairs.py`), for backends without
        complex numbers (wasm).
      metadata: JSON values to embed as model.json's `userDefinedMetadata`.
    """

    quantization: str | None = None
    quantization_patterns: tuple[str, ...] = ALL_WEIGHTS
    weight_shard_size_bytes: int = DEFAULT_WEIGHT_SHARD_SIZE_BYTES
    strip_debug_ops: bool = False
    skip_op_check: bool = False
    control_flow_v2: bool = True
    fft_as_matmul: bool = False
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.quantization is not None and self.quantization not in QUANTIZATIONS:
            raise ConversionError(
                f"unknown quantization {self.quantization!r}: use one of "
                f"{', '.join(QUANTIZATIONS)}, or none"
            )
        if not self.quantization_patterns or not all(
            isinstance(p, str) and p.strip() for p in self.quantization_patterns
        ):
            raise ConversionError(
                "quantization patterns must be non-empty weight-name patterns; "
                "use '*' for all weights"
            )
        if self.weight_shard_size_bytes <= 0:
            raise ConversionError(
                f"weight shard size must be positive, not {self.weight_shard_size_bytes}"
            )

    def quantization_dtype_map(self) -> dict[str, Any] | None:
        """The map tensorflowjs's write_artifacts takes, or None."""
        if self.quantization is None:
            return None
        if self.quantization_patterns == ALL_WEIGHTS:
            return {self.quantization: True}
        return {self.quantization: list(self.quantization_patterns)}


def read_json_file(path: str | Path, what: str) -> Any:
    """The parsed JSON file; ConversionError naming `what` if it is unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConversionError(f"{what}: {path} is not a readable JSON file ({error})") from None


def read_metadata(files: Mapping[str, str | Path]) -> dict[str, Any]:
    """Reads {key: JSON file} into {key: value} for ConversionOptions.metadata."""
    return {key: read_json_file(path, f"metadata {key!r}") for key, path in files.items()}


DEFAULT_OPTIONS = ConversionOptions()


# Per-signature settings: `KEY=VALUE` strings, as tfjs_model's
# signature_options and the command line's --signature_option give them.
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}
_BOOLEAN_KEYS = ("strip_debug_ops", "skip_op_check", "control_flow_v2", "fft_as_matmul")
SIGNATURE_OPTION_KEYS = (
    "quantization",
    "quantization_patterns",
    "weight_shard_size_bytes",
    *_BOOLEAN_KEYS,
)


def _parse_value(signature: str, key: str, value: str) -> Any:
    if key in _BOOLEAN_KEYS:
        if value.lower() not in _BOOLEANS:
            raise ConversionError(
                f"signature {signature!r}: {key}={value!r} is not a boolean; use true or false"
            )
        return _BOOLEANS[value.lower()]
    if key == "weight_shard_size_bytes":
        try:
            return int(value)
        except ValueError:
            raise ConversionError(
                f"signature {signature!r}: weight_shard_size_bytes={value!r} is not a whole number"
            ) from None
    if key == "quantization":
        return None if value == "none" else value
    return value


def signature_options(
    base: ConversionOptions, signature: str, settings: list[str] | tuple[str, ...]
) -> ConversionOptions:
    """base with one signature's `KEY=VALUE` settings applied.

    A setting replaces the model-wide option of the same name, with one
    exception: setting `quantization` without `quantization_patterns`
    quantizes all of the signature's weights. `quantization_patterns` may be
    repeated, one pattern per setting.
    """
    changes: dict[str, Any] = {}
    patterns: list[str] = []
    for setting in settings:
        key, separator, value = setting.partition("=")
        if not separator or key not in SIGNATURE_OPTION_KEYS:
            raise ConversionError(
                f"signature {signature!r}: {setting!r} is not a KEY=VALUE option; the keys "
                f"are {', '.join(SIGNATURE_OPTION_KEYS)}"
            )
        if key == "quantization_patterns":
            patterns.append(value)
        elif key in changes:
            raise ConversionError(f"signature {signature!r}: {key} is set twice")
        else:
            changes[key] = _parse_value(signature, key, value)
    if patterns:
        changes["quantization_patterns"] = tuple(patterns)
    elif "quantization" in changes:
        changes["quantization_patterns"] = ALL_WEIGHTS
    quantization = changes.get("quantization", base.quantization)
    if quantization is None and patterns:
        raise ConversionError(
            f"signature {signature!r}: quantization_patterns is set but quantization is none; "
            "set quantization=float16, uint8 or uint16, or drop the patterns"
        )
    try:
        return dataclasses.replace(base, **changes)
    except ConversionError as error:
        raise ConversionError(f"signature {signature!r}: {error}") from None
