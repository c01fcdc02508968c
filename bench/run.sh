#!/usr/bin/env bash
# Runs the benchmark (bench/benchmark.py) and writes bench/RESULTS.md.
# Not part of the test suite: it measures, it asserts nothing. Takes about
# ten minutes on 2 cores; nothing else should run meanwhile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dev/setup_machine.sh bazel
tools/bazel build @rules_tfjs_python//:python
python="$(tools/bazel info output_base 2>/dev/null)/external/rules_tfjs_python/env/bin/python3"
tools/bazel shutdown
exec "$python" -s -B bench/benchmark.py "$@"
