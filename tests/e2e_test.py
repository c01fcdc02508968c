"""An outside workspace (e2e/) that depends on rules_tfjs, with the host's Bazel 4."""

import json
import signal
import subprocess
import urllib.request

from conftest import WORKSPACE, Bazel, reported_passed


def test_an_outside_workspace_converts_and_tests_its_own_model():
    e2e = Bazel(WORKSPACE / "e2e")
    try:
        result = e2e("test", "//...")
        assert reported_passed(result, "//:scorer_tfjs_test")
        model = json.loads((e2e.bin / "scorer_tfjs" / "serving_default" / "model.json").read_text())
        assert sorted(model["signature"]["inputs"]) == ["tokens"]
        assert sorted(model["signature"]["outputs"]) == ["score"]
        _check_the_serve_target(e2e, model)
    finally:
        e2e.shutdown()


def _check_the_serve_target(e2e: Bazel, model: dict) -> None:
    """rules_tfjs's files reach the server's runfiles from another workspace."""
    server = subprocess.Popen(
        [str(e2e.bin / "scorer_tfjs.serve"), "--port=0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().split(" at ")[1].split(" ")[0]
        with urllib.request.urlopen(url + "models/serving_default/model.json") as response:
            assert json.loads(response.read()) == model
        with urllib.request.urlopen(url + "tfjs/tf.min.js") as response:
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0, server.stderr.read()
    finally:
        server.kill()
