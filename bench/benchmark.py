"""rules_tfjs against the tensorflowjs_converter command line, measured in one run.

Run by bench/run.sh with the converter environment's Python. For each
workload (the wake model, a MobileNetV2, and 1/2/4/8 signatures of one model)
it measures, on this machine and in this run:

1. the command line's conversion (`convert_tf_saved_model`, what
   `tensorflowjs_converter --signature_name=S` runs) in a fresh process once
   per signature, from the same locked environment (wall time, peak RSS);
2. a cold `bazel build` of the same conversion: a fresh server, nothing cached
   (and, to show where the time goes, the same with the server kept);
3. a rebuild after changing one signature's option, with the worker warm;
4. `bazel clean` and a rebuild with a disk cache: converter processes run;
5. the in-process limit: the same pipeline timed in a warm Python process;
6. another user's first build with the warm disk cache (new HOME, output base
   and server);
7. the environment: its size, its creation (uv's download cache warm, and
   from nothing), and a fresh server's loading and analysis of `wake`;
8. the floors under those: a fresh server's analysis of a bare genrule, of a
   rule that only resolves a toolchain of Bazel's own, and of one that only
   resolves rules_tfjs's (the environment's targets), and a cold build of one
   action that only imports TensorFlow from the environment;

and the peak RSS of the converter worker. The cold build of `wake` is
profiled, so RESULTS.md shows where its time goes. It writes bench/RESULTS.md
and ends by printing one `name: value` line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(WORKSPACE / "tools"))
# Before TensorFlow: the package sets what TensorFlow reads once, at its import
# (oneDNN's rewrites off, as in the build; TF-DF's banner off).
import tfjs_converter  # noqa: E402, F401

sys.path.insert(0, str(WORKSPACE / "dev"))
# The in-process measurements share this process's stderr with the report.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(WORKSPACE / "models"))

import tensorflow as tf  # noqa: E402
from bazel_harness import (  # noqa: E402
    Bazel,
    analysis_seconds,
    executed,
    profile_events,
    profile_phases,
)
from tfjs_converter.convert import convert_saved_model  # noqa: E402
from tfjs_converter.options import DEFAULT_OPTIONS, ConversionOptions  # noqa: E402

HEADS = [f"head_{i}" for i in range(8)]
ENV_CREATE_SAMPLES = 3


# -- The workloads' SavedModels -----------------------------------------------


def export_wake(directory: Path) -> list[str]:
    from export_wake import main

    main(str(directory))
    return ["filter", "encode", "detect"]


def export_mobilenet(directory: Path) -> list[str]:
    """MobileNetV2 (alpha 0.35, 96x96 inputs), seeded random weights: two signatures."""
    import keras

    keras.utils.set_random_seed(7)
    backbone = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )
    head = keras.layers.Dense(10, name="logits")
    head.build((None, backbone.output_shape[-1]))

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = backbone, head

        @tf.function(input_signature=[tf.TensorSpec([None, 96, 96, 3], tf.float32, name="image")])
        def logits(self, image):
            return {"logits": self.head(self.backbone(image, training=False))}

        @tf.function(input_signature=[tf.TensorSpec([None, 96, 96, 3], tf.float32, name="image")])
        def embedding(self, image):
            return {"embedding": self.backbone(image, training=False)}

    module = Serving()
    tf.saved_model.save(
        module, str(directory), signatures={"logits": module.logits, "embedding": module.embedding}
    )
    return ["logits", "embedding"]


def export_heads(directory: Path) -> list[str]:
    """A shared trunk and eight heads: eight signatures of one model."""
    import numpy as np

    rng = np.random.default_rng(3)
    module = tf.Module()
    module.trunk = tf.Variable(rng.normal(size=(64, 256)).astype(np.float32))
    module.heads = [tf.Variable(rng.normal(size=(256, 16)).astype(np.float32)) for _ in HEADS]
    signatures = {}
    for index, name in enumerate(HEADS):

        @tf.function(input_signature=[tf.TensorSpec([None, 64], tf.float32, name="x")])
        def head(x, index=index):
            return {"y": tf.matmul(tf.nn.relu(tf.matmul(x, module.trunk)), module.heads[index])}

        signatures[name] = head
    tf.saved_model.save(module, str(directory), signatures=signatures)
    return HEADS


# -- Measurements -------------------------------------------------------------


# What `tensorflowjs_converter --input_format=tf_saved_model --signature_name=S
# --control_flow_v2=True` runs. The command line's own module imports tf_keras,
# which the light environment leaves out, so the same function is called from
# a fresh process with tensorflowjs imported as the rules import it.
CLI_SCRIPT = """
import sys
from tfjs_converter.pipeline import tfjs_saved_model
saved_model, signature, output = sys.argv[1:]
tfjs_saved_model.convert_tf_saved_model(
    saved_model, output, signature_def=signature, control_flow_v2=True
)
"""


def cli(saved_model: Path, signatures: list[str], output: Path) -> tuple[float, int]:
    """tensorflowjs's converter once per signature: total seconds, peak RSS in KiB."""
    total, peak = 0.0, 0
    environment = {**os.environ, "PYTHONPATH": str(WORKSPACE / "tools")}
    for signature in signatures:
        command = [
            sys.executable, "-s", "-B", "-c", CLI_SCRIPT,
            str(saved_model), signature, str(output / signature),
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment
        )
        _, status, usage = os.wait4(process.pid, 0)
        total += time.monotonic() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(
                f"tensorflowjs_converter {signature} failed:\n{process.stderr.read()[-3000:]}"
            )
        peak = max(peak, usage.ru_maxrss)
    return total, peak


