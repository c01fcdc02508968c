import json
from pathlib import Path

import numpy as np
import pytest

from tfjs_converter.convert import ConversionRequest, convert
from tfjs_converter.options import ConversionOptions
from tfjs_converter.tfjs_registry import BACKENDS, kernel_registry


def _convert(saved_model, tmp_path, signatures, **request) -> dict:
    outputs = {s: tmp_path / "out" / s for s in signatures}
    convert(
        ConversionRequest(
            Path(saved_model),
            outputs,
            report_json=tmp_path / "report.json",
            report_markdown=tmp_path / "report.md",
            report_title="//pkg:model",
            **request,
        )
    )
    return json.loads((tmp_path / "report.json").read_text())


def test_report_describes_each_signature_from_its_files(tiny_saved_model, tmp_path):
    report = _convert(tiny_saved_model, tmp_path, ["scale", "mix"])

    mix = report["signatures"]["mix"]
    assert mix["inputs"] == {
        "offset": {"dtype": "float", "shape": [-1, 2]},
        "weights": {"dtype": "float", "shape": [-1, 5]},
    }
    assert mix["outputs"]["total"] == {"dtype": "float", "shape": [-1]}
    directory = tmp_path / "out" / "mix"
    assert mix["model_json_bytes"] == (directory / "model.json").stat().st_size
    assert mix["weight_bytes"] == (directory / "group1-shard1of1.bin").stat().st_size
    assert mix["bytes"] == mix["model_json_bytes"] + mix["weight_bytes"]
    assert mix["shards"] == 1
    # The table, and reduce_sum's axis, a constant int32 (not quantized).
    assert mix["weight_bytes_by_dtype"] == {"float32": 40, "int32": 4}
    assert mix["largest_weights"][0] == {
        "name": "StatefulPartitionedCall/MatMul/ReadVariableOp",
        "dtype": "float32",
        "shape": [5, 2],
        "bytes": 40,
    }
    assert mix["ops"]["Placeholder"] == 2
    assert mix["needs_execute_async"] is False
    for backend in BACKENDS:
        assert mix["kernel_coverage"][backend] == {
            "missing": {},
            "fails_on_strings": [],
            "runs": True,
        }
    assert report["bytes"] == mix["bytes"] + report["signatures"]["scale"]["bytes"]
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# //pkg:model\n")
    assert "| input | `offset` | float | [?, 2] |" in markdown
    assert "- wasm: every op has a kernel" in markdown


def test_wasm_lacks_the_fft_kernels_of_an_rfft_model(spectrum_saved_model, tmp_path):
    report = _convert(spectrum_saved_model, tmp_path, ["spectrum"])

    coverage = report["signatures"]["spectrum"]["kernel_coverage"]
    assert coverage["wasm"]["runs"] is False
    assert sorted(coverage["wasm"]["missing"]) == ["ComplexAbs", "RFFT"]
    assert "FFT" in coverage["wasm"]["missing"]["RFFT"]
    for backend in ("cpu", "webgl", "webgpu"):
        assert coverage[backend] == {"missing": {}, "fails_on_strings": [], "runs": True}
    assert (
        "- wasm: missing ComplexAbs (no ComplexAbs); RFFT (no "
        in (tmp_path / "report.md").read_text()
    )


def test_a_while_loop_needs_execute_async(loop_saved_model, tmp_path):
    report = _convert(loop_saved_model, tmp_path, ["halve"])

    halve = report["signatures"]["halve"]
    assert halve["needs_execute_async"] is True
    assert "StatelessWhile" in halve["execute_async_ops"] or "While" in halve["execute_async_ops"]
    assert "executeAsync" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize(("quantization", "bound"), [("uint8", 1 / 255), ("float16", 1e-3)])
def test_quantization_error_is_measured_per_weight(tiny_saved_model, tmp_path, quantization, bound):
    report = _convert(
        tiny_saved_model,
        tmp_path,
        ["mix"],
        options=ConversionOptions(quantization=quantization),
    )

    mix = report["signatures"]["mix"]
    assert mix["weight_bytes_by_dtype"] == {
        quantization: 10 * np.dtype(quantization).itemsize,
        "int32": 4,
    }
    assert sorted(mix["quantization_error"]) == ["StatefulPartitionedCall/MatMul/ReadVariableOp"]
    error = mix["quantization_error"]["StatefulPartitionedCall/MatMul/ReadVariableOp"]
    # uint8 keeps 256 levels over the weight's range: the error is at most half
    # a step, and not zero for normally distributed weights.
    assert 0 < error["max_abs_error"]
    assert error["max_rel_error"] <= bound
    markdown = (tmp_path / "report.md").read_text()
    assert f"- Quantization: {quantization}: 1 of 2 weights\n" in markdown


def test_quantization_by_patterns_says_how_many_weights_matched(tiny_saved_model, tmp_path):
    options = ConversionOptions(quantization="uint8", quantization_patterns=("*/MatMul/*",))
    _convert(tiny_saved_model, tmp_path, ["scale"], options=options)
    markdown = (tmp_path / "report.md").read_text()
    assert "- Quantization: uint8: 1 of 2 weights (patterns: `*/MatMul/*`)\n" in markdown


def test_report_bytes_are_reproducible(tiny_saved_model, tmp_path):
    options = ConversionOptions(quantization="uint8")
    _convert(tiny_saved_model, tmp_path / "a", ["scale", "mix"], options=options)
    _convert(tiny_saved_model, tmp_path / "b", ["scale", "mix"], options=options)
    for name in ("report.json", "report.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_registry_knows_every_backend_and_the_wasm_gaps():
    registry = kernel_registry()
    assert sorted(registry["backends"]) == sorted(BACKENDS)
    assert "FFT" in registry["backends"]["cpu"]
    assert "FFT" not in registry["backends"]["wasm"]
    assert registry["ops"]["MatMul"] == ["BatchMatMul"]
