"""A workspace that loads rules_tfjs builds and tests an unrelated target without fetching its repositories.

Toolchain resolution loads every registered toolchain's package in every
build, so the toolchain() lives in a repository of one BUILD file; the
converter environment (2.6 GB) and the npm packages are fetched only when a
rules_tfjs action or test needs them. Checked on Bazel 4.2.3 (WORKSPACE) and
Bazel 7.7.1 (WORKSPACE and Bzlmod), each with a fresh output base.
"""

import re
import shutil
import subprocess

import pytest
from bazel7_test import CONFIGS, _in_chroot, chroot  # noqa: F401
from conftest import WORKSPACE, Bazel, reported_passed

TARGETS = ("//:unrelated", "//:unrelated_test")
HEAVY = re.compile(r"(^|[~+])rules_tfjs_(python|node)$")
LIMIT_MB = 100


def _fetched(listing: str) -> list[str]:
    return [name for name in listing.split() if HEAVY.search(name)]


def test_bazel4_workspace_builds_an_unrelated_target_without_fetching_rules_tfjs(tmp_path):
    e2e = Bazel(WORKSPACE / "e2e", tmp_path / "output_base")
    try:
        result = e2e("test", *TARGETS)
        assert reported_passed(result, "//:unrelated_test")
        external = tmp_path / "output_base" / "external"
        names = [entry.name for entry in external.iterdir()]
        assert any(n.endswith("rules_tfjs_python_toolchains") for n in names), names
        assert _fetched(" ".join(names)) == []
        size = subprocess.run(
            ["du", "-sm", str(external)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        assert int(size) < LIMIT_MB
    finally:
        e2e("clean", "--expunge", check=False)
        shutil.rmtree(tmp_path / "output_base", ignore_errors=True)


@pytest.mark.parametrize("config", CONFIGS)
def test_bazel7_builds_an_unrelated_target_without_fetching_rules_tfjs(chroot, config):  # noqa: F811
    output_base = f"/tmp/rules_tfjs_unrelated_{config}"
    bazel = f"bazel --output_base={output_base}"
    result = _in_chroot(
        f"cd e2e && rm -rf {output_base} && "
        f"{bazel} test --config={config} --color=no --curses=no {' '.join(TARGETS)}; status=$?; "
        f"echo LISTING; ls {output_base}/external; echo SIZE; du -sm {output_base}/external; "
        f"{bazel} clean --expunge >/dev/null 2>&1; {bazel} shutdown; rm -rf {output_base}; "
        "exit $status"
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert reported_passed(result, "//:unrelated_test")
    listing = result.stdout.split("LISTING", 1)[1].split("SIZE", 1)
    assert "rules_tfjs_python_toolchains" in listing[0]
    assert _fetched(listing[0]) == []
    assert int(listing[1].split()[0]) < LIMIT_MB