def best_of(times: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(times))


def in_process(
    saved_model: Path, signatures: list[str], output: Path, options=DEFAULT_OPTIONS
) -> float:
    """Load the SavedModel and convert the signatures, TensorFlow already imported."""

    def once() -> float:
        started = time.monotonic()
        convert_saved_model(saved_model, signatures, output, options=options)
        return time.monotonic() - started

    return best_of(2, once)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [root]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


# The floors under a cold build: a bare genrule (a fresh server's loading and
# analysis in this workspace, of no rules_tfjs target), rules that only
# resolve a toolchain, Bazel's own or rules_tfjs's, and one action that
# only imports TensorFlow from the converter environment, declared as
# rules_tfjs declares it (what any Bazel action running TensorFlow from a
# declared environment pays: the server's start, analysis, digesting the
# environment, the import), unsandboxed and without the interpreter's
# shutdown, as a persistent worker has neither.
FLOOR_BZL = """
def _empty_file_impl(ctx):
    empty = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(empty, "")
    return [DefaultInfo(files = depset([empty]))]

# Any rule that resolves a toolchain: Bazel loads the package of every
# registered toolchain (C++, Java, Python, shell) to find it.
sh_toolchain_only = rule(
    implementation = _empty_file_impl,
    toolchains = ["@bazel_tools//tools/sh:toolchain_type"],
)

# rules_tfjs's toolchain: the environment's files are targets to analyse.
environment_only = rule(
    implementation = _empty_file_impl,
    toolchains = ["@rules_tfjs//rules_tfjs:toolchain_type"],
)

# No sandbox, and no interpreter shutdown (TensorFlow's takes most of a
# second): the import and nothing else.
IMPORT_ONLY = "import os, sys, tensorflow; open(sys.argv[1], 'w').close(); os._exit(0)"

def _tensorflow_import_impl(ctx):
    python = ctx.toolchains["@rules_tfjs//rules_tfjs:toolchain_type"].python
    imported = ctx.actions.declare_file(ctx.label.name + ".txt")
    arguments = ctx.actions.args()
    arguments.add_all(["-I", "-B", "-c", IMPORT_ONLY])
    arguments.add(imported)
    ctx.actions.run(
        executable = python.interpreter,
        arguments = [arguments],
        inputs = python.files,
        outputs = [imported],
        mnemonic = "TensorFlowImport",
        progress_message = "Importing TensorFlow",
        execution_requirements = {"no-sandbox": "1"},
    )
    return [DefaultInfo(files = depset([imported]))]

tensorflow_import = rule(
    implementation = _tensorflow_import_impl,
    toolchains = ["@rules_tfjs//rules_tfjs:toolchain_type"],
)
"""


