"""A converter killed mid-action fails the build cleanly and leaves nothing to serve."""

import os
import signal
import subprocess
import time

import pytest
from conftest import output_digests

WAKE_TFJS = "//models:wake_tfjs"


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def _pids(pattern: str, server_pid: int) -> list[int]:
    """Processes matching pattern started by this Bazel server (not another workspace's)."""
    result = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [pid for pid in map(int, result.stdout.split()) if _descends_from(pid, server_pid)]


def _kill_when_running(
    build: subprocess.Popen, pattern: str, server_pid: int, after_seconds: float
) -> None:
    """SIGKILLs the process matching pattern once it has run for after_seconds."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and build.poll() is None:
        pids = _pids(pattern, server_pid)
        if pids:
            time.sleep(after_seconds)  # importing TensorFlow takes 6 s: still mid-action
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.05)
    pytest.fail(f"no process matching {pattern!r} appeared while the build ran")


@pytest.mark.parametrize(
    ("strategy", "pattern"),
    [
        ("sandboxed", r"tfjs_converter/__main__\.py @"),
        ("worker", r"tfjs_converter/__main__\.py --persistent_worker"),
    ],
)
def test_killed_converter_fails_the_build_and_the_next_build_is_whole(
    second_checkout, main_outputs, tmp_path, strategy, pattern
):
    disk_cache = f"--disk_cache={tmp_path / 'disk'}"
    second_checkout("clean")  # no conversion in the action cache either
    second_checkout("build", "//models:wake")
    second_checkout("shutdown")  # no warm worker: the kill lands mid-import

    server_pid = int(second_checkout("info", "server_pid").stdout)
    build = second_checkout.start(
        "build", disk_cache, f"--strategy=TfjsConvert={strategy}", WAKE_TFJS
    )
    _kill_when_running(build, pattern, server_pid, after_seconds=1.0)
    _, stderr = build.communicate(timeout=300)

    assert build.returncode != 0
    assert "Converting //models:wake_tfjs" in stderr
    wake_tfjs = second_checkout.bin / "models" / "wake_tfjs"
    assert not [p for p in wake_tfjs.rglob("*") if p.is_file() and p.suffix != ".params"]
    action_cache = tmp_path / "disk" / "ac"
    assert not [p for p in action_cache.rglob("*") if p.is_file()], "a failed action was cached"

    second_checkout("build", disk_cache, f"--strategy=TfjsConvert={strategy}", WAKE_TFJS)
    built = output_digests(second_checkout.bin)
    expected = {k: v for k, v in main_outputs.items() if k.startswith("models/wake_tfjs/")}
    assert {k: v for k, v in built.items() if k.startswith("models/wake_tfjs/")} == expected
