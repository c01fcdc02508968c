"""tfjs_model_server: `bazel run` serves the models over HTTP, and its page runs them in Chromium."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import WAKE_SIGNATURES, WORKSPACE

CHECK_PAGE = WORKSPACE / "tests" / "check_serve_page.js"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, target: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Served:
    def __init__(self, process: subprocess.Popen, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"


def _serve(bazel, target: str, title: str = "//models:wake_tfjs") -> Iterator[Served]:
    bazel("build", target)
    port = _free_port()
    process = bazel.start("run", target, "--", f"--port={port}", "--quiet")
    try:
        # `bazel run` prints its own progress on stderr; the server's first line is ours.
        line = process.stdout.readline()
        assert line == f"Serving {title} at http://127.0.0.1:{port}/ (Ctrl-C stops)\n", (
            line + process.stderr.read() if process.poll() is not None else line
        )
        yield Served(process, port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def served(bazel) -> Iterator[Served]:
    yield from _serve(bazel, "//models:wake_tfjs.serve")


def test_the_serve_target_answers_http_on_the_port_given(served, wake_tfjs):
    for signature in WAKE_SIGNATURES:
        status, headers, body = _get(served.port, f"/models/{signature}/model.json")
        assert status == 200
        assert headers["Content-Type"] == "application/json"
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert body == (wake_tfjs / signature / "model.json").read_bytes()
        status, headers, body = _get(served.port, f"/models/{signature}/group1-shard1of1.bin")
        assert (status, headers["Content-Type"]) == (200, "application/octet-stream")
        assert body == (wake_tfjs / signature / "group1-shard1of1.bin").read_bytes()
    status, headers, _ = _get(served.port, "/tfjs/tfjs-backend-wasm-simd.wasm")
    assert (status, headers["Content-Type"]) == (200, "application/wasm")
    status, _, index = _get(served.port, "/index.json")
    assert json.loads(index)["signatures"] == {
        s: f"/models/{s}/model.json" for s in WAKE_SIGNATURES
    }
    # Nothing else of the runfiles tree or the machine.
    for target in (
        "/models/filter/../../index.json",
        "/models/filter/%2e%2e/%2e%2e/wake_tfjs.serve.manifest.json",
        "/rules_tfjs/models/wake_tfjs.serve.manifest.json",
        "/../../../../etc/passwd",
    ):
        assert _get(served.port, target)[0] == 404, target


def _node_modules(bazel) -> Path:
    output_base = bazel("info", "output_base").stdout.strip()
    return Path(output_base) / "external" / "rules_tfjs_node" / "node_modules"


def _check_page(bazel, url: str) -> dict:
    result = subprocess.run(
        ["node", str(CHECK_PAGE), url],
        env={**bazel.env, "NODE_PATH": str(_node_modules(bazel))},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def test_the_page_runs_every_signature_on_every_backend_without_a_console_error(bazel, served):
    page = _check_page(bazel, served.url)
    assert page["browser"].startswith("pinned @sparticuz/chromium 153.0.0")
    assert page["consoleErrors"] == []
    assert page["result"]["errors"] == []
    # Headless Chromium has no WebGPU; the others all start.
    ran = [b for b, state in page["result"]["backends"].items() if state == "ran"]
    assert ran == ["cpu", "wasm", "webgl"], page["result"]["backends"]
    assert page["result"]["runs"] == len(WAKE_SIGNATURES) * len(ran)
    for signature, inputs, outputs in (
        ("filter", ["audio\tDT_FLOAT [?, 400]"], ["features\tDT_FLOAT [?, 40]"]),
        ("detect", ["encodings\tDT_FLOAT [?, 16, 32]"], ["probability\tDT_FLOAT [?, 1]"]),
    ):
        assert signature in page["signatures"]
        for line in inputs:
            assert f"input\t{line}" in page["signatures"]
        for line in outputs:
            assert f"output\t{line}" in page["signatures"]
    for backend in ran:
        assert f"detect\t{backend}\t" in page["runs"]
        assert "probability: float32 [2, 1]" in page["runs"]


def test_ctrl_c_stops_the_server_cleanly(bazel):
    server = _serve(bazel, "//models:wake_tfjs.serve")
    running = next(server)
    assert _get(running.port, "/index.json")[0] == 200
    running.process.send_signal(signal.SIGINT)
    stdout, stderr = running.process.communicate(timeout=30)
    assert running.process.returncode == 0, stderr[-3000:]
    assert stdout == "tfjs_model_server: stopped\n"
    assert "Traceback" not in stderr
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", running.port), timeout=5).close()
    server.close()


# The wake model's encode signature with its weight shard removed.
BROKEN_BZL = """
load("//rules_tfjs:defs.bzl", "TfjsModelInfo")