class BenchWorkspace:
    """A workspace that uses this rules_tfjs by local_repository, as a user's would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.output_base = root.parent / "output_base"
        root.mkdir(parents=True)
        (root / "WORKSPACE").write_text(
            f'local_repository(name = "rules_tfjs", path = "{WORKSPACE}")\n'
            'load("@rules_tfjs//rules_tfjs:repositories.bzl", "rules_tfjs_dependencies")\n'
            "rules_tfjs_dependencies()\n"
        )
        (root / ".bazelversion").write_text((WORKSPACE / ".bazelversion").read_text())
        (root / ".bazelrc").write_text(
            f"try-import {WORKSPACE}/.bazelrc.offline\n"
            "build --nosandbox_debug --sandbox_base=/dev/shm\n"
            "build --experimental_run_validations\n"
        )
        (root / "floor.bzl").write_text(FLOOR_BZL)
        self.rules: dict[str, str] = {
            "bare": 'genrule(name = "bare", outs = ["bare.txt"], cmd = "echo > $@")',
            "tensorflow_import": 'tensorflow_import(name = "tensorflow_import")',
            "sh_toolchain_only": 'sh_toolchain_only(name = "sh_toolchain_only")',
            "environment_only": 'environment_only(name = "environment_only")',
        }

    def add_saved_model(self, name: str, directory: Path) -> None:
        shutil.copytree(directory, self.root / name)
        self.rules[f"{name}_files"] = (
            f'filegroup(name = "{name}_files", srcs = glob(["{name}/**"]))'
        )

    def add_target(
        self, name: str, saved_model: str, signatures: list[str], options: str = ""
    ) -> None:
        self.rules[name] = (
            f'tfjs_model(name = "{name}", saved_model = ":{saved_model}_files", '
            f"signatures = {json.dumps(signatures)}{options})"
        )

    def write(self) -> None:
        rules = "\n\n".join(self.rules.values())
        (self.root / "BUILD.bazel").write_text(
            'load("@rules_tfjs//rules_tfjs:defs.bzl", "tfjs_model")\n'
            'load("//:floor.bzl", "environment_only", "sh_toolchain_only", "tensorflow_import")\n\n'
            f"{rules}\n"
        )

    def bazel(
        self, *arguments: str, output_base: Path | None = None, env: dict[str, str] | None = None
    ) -> tuple[float, subprocess.CompletedProcess]:
        started = time.monotonic()
        bazel = Bazel(self.root, output_base or self.output_base, env)
        result = bazel(*arguments)
        return time.monotonic() - started, result

    def build(self, *targets: str, flags: tuple[str, ...] = ()) -> float:
        return self.bazel("build", *flags, *[f"//:{t}" for t in targets])[0]

    def cold_build(self, *targets: str, flags: tuple[str, ...] = ()) -> float:
        """A fresh server (no warm worker) and nothing cached."""
        self.bazel("clean")
        self.bazel("shutdown")
        return self.build(*targets, flags=flags)

    def fresh_server_analysis(self, target: str, profile: Path) -> float:
        """Loading and analysis of target by a new server, its outputs up to date on disk."""
        self.build(target)
        self.bazel("shutdown")
        self.build(target, flags=(f"--profile={profile}",))
        phases = profile_phases(profile)
        return analysis_seconds(phases)

    def clean_build(self, *targets: str) -> float:
        """Nothing cached, but the server (its analysis and digests) kept; workers die."""
        self.bazel("clean")
        return self.build(*targets)

    def worker_peak_rss(self) -> int:
        """Peak RSS (KiB) of this server's converter workers."""
        server = int(self.bazel("info", "server_pid")[1].stdout.strip())
        peaks = []
        for pid in _descendants(server):
            try:
                if "--persistent_worker" not in Path(f"/proc/{pid}/cmdline").read_text():
                    continue
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            peaks += [
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
            ]
        return max(peaks, default=0)

    def fresh_home_build(self, home: Path, target: str, flags: tuple[str, ...]) -> float:
        """A build as another user would run it: new HOME, new output base, new server.

        The machine's converter environment cache is named explicitly, so the
        time is the build's, not the minutes of re-creating the environment.
        """
        cache = os.environ.get("RULES_TFJS_CACHE") or str(
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
            / "rules_tfjs"
            / "environments"
        )
        output_base, env = home / "output_base", {"HOME": str(home), "RULES_TFJS_CACHE": cache}
        home.mkdir(parents=True)
        try:
            return self.bazel("build", *flags, f"//:{target}", output_base=output_base, env=env)[0]
        finally:
            self.bazel("clean", "--expunge", output_base=output_base, env=env)

    @staticmethod
    def converter_processes(log: Path) -> int:
        """TfjsConvert spawns that ran rather than coming from a cache."""
        return executed(log).get("TfjsConvert", 0)

    @staticmethod
    def executed_actions(log: Path) -> int:
        """Spawns of any mnemonic that ran rather than coming from a cache."""
        return sum(executed(log).values())


