#!/usr/bin/env bash
# Runs the whole rules_tfjs test suite (the README's test command; .ci/run).
#
# Installs what the tests drive (Debian's Bazel, nginx, libnss3 for the pinned
# Chromium from the npm lock) if missing, creates the converter environment
# through Bazel, adds pytest next to it from
# requirements_dev_lock.txt, and runs pytest: the converter's unit tests under
# tools/ and the integration tests under tests/, which drive real Bazel builds.
# Extra arguments go to pytest, e.g. `dev/run_tests.sh -k cache`.
#
# First, dev/lint.sh (buildifier, ruff, the README's generated tables).
#
#   dev/run_tests.sh --quick    the day-to-day part: lint, the converter's and
#                               the server's unit tests, the analysis tests and
#                               one build of //models:wake_tfjs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
workspace="$PWD"
quick=false
if [[ ${1:-} == --quick ]]; then
  quick=true
  shift
fi

dev/setup_machine.sh test
trap '"$workspace/tools/bazel" shutdown >/dev/null 2>&1 || true' EXIT

tools/bazel build @rules_tfjs_python//:python
output_base="$(tools/bazel info output_base 2>/dev/null)"
python="$output_base/external/rules_tfjs_python/env/bin/python3"

# pytest goes beside the environment, not into it: the environment is an
# input of every conversion, and test tools must not change its cache keys.
dev_tools="$output_base/rules_tfjs_dev_tools"
dev_lock_hash="$(sha256sum requirements_dev_lock.txt | cut -d' ' -f1)"
if [[ "$(cat "$dev_tools/.lock_hash" 2>/dev/null || true)" != "$dev_lock_hash" ]]; then
  rm -rf "$dev_tools"
  # The environment has no pip installed: run the standard library's bundled wheel.
  pip_wheel="$(echo "$output_base"/external/rules_tfjs_python/env/lib/python3.*/ensurepip/_bundled/pip-*.whl)"
  "$python" -I "$pip_wheel/pip" install --isolated --quiet --disable-pip-version-check \
    --no-deps --require-hashes --only-binary=:all: --target "$dev_tools" \
    --requirement requirements_dev_lock.txt
  echo "$dev_lock_hash" > "$dev_tools/.lock_hash"
fi

RULES_TFJS_DEV_TOOLS="$dev_tools" RULES_TFJS_DEV_PYTHON="$python" dev/lint.sh

if $quick; then
  tools/bazel build //models:wake_tfjs
  set -- tools tests/analysis_errors_test.py "$@"
fi
PYTHONPATH="$dev_tools" "$python" -s -B -m pytest "$@"
