#!/usr/bin/env bash
# Runs the benchmark (bench/benchmark.py) and writes bench/RESULTS.md.
# Not part of the test suite: it measures, it asserts nothing. Takes about
# ten minutes on 2 cores; nothing else should run meanwhile.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
prepare_bench
exec "$output_base/external/rules_tfjs_python/env/bin/python3" -s -B bench/benchmark.py "$@"
