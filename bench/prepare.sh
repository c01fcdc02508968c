# Sourced by the bench scripts. prepare_bench [TARGET...]: from the repository
# root, makes the machine ready, builds the converter environment (and any
# TARGET), sets output_base and shuts the server down, so that each bench
# starts with no Bazel server running.
prepare_bench() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  dev/setup_machine.sh bazel
  tools/bazel build @rules_tfjs_python//:python "$@"
  output_base="$(tools/bazel info output_base 2>/dev/null)"
  tools/bazel shutdown
}
