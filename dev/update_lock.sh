#!/usr/bin/env bash
# Regenerates requirements_lock.txt and requirements_dev_lock.txt from their
# .in files with pip-compile, hashes included. Extra arguments go to
# pip-compile, e.g. `dev/update_lock.sh --upgrade-package tensorflowjs`.
# Run it with the Python version the lock is for (RULES_TFJS_PYTHON, default
# python3.11): pip-compile records that version in the lock file's header, and
# the environment rule insists on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${RULES_TFJS_PYTHON:-python3.11}"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT

# Resolve against PyPI alone, whatever pip configuration this machine has.
for variable in $(compgen -e | grep '^PIP_' || true); do unset "$variable"; done
export PIP_CONFIG_FILE=/dev/null

"$python" -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet pip-tools==7.6.2
for name in requirements requirements_dev; do
  "$tools/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe \
    --strip-extras --no-emit-index-url --output-file="${name}_lock.txt" \
    "$@" "${name}.in"
done
