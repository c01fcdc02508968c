"""What a converted model holds, for the people who ship it: report.json and report.md.

Per signature: inputs and outputs, model.json and weight bytes, weights by
dtype, shards, the largest weights, an op histogram, whether the graph needs
`executeAsync`, the error quantization put into each quantized weight, and
which of its ops have no kernel on each TF.js backend. Kernel facts come from
tfjs_kernels.json, extracted from the locked npm packages by
tools/tfjs_runner/kernel_registry.js.

Everything is computed from the written files (and the float weights the
pipeline started from) and serialized with sorted keys and fixed rounding, so
equal models give equal report bytes.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_converter.options import ALL_WEIGHTS, ConversionOptions
from tfjs_converter.pipeline import tfjs_read_weights
from tfjs_converter.quantization_limits import unquantizable
from tfjs_converter.tfjs_registry import (
    BACKENDS,
    failing_on_strings,
    kernel_registry,
    ops_on_strings,
)

LARGEST_WEIGHTS = 10
MODEL_JSON = "model.json"


def _dtype(name: str) -> str:
    return name[3:].lower() if name.startswith("DT_") else name


def _tensors(entries: Mapping[str, Any]) -> dict[str, Any]:
    tensors = {}
    for key, entry in sorted(entries.items()):
        dims = entry.get("tensorShape", {}).get("dim", [])
        unknown_rank = entry.get("tensorShape", {}).get("unknownRank", False)
        tensors[key] = {
            "dtype": _dtype(entry.get("dtype", "")),
            "shape": None if unknown_rank else [int(d.get("size", 0)) for d in dims],
        }
    return tensors


def _graph_ops(topology: Mapping[str, Any]) -> collections.Counter:
    ops = collections.Counter(node["op"] for node in topology.get("node", []))
    for function in topology.get("library", {}).get("function", []):
        ops.update(node["op"] for node in function.get("nodeDef", []))
    return ops


def kernel_coverage(ops: list[str], string_ops: list[str] = ()) -> dict[str, Any]:
    """Per backend, each op whose kernels that backend lacks, with the missing kernels,
    and each of string_ops (ops typed with strings) that fails on strings there."""
    registry = kernel_registry()
    unknown = sorted(op for op in ops if op not in registry["ops"])
    coverage: dict[str, Any] = {"ops_unknown_to_tfjs": unknown}
    for backend in BACKENDS:
        registered = set(registry["backends"][backend])
        missing = {}
        for op in ops:
            lacking = sorted(set(registry["ops"].get(op, [])) - registered)
            if lacking:
                missing[op] = lacking
        on_strings = failing_on_strings(string_ops, backend)
        coverage[backend] = {
            "missing": missing,
            "fails_on_strings": on_strings,
            "runs": not missing and not unknown and not on_strings,
        }
    return coverage


def _execute_async_ops(ops: list[str]) -> list[str]:
    needing = set().union(*kernel_registry()["execute_async_ops"].values())
    return sorted(set(ops) & needing)


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _quantization_error(original: np.ndarray, restored: np.ndarray) -> dict[str, float]:
    original = np.asarray(original, dtype=np.float64)
    restored = np.asarray(restored, dtype=np.float64)
    # An infinity kept as itself is no error (inf - inf would be NaN).
    with np.errstate(invalid="ignore"):
        error = np.where(restored == original, 0.0, np.abs(restored - original))
    largest = float(error.max(initial=0.0))
    scale = float(np.abs(original).max(initial=0.0))
    return {
        "max_abs_error": _round(largest),
        "max_rel_error": _round(largest / scale) if scale else 0.0,
    }


def signature_report(
    directory: Path,
    options: ConversionOptions,
    original_weights: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The report of one converted signature in directory."""
    directory = Path(directory)
    model_json = directory / MODEL_JSON
    model = json.loads(model_json.read_text(encoding="utf-8"))
    manifest = model.get("weightsManifest", [])
    shards = [path for group in manifest for path in group["paths"]]
    shard_bytes = sum((directory / path).stat().st_size for path in shards)

    restored = {}
    if options.quantization is not None and original_weights is not None:
        restored = {
            w["name"]: w["data"]
            for w in tfjs_read_weights.read_weights(manifest, str(directory), flatten=True)
        }
    weights = []
    bytes_by_dtype: collections.Counter = collections.Counter()
    for group in manifest:
        for weight in group["weights"]:
            quantization = weight.get("quantization")
            stored_dtype = quantization["dtype"] if quantization else weight["dtype"]
            size = int(np.prod(weight["shape"], dtype=np.int64))
            nbytes = size * np.dtype(stored_dtype).itemsize if stored_dtype != "string" else 0
            entry: dict[str, Any] = {
                "name": weight["name"],
                "dtype": stored_dtype,
                "shape": weight["shape"],
                "bytes": int(nbytes),
            }
            if quantization and weight["name"] in restored:
                entry["quantization"] = _quantization_error(
                    original_weights[weight["name"]], restored[weight["name"]]
                )
            bytes_by_dtype[stored_dtype] += int(nbytes)
            weights.append(entry)

    ops = _graph_ops(model.get("modelTopology", {}))
    execute_async_ops = _execute_async_ops(list(ops))
    model_json_bytes = model_json.stat().st_size
    report: dict[str, Any] = {
        "inputs": _tensors(model.get("signature", {}).get("inputs", {})),
        "outputs": _tensors(model.get("signature", {}).get("outputs", {})),
        "bytes": model_json_bytes + shard_bytes,
        "model_json_bytes": model_json_bytes,
        "weight_bytes": shard_bytes,
        "weight_bytes_by_dtype": dict(sorted(bytes_by_dtype.items())),
        "shards": len(shards),
        "weights": len(weights),
        "largest_weights": sorted(weights, key=lambda w: (-w["bytes"], w["name"]))[
            :LARGEST_WEIGHTS
        ],
        "ops": dict(sorted(ops.items())),
        "needs_execute_async": bool(execute_async_ops),
        "execute_async_ops": execute_async_ops,
        "kernel_coverage": kernel_coverage(
            sorted(ops), ops_on_strings(model.get("modelTopology", {}))
        ),
        "options": {
            "quantization": options.quantization or "none",
            "quantization_patterns": list(options.quantization_patterns),
            "weight_shard_size_bytes": options.weight_shard_size_bytes,
            "strip_debug_ops": options.strip_debug_ops,
            "skip_op_check": options.skip_op_check,
            "control_flow_v2": options.control_flow_v2,
            "fft_as_matmul": options.fft_as_matmul,
        },
    }
    quantized = [w for w in weights if "quantization" in w]
    if quantized:
        report["quantization_error"] = {
            w["name"]: w["quantization"] for w in sorted(quantized, key=lambda w: w["name"])
        }
    if options.quantization is not None and original_weights is not None:
        chosen = [
            {"name": name, "data": data}
            for name, data in sorted(original_weights.items())
            if any(fnmatchcase(name, p) for p in options.quantization_patterns)
        ]
        kept = unquantizable([chosen], options.quantization)
        if kept:
            report["kept_float32"] = kept
    return report