@dataclass
class Row:
    workload: str
    signatures: int
    cli_s: float
    cold_s: float
    clean_warm_server_s: float
    in_process_s: float
    cli_rss_mb: float
    worker_rss_mb: float

    @property
    def cold_over_cli(self) -> float:
        return self.cold_s / self.cli_s


def profile_actions(profile: Path) -> list[tuple[str, float, float]]:
    """(action, start, seconds) of each action that took 0.1 s or more, in order.

    start counts from the beginning of the build phase ("Build artifacts").
    """
    events = profile_events(profile)
    build_start = next(
        e["ts"]
        for e in events
        if e.get("cat") == "build phase marker" and e["name"] == "Build artifacts"
    )
    timed = sorted(
        ((e["ts"] - build_start) / 1e6, e["name"], e["dur"] / 1e6)
        for e in events
        if e.get("cat") == "action processing" and e.get("dur", 0) >= 100_000
    )
    return [(name, start, seconds) for start, name, seconds in timed]


def environment_size(environment: Path) -> tuple[int, int]:
    """Bytes and files of the converter environment."""
    total_bytes, files = 0, 0
    for directory, _, names in os.walk(environment):
        for name in names:
            total_bytes += os.lstat(os.path.join(directory, name)).st_size
            files += 1
    return total_bytes, files


def environment_creation(workspace: BenchWorkspace, scratch: Path, download_cache: bool) -> float:
    """Seconds to create the environment with no rules_tfjs cache.

    download_cache: keep uv's download cache (under HOME); without it,
    everything is downloaded from the package index.
    """
    output_base = scratch / "create_output_base"
    home = {} if download_cache else {"HOME": str(scratch / "empty_home"), "XDG_CACHE_HOME": ""}
    started = time.monotonic()
    subprocess.run(
        [str(WORKSPACE / "tools" / "bazel"), f"--output_base={output_base}",
         "build", "@rules_tfjs_python//:python"],
        cwd=workspace.root, capture_output=True, check=True,
        env={**os.environ, "RULES_TFJS_CACHE": str(scratch / "create_cache"), **home},
    )  # fmt: skip
    elapsed = time.monotonic() - started
    subprocess.run(
        [str(WORKSPACE / "tools" / "bazel"), f"--output_base={output_base}", "clean", "--expunge"],
        cwd=workspace.root, capture_output=True, check=False,
    )  # fmt: skip
    shutil.rmtree(scratch / "create_cache", ignore_errors=True)
    shutil.rmtree(scratch / "empty_home", ignore_errors=True)
    return elapsed


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME")
        ),
        platform.platform(),
    )
    import tensorflowjs

    return (
        f"{os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.0f} GiB RAM, {os_name}; "
        f"Bazel 4.2.3 (Debian), Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"tensorflowjs {tensorflowjs.__version__}"
    )


