#!/usr/bin/env bash
# Lints and format-checks the repository: buildifier for Starlark, ruff for Python.
#
#   dev/lint.sh          check (what CI runs); exit 1 on any finding
#   dev/lint.sh --fix    rewrite files in place, then check
#
# buildifier comes from dev/lint/package-lock.json (npm ci, integrity-checked;
# the npm package carries the binaries), ruff from requirements_dev_lock.txt,
# installed by dev/run_tests.sh beside the converter environment
# (RULES_TFJS_DEV_TOOLS, RULES_TFJS_DEV_PYTHON) or, run alone, into
# dev/lint/.python. dev/gen_docs.py --check keeps the README's tables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fix=false
[[ ${1:-} == --fix ]] && fix=true

lint_dir=dev/lint
lock_hash="$(sha256sum "$lint_dir/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$lint_dir/node_modules/.lock_hash" 2>/dev/null || true)" != "$lock_hash" ]]; then
  (cd "$lint_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$lint_dir/node_modules/.lock_hash"
fi
buildifier="$lint_dir/node_modules/.bin/buildifier"

ruff_path="${RULES_TFJS_DEV_TOOLS:-$lint_dir/.python}"
python="${RULES_TFJS_DEV_PYTHON:-python3}"
if ! PYTHONPATH="$ruff_path" "$python" -c 'import ruff' 2>/dev/null; then
  "$python" -m pip install --isolated --quiet --disable-pip-version-check --no-deps \
    --require-hashes --only-binary=:all: --target "$ruff_path" \
    --requirement <(awk '/^ruff==/ { keep = 1; print; next } keep && /^ / { print; next } { keep = 0 }' requirements_dev_lock.txt)
fi
ruff() { PYTHONPATH="$ruff_path" "$python" -m ruff "$@"; }

starlark_files() { git ls-files --cached --others --exclude-standard "$@"; }
mapfile -t build_templates < <(starlark_files '*.BUILD.tpl')
# The offline stand-ins call native rules on purpose: format-checked, not linted.
mapfile -t stand_ins < <(starlark_files 'dev/bazel_offline/*' | grep -E '\.bzl$|BUILD|WORKSPACE')
mapfile -t starlark < <(starlark_files '*.bzl' '*.bazel' 'BUILD' '*/BUILD' 'WORKSPACE' '*/WORKSPACE' |
  grep -v -F -x -f <(printf '%s\n' "${stand_ins[@]}" "${build_templates[@]}"))

status=0
if $fix; then
  # Formatting only: lint fixes would load rules that Bazel 4 lacks.
  "$buildifier" "${starlark[@]}"
  "$buildifier" -type=build "${build_templates[@]}"
  "$buildifier" "${stand_ins[@]}"
  ruff format --quiet .
  ruff check --quiet --fix .
  "$python" dev/gen_docs.py
fi
"$buildifier" -mode=check -lint=warn "${starlark[@]}" || status=1
"$buildifier" -mode=check -lint=warn -type=build "${build_templates[@]}" || status=1
"$buildifier" -mode=check "${stand_ins[@]}" || status=1
ruff format --check --quiet . || status=1
ruff check --quiet . || status=1
"$python" dev/gen_docs.py --check || status=1
if [[ $status -ne 0 ]]; then
  echo "lint: findings above; dev/lint.sh --fix rewrites what can be fixed." >&2
else
  echo "lint: buildifier ($(( ${#starlark[@]} + ${#build_templates[@]} + ${#stand_ins[@]} )) files), ruff and the README's tables clean"
fi
exit $status