def _broken_impl(ctx):
    model = ctx.attr.model[TfjsModelInfo]
    copy = ctx.actions.declare_directory(ctx.label.name + "/encode")
    ctx.actions.run_shell(
        inputs = [model.signatures["encode"]],
        outputs = [copy],
        command = "cp -rL {}/model.json {}/".format(model.signatures["encode"].path, copy.path),
        mnemonic = "BreakModel",
        progress_message = "Copying encode without its weights",
    )
    return [
        DefaultInfo(files = depset([copy])),
        TfjsModelInfo(
            signatures = {"encode": copy},
            saved_model = model.saved_model,
            saved_model_tags = model.saved_model_tags,
            options = model.options,
        ),
    ]

broken = rule(_broken_impl, attrs = {"model": attr.label(providers = [TfjsModelInfo])})
"""

BROKEN_BUILD = """
load("//rules_tfjs:defs.bzl", "tfjs_model_server")
load(":broken.bzl", "broken")

broken(
    name = "broken",
    model = "//models:wake_tfjs",
)

tfjs_model_server(
    name = "broken.serve",
    model = ":broken",
)
"""


def test_a_signature_that_fails_shows_on_the_page_and_in_the_console(bazel, scratch_package):
    scratch_package.write("broken.bzl", BROKEN_BZL)
    scratch_package.write("BUILD.bazel", BROKEN_BUILD)
    server = _serve(
        bazel, f"{scratch_package.label}:broken.serve", f"{scratch_package.label}:broken"
    )
    running = next(server)
    try:
        page = _check_page(bazel, running.url)
    finally:
        server.close()
    failures = page["result"]["errors"]
    # TF.js reads the 404 body as weights: the run fails on every backend.
    assert sorted(failures) == [
        f"encode on {backend}: byte length of Float32Array should be a multiple of 4"
        for backend in ("cpu", "wasm", "webgl")
    ]
    assert set(failures) <= set(page["consoleErrors"])
    assert any("404 (Not Found)" in error for error in page["consoleErrors"]), page["consoleErrors"]


def test_the_page_runs_a_model_with_string_inputs_and_lookup_tables(bazel, scratch_package):
    model = "//examples/text_classifier:text_classifier_tfjs"
    scratch_package.write(
        "BUILD.bazel",
        f"""
load("//rules_tfjs:defs.bzl", "tfjs_model_server")

tfjs_model_server(
    name = "text.serve",
    model = "{model}",
)
""",
    )
    server = _serve(bazel, f"{scratch_package.label}:text.serve", model)
    running = next(server)
    try:
        page = _check_page(bazel, running.url)
    finally:
        server.close()
    assert page["result"]["errors"] == [], page["result"]["errors"]
    assert page["consoleErrors"] == []
    assert "input\twords\tDT_STRING [?, ?]" in page["signatures"], page["signatures"]
    # The table inputs are listed as what they are, and not generated.
    assert "lookup table, filled by the model: not an input to give" in page["signatures"]
    for backend in ("cpu", "wasm", "webgl"):
        assert f"serving_default\t{backend}\t" in page["runs"]
    assert "label: string [2]" in page["runs"], page["runs"]


def test_an_unknown_signature_fails_analysis_naming_the_model_signatures(bazel, scratch_package):
    scratch_package.write(
        "BUILD.bazel",
        """
load("//rules_tfjs:defs.bzl", "tfjs_model_server")

tfjs_model_server(
    name = "serve",
    model = "//models:wake_tfjs",
    signatures = ["wake"],
)
""",
    )
    result = bazel("build", "--nobuild", f"{scratch_package.label}:serve", check=False)
    assert result.returncode != 0
    assert (
        "signatures has 'wake', which //models:wake_tfjs does not convert; it has filter, encode, detect"
        in result.stderr
    )