def measure(
    workspace: BenchWorkspace,
    models: Path,
    name: str,
    target: str,
    signatures: list[str],
    scratch: Path,
) -> Row:
    saved_model = models / name
    cli_s, cli_rss = cli(saved_model, signatures, scratch / f"cli_{target}")
    cold_s = workspace.cold_build(target, flags=(f"--profile={scratch / f'cold_{target}.json'}",))
    worker_rss = workspace.worker_peak_rss()
    clean_s = workspace.clean_build(target)
    in_process_s = in_process(saved_model, signatures, scratch / f"in_process_{target}")
    row = Row(
        target,
        len(signatures),
        cli_s,
        cold_s,
        clean_s,
        in_process_s,
        cli_rss / 1024,
        worker_rss / 1024,
    )
    print(f"  {target}: CLI {cli_s:.1f} s, cold {cold_s:.1f} s, in-process {in_process_s:.2f} s")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=WORKSPACE / "bench" / "RESULTS.md")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="rules_tfjs_bench."))
    models = scratch / "models"
    workspace = BenchWorkspace(scratch / "workspace")
    try:
        print("exporting the workloads' SavedModels", file=sys.stderr)
        signatures = {}
        for name, export in (
            ("wake", export_wake),
            ("mobilenet", export_mobilenet),
            ("heads", export_heads),
        ):
            signatures[name] = export(models / name)
            workspace.add_saved_model(name, models / name)
        workspace.add_target("wake", "wake", signatures["wake"])
        workspace.add_target("mobilenet", "mobilenet", signatures["mobilenet"])
        workspace.add_target("mobilenet_logits", "mobilenet", ["logits"])
        for count in (1, 2, 4, 8):
            workspace.add_target(f"heads_{count}", "heads", HEADS[:count])
        for head in HEADS[:4]:  # the same four signatures, one action each
            workspace.add_target(f"split_{head}", "heads", [head])
        workspace.write()
        environment_s = workspace.bazel("build", "@rules_tfjs_python//:python")[0]
        env_bytes, env_files = environment_size(
            workspace.output_base / "external" / "rules_tfjs_python" / "env"
        )
        # The median of several: one creation varied by up to 1.7x within a run.
        env_create_samples = [
            environment_creation(workspace, scratch, download_cache=True)
            for _ in range(ENV_CREATE_SAMPLES)
        ]
        env_create_s = statistics.median(env_create_samples)
        env_create_from_nothing_s = environment_creation(workspace, scratch, download_cache=False)

        print("measuring", file=sys.stderr)
        rows = [
            measure(workspace, models, "wake", "wake", signatures["wake"], scratch),
            measure(workspace, models, "mobilenet", "mobilenet", signatures["mobilenet"], scratch),
        ]
        rows += [
            measure(workspace, models, "heads", f"heads_{n}", HEADS[:n], scratch)
            for n in (1, 2, 4, 8)
        ]

        split_targets = [f"split_{head}" for head in HEADS[:4]]
        split_cold_s = workspace.cold_build(*split_targets)
        split_clean_s = workspace.clean_build(*split_targets)

        # 3: one signature's option changed, the worker warm (it has converted
        # this SavedModel before, so it also still has it loaded).
        workspace.build("mobilenet_logits")
        workspace.add_target(
            "mobilenet_logits", "mobilenet", ["logits"], ', quantization = "float16"'
        )
        workspace.write()
        warm_s = workspace.build("mobilenet_logits")
        warm_in_process_s = in_process(
            models / "mobilenet",
            ["logits"],
            scratch / "in_process_warm",
            ConversionOptions(quantization="float16"),
        )

        # 4: bazel clean, then a rebuild served by a disk cache.
        disk_cache, log = f"--disk_cache={scratch / 'disk_cache'}", scratch / "execution.json"
        workspace.bazel("clean")
        workspace.build("wake", "mobilenet", flags=(disk_cache,))
        workspace.bazel("clean")
        cache_s = workspace.build(
            "wake", "mobilenet", flags=(disk_cache, f"--execution_log_json_file={log}")
        )
        cache_processes = workspace.converter_processes(log)

        # 5: another user (new HOME, new output base) with the warm disk cache.
        fresh_log = scratch / "fresh_home_execution.json"
        fresh_profile = scratch / "fresh_home.json"
        fresh_home_s = workspace.fresh_home_build(
            scratch / "fresh_home",
            "wake",
            (disk_cache, f"--execution_log_json_file={fresh_log}", f"--profile={fresh_profile}"),
        )
        fresh_phases = profile_phases(fresh_profile)
        fresh_home_actions = workspace.executed_actions(fresh_log)

        # 7: a new server's loading and analysis, outputs up to date.
        analysis_s = workspace.fresh_server_analysis("wake", scratch / "analysis.json")
        digest_s = profile_phases(scratch / "analysis.json").get("Build artifacts", 0.0)

        # 8: the floors (see FLOOR_BZL).
        analysis_floor_s = workspace.fresh_server_analysis("bare", scratch / "bare.json")
        toolchain_floor_s = workspace.fresh_server_analysis(
            "sh_toolchain_only", scratch / "sh_toolchain_only.json"
        )
        environment_floor_s = workspace.fresh_server_analysis(
            "environment_only", scratch / "environment_only.json"
        )
        import_cold_s = workspace.cold_build("tensorflow_import")
        cold_wake = scratch / "cold_wake.json"
        cold_phases, cold_actions = profile_phases(cold_wake), profile_actions(cold_wake)

        wake = rows[0]
        ratios = {
            "env_bytes": f"{env_bytes:.3g}",
            "env_files": env_files,
            "env_create_s": env_create_s,
            "env_create_from_nothing_s": env_create_from_nothing_s,
            "fresh_server_analysis_s": analysis_s,
            "cold_over_cli_wake": wake.cold_over_cli,
            "cold_over_cli_heads_1": rows[2].cold_over_cli,
            "cold_over_cli_heads_8": rows[5].cold_over_cli,
            "clean_over_cli_wake": wake.clean_warm_server_s / wake.cli_s,
            "cold_over_cli_mobilenet": rows[1].cold_over_cli,
            "warm_over_inprocess": warm_s / warm_in_process_s,
            "warm_seconds": warm_s,
            "warm_target_seconds": 1.5 * warm_in_process_s + 1.0,
            "cache_hit_converter_processes": cache_processes,
            "fresh_home_cached_build_s": fresh_home_s,
            "fresh_home_executed_actions": fresh_home_actions,
            "fresh_home_cached_build_over_cold": fresh_home_s / wake.cold_s,
            "rss_over_cli": max(r.worker_rss_mb / r.cli_rss_mb for r in rows[:2]),
            "split_over_single_action_4_signatures": split_cold_s / rows[4].cold_s,
        }
        for count, row in zip((2, 4), rows[3:5], strict=True):
            ratios[f"cold_over_cli_heads_{count}"] = row.cold_over_cli
        ratios |= {
            "fresh_server_digest_s": digest_s,
            "floor_fresh_server_analysis_s": analysis_floor_s,
            "floor_toolchain_analysis_s": toolchain_floor_s,
            "floor_environment_analysis_s": environment_floor_s,
            "floor_cold_s": import_cold_s,
            "floor_cold_over_cli_wake": import_cold_s / wake.cli_s,
            "floor_cold_over_cli_heads_1": import_cold_s / rows[2].cli_s,
            "floor_cold_over_cli_heads_8": import_cold_s / rows[5].cli_s,
        }
        write_results(
            args.results,
            rows,
            split_cold=split_cold_s,
            split_clean=split_clean_s,
            warm=warm_s,
            warm_in_process=warm_in_process_s,
            cache=cache_s,
            cache_processes=cache_processes,
            environment=environment_s,
            env_bytes=env_bytes,
            env_files=env_files,
            env_create_s=env_create_s,
            env_create_samples=", ".join(f"{sample:.1f}" for sample in env_create_samples),
            env_create_from_nothing_s=env_create_from_nothing_s,
            analysis_s=analysis_s,
            digest_s=digest_s,
            analysis_floor_s=analysis_floor_s,
            toolchain_floor_s=toolchain_floor_s,
            environment_floor_s=environment_floor_s,
            import_cold_s=import_cold_s,
            import_cold_over_cli_wake=import_cold_s / wake.cli_s,
            import_cold_over_cli_heads_1=import_cold_s / rows[2].cli_s,
            import_cold_over_cli_heads_8=import_cold_s / rows[5].cli_s,
            cold_actions="\n".join(
                f"| {n} | {start:.1f} s | {t:.1f} s |" for n, start, t in cold_actions
            ),
            phases="\n".join(
                f"| {n} | {cold_phases.get(n, 0):.1f} s | {fresh_phases.get(n, 0):.1f} s |"
                for n in dict.fromkeys([*cold_phases, *fresh_phases])
            ),
            fresh_home=fresh_home_s,
            fresh_home_actions=fresh_home_actions,
            fresh_home_over_cold=fresh_home_s / rows[0].cold_s,
            figures=ratios,
            cold_wake_phases=cold_phases,
            cold_wake_actions=cold_actions,
        )
        print(f"results written to {args.results}", file=sys.stderr)
        print(format_figures(ratios))
        return 0
    finally:
        try:
            workspace.bazel("clean", "--expunge")
        except RuntimeError:
            pass
        shutil.rmtree(scratch, ignore_errors=True)


