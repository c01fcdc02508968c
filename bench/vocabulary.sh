#!/usr/bin/env bash
# Measures a 30,000-word vocabulary (bench/vocabulary.py): model.json size,
# conversion time, load and first prediction in headless Chromium. About a
# minute on 2 cores. Prints a Markdown table; asserts nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/prepare.sh"
prepare_bench @rules_tfjs_node//:node_modules
exec "$output_base/external/rules_tfjs_python/env/bin/python3" -s -B bench/vocabulary.py \
  --node_modules "$output_base/external/rules_tfjs_node/node_modules" "$@"
