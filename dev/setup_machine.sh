#!/usr/bin/env bash
# Installs the system packages rules_tfjs's build or tests need, if missing.
#
#   dev/setup_machine.sh bazel   Debian's Bazel 4.2.3 and its rules_java
#   dev/setup_machine.sh test    the above, plus what the test suite drives
#                                  (nginx; Node.js and npm if absent; libnss3,
#                                  the one library the pinned Chromium from the
#                                  npm lock needs that a minimal Debian lacks)
#
# Everything comes from Debian's package archive; run as root (or with sudo).
set -euo pipefail

case "${1:-}" in
  bazel) packages=(bazel-bootstrap bazel-rules-java) ;;
  test)
    packages=(bazel-bootstrap bazel-rules-java nginx libnss3)
    command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
    ;;
  *)
    echo "usage: $0 bazel|test" >&2
    exit 2
    ;;
esac

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "rules_tfjs: missing ${missing[*]}, and this is not a Debian-like system with apt-get; install them by hand." >&2
  exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || {
    echo "rules_tfjs: missing ${missing[*]}; run as root or install sudo." >&2
    exit 1
  }
  sudo=(sudo)
fi

echo "rules_tfjs: installing ${missing[*]} from Debian's archive" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
