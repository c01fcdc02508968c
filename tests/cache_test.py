"""Disk and HTTP remote caches serve every conversion; invalidation re-runs exactly what changed."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BUILT_TARGETS, TESTED_TARGETS, cache_hit, executed, output_digests, spawns

# What BUILT_TARGETS run: 6 tfjs_model, 5 saved_model and 5 tfjs_model_test
# targets (the examples' tests' TensorFlow references).
CONVERSIONS = {"TfjsConvert": 6, "TfjsSavedModel": 5, "TfjsReference": 5}
# What TESTED_TARGETS add: the wake test's reference.
TESTED = {"TfjsConvert": 6, "TfjsSavedModel": 5, "TfjsReference": 6, "TfjsCheckEnvironment": 1}
MODEL_TESTS = 6
NGINX_CONFIG = """
daemon on;
pid {root}/nginx.pid;
error_log {root}/error.log;
user root;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root}/cache;
        client_max_body_size 1g;
        location / {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


@contextlib.contextmanager
def _nginx_cache(root: Path):
    """An HTTP cache on loopback: Debian's nginx with WebDAV PUT, files under root."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (root / "cache").mkdir(parents=True)
    config = root / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(root=root, port=port))
    subprocess.run(
        ["nginx", "-e", str(root / "error.log"), "-p", str(root), "-c", str(config)], check=True
    )
    pid = int((root / "nginx.pid").read_text())
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)


def test_disk_cache_serves_every_action_after_bazel_clean(second_checkout, tmp_path):
    disk_cache, log = f"--disk_cache={tmp_path / 'disk'}", tmp_path / "execution.json"
    second_checkout("clean")
    second_checkout("build", disk_cache, *BUILT_TARGETS)
    first = output_digests(second_checkout.bin)

    second_checkout("clean")
    second_checkout("build", disk_cache, f"--execution_log_json_file={log}", *BUILT_TARGETS)

    assert executed(log) == {}
    served = {s["mnemonic"] for s in spawns(log)}
    assert set(CONVERSIONS) <= served
    assert output_digests(second_checkout.bin) == first


def _served_to_another_machine(uploader, downloader, cache_flag, log):
    """uploader builds and tests; downloader, on another "machine", gets it all from the cache."""
    # Without it, test actions take PATH and LD_LIBRARY_PATH from the shell
    # that runs Bazel, which differ between machines (README: Remote cache in CI).
    flags = (cache_flag, "--incompatible_strict_action_env")
    uploader("test", *flags, *TESTED_TARGETS)
    result = downloader("test", *flags, f"--execution_log_json_file={log}", *TESTED_TARGETS)

    # Test results too: the test actions' inputs (npm packages included) are
    # the same on both machines.
    assert executed(log) == {}, "ran instead of being served by the cache"
    hits = [s["mnemonic"] for s in spawns(log) if cache_hit(s)]
    assert {m: hits.count(m) for m in TESTED} == TESTED
    assert hits.count("TestRunner") == MODEL_TESTS
    output = result.stdout + result.stderr
    assert output.count("(cached) PASSED") == MODEL_TESTS, output[-3000:]
    assert output_digests(downloader.bin) == output_digests(uploader.bin)


def test_disk_cache_serves_builds_and_tests_to_another_home_checkout_and_interpreter_prefix(
    checkouts, second_machine, tmp_path
):
    _served_to_another_machine(
        checkouts.new("disk_uploader"),
        second_machine.checkout("disk_downloader"),
        f"--disk_cache={tmp_path / 'disk'}",
        tmp_path / "execution.json",
    )


def test_http_remote_cache_serves_builds_and_tests_to_another_home_and_checkout(
    checkouts, second_machine, tmp_path
):
    with _nginx_cache(tmp_path / "nginx") as url:
        uploader = checkouts.new("uploader")
        downloader = second_machine.checkout("downloader")
        _served_to_another_machine(
            uploader, downloader, f"--remote_cache={url}", tmp_path / "execution.json"
        )
        stored = {p.name for p in (tmp_path / "nginx" / "cache").iterdir()}
        assert stored == {"ac", "cas"}


class _Edits:
    """Edits files of a checkout and puts them back."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.originals: dict[Path, bytes | None] = {}

    def write(self, name: str, text: str) -> None:
        path = self.workspace / name
        if path not in self.originals:
            self.originals[path] = path.read_bytes() if path.exists() else None
        path.write_text(text)

    def replace(self, name: str, old: str, new: str) -> None:
        text = (self.workspace / name).read_text()
        assert old in text, f"{old!r} not in {name}"
        self.write(name, text.replace(old, new))

    def restore(self) -> None:
        for path, original in self.originals.items():
            if original is None:
                path.unlink()
            else:
                path.write_bytes(original)


@pytest.fixture
def edits(second_checkout):
    second_checkout("build", *BUILT_TARGETS)
    changes = _Edits(second_checkout.workspace)
    yield changes
    changes.restore()


def _rebuild(bazel, tmp_path) -> dict[str, int]:
    log = tmp_path / "execution.json"
    bazel("build", f"--execution_log_json_file={log}", *BUILT_TARGETS)
    return executed(log)


def test_touching_unrelated_files_reruns_nothing(second_checkout, edits, tmp_path):
    edits.replace("README.md", "# rules_tfjs", "# rules_tfjs (edited)")
    edits.write("examples/NOTES.txt", "not an input of anything\n")
    assert _rebuild(second_checkout, tmp_path) == {}


def test_changing_the_signature_list_reruns_only_that_conversion(second_checkout, edits, tmp_path):
    edits.replace("models/BUILD.bazel", '        "detect",\n', "")
    assert _rebuild(second_checkout, tmp_path) == {"TfjsConvert": 1}


def test_changing_an_option_reruns_only_that_conversion(second_checkout, edits, tmp_path):
    edits.replace(
        "models/BUILD.bazel",
        'saved_model = ":wake",',
        'quantization = "uint8",\n    saved_model = ":wake",',
    )
    assert _rebuild(second_checkout, tmp_path) == {"TfjsConvert": 1}


def test_changing_an_export_script_reruns_its_export_conversion_and_reference(
    second_checkout, edits, tmp_path
):
    edits.replace(
        "examples/keras_classifier/export_classifier.py",
        "set_random_seed(20261123)",
        "set_random_seed(1)",
    )
    assert _rebuild(second_checkout, tmp_path) == {
        "TfjsSavedModel": 1,
        "TfjsConvert": 1,
        "TfjsReference": 1,
    }


def test_changing_the_converter_source_reruns_every_action_that_runs_it(
    second_checkout, edits, tmp_path
):
    edits.replace("tools/tfjs_converter/pipeline.py", "MODEL_JSON = ", "# edited\nMODEL_JSON = ")
    assert _rebuild(second_checkout, tmp_path) == CONVERSIONS


def test_changing_the_lock_file_recreates_the_environment_and_reruns_everything(
    second_checkout, edits, tmp_path
):
    # A real change: one more (small, pure-Python) package in the environment.
    dev_lock = (second_checkout.workspace / "requirements_dev_lock.txt").read_text()
    iniconfig = dev_lock[dev_lock.index("iniconfig==") : dev_lock.index("packaging==")]
    lock = (second_checkout.workspace / "requirements_lock.txt").read_text()
    edits.write(
        "requirements_lock.txt", lock.replace("keras==", iniconfig.rstrip() + "\n" + "keras==", 1)
    )
    cache = tmp_path / "environment_cache"
    changed = second_checkout.with_env({"RULES_TFJS_CACHE": str(cache)})
    try:
        # And the new environment is checked against its manifest, once.
        assert _rebuild(changed, tmp_path) == {**CONVERSIONS, "TfjsCheckEnvironment": 1}
        assert len(list(cache.iterdir())) == 1
    finally:
        edits.restore()
        second_checkout("build", *BUILT_TARGETS)  # back to the shared environment
