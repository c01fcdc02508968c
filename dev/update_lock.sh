#!/usr/bin/env bash
# Regenerates requirements_lock.txt, requirements_dev_lock.txt and compat/*/
# requirements_lock.txt from their .in files, hashes included. Extra arguments
# go to every resolver, e.g. `dev/update_lock.sh --upgrade-package tensorflowjs`;
# existing pins are kept unless asked otherwise.
#
# requirements_lock.txt is resolved by uv, whose --override drops the
# dependencies listed in requirements_overrides.txt (pip-compile cannot leave
# out one package's dependencies); requirements_dev_lock.txt by pip-compile.
# Run it with the Python version the lock is for (RULES_TFJS_PYTHON, default
# python3.11): both record that version in the lock file's header, and the
# environment rule insists on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${RULES_TFJS_PYTHON:-python3.11}"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT

# Resolve against PyPI alone, whatever pip or uv configuration this machine has.
for variable in $(compgen -e | grep -E '^(PIP|UV)_' || true); do unset "$variable"; done
export PIP_CONFIG_FILE=/dev/null

"$python" -m venv "$tools/venv"
"$tools/venv/bin/pip" install --quiet pip-tools==7.6.2 uv==0.13.9
python_version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

uv_compile() {
  "$tools/venv/bin/uv" pip compile --quiet --no-config --generate-hashes \
    --only-binary :all: --index-url https://pypi.org/simple \
    --python-version "$python_version" --override "$@"
}
uv_compile requirements_overrides.txt --output-file requirements_lock.txt "$@" requirements.in
# The user locks of the README's compatibility table, as light as the default.
for compat in compat/*/; do
  (cd "$compat" && uv_compile ../../requirements_overrides.txt \
    --output-file requirements_lock.txt "$@" requirements.in)
done
"$tools/venv/bin/pip-compile" --quiet --generate-hashes --allow-unsafe \
  --strip-extras --no-emit-index-url --output-file=requirements_dev_lock.txt \
  "$@" requirements_dev.in