RESULTS = """\
# Benchmark results

Generated by `bench/run.sh` on {date}: {machine}.
All numbers come from this one run on this machine; times are wall-clock seconds.

## rules_tfjs against `tensorflowjs_converter`

- CLI: tensorflowjs's converter once per signature, from the same
  environment: what `tensorflowjs_converter --signature_name=S` runs
  (`convert_tf_saved_model`), in a fresh process per signature; the command
  line's own module cannot run there, as it imports tf_keras.
- Cold build: `bazel clean`, `bazel shutdown`, `bazel build`: a fresh server,
  no cache, no warm worker.
- Clean build: `bazel clean`, `bazel build` with the server kept (its loaded
  packages and file digests kept; the workers die).
- In-process: load the SavedModel and convert, in a Python process that has
  imported TensorFlow.

| workload | signatures | CLI | cold build | cold / CLI | clean build | in-process \
| CLI peak RSS | worker peak RSS |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

## Action granularity: one action per model, or one per signature

The same four signatures of `heads`, converted by one `tfjs_model` (one
action) and by four one-signature targets (four actions, which Bazel may run
in parallel workers):

| | one action | four actions |
| --- | --- | --- |
| cold build | {single_cold:.1f} s | {split_cold:.1f} s |
| clean build | {single_clean:.1f} s | {split_clean:.1f} s |

## Warm worker, cache, environment

- Changing the quantization of `mobilenet_logits` (one signature) and
  rebuilding with the worker warm: {warm:.2f} s; the same conversion
  in-process: {warm_in_process:.2f} s (target: at most 1.5 × in-process + 1 s
  = {warm_target:.2f} s).
- `bazel clean`, then a rebuild of `wake` and `mobilenet` with
  `--disk_cache`: {cache:.1f} s; converter processes run: {cache_processes}.
- Linking the converter environment into a new output base from the
  per-machine cache: {environment:.1f} s.
- The environment: {env_bytes:.3g} bytes in {env_files} files. Creating it
  with no rules_tfjs cache: {env_create_s:.1f} s with uv's download cache
  warm (the median of {env_create_count}: {env_create_samples} s),
  {env_create_from_nothing_s:.1f} s from nothing (every wheel
  downloaded from PyPI).
- A new server's loading and analysis of `wake`, its outputs up to date on
  disk: {analysis_s:.2f} s.
- Another user's first build of `wake` (new HOME, new output base and server,
  the warm disk cache): {fresh_home:.1f} s, {fresh_home_over_cold:.2f} × the
  cold build (target: at most 0.5 ×); actions executed rather than served by
  the cache: {fresh_home_actions} (target: 0).

## Where the cold build of `wake` goes

Bazel's profiles of the cold build above and of another user's first build
with the warm disk cache: their phases ("Launch Blaze" is the server's
start, "Build artifacts" includes digesting every input), then the cold
build's actions, each with its start in the build phase: the conversion,
whose time includes starting the worker and importing TensorFlow, and
beside it the environment's check, a validation action at the lowest CPU
priority.

| phase | cold build | another user, warm disk cache |
| --- | --- | --- |
{phases}

| action | starts | takes |
| --- | --- | --- |
{cold_actions}

## The floors under the targets

Measured in the same run and workspace: what any build pays on this
machine and this Bazel, with or without rules_tfjs.

- A new server's loading and analysis, its output up to date, of:
  - a bare genrule: {analysis_floor_s:.2f} s;
  - a rule that only resolves a toolchain of Bazel's own (the shell's), as
    any rule with a toolchain does: {toolchain_floor_s:.2f} s. Bazel loads
    the package of every registered toolchain (C++, Java, Python, shell)
    to find one;
  - a rule that only resolves rules_tfjs's toolchain, whose environment's
    files are targets: {environment_floor_s:.2f} s;
  - `wake`: {analysis_s:.2f} s (target 1.0 s).
- The build phase of a new server's build of `wake`, its outputs up to date:
  {digest_s:.1f} s. No action runs; Bazel digests every input, the
  environment's {env_gb:.2f} GB included, to look the actions up.
- A cold build of one action that only imports TensorFlow from the
  environment, declared as rules_tfjs declares it (no conversion, no check;
  unsandboxed, and it exits without the interpreter's shutdown, as a
  persistent worker has neither): {import_cold_s:.1f} s, against
  {cold_wake:.1f} s for `wake`'s. That is {import_cold_over_cli_wake:.2f} × the
  command line's time for `wake` (target for its cold build: 0.6),
  {import_cold_over_cli_heads_1:.2f} × for `heads_1` (target 1.5) and
  {import_cold_over_cli_heads_8:.2f} × for `heads_8` (target 0.25).

## Targets (issues 10 and 12)

| figure | value | target | |
| --- | --- | --- | --- |
{targets}

What is left of the cold build of `wake` ({cold_wake:.1f} s, against the
command line's {cli_wake:.1f} s): the server's start
({startup:.1f} s), loading and analysis ({analysis:.1f} s; every file of
the environment is a target), and the build phase ({build:.1f} s):
{before:.1f} s of Bazel's own work before the first action, most of it
digesting the environment's {env_gb:.2f} GB, then the conversion
({convert:.1f} s, most of it the worker's TensorFlow import) with the
environment's check ({check:.1f} s, which reads all of it) beside it. A
one-signature model pays the same fixed costs, hence
`cold_over_cli_heads_1`. Another user's build with the warm disk cache pays
the start, the analysis and the digesting, but no action.

## Figures

```
{figures}
```
"""


