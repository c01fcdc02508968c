#!/usr/bin/env bash
# Measures Bazel's own cost for two declarations of the converter environment
# (bench/declaration.py): every file a target, or one archive unpacked into a
# tree artifact. About three minutes on 2 cores; nothing else should run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
prepare_bench
exec python3 bench/declaration.py --environment "$output_base/external/rules_tfjs_python/env" "$@"
