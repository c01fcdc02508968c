"""tfjs_model's report, budgets and per-signature options, in real Bazel builds."""

import json
import textwrap

from conftest import WAKE_SIGNATURES, executed, reported_passed

BACKENDS = ("cpu", "wasm", "webgl", "webgpu")

SPECTRUM_EXPORT = textwrap.dedent(
    """
    import sys

    import tensorflow as tf


    class Spectrum(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def spectrum(self, x):
            return {"magnitude": tf.abs(tf.signal.rfft(x))}


    module = Spectrum()
    tf.saved_model.save(module, sys.argv[1], signatures={"spectrum": module.spectrum})
    """
)


def _package(package, tfjs_model_attributes, saved_model="//models:wake"):
    package.write("export.py", SPECTRUM_EXPORT)
    package.write(
        "BUILD.bazel",
        textwrap.dedent(
            """
            load("//rules_tfjs:defs.bzl", "saved_model", "tfjs_model")

            saved_model(
                name = "spectrum",
                src = "export.py",
            )

            tfjs_model(
                name = "model",
                saved_model = "{saved_model}",
                {attributes}
            )
            """
        ).format(saved_model=saved_model, attributes=tfjs_model_attributes),
    )
    return package.label.removeprefix("//")


def _written(bazel, package_path):
    return [
        p
        for p in (bazel.bin / package_path).rglob("*")
        if p.is_file() and p.suffix != ".params" and "spectrum" not in p.parts
    ]


def test_the_report_output_group_describes_every_signature_with_kernel_coverage(bazel):
    result = bazel("build", "//models:wake_tfjs", "--output_groups=report")
    assert "bazel-bin/models/wake_tfjs.report.json" in result.stderr
    assert "bazel-bin/models/wake_tfjs.report.md" in result.stderr

    report = json.loads((bazel.bin / "models" / "wake_tfjs.report.json").read_text())
    assert sorted(report["signatures"]) == sorted(WAKE_SIGNATURES)
    total = 0
    for name, signature in report["signatures"].items():
        directory = bazel.bin / "models" / "wake_tfjs" / name
        files = sum(p.stat().st_size for p in directory.iterdir())
        assert signature["bytes"] == files
        total += files
        # wake_tfjs_test runs every signature on cpu and wasm (Node, Chromium).
        for backend in BACKENDS:
            assert signature["kernel_coverage"][backend] == {
                "missing": {},
                "fails_on_strings": [],
                "runs": True,
            }
    assert report["bytes"] == total
    assert report["signatures"]["encode"]["inputs"]["state"] == {
        "dtype": "float",
        "shape": [-1, 64],
    }
    markdown = (bazel.bin / "models" / "wake_tfjs.report.md").read_text()
    assert markdown.startswith("# //models:wake_tfjs\n")


def test_the_report_is_the_same_bytes_from_a_one_shot_converter(bazel, scratch_package):
    bazel("build", "//models:wake_tfjs", "--output_groups=report")
    path = _package(scratch_package, 'signatures = ["filter", "encode", "detect"],')
    bazel("build", "--strategy=TfjsConvert=sandboxed", f"//{path}:model", "--output_groups=report")

    ours = (bazel.bin / path / "model.report.json").read_bytes()
    assert ours == (bazel.bin / "models" / "wake_tfjs.report.json").read_bytes()


def test_a_model_over_max_bytes_fails_the_build_listing_every_overage(bazel, scratch_package):
    path = _package(
        scratch_package,
        """signatures = ["filter", "encode", "detect"],
        max_bytes = 100000,
        signature_options = {"encode": ["max_bytes=50000"], "detect": ["max_bytes=20000"]},""",
    )
    result = bazel("build", f"//{path}:model", "--output_groups=+report", check=False)

    assert result.returncode != 0
    stderr = result.stderr
    assert "the converted model breaks its budget:" in stderr
    assert (
        "  - the model is 974539 bytes, 874539 over max_bytes 100000; biggest weights: "
        "filter/unknown (float32, 411200 bytes), " in stderr
    )
    assert (
        "  - signature 'encode' is 94341 bytes, 44341 over its max_bytes 50000; biggest weights: "
        "encode/StatefulPartitionedCall/MatMul_1/ReadVariableOp (float32, 49152 bytes), " in stderr
    )
    assert "signature 'detect'" not in stderr  # 13474 bytes: within its budget
    assert "quantize (quantization = float16 or uint8)" in stderr
    assert _written(bazel, path) == []