def _quantization_summary(signature: Mapping[str, Any]) -> str:
    """`uint8: 11 of 141 weights (patterns: `*project*`)`, or `none`."""
    options = signature["options"]
    if options["quantization"] == "none":
        return "none"
    quantized = len(signature.get("quantization_error", {}))
    patterns = options["quantization_patterns"]
    listed = ", ".join(f"`{pattern}`" for pattern in patterns)
    chosen = "" if list(patterns) == list(ALL_WEIGHTS) else f" (patterns: {listed})"
    summary = f"{options['quantization']}: {quantized} of {signature['weights']} weights{chosen}"
    kept = signature.get("kept_float32", {})
    if kept:
        why = "; ".join(f"`{name}` ({reason})" for name, reason in sorted(kept.items()))
        summary += f"; kept float32, as {options['quantization']} cannot hold them: {why}"
    return summary


def model_report(signatures: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The whole model's report from its signatures' reports."""
    registry = kernel_registry()
    return {
        "bytes": sum(s["bytes"] for s in signatures.values()),
        "signatures": dict(sorted(signatures.items())),
        "tfjs_packages": registry["packages"],
    }


def _size(nbytes: int) -> str:
    if nbytes < 1024:
        return f"{nbytes} B"
    if nbytes < 1024 * 1024:
        return f"{nbytes / 1024:.1f} KiB"
    return f"{nbytes / (1024 * 1024):.2f} MiB"


def _shape(shape: list[int] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("?" if d < 0 else str(d) for d in shape) + "]"


def render_markdown(report: Mapping[str, Any], title: str) -> str:
    """report.md: the same facts as report.json, for reading."""
    lines = [
        f"# {title}",
        "",
        f"Total: {_size(report['bytes'])} ({report['bytes']} bytes) in "
        f"{len(report['signatures'])} signature(s).",
        "",
    ]
    for name, signature in report["signatures"].items():
        lines += [f"## {name}", ""]
        lines += [
            f"- Size: {_size(signature['bytes'])} ({signature['bytes']} bytes): model.json "
            f"{_size(signature['model_json_bytes'])}, weights "
            f"{_size(signature['weight_bytes'])} in {signature['shards']} shard(s)",
            "- Weights by dtype: "
            + (
                ", ".join(f"{d} {_size(b)}" for d, b in signature["weight_bytes_by_dtype"].items())
                or "none"
            ),
            "- Quantization: " + _quantization_summary(signature),
            "- Run with: "
            + (
                "`model.executeAsync(...)` (control flow or dynamic shapes: "
                + ", ".join(signature["execute_async_ops"])
                + ")"
                if signature["needs_execute_async"]
                else "`model.execute(...)` or `model.executeAsync(...)`"
            ),
            "",
            "| | name | dtype | shape |",
            "| --- | --- | --- | --- |",
        ]
        for kind in ("inputs", "outputs"):
            for key, tensor in signature[kind].items():
                lines.append(
                    f"| {kind[:-1]} | `{key}` | {tensor['dtype']} | {_shape(tensor['shape'])} |"
                )
        lines += ["", "Kernel coverage:", ""]
        coverage = signature["kernel_coverage"]
        for backend in BACKENDS:
            missing = coverage[backend]["missing"]
            on_strings = ", ".join(coverage[backend]["fails_on_strings"])
            if coverage[backend]["runs"]:
                lines.append(f"- {backend}: every op has a kernel")
            else:
                text = "; ".join(f"{op} (no {', '.join(k)})" for op, k in missing.items())
                unknown = ", ".join(coverage["ops_unknown_to_tfjs"])
                lines.append(
                    f"- {backend}: missing "
                    + "; ".join(
                        filter(
                            None,
                            [
                                text,
                                unknown and f"unknown to TF.js: {unknown}",
                                on_strings and f"fails on string tensors: {on_strings}",
                            ],
                        )
                    )
                )
        lines += [
            "",
            "Largest weights:",
            "",
            "| weight | dtype | shape | bytes |",
            "| --- | --- | --- | --- |",
        ]
        for weight in signature["largest_weights"]:
            lines.append(
                f"| `{weight['name']}` | {weight['dtype']} | {_shape(weight['shape'])} "
                f"| {weight['bytes']} |"
            )
        if "quantization_error" in signature:
            lines += [
                "",
                "Quantization error (largest absolute; relative: to the weight's largest "
                "magnitude):",
                "",
                "| weight | max abs error | max rel error |",
                "| --- | --- | --- |",
            ]
            for weight, error in signature["quantization_error"].items():
                lines.append(
                    f"| `{weight}` | {error['max_abs_error']:g} | {error['max_rel_error']:g} |"
                )
        lines += ["", "Ops:", "", "| op | count |", "| --- | --- |"]
        lines += [f"| {op} | {count} |" for op, count in signature["ops"].items()]
        lines.append("")
    return "\n".join(lines)


def write_report(
    report: Mapping[str, Any], json_path: Path | None, markdown_path: Path | None, title: str
) -> None:
    """Writes report.json and/or report.md."""
    if json_path is not None:
        Path(json_path).write_text(
            json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    if markdown_path is not None:
        Path(markdown_path).write_text(render_markdown(report, title), encoding="utf-8")
