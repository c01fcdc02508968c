import re
from pathlib import Path

import pytest

from tfjs_converter.budget import Budget
from tfjs_converter.convert import ConversionRequest, convert
from tfjs_converter.errors import ConversionError


def _request(saved_model, tmp_path, signatures, budget) -> ConversionRequest:
    return ConversionRequest(
        Path(saved_model),
        {s: tmp_path / "out" / s for s in signatures},
        budget=budget,
        report_json=tmp_path / "report.json",
    )


def test_a_model_over_max_bytes_fails_naming_the_overage_and_writes_nothing(
    tiny_saved_model, tmp_path
):
    with pytest.raises(ConversionError) as error:
        convert(_request(tiny_saved_model, tmp_path, ["scale", "mix"], Budget(max_bytes=100)))

    message = str(error.value)
    assert re.search(
        r"the model is (\d+) bytes, (\d+) over max_bytes 100; biggest weights: "
        r"scale/StatefulPartitionedCall/MatMul/ReadVariableOp \(float32, 48 bytes\), "
        r"mix/StatefulPartitionedCall/MatMul/ReadVariableOp \(float32, 40 bytes\), ",
        message,
    )
    # Most of this tiny model is its graph: quantizing would not bring it under.
    assert re.search(
        r"; model.json \(the graph, which quantizing does not shrink\) is \d+ of them", message
    )
    assert message.endswith(
        "Fix: quantize (quantization = float16 or uint8), shrink the model or raise "
        "max_bytes. Nothing was written."
    )
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "report.json").exists()


def test_every_problem_is_listed_at_once(spectrum_saved_model, tiny_saved_model, tmp_path):
    budget = Budget(signature_max_bytes={"spectrum": 10}, backends=("cpu", "wasm"))
    with pytest.raises(ConversionError) as error:
        convert(_request(spectrum_saved_model, tmp_path, ["spectrum"], budget))

    lines = [line for line in str(error.value).splitlines() if line.startswith("  - ")]
    assert lines[0].startswith("  - signature 'spectrum' is ")
    assert "over its max_bytes 10" in lines[0]
    assert (
        "  - signature 'spectrum': op ComplexAbs has no kernel on wasm (missing ComplexAbs)"
        in lines
    )
    assert any(
        line.startswith("  - signature 'spectrum': op RFFT has no kernel on wasm (missing ")
        for line in lines
    )
    assert len(lines) == 3
    assert str(error.value).endswith(
        "Fix: quantize (quantization = float16 or uint8), shrink the model or raise max_bytes; "
        "change the model to avoid ops a backend lacks, or drop that backend from backends. "
        "Nothing was written."
    )
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_model_within_its_size_gets_only_the_backend_fix(spectrum_saved_model, tmp_path):
    with pytest.raises(ConversionError) as error:
        convert(_request(spectrum_saved_model, tmp_path, ["spectrum"], Budget(backends=("wasm",))))
    assert str(error.value).endswith(
        "Fix: change the model to avoid ops a backend lacks, or drop that backend from "
        "backends. Nothing was written."
    )


def test_a_model_within_budget_is_written(tiny_saved_model, tmp_path):
    convert(
        _request(
            tiny_saved_model,
            tmp_path,
            ["scale", "mix"],
            Budget(max_bytes=100_000, signature_max_bytes={"mix": 50_000}, backends=("wasm",)),
        )
    )
    assert (tmp_path / "out" / "mix" / "model.json").is_file()


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"backends": ("wasm", "metal")}, "unknown backend metal: use cpu, wasm, webgl, webgpu"),
        ({"max_bytes": 0}, "max_bytes must be positive, not 0"),
        ({"signature_max_bytes": {"mix": -1}}, "max_bytes of 'mix' must be positive, not -1"),
    ],
)
def test_bad_budgets_are_rejected(budget, message):
    with pytest.raises(ConversionError, match=message):
        Budget(**budget)


def test_a_budget_for_a_signature_not_converted_is_rejected(tiny_saved_model, tmp_path):
    with pytest.raises(ConversionError, match="options are given for signature nope, which is not"):
        convert(
            _request(tiny_saved_model, tmp_path, ["mix"], Budget(signature_max_bytes={"nope": 1}))
        )


def test_an_op_wasm_fails_on_strings_breaks_a_wasm_budget(words_saved_model, tmp_path):
    # wasm's Tile kernel aborts on strings ("Aborted()"); cpu's runs it.
    convert(_request(words_saved_model, tmp_path, ["tiled"], Budget(backends=("cpu",))))
    with pytest.raises(ConversionError) as error:
        convert(_request(words_saved_model, tmp_path, ["tiled"], Budget(backends=("wasm",))))
    assert "signature 'tiled': op Tile fails on string tensors on wasm" in str(error.value)