def test_a_backend_lacking_kernels_fails_the_build_naming_each_op(bazel, scratch_package):
    path = _package(
        scratch_package,
        'signatures = ["spectrum"], backends = ["cpu", "wasm", "webgl"],',
        saved_model=":spectrum",
    )
    result = bazel("build", f"//{path}:model", check=False)

    assert result.returncode != 0
    assert "signature 'spectrum': op ComplexAbs has no kernel on wasm (missing ComplexAbs)" in (
        result.stderr
    )
    assert "signature 'spectrum': op RFFT has no kernel on wasm (missing Complex, " in result.stderr
    assert "on cpu" not in result.stderr and "on webgl" not in result.stderr
    assert _written(bazel, path) == []


def test_without_backends_the_report_shows_what_wasm_lacks(bazel, scratch_package):
    path = _package(scratch_package, 'signatures = ["spectrum"],', saved_model=":spectrum")
    bazel("build", f"//{path}:model", "--output_groups=report")

    report = json.loads((bazel.bin / path / "model.report.json").read_text())
    coverage = report["signatures"]["spectrum"]["kernel_coverage"]
    assert sorted(coverage["wasm"]["missing"]) == ["ComplexAbs", "RFFT"]
    assert coverage["cpu"]["runs"] is True


def test_signatures_have_their_own_options_in_one_action(bazel, scratch_package, tmp_path):
    path = _package(
        scratch_package,
        """signatures = ["filter", "encode", "detect"],
        quantization = "float16",
        signature_options = {
            "encode": ["quantization=uint8", "weight_shard_size_bytes=16384"],
            "detect": ["quantization=none"],
        },""",
    )
    log = tmp_path / "exec.json"
    bazel("build", f"//{path}:model", f"--execution_log_json_file={log}")

    assert executed(log).get("TfjsConvert") == 1

    def stored(signature):
        model = json.loads((bazel.bin / path / "model" / signature / "model.json").read_text())
        manifest = model["weightsManifest"]
        dtypes = {
            w.get("quantization", {}).get("dtype", w["dtype"])
            for group in manifest
            for w in group["weights"]
        }
        return dtypes, sum(len(group["paths"]) for group in manifest)

    assert stored("filter")[0] >= {"float16"} and "float32" not in stored("filter")[0]
    encode_dtypes, encode_shards = stored("encode")
    assert "uint8" in encode_dtypes and "float32" not in encode_dtypes
    assert encode_shards == 2  # 22 KiB of uint8 weights in 16 KiB shards
    assert stored("detect") == ({"float32", "int32"}, 1)
    report = json.loads((bazel.bin / path / "model.report.json").read_text())
    assert report["signatures"]["encode"]["options"]["quantization"] == "uint8"
    assert report["signatures"]["encode"]["quantization_error"]


def test_tfjs_agrees_with_the_report_on_which_backend_lacks_kernels(bazel, scratch_package):
    # Real TF.js, in Node: the spectrum model runs on cpu and fails on wasm.
    path = _package(scratch_package, 'signatures = ["spectrum"],', saved_model=":spectrum")
    with (scratch_package.directory / "BUILD.bazel").open("a") as build:
        build.write(
            textwrap.dedent(
                """
                load("//rules_tfjs:defs.bzl", "tfjs_model_test")

                [tfjs_model_test(
                    name = backend,
                    backends = [backend],
                    model = ":model",
                ) for backend in ["cpu", "wasm"]]
                """
            )
        )
    result = bazel("test", f"//{path}:cpu", f"//{path}:wasm", check=False)

    assert reported_passed(result, f"//{path}:cpu")
    assert not reported_passed(result, f"//{path}:wasm")
    log = (bazel.workspace / "bazel-testlogs" / path / "wasm" / "test.log").read_text()
    # The first kernel TF.js reaches for is one the report lists as missing.
    assert "TF.js failed: Kernel 'Complex' not registered for backend 'wasm'" in log
    bazel("build", f"//{path}:model", "--output_groups=report")
    report = json.loads((bazel.bin / path / "model.report.json").read_text())
    assert (
        "Complex" in report["signatures"]["spectrum"]["kernel_coverage"]["wasm"]["missing"]["RFFT"]
    )
