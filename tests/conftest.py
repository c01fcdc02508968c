"""Integration tests: real Bazel builds of this workspace, real TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE / "tools"))

# Before any test module imports tensorflowjs: keeps TF-DF's banner away.
import tfjs_converter  # noqa: E402, F401

WAKE_SIGNATURES = ("filter", "encode", "detect")


class Bazel:
    """Runs tools/bazel in a workspace; every call is a real Bazel command."""

    def __init__(self, workspace: Path, startup_options: tuple[str, ...] = ()) -> None:
        self.workspace = workspace
        self.startup_options = startup_options

    def __call__(self, command: str, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [
                str(self.workspace / "tools" / "bazel"),
                *self.startup_options,
                command,
                "--color=no",
                "--curses=no",
                *arguments,
            ],
            cwd=self.workspace,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"bazel {command} {' '.join(arguments)} failed:\n{result.stderr[-6000:]}")
        return result

    @property
    def bin(self) -> Path:
        return self.workspace / "bazel-bin"


@pytest.fixture(scope="session")
def bazel() -> Bazel:
    return Bazel(WORKSPACE)


@pytest.fixture(scope="session")
def wake_tfjs(bazel: Bazel) -> Path:
    bazel("build", "//models:wake_tfjs")
    return bazel.bin / "models" / "wake_tfjs"


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
