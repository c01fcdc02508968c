"""tfjs_kernels.json is what the locked npm packages say, regenerated and compared."""

import subprocess
from pathlib import Path

from conftest import WORKSPACE

COMMITTED = WORKSPACE / "tools" / "tfjs_converter" / "tfjs_kernels.json"
SCRIPT = WORKSPACE / "tools" / "tfjs_runner" / "kernel_registry.js"


def test_the_committed_kernel_registry_matches_the_locked_packages(bazel, tmp_path):
    # @rules_tfjs_node installs tools/tfjs_runner/package-lock.json with npm ci.
    bazel("build", "@rules_tfjs_node//:node_modules")
    external = Path(bazel("info", "output_base").stdout.strip()) / "external" / "rules_tfjs_node"
    regenerated = tmp_path / "tfjs_kernels.json"
    subprocess.run(
        [str(external / "bin" / "node"), str(SCRIPT), str(regenerated)],
        env={"NODE_PATH": str(external / "node_modules"), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert regenerated.read_text() == COMMITTED.read_text(), (
        "tools/tfjs_converter/tfjs_kernels.json is stale: regenerate it with "
        "NODE_PATH=<node_modules of the lock> node tools/tfjs_runner/kernel_registry.js "
        "tools/tfjs_converter/tfjs_kernels.json"
    )
