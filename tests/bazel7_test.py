"""Bazel 7.7.1 (Debian sid's, in a chroot): WORKSPACE and Bzlmod, this repository and e2e/.

dev/bazel7_chroot.sh sets the chroot up once (about 2 minutes from nothing)
and runs each command in it with the workspace mounted at the same path.
"""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import WORKSPACE, output_digests, reported_passed

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


def _in_chroot(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHROOT_SCRIPT), "run", str(WORKSPACE), "sh", "-c", command],
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
