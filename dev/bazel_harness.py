"""Real Bazel, driven from Python: what the tests and the benchmark share.

`Bazel` runs commands in a workspace through its tools/bazel; `spawns` and
`executed` read a `--execution_log_json_file`, to count what ran and what a
cache served; `profile_phases` and `analysis_seconds` read a `--profile`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAZEL_WRAPPER = ROOT / "tools" / "bazel"


class BazelError(AssertionError):
    """A Bazel command failed (an AssertionError, so a test reports it as a failure)."""


class Bazel:
    """Runs Bazel in a workspace through tools/bazel; every call is a real Bazel command."""

    def __init__(
        self,
        workspace: Path,
        output_base: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workspace = workspace
        self.output_base = output_base
        self.startup_options = [f"--output_base={output_base}"] if output_base else []
        self.env = {**os.environ, **(env or {})}

    def with_env(self, env: dict[str, str]) -> Bazel:
        """The same workspace and output base, with more environment variables."""
        return Bazel(self.workspace, self.output_base, {**self.env, **env})

    def command(self, command: str, *arguments: str) -> list[str]:
        # A checkout's own wrapper writes that checkout's .bazelrc.offline.
        own_wrapper = self.workspace / "tools" / "bazel"
        return [
            str(own_wrapper if own_wrapper.exists() else BAZEL_WRAPPER),
            *self.startup_options,
            command,
            *(["--color=no", "--curses=no"] if command not in ("shutdown", "info") else []),
            *arguments,
        ]

    def __call__(
        self, command: str, *arguments: str, check: bool = True
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.command(command, *arguments),
            cwd=self.workspace,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise BazelError(
                f"bazel {command} {' '.join(arguments)} failed:\n{result.stderr[-6000:]}"
            )
        return result

    def start(self, command: str, *arguments: str) -> subprocess.Popen:
        """Starts a command without waiting for it."""
        return subprocess.Popen(
            self.command(command, *arguments),
            cwd=self.workspace,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @property
    def bin(self) -> Path:
        return self.workspace / "bazel-bin"

    def shutdown(self) -> None:
        self("shutdown", check=False)


def spawns(execution_log: Path) -> list[dict]:
    """The spawns of a --execution_log_json_file (a stream of JSON objects)."""
    text, decoder, position, result = execution_log.read_text(), json.JSONDecoder(), 0, []
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return result
        spawn, position = decoder.raw_decode(text, position)
        result.append(spawn)


def cache_hit(spawn: dict) -> bool:
    """Whether a disk or remote cache served the spawn.

    Bazel 4 logs `remoteCacheHit` for both caches; Bazel 7 logs `cacheHit`.
    """
    return bool(spawn.get("remoteCacheHit") or spawn.get("cacheHit"))


def executed(execution_log: Path) -> dict[str, int]:
    """Mnemonic -> number of spawns that ran (not served by a cache)."""
    counts: dict[str, int] = {}
    for spawn in spawns(execution_log):
        if not cache_hit(spawn):
            counts[spawn["mnemonic"]] = counts.get(spawn["mnemonic"], 0) + 1
    return counts


# Loading (target patterns, then packages) and analysis, as Bazel's profile names them.
_ANALYSIS_PHASES = ("Evaluate target patterns", "Load and analyze dependencies")


def profile_events(profile: Path) -> list[dict]:
    """The events of a Bazel JSON trace profile."""
    trace = json.loads(profile.read_text())
    return trace["traceEvents"] if isinstance(trace, dict) else trace


def profile_phases(profile: Path) -> dict[str, float]:
    """Seconds of each build phase in a Bazel JSON trace profile."""
    events = profile_events(profile)
    markers = sorted((e["ts"], e["name"]) for e in events if e.get("cat") == "build phase marker")
    end = max(e["ts"] + e.get("dur", 0) for e in events if "ts" in e)
    bounds = [*(ts for ts, _ in markers[1:]), end]
    return {name: (stop - ts) / 1e6 for (ts, name), stop in zip(markers, bounds, strict=True)}


def analysis_seconds(phases: dict[str, float]) -> float:
    """Loading and analysis, of profile_phases' result."""
    return sum(phases.get(phase, 0.0) for phase in _ANALYSIS_PHASES)
