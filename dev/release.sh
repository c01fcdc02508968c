#!/usr/bin/env bash
# Makes the release archive of rules_tfjs: what a user's workspace needs, no tests.
#
#   dev/release.sh [OUTPUT_DIR]     (default: dist/)
#
# Writes OUTPUT_DIR/rules_tfjs-<version>.tar.gz from the committed tree (HEAD),
# <version> being MODULE.bazel's, and prints its sha256 and the snippets that
# use it. The archive is byte-reproducible: git archive of one commit, gzip
# without a timestamp.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

output_dir="${1:-dist}"
version="$(sed -n 's/^ *version = "\(.*\)",*$/\1/p' MODULE.bazel | head -n 1)"
[[ -n $version ]] || {
  echo "release: no version = \"...\" in MODULE.bazel's module()" >&2
  exit 1
}
# What rules_tfjs's BUILD files and repository rules reference, and the docs.
shipped=(
  BUILD.bazel MODULE.bazel WORKSPACE WORKSPACE.bzlmod requirements_lock.txt
  LICENSE README.md CHANGELOG.md
  rules_tfjs tools/tfjs_converter tools/tfjs_runner tools/tfjs_server
)
if [[ -n "$(git status --porcelain -- "${shipped[@]}")" ]]; then
  echo "release: note: uncommitted changes are not in the archive, which is made from HEAD" >&2
fi
prefix="rules_tfjs-$version"
archive="$output_dir/$prefix.tar.gz"
mkdir -p "$output_dir"
# Tests stay out: they are run here, not by users. (tfjs_model_test.js is no
# test: it is the runner tfjs_model_test targets execute.)
mapfile -t files < <(git ls-files -- "${shipped[@]}" |
  grep -v -E '(^|/)(conftest\.py|[^/]*_test\.py)$' |
  grep -v -E '(^|/)[^/]*_test\.js$' ; git ls-files -- '*/tfjs_model_test.js')
git archive --format=tar --prefix="$prefix/" HEAD -- "${files[@]}" | gzip -n -9 > "$archive.tmp"
mv "$archive.tmp" "$archive"
sha256="$(sha256sum "$archive" | cut -d' ' -f1)"

cat <<SNIPPETS
$archive
sha256: $sha256

# WORKSPACE
http_archive(
    name = "rules_tfjs",
    sha256 = "$sha256",
    strip_prefix = "$prefix",
    urls = ["https://.../$prefix.tar.gz"],
)

# MODULE.bazel
bazel_dep(name = "rules_tfjs", version = "$version")
archive_override(
    module_name = "rules_tfjs",
    integrity = "sha256-$(python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$sha256")",
    strip_prefix = "$prefix",
    urls = ["https://.../$prefix.tar.gz"],
)
SNIPPETS
