"""Bazel 7.7.1 (Debian sid's, in a chroot): WORKSPACE and Bzlmod, this repository and e2e/.

dev/bazel7_chroot.sh sets the chroot up once (about 2 minutes from nothing)
and runs each command in it with the workspace mounted at the same path.
"""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import WORKSPACE, copy_workspace, executed, output_digests, reported_passed

CHROOT_SCRIPT = WORKSPACE / "dev" / "bazel7_chroot.sh"
CHROOT = Path(os.environ.get("RULES_TFJS_BAZEL7_CHROOT", "/var/tmp/rules_tfjs_bazel7"))
CONFIGS = ("bazel7_workspace", "bazel7_bzlmod")
TESTS = (
    "//examples/checked_in:colour_namer_tfjs_test",
    "//examples/keras_classifier:classifier_tfjs_test",
    "//models:wake_tfjs_test",
)


@pytest.fixture(scope="module")
def chroot():
    result = subprocess.run(
        [str(CHROOT_SCRIPT), "setup"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]


def _in_chroot(command: str, workspace: Path = WORKSPACE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROOT_SCRIPT), "run", str(workspace), "sh", "-c", command],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("config", CONFIGS)
def test_bazel7_tests_this_repository_and_builds_the_same_bytes_as_bazel4(
    chroot, main_outputs, config
):
    result = _in_chroot(f"bazel test --config={config} --color=no --curses=no //...")
    assert result.returncode == 0, result.stderr[-6000:]
    for test in TESTS:
        assert reported_passed(result, test), test
    # bazel-7-bin points into the chroot's output base.
    bin_dir = CHROOT / os.readlink(WORKSPACE / "bazel-7-bin").lstrip("/")
    assert output_digests(bin_dir) == main_outputs


@pytest.mark.parametrize("config", CONFIGS)
def test_bazel7_tests_the_outside_workspace(chroot, config):
    result = _in_chroot(
        f"cd e2e && bazel test --config={config} --color=no --curses=no //...; "
        "status=$?; bazel shutdown; exit $status"
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert reported_passed(result, "//:scorer_tfjs_test")


@pytest.mark.parametrize("config", CONFIGS)
def test_bazel7_serves_another_checkout_and_home_everything_from_a_disk_cache(
    chroot, config, tmp_path
):
    # Two checkouts, two output bases; the second under another HOME, where
    # pyenv's interpreters are not found, so it is named (the environment
    # cache is named too, so the environment is linked, not made again:
    # environments made under two HOMEs are compared in environment_test.py).
    for name in ("uploader", "downloader"):
        copy_workspace(tmp_path / name)
    log = tmp_path / "execution.json"
    flags = (
        f"--config={config} --color=no --curses=no --disk_cache={tmp_path / 'disk'} "
        "--incompatible_strict_action_env"
    )
    targets = "//models:wake_tfjs //models:wake_tfjs_test"
    uploader = f"/var/cache/bazel7/uploader_{config}"
    downloader = f"/var/cache/bazel7/downloader_{config}"
    script = f"""
        set -e
        export RULES_TFJS_CACHE=/root/.cache/rules_tfjs/environments
        mkdir -p /root/another_home
        expunge() {{
            (cd {tmp_path}/uploader && bazel --output_base={uploader} clean --expunge)
            (cd {tmp_path}/downloader && HOME=/root/another_home \
                bazel --output_base={downloader} clean --expunge)
            rm -rf /root/another_home
        }}
        trap expunge EXIT
        cd {tmp_path}/uploader
        bazel --output_base={uploader} test {flags} {targets}
        cd {tmp_path}/downloader
        python="$(ls /root/.pyenv/versions/3.11*/bin/python3.11 | tail -n 1)"
        HOME=/root/another_home RULES_TFJS_PYTHON="$python" bazel --output_base={downloader} \
            test {flags} --execution_log_json_file={log} {targets}
    """
    result = _in_chroot(script, workspace=tmp_path)

    assert result.returncode == 0, result.stderr[-6000:]
    assert executed(log) == {}, "ran instead of being served by the cache"
    assert "(cached) PASSED" in result.stdout + result.stderr
