#!/usr/bin/env bash
# Measures a 30,000-word vocabulary (bench/vocabulary.py): model.json size,
# conversion time, load and first prediction in headless Chromium. About a
# minute on 2 cores. Prints a Markdown table; asserts nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dev/setup_machine.sh bazel
tools/bazel build @rules_tfjs_python//:python @rules_tfjs_node//:node_modules
output_base="$(tools/bazel info output_base 2>/dev/null)"
tools/bazel shutdown
exec "$output_base/external/rules_tfjs_python/env/bin/python3" -s -B bench/vocabulary.py \
  --node_modules "$output_base/external/rules_tfjs_node/node_modules" "$@"
