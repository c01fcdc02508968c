"""The command line as the Bazel actions run it: a separate process, args in a params file."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

MAIN = Path(__file__).with_name("__main__.py")


def _run(tmp_path, *arguments, env=None):
    params = tmp_path / "convert.params"
    params.write_text("\n".join(arguments) + "\n")
    return subprocess.run(
        [sys.executable, "-s", "-B", str(MAIN), f"@{params}"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_convert_prints_nothing_on_success(tiny_saved_model, tmp_path):
    result = _run(
        tmp_path,
        "convert",
        "--saved_model_dir",
        str(tiny_saved_model),
        "--output",
        f"scale={tmp_path / 'out' / 'scale'}",
        "--output",
        f"mix={tmp_path / 'out' / 'mix'}",
        "--quantization",
        "uint16",
        "--quantization_pattern",
        "*",
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    model = json.loads((tmp_path / "out" / "mix" / "model.json").read_text())
    assert model["weightsManifest"][0]["weights"][0]["quantization"]["dtype"] == "uint16"


def test_bad_input_prints_only_the_error(tiny_saved_model, tmp_path):
    result = _run(
        tmp_path,
        "convert",
        "--saved_model_dir",
        str(tiny_saved_model),
        "--output",
        f"nope={tmp_path / 'out' / 'nope'}",
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"tfjs_converter: error: the SavedModel in {tiny_saved_model} has no signature "
        "'nope'; its signatures are: mix, scale\n"
    )
    assert not (tmp_path / "out" / "nope").exists()


def test_a_failing_export_script_shows_its_output_and_traceback(tmp_path):
    script = tmp_path / "export.py"
    script.write_text("print('about to fail')\nraise RuntimeError('bad layer')\n")
    result = _run(
        tmp_path, "export", "--script", str(script), "--output_dir", str(tmp_path / "out")
    )
    assert result.returncode == 1
    assert "about to fail" in result.stderr
    assert "RuntimeError: bad layer" in result.stderr


def test_signature_options_budgets_and_the_report_on_the_command_line(tiny_saved_model, tmp_path):
    out = tmp_path / "out"
    arguments = [
        "convert",
        "--saved_model_dir",
        str(tiny_saved_model),
        "--output",
        f"scale={out / 'scale'}",
        "--output",
        f"mix={out / 'mix'}",
        "--signature_option",
        "mix:quantization=uint8",
        "--backend",
        "wasm",
        "--report_json",
        str(tmp_path / "report.json"),
        "--report_markdown",
        str(tmp_path / "report.md"),
    ]
    result = _run(tmp_path, *arguments)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["signatures"]["mix"]["options"]["quantization"] == "uint8"
    assert report["signatures"]["scale"]["options"]["quantization"] == "none"
    assert (tmp_path / "report.md").read_text().startswith("# TensorFlow.js model\n")


def test_over_budget_fails_with_every_problem_and_writes_nothing(tiny_saved_model, tmp_path):
    out = tmp_path / "out"
    result = _run(
        tmp_path,
        "convert",
        "--saved_model_dir",
        str(tiny_saved_model),
        "--output",
        f"scale={out / 'scale'}",
        "--output",
        f"mix={out / 'mix'}",
        "--max_bytes",
        "1000",
        "--signature_max_bytes",
        "mix=500",
        "--report_json",
        str(tmp_path / "report.json"),
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "tfjs_converter: error: the converted model breaks its budget:\n  - the model is "
    )
    assert "  - signature 'mix' is " in result.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert not (tmp_path / "report.json").exists()


def test_the_graph_is_the_same_whether_the_cpu_turns_onednn_on_or_not(
    activations_saved_model, tmp_path
):
    # TensorFlow turns its oneDNN rewrites on for CPUs with AVX512_VNNI, AVX_VNNI
    # or AMX; the variable below is how TensorFlow lets a process choose.
    written = {}
    for onednn in ("1", "0"):
        output = tmp_path / f"onednn_{onednn}"
        result = _run(
            tmp_path,
            "convert",
            "--saved_model_dir",
            str(activations_saved_model),
            "--output",
            f"squash={output}",
            env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn},
        )
        assert result.returncode == 0, result.stderr
        written[onednn] = {p.name: p.read_bytes() for p in sorted(output.iterdir())}
    assert written["1"] == written["0"]
    nodes = json.loads(written["1"]["model.json"])["modelTopology"]["node"]
    fused = [
        [base64.b64decode(op).decode() for op in node["attr"]["fused_ops"]["list"]["s"]]
        for node in nodes
        if node["op"] == "_FusedMatMul"
    ]
    # No TF.js backend runs a fused Tanh.
    assert fused == [["BiasAdd"], ["BiasAdd"]], fused
    assert sorted(n["op"] for n in nodes if n["op"] in ("Tanh", "Sigmoid")) == ["Sigmoid", "Tanh"]
