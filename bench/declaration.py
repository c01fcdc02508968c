"""How Bazel's cost depends on how the converter environment is declared.

Measures, with the environment this workspace made, two declarations of it
in a scratch workspace, each used by one trivial action (so the figures are
Bazel's own cost, no TensorFlow):

- files: a filegroup of every file (what rules_tfjs does), one target each;
- archive: one uncompressed, reproducible tar of it, unpacked by a local
  action (not remotely cached) into a tree artifact the user action reads.

For each: a cold build (fresh server, nothing cached) and a new server's
build with every output up to date, split by Bazel's profile into loading
and analysis, and the build phase (digesting inputs and outputs, unpacking,
sandboxes). Prints a Markdown table and `name: value` lines; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE / "dev"))
from bazel_harness import analysis_seconds, profile_phases  # noqa: E402

RULES = """
def _use_files_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.run_shell(
        inputs = ctx.files.env,
        outputs = [out],
        command = "ls -R external/files_repo/env | wc -l > " + out.path,
        mnemonic = "UseFiles",
        progress_message = "Reading the environment's files",
    )
    return [DefaultInfo(files = depset([out]))]

use_files = rule(_use_files_impl, attrs = {"env": attr.label(allow_files = True)})

def _use_archive_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.label.name + "_env")
    ctx.actions.run_shell(
        inputs = [ctx.file.archive],
        outputs = [tree],
        command = "tar -xf {} -C {}".format(ctx.file.archive.path, tree.path),
        mnemonic = "UnpackEnvironment",
        progress_message = "Unpacking the environment",
        execution_requirements = {"no-remote-cache": "1"},
    )
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.run_shell(
        inputs = [tree],
        outputs = [out],
        command = "ls -R {} | wc -l > {}".format(tree.path, out.path),
        mnemonic = "UseTree",
        progress_message = "Reading the unpacked environment",
    )
    return [DefaultInfo(files = depset([out]))]

use_archive = rule(_use_archive_impl, attrs = {"archive": attr.label(allow_single_file = True)})
"""


def scratch_workspace(root: Path, environment: Path) -> Path:
    files, archive, workspace = root / "files_repo", root / "archive_repo", root / "workspace"
    for directory in (files, archive, workspace):
        directory.mkdir()
    subprocess.run(["cp", "-al", str(environment), str(files / "env")], check=True)
    (files / "BUILD.bazel").write_text(
        'filegroup(name = "env", srcs = glob(["env/**"]), visibility = ["//visibility:public"])\n'
    )
    subprocess.run(
        ["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
         "-cf", str(archive / "env.tar"), "-C", str(environment.parent), environment.name],
        check=True,
    )  # fmt: skip
    (archive / "BUILD.bazel").write_text('exports_files(["env.tar"])\n')
    for repository in (files, archive):
        (repository / "WORKSPACE").write_text("")
    (workspace / "WORKSPACE").write_text(
        f'local_repository(name = "files_repo", path = "{files}")\n'
        f'local_repository(name = "archive_repo", path = "{archive}")\n'
    )
    (workspace / "defs.bzl").write_text(RULES)
    (workspace / "BUILD.bazel").write_text(
        'load(":defs.bzl", "use_archive", "use_files")\n\n'
        'use_files(name = "files", env = "@files_repo//:env")\n\n'
        'use_archive(name = "archive", archive = "@archive_repo//:env.tar")\n'
    )
    shutil.copy(WORKSPACE / ".bazelversion", workspace / ".bazelversion")
    (workspace / ".bazelrc").write_text(
        f"try-import {WORKSPACE}/.bazelrc.offline\n"
        "build --nosandbox_debug --sandbox_base=/dev/shm\n"
    )
    return workspace


def phases(profile: Path) -> tuple[float, float]:
    """(loading and analysis, build phase) seconds from a Bazel JSON profile."""
    seconds = profile_phases(profile)
    return analysis_seconds(seconds), seconds.get("Build artifacts", 0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environment", type=Path, required=True)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rules_tfjs_declaration."))
    output_base = root / "output_base"

    def bazel(*arguments: str) -> float:
        started = time.monotonic()
        subprocess.run(
            ["bazel", f"--output_base={output_base}", *arguments],
            cwd=workspace, capture_output=True, check=True,
        )  # fmt: skip
        return time.monotonic() - started

    try:
        workspace = scratch_workspace(root, args.environment)
        rows, figures = [], {}
        for target in ("files", "archive"):
            bazel("build", f"//:{target}")
            bazel("clean")
            bazel("shutdown")
            cold = bazel("build", f"--profile={root / 'cold.json'}", f"//:{target}")
            bazel("shutdown")
            fresh = bazel("build", f"--profile={root / 'fresh.json'}", f"//:{target}")
            (cold_analysis, cold_build), (fresh_analysis, fresh_build) = (
                phases(root / "cold.json"),
                phases(root / "fresh.json"),
            )
            rows.append(
                f"| {target} | {cold:.1f} s | {cold_analysis:.2f} s | {cold_build:.1f} s "
                f"| {fresh:.1f} s | {fresh_analysis:.2f} s | {fresh_build:.1f} s |"
            )
            figures[f"{target}_cold_s"] = cold
            figures[f"{target}_fresh_server_analysis_s"] = fresh_analysis
        bazel("shutdown")
        print(
            "| declaration | cold build | its loading and analysis | its build phase "
            "| new server, up to date | its loading and analysis | its build phase |\n"
            "| --- | --- | --- | --- | --- | --- | --- |"
        )
        print("\n".join(rows))
        print("\n".join(f"{name}: {value:.2f}" for name, value in figures.items()))
        return 0
    finally:
        subprocess.run(
            ["bazel", f"--output_base={output_base}", "clean", "--expunge"],
            cwd=root / "workspace", capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