def format_figures(figures: dict[str, float | int | str]) -> str:
    """One `name: value` line per figure."""
    return "\n".join(
        f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}"
        for name, value in figures.items()
    )


# Issue 10's and 12's targets: (figure, largest value that meets it).
TARGETS = (
    ("env_bytes", 1.2e9),
    ("env_files", 6000),
    ("fresh_server_analysis_s", 1.0),
    ("cold_over_cli_wake", 0.6),
    ("cold_over_cli_heads_1", 1.5),
    ("cold_over_cli_heads_8", 0.25),
    ("clean_over_cli_wake", 0.35),
    ("env_create_s", 30),
    ("fresh_home_executed_actions", 0),
    ("fresh_home_cached_build_over_cold", 0.5),
)


def targets_table(figures: dict[str, float | int | str]) -> str:
    rows = []
    for name, limit in TARGETS:
        figure = figures[name]
        value = float(figure)
        shown = figure if isinstance(figure, str | int) else f"{value:.3g}"
        met = "met" if value <= limit else "**missed**"
        rows.append(f"| `{name}` | {shown} | ≤ {limit:g} | {met} |")
    return "\n".join(rows)


def write_results(path: Path, rows: list[Row], **numbers: float) -> None:
    table = "\n".join(
        f"| {r.workload} | {r.signatures} | {r.cli_s:.1f} s | {r.cold_s:.1f} s | "
        f"{r.cold_over_cli:.2f} | {r.clean_warm_server_s:.1f} s | {r.in_process_s:.2f} s | "
        f"{r.cli_rss_mb:.0f} MB | {r.worker_rss_mb:.0f} MB |"
        for r in rows
    )
    single = next(r for r in rows if r.workload == "heads_4")
    figures = numbers.pop("figures")
    phases, actions = numbers.pop("cold_wake_phases"), numbers.pop("cold_wake_actions")
    wake = rows[0]
    build = phases.get("Build artifacts", 0.0)
    check = sum(t for n, _, t in actions if n.startswith("Checking"))
    convert = sum(t for n, _, t in actions if n.startswith("Converting"))
    breakdown = {
        "cold_wake": wake.cold_s,
        "cli_wake": wake.cli_s,
        "startup": phases.get("Launch Blaze", 0.0) + phases.get("Initialize command", 0.0),
        "analysis": analysis_seconds(phases),
        "build": build,
        "check": check,
        "convert": convert,
        "before": min((start for _, start, _ in actions), default=build),
        "env_gb": numbers["env_bytes"] / 1e9,
    }
    path.write_text(
        RESULTS.format(
            date=time.strftime("%Y-%m-%d"),
            machine=machine(),
            rows=table,
            single_cold=single.cold_s,
            single_clean=single.clean_warm_server_s,
            warm_target=1.5 * numbers["warm_in_process"] + 1,
            env_create_count=ENV_CREATE_SAMPLES,
            figures=format_figures(figures),
            targets=targets_table(figures),
            **breakdown,
            **numbers,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
