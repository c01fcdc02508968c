"""The dev server over real HTTP: content types, CORS, HEAD, refusals, the command line."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfjs_server.server import make_server
from tfjs_server.site import load_site
from tfjs_server.site_test import SECRET, _manifest, tree  # noqa: F401 (fixture)

PACKAGE_PARENT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(tree: Path) -> Iterator[tuple[str, int]]:  # noqa: F811
    site = load_site(_manifest(), lambda runfile: str(tree / runfile))
    running = make_server(site, "127.0.0.1", 0, verbose=False)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield running.server_address[:2]
    finally:
        running.shutdown()
        running.server_close()


def _request(address, method: str, target: str, headers: dict | None = None):
    """One request with the target sent byte for byte (no client-side normalising)."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", "127.0.0.1")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_models_are_served_with_content_types_and_cors(server, tree):  # noqa: F811
    status, headers, body = _request(server, "GET", "/models/sig/group1-shard1of1.bin")
    assert (status, body) == (200, b"\x00\x01")
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Length"] == "2"
    status, headers, body = _request(server, "GET", "/models/sig/model.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    assert json.loads(body) == {"format": "graph-model"}
    status, headers, _ = _request(server, "GET", "/tfjs/tf.wasm")
    assert headers["Content-Type"] == "application/wasm"


def test_head_has_the_headers_and_no_body(server):
    status, headers, body = _request(server, "HEAD", "/models/sig/model.json")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len('{"format": "graph-model"}'))


def test_a_cors_preflight_is_answered(server):
    status, headers, body = _request(
        server,
        "OPTIONS",
        "/models/sig/model.json",
        {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
    )
    assert (status, body) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "target",
    [
        "/models/sig/../../../../secret.txt",
        "/models/sig/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/models/sig/..%2f..%2f..%2f..%2fsecret.txt",
        "//etc/passwd",
        "/etc/passwd",
        "http://127.0.0.1/../secret.txt",
        "/models/sig/escape.bin",
        "/models/sig/escape_dir/secret.txt",
    ],
)
def test_paths_outside_the_root_get_404_and_no_content(server, target):
    status, _, body = _request(server, "GET", target)
    assert status == 404
    assert SECRET not in body


def test_other_methods_are_refused(server):
    status, _, _ = _request(server, "PUT", "/models/sig/model.json")
    assert status == 501


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_cli(tree: Path, *arguments: str) -> subprocess.Popen:  # noqa: F811
    """The command line as `bazel run` starts it: runfiles found through RUNFILES_DIR.

    Started with SIGINT ignored, as a shell starts a background job: Ctrl-C
    (SIGINT) must stop it all the same.
    """
    (tree / "ws" / "manifest.json").write_text(json.dumps(_manifest()))
    env = {
        **os.environ,
        "RUNFILES_DIR": str(tree),
        "PYTHONPATH": str(PACKAGE_PARENT),
    }
    env.pop("RUNFILES_MANIFEST_FILE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tfjs_server", "--manifest", "ws/manifest.json", *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def test_the_command_line_serves_on_the_port_given_and_stops_cleanly_on_ctrl_c(tree):  # noqa: F811
    port = _free_port()
    process = _start_cli(tree, "--port", str(port), "--quiet")
    try:
        assert (
            process.stdout.readline()
            == f"Serving //m:model at http://127.0.0.1:{port}/ (Ctrl-C stops)\n"
        )
        status, headers, _ = _request(("127.0.0.1", port), "GET", "/models/sig/model.json")
        assert (status, headers["Content-Type"]) == (200, "application/json")
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert stdout == "tfjs_model_server: stopped\n"
    assert "Traceback" not in stderr
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_port_in_use_is_a_clear_error(tree):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _start_cli(tree, "--port", str(port))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert stderr == (
        f"tfjs_model_server: port {port} on 127.0.0.1 is in use: pass --port=N (0 picks a free one)\n"
    )
