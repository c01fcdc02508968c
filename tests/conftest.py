"""Integration tests: real Bazel builds of this workspace, real TensorFlow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE / "tools"))
sys.path.insert(0, str(WORKSPACE / "dev"))

# Before any test module imports tensorflowjs: keeps TF-DF's banner away.
import tfjs_converter  # noqa: E402, F401
from bazel_harness import Bazel, cache_hit, executed, spawns  # noqa: E402, F401 - for the tests

WAKE_SIGNATURES = ("filter", "encode", "detect")
BUILT_TARGETS = ("//models:wake_tfjs", "//examples/...")
# `bazel test` of these builds BUILT_TARGETS and runs every tfjs_model_test.
TESTED_TARGETS = (*BUILT_TARGETS, "//models:wake_tfjs_test")
OUTPUT_DIRS = (
    "models/wake",
    "models/wake_tfjs",
    "examples/keras_classifier/classifier",
    "examples/keras_classifier/classifier_tfjs",
    "examples/checked_in/colour_namer_tfjs",
    "examples/text_classifier/text_classifier",
    "examples/text_classifier/text_classifier_tfjs",
    "examples/lookup_table/colour_table",
    "examples/lookup_table/colour_table_tfjs",
    "examples/control_flow/refiner",
    "examples/control_flow/refiner_tfjs",
    "models/wake_tfjs.report.json",
    "models/wake_tfjs.report.md",
)


def reported_passed(result: subprocess.CompletedProcess, label: str) -> bool:
    """Whether `bazel test` reported label as passed (run now or cached)."""
    pattern = rf"^{re.escape(label)}\s+(\(cached\) )?PASSED in "
    return re.search(pattern, result.stdout + result.stderr, re.MULTILINE) is not None


def read_test_log(bazel: Bazel, label: str) -> str:
    """What the last `bazel test` of label printed."""
    package, name = label.removeprefix("//").split(":")
    return (bazel.workspace / "bazel-testlogs" / package / name / "test.log").read_text()


def copy_workspace(destination: Path) -> Path:
    """Copies the working tree (tracked and untracked, not ignored files), as a new checkout."""
    files = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=WORKSPACE,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = WORKSPACE / name
        if source.is_file() and not name.startswith("tests/tmp/"):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def output_digests(bin_dir: Path) -> dict[str, str]:
    """sha256 of every file of the demo and example outputs."""
    import hashlib

    digests = {}
    for output in OUTPUT_DIRS:
        root = bin_dir / output
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and path.suffix != ".params":  # Bazel's, not the rules'
                relative = path.relative_to(bin_dir).as_posix()
                digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@pytest.fixture(scope="session")
def bazel() -> Bazel:
    return Bazel(WORKSPACE)


@pytest.fixture(scope="session")
def wake_tfjs(bazel: Bazel) -> Path:
    bazel("build", "//models:wake_tfjs")
    return bazel.bin / "models" / "wake_tfjs"


@pytest.fixture(scope="session")
def main_outputs(bazel: Bazel) -> dict[str, str]:
    """Digests of the demo and examples built in this workspace."""
    bazel("build", *BUILT_TARGETS)
    return output_digests(bazel.bin)


class Checkouts:
    """Copies of the workspace at other paths, each with its own output base."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[Bazel] = []

    def new(self, name: str, env: dict[str, str] | None = None) -> Bazel:
        directory = self.root / name
        copy_workspace(directory / "workspace")
        bazel = Bazel(directory / "workspace", directory / "output_base", env)
        self.created.append(bazel)
        return bazel

    def close(self) -> None:
        for bazel in self.created:
            bazel("clean", "--expunge", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def checkouts(tmp_path_factory) -> Iterator[Checkouts]:
    created = Checkouts(tmp_path_factory.mktemp("checkouts"))
    try:
        yield created
    finally:
        created.close()


@pytest.fixture(scope="session")
def second_checkout(checkouts: Checkouts) -> Bazel:
    """Another checkout with a fresh output base, for cache and fault tests."""
    return checkouts.new("second")


def environment_source_prefix() -> Path:
    """The prefix of the Python build the converter environment was copied from.

    Not sys.base_prefix: the tests run in the environment itself, whose
    standard library is byte code in a bundle. Looked for where the
    repository rule looks, and recognised by its build (sys.version names
    version, build date and compiler).
    """
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [
        os.environ.get("RULES_TFJS_PYTHON"),
        shutil.which(python),
        shutil.which("python3"),
    ]
    candidates += [str(p / "bin" / python) for p in sorted(pyenv.glob("*"), reverse=True)]
    for candidate in filter(None, candidates):
        if not os.access(candidate, os.X_OK):
            continue
        probe = subprocess.run(
            [candidate, "-I", "-c", "import sys; print(sys.base_prefix); print(sys.version)"],
            capture_output=True,
            text=True,
            check=False,
        )
        prefix, _, version = probe.stdout.strip().partition("\n")
        if probe.returncode == 0 and version == sys.version and prefix != sys.base_prefix:
            return Path(prefix)
    raise RuntimeError(f"none of {candidates} is the Python build the environment was made from")


def copy_interpreter(destination: Path) -> Path:
    """Copies the environment's Python build (binary, libpython, stdlib) to another prefix."""
    prefix = environment_source_prefix()
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (destination / "bin").mkdir(parents=True)
    shutil.copy2(prefix / "bin" / python, destination / "bin" / python)
    shutil.copytree(
        prefix / "lib",
        destination / "lib",
        symlinks=True,
        ignore=shutil.ignore_patterns("site-packages", "__pycache__", "test"),
    )
    return destination / "bin" / python


class SecondMachine:
    """A stand-in for another machine: another HOME, and the same Python build at another prefix.

    Its rules_tfjs cache, under its HOME, starts empty, so its first build
    re-creates the converter environment (pip's and uv's download caches are
    shared, so nothing is downloaded again); each checkout has its own path and
    output base.
    """

    def __init__(self, root: Path, checkouts: Checkouts) -> None:
        self.home = root / "home"
        self.environment_cache = self.home / ".cache" / "rules_tfjs" / "environments"
        self.interpreter = copy_interpreter(root / "opt" / "python")
        (self.home / ".cache").mkdir(parents=True)
        for downloads in ("pip", "uv"):
            shared = Path.home() / ".cache" / downloads
            shared.mkdir(parents=True, exist_ok=True)
            (self.home / ".cache" / downloads).symlink_to(shared)
        self.env = {
            "HOME": str(self.home),
            "RULES_TFJS_CACHE": str(self.environment_cache),
            "RULES_TFJS_PYTHON": str(self.interpreter),
        }
        self.checkouts = checkouts

    def checkout(self, name: str) -> Bazel:
        return self.checkouts.new(name, env=self.env)


@pytest.fixture(scope="session")
def second_machine(tmp_path_factory, checkouts: Checkouts) -> SecondMachine:
    return SecondMachine(tmp_path_factory.mktemp("second_machine"), checkouts)


def environment_directory(bazel: Bazel) -> Path:
    """The converter environment of a workspace's output base (made if need be)."""
    bazel("build", "@rules_tfjs_python//:python")
    output_base = bazel("info", "output_base").stdout.strip()
    return Path(output_base) / "external" / "rules_tfjs_python" / "env"


class ScratchPackage:
    """A throw-away package inside the workspace, for BUILD files under test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.label = "//" + directory.relative_to(WORKSPACE).as_posix()

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path


@pytest.fixture
def scratch_package() -> Iterator[ScratchPackage]:
    directory = WORKSPACE / "tests" / "tmp" / f"p{uuid.uuid4().hex[:12]}"
    directory.mkdir(parents=True)
    try:
        yield ScratchPackage(directory)
    finally:
        shutil.rmtree(directory)
