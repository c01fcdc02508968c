"""The release archive: e2e/ builds and tests with rules_tfjs from it, not from a local path.

dev/release.sh archives the committed tree (HEAD); the outside workspace gets
it through http_archive (WORKSPACE, Bazel 4) and archive_override (Bzlmod,
Bazel 7) with a file:// URL, exactly as a user would from a release page.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from bazel7_test import _in_chroot, chroot  # noqa: F401 - the chroot fixture
from conftest import WORKSPACE, Bazel, reported_passed

# e2e/ is copied whole but for how it gets rules_tfjs (and its Bazel settings).
E2E_OWN_FILES = ("WORKSPACE", "WORKSPACE.bzlmod", "MODULE.bazel", ".bazelrc")
WORKSPACE_FILE = """workspace(name = "rules_tfjs_e2e")

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

http_archive(
    name = "rules_tfjs",
    sha256 = "{sha256}",
    strip_prefix = "{prefix}",
    urls = ["file://{archive}"],
)

load("@rules_tfjs//rules_tfjs:repositories.bzl", "rules_tfjs_dependencies")

rules_tfjs_dependencies()
"""
MODULE_FILE = """module(name = "rules_tfjs_e2e")

bazel_dep(name = "rules_tfjs", version = "{version}")

archive_override(
    module_name = "rules_tfjs",
    integrity = "sha256-{integrity}",
    strip_prefix = "{prefix}",
    urls = ["file://{archive}"],
)
"""


@pytest.fixture(scope="module")
def release() -> dict[str, str]:
    """The archive of HEAD, made by dev/release.sh into a directory the chroot sees too."""
    directory = WORKSPACE / "tests" / "tmp" / "release"
    shutil.rmtree(directory, ignore_errors=True)
    result = subprocess.run(
        [str(WORKSPACE / "dev" / "release.sh"), str(directory / "dist")],
        capture_output=True,
        text=True,
        check=True,
    )
    archive = Path(result.stdout.splitlines()[0])
    sha256 = re.search(r"^sha256: ([0-9a-f]{64})$", result.stdout, re.MULTILINE).group(1)
    prefix = archive.name.removesuffix(".tar.gz")
    yield {
        "archive": str(archive.resolve()),
        "sha256": sha256,
        "integrity": base64.b64encode(bytes.fromhex(sha256)).decode(),
        "prefix": prefix,
        "version": prefix.removeprefix("rules_tfjs-"),
        "directory": str(directory),
    }
    shutil.rmtree(directory, ignore_errors=True)


def _outside_workspace(release: dict[str, str], name: str) -> Path:
    """e2e/'s sources in a new directory, with rules_tfjs from the archive."""
    workspace = Path(release["directory"]) / name
    shutil.copytree(
        WORKSPACE / "e2e",
        workspace,
        ignore=lambda _, names: [n for n in names if n in E2E_OWN_FILES or n.startswith("bazel-")],
    )
    (workspace / "WORKSPACE").write_text(WORKSPACE_FILE.format(**release))
    (workspace / "WORKSPACE.bzlmod").write_text("")
    (workspace / "MODULE.bazel").write_text(MODULE_FILE.format(**release))
    (workspace / ".bazelrc").write_text(
        "build --nosandbox_debug\nbuild --sandbox_base=/dev/shm\n"
        f"try-import {WORKSPACE}/.bazelrc.offline\n"
    )
    return workspace


def test_the_archive_holds_what_ships_and_no_tests(release):
    with tarfile.open(release["archive"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"MODULE.bazel", "LICENSE", "rules_tfjs/defs.bzl", "requirements_lock.txt"} <= names
    assert "tools/tfjs_converter/__main__.py" in names
    assert "tools/tfjs_runner/tfjs_model_test.js" in names  # the runner, not a test
    assert not [n for n in names if n.endswith(("_test.py", "conftest.py", "compare_test.js"))]
    assert not [n for n in names if n.startswith(("tests/", "dev/", "models/", "examples/"))]


def test_an_outside_workspace_uses_the_archive_through_http_archive(release):
    e2e = Bazel(_outside_workspace(release, "workspace_mode"))
    try:
        result = e2e("test", "//...")
        assert reported_passed(result, "//:scorer_tfjs_test")
        external = Path(e2e("info", "output_base").stdout.strip()) / "external" / "rules_tfjs"
        assert not external.is_symlink(), "rules_tfjs came from a local path, not the archive"
        assert (external / "LICENSE").is_file()
    finally:
        e2e("clean", "--expunge", check=False)


def test_an_outside_workspace_uses_the_archive_through_archive_override(release, chroot):  # noqa: F811
    workspace = _outside_workspace(release, "bzlmod_mode")
    relative = workspace.relative_to(WORKSPACE)
    result = _in_chroot(
        f"cd {relative} && bazel test --config=bazel7_bzlmod --color=no --curses=no //...; "
        "status=$?; bazel clean --expunge; exit $status"
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert reported_passed(result, "//:scorer_tfjs_test")
