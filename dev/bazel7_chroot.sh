#!/usr/bin/env bash
# Bazel 7.7.1 (Debian sid's bazel-bootstrap) in a Debian sid chroot, to build
# rules_tfjs with a newer Bazel on a Debian 12 machine that reaches only
# Debian's archive and PyPI. Run as root.
#
#   dev/bazel7_chroot.sh setup                       create or refresh the chroot
#   dev/bazel7_chroot.sh run <workspace> <command...>
#                                                      run a command in it, in
#                                                      <workspace> (set up first
#                                                      if need be)
#   dev/bazel7_chroot.sh check                       exit 1 if anything is
#                                                      mounted under the chroot
#
# for example
#
#   dev/bazel7_chroot.sh run "$PWD" bazel build --config=bazel7_workspace //models:wake_tfjs
#   dev/bazel7_chroot.sh run "$PWD" bazel build --config=bazel7_bzlmod //models:wake_tfjs
#
# Environment:
#   RULES_TFJS_BAZEL7_CHROOT  the chroot (default /var/tmp/rules_tfjs_bazel7)
#   RULES_TFJS_BAZEL7_MIRROR  Debian mirror (default: the host's apt source)
#   RULES_TFJS_BAZEL7_ENV_CACHE
#       link (default): before each run, hard-link the host's converter
#         environments (~/.cache/rules_tfjs/environments) into the chroot's
#         cache, so a build there reuses them at no cost;
#       bind: bind-mount the host's cache read-write instead (the environment
#         is then copied, not linked, into each output base: link() fails
#         across mount points with EXDEV);
#       none: the chroot keeps its own cache, created by pip.
#
# Inside, sid's /usr/bin/bazel is the Bazel 7.7.1 client itself, not a
# wrapper: it reads neither .bazelversion nor tools/bazel. The Bazel 4 leg's
# stand-ins reach it only through the workspace's .bazelrc.offline (written by
# tools/bazel for the host's Bazel 4 and try-imported by .bazelrc): in the
# run's namespace that file, if present, is hidden under /dev/null. The
# chroot's /etc/bazel.bazelrc (try-imported by Debian's /etc/bazel/bazelrc)
# defines --config=bazel7_workspace and --config=bazel7_bzlmod.
#
# Each run gets its own mount namespace (unshare): its mounts (workspace at the
# same absolute path, /root/.pyenv read-only, ~/.cache/pip, /dev, a fresh tmpfs
# on /dev/shm, /proc) are invisible outside it and vanish with it, even if the
# script is killed. The command runs in its own process group: INT, TERM and
# HUP sent to the script are passed on to all of it. When it ends, the script
# runs `bazel shutdown` in the workspace and unmounts everything, and exits
# with the command's status.
#
# Concurrent runs are safe. Each has its own namespace; they share the chroot
# under a shared lock (setup takes it exclusively, so it waits for them). Runs
# in one workspace share its output base, and Bazel's client lock serializes
# their commands; a Bazel server started in another run's namespace is
# restarted by Bazel's client ("Server's cwd moved or deleted"), never in the
# middle of a command. Only the last of them to end shuts the server down and
# unmounts; one ending earlier leaves its mounts, seen by no one else, to
# vanish with its server.
set -euo pipefail

self="$(readlink -f "${BASH_SOURCE[0]}")"
chroot_dir="${RULES_TFJS_BAZEL7_CHROOT:-/var/tmp/rules_tfjs_bazel7}"
chroot_dir="${chroot_dir%/}"
env_cache_mode="${RULES_TFJS_BAZEL7_ENV_CACHE:-link}"
host_env_cache="${RULES_TFJS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rules_tfjs/environments}"
stamp="$chroot_dir/.rules_tfjs_bazel7_ready"
lock="$chroot_dir.lock"
stand_ins=/usr/local/share/rules_tfjs_bazel7/modules # inside the chroot
rc_fragment=/etc/bazel.bazelrc                      # inside the chroot; Debian's
# /etc/bazel/bazelrc try-imports it
# bazel-bootstrap brings Bazel, OpenJDK and Debian's copies of the rules;
# nodejs and npm run tfjs_model_test (libnss3 for its pinned Chromium, which
# comes from the npm lock); the libraries are those pyenv's Python 3.11
# (bind-mounted) links against.
packages=(
  bazel-bootstrap ca-certificates nodejs npm libnss3
  libbz2-1.0 libexpat1 libffi8 liblzma5 libncursesw6 libnsl2 libreadline8t64
  libsqlite3-0 libssl3t64 libuuid1 zlib1g
)

log() { echo "bazel7_chroot: $*" >&2; }
die() {
  log "$*"
  exit 1
}

mounts_under() {
  # Mount points under the chroot in this mount namespace, deepest first.
  findmnt -rn -o TARGET | awk -v d="$chroot_dir" 'index($0, d "/") == 1 || $0 == d' | sort -r
}

mirror() {
  if [[ -n ${RULES_TFJS_BAZEL7_MIRROR:-} ]]; then
    echo "$RULES_TFJS_BAZEL7_MIRROR"
    return
  fi
  local uri
  uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  [[ -n $uri ]] || uri="$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

in_chroot() { # [--exec] command...: runs command in the chroot, with a clean environment
  local exec=()
  if [[ $1 == --exec ]]; then
    exec=(exec)
    shift
  fi
  # --default-signal: see run_inside.
  "${exec[@]}" chroot "$chroot_dir" /usr/bin/env -i --default-signal=INT,QUIT HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

write_file() { # path content: writes only on change, atomically
  if ! printf '%s' "$2" | cmp -s - "$1" 2>/dev/null; then
    mkdir -p "$(dirname "$1")"
    printf '%s' "$2" > "$1.tmp.$$"
    mv "$1.tmp.$$" "$1"
  fi
}

# --- setup -------------------------------------------------------------------

bootstrap() { # runs in a private mount namespace: debootstrap's mounts end with it
  local partial="$chroot_dir.partial"
  [[ -z "$(findmnt -rn -o TARGET | awk -v d="$partial" 'index($0, d) == 1')" ]] ||
    die "something is mounted under $partial; unmount it first"
  rm -rf "$partial"
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
  fi
  log "debootstrap sid into $partial from $(mirror)"
  debootstrap --variant=minbase sid "$partial" "$(mirror)" >&2
  mv -T "$partial" "$chroot_dir"
}

configure() { # runs in a private mount namespace
  [[ -z "$(mounts_under)" ]] || die "something is mounted under $chroot_dir: $(mounts_under | tr '\n' ' ')"
  # The mirror is a frozen snapshot: its Release files have expired.
  write_file "$chroot_dir/etc/apt/apt.conf.d/99novalid" 'Acquire::Check-Valid-Until "false";'$'\n'
  write_file "$chroot_dir/usr/sbin/policy-rc.d" $'#!/bin/sh\nexit 101\n'
  chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
  mount -t proc proc "$chroot_dir/proc"
  mount --bind /dev "$chroot_dir/dev"
  trap 'umount "$chroot_dir/dev" "$chroot_dir/proc" 2>/dev/null || true' EXIT
  log "apt-get update; installing ${packages[*]}"
  in_chroot apt-get update -q >&2
  in_chroot apt-get -y -q --no-install-recommends -o Dpkg::Options::=--force-confold dist-upgrade >&2
  in_chroot apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "${packages[@]}" >&2
  in_chroot apt-get clean
  umount "$chroot_dir/dev" "$chroot_dir/proc"
  trap - EXIT

  # Bazel 7's own MODULE.bazel (@bazel_tools) depends on these; Debian does
  # not package them, and rules_tfjs needs none of them.
  local module
  for module in apple_support buildozer protobuf zlib; do
    write_file "$chroot_dir$stand_ins/$module/MODULE.bazel" "module(name = \"$module\")
"
    write_file "$chroot_dir$stand_ins/$module/BUILD.bazel" ""
  done

  grep -qxF "try-import $rc_fragment" "$chroot_dir/etc/bazel/bazelrc" ||
    die "the chroot's /etc/bazel/bazelrc no longer imports $rc_fragment"
  write_file "$chroot_dir$rc_fragment" "$(rc_fragment)"$'\n'
  date -u +%FT%TZ > "$stamp"
}

rc_fragment() {
  local module
  cat <<EOF
# Written by rules_tfjs's dev/bazel7_chroot.sh; Debian's /etc/bazel/bazelrc
# try-imports it.
# Debian's /etc/bazel/bazelrc points bzlmod at Debian's copies of platforms,
# rules_cc, rules_java, rules_python, rules_proto, rules_license, bazel_skylib
# and bazel_features (--override_module).

# The workspace is shared with the host's Bazel 4: keep out of its
# convenience symlinks (bazel-bin, ...; git ignores /bazel-*), and have
# bazel-7-* point where nothing is on the host (the chroot's /root/.cache/bazel
# would be, under the same output base name, the host's Bazel 4 output base).
startup --output_user_root=/var/cache/bazel7
build:bazel7_workspace --symlink_prefix=bazel-7-
build:bazel7_bzlmod --symlink_prefix=bazel-7-

# WORKSPACE mode: Bazel 7's WORKSPACE suffix would download these.
common:bazel7_workspace --noenable_bzlmod
common:bazel7_workspace --override_repository=rules_cc=/usr/share/bazel/rules/cc
common:bazel7_workspace --override_repository=bazel_skylib=/usr/share/bazel/tools/skylib
common:bazel7_workspace --override_repository=rules_python=/usr/share/bazel/rules/python

# bzlmod mode, offline: Bazel's own dependencies that Debian does not package
# are empty stand-ins; the lock file would record them, so none is written.
common:bazel7_bzlmod --enable_bzlmod
common:bazel7_bzlmod --noenable_workspace
common:bazel7_bzlmod --lockfile_mode=off
EOF
  for module in apple_support buildozer protobuf zlib; do
    echo "common:bazel7_bzlmod --override_module=$module=$stand_ins/$module"
  done
}

setup() {
  [[ $(id -u) -eq 0 ]] || die "run as root"
  mkdir -p "$(dirname "$chroot_dir")"
  exec 9> "$lock"
  flock 9 # exclusive: waits for runs and other setups
  local start=$SECONDS
  if [[ ! -x $chroot_dir/usr/bin/apt-get ]]; then
    [[ ! -e $chroot_dir ]] || rmdir "$chroot_dir" 2>/dev/null ||
      die "$chroot_dir exists but is no chroot; remove it or choose another RULES_TFJS_BAZEL7_CHROOT"
    unshare --mount --propagation private -- "$BASH" "$self" _bootstrap
  fi
  unshare --mount --propagation private -- "$BASH" "$self" _configure
  log "chroot $chroot_dir ready ($((SECONDS - start)) s)"
  exec 9>&-
}

# --- run ---------------------------------------------------------------------

link_environments() {
  # Hard-links complete host environments into the chroot's cache, on the
  # host side where both are one file system (inside the chroot they would be
  # on different mounts). The environments are never modified in place.
  local cache="$chroot_dir/root/.cache/rules_tfjs/environments" entry key partial
  [[ -d $host_env_cache ]] || return 0
  [[ "$(stat -c %d "$host_env_cache")" == "$(stat -c %d "$chroot_dir")" ]] || {
    log "$host_env_cache is on another file system than the chroot; not linking it"
    return 0
  }
  mkdir -p "$cache"
  find "$cache" -maxdepth 1 -name '.linking-*' -mmin +60 -exec rm -rf {} +
  for entry in "$host_env_cache"/*/; do
    key="$(basename "$entry")"
    [[ $key != .* && -f $entry/env.sha256 && ! -e $cache/$key ]] || continue
    partial="$(mktemp -d "$cache/.linking-XXXXXX")"
    cp -al "$entry/." "$partial"
    # Renaming onto a directory another run finished first fails: keep that.
    mv -T "$partial" "$cache/$key" 2>/dev/null || rm -rf "$partial"
  done
}

run_inside() { # runs in a private mount namespace; fd 8: the workspace's lock
  local workspace="$1"
  shift
  local mounted=() child="" status=0
  bind() { # source target [ro]
    if [[ -d $1 ]]; then mkdir -p "$2"; fi
    mount --bind "$1" "$2"
    mounted=("$2" "${mounted[@]}")
    if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2"; fi
  }
  cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    if [[ -n $child ]]; then # a signal cut the wait short: let the command end
      while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
    fi
    # Only the last run in this workspace shuts its Bazel server down and
    # unmounts: a server whose workspace is unmounted would fail the other
    # run's commands. (A failed conversion from shared to exclusive leaves no
    # lock, so of two runs ending together one always gets it.)
    if flock -xn 8; then
      if [[ -x $chroot_dir/usr/bin/bazel && -d $chroot_dir$workspace ]]; then
        in_chroot sh -c 'cd "$1" && exec bazel shutdown' sh "$workspace" >&2 8>&- 9>&- ||
          log "bazel shutdown failed"
      fi
      local target
      for target in "${mounted[@]}"; do
        umount "$target" 2>/dev/null || umount -l "$target" || log "cannot unmount $target"
      done
    else
      log "another run is using $workspace: leaving the Bazel server and this run's mounts to it"
    fi
    exit "$status"
  }
  trap cleanup EXIT

  mount -t proc proc "$chroot_dir/proc"
  mounted=("$chroot_dir/proc")
  bind /dev "$chroot_dir/dev"
  # A plain bind of /dev lacks the /dev/shm mount: give the chroot its own
  # tmpfs (the workspace's .bazelrc sets --sandbox_base=/dev/shm).
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$chroot_dir/dev/shm"
  mounted=("$chroot_dir/dev/shm" "${mounted[@]}")
  bind "$workspace" "$chroot_dir$workspace"
  # The host's Bazel 4 stand-ins (written by tools/bazel), not for Bazel 7.
  if [[ -f $workspace/.bazelrc.offline ]]; then bind /dev/null "$chroot_dir$workspace/.bazelrc.offline"; fi
  if [[ -d /root/.pyenv ]]; then bind /root/.pyenv "$chroot_dir/root/.pyenv" ro; fi
  mkdir -p /root/.cache/pip
  bind /root/.cache/pip "$chroot_dir/root/.cache/pip"
  if [[ $env_cache_mode == bind && -d $host_env_cache ]]; then
    bind "$host_env_cache" "$chroot_dir/root/.cache/rules_tfjs/environments"
  fi
  cp -L /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
  # The host's trust store: where TLS to the registries goes through a proxy
  # with its own certificate authority, the chroot must trust it too.
  cp -L /etc/ssl/certs/ca-certificates.crt "$chroot_dir/etc/ssl/certs/ca-certificates.crt"

  # In the background, in a process group of its own, so that a signal to
  # this script reaches the whole command at once (bash runs traps only
  # between commands); --default-signal undoes the SIGINT ignore bash gives
  # background commands. The locks stay with this shell: a Bazel server
  # started by the command must not hold them.
  in_chroot --exec TERM="${TERM:-dumb}" \
    ${RULES_TFJS_PYTHON:+RULES_TFJS_PYTHON="$RULES_TFJS_PYTHON"} \
    setsid sh -c 'cd "$1" && shift && exec "$@"' sh "$workspace" "$@" <&0 8>&- 9>&- &
  child=$!
  trap 'kill -INT -- -"$child" 2>/dev/null || true' INT
  trap 'kill -TERM -- -"$child" 2>/dev/null || true' TERM HUP
  while kill -0 "$child" 2>/dev/null; do
    status=0
    wait "$child" || status=$?
  done
  child=""
  exit "$status"
}

run() {
  [[ $(id -u) -eq 0 ]] || die "run as root"
  [[ $# -ge 2 ]] || die "usage: $0 run <workspace> <command...>"
  local workspace
  workspace="$(cd "$1" && pwd -P)" || die "no directory $1"
  shift
  [[ $workspace != / && $workspace != "$chroot_dir" && $workspace != "$chroot_dir"/* ]] ||
    die "the workspace must not be / or inside the chroot"
  [[ -f $stamp ]] || setup
  exec 9> "$lock"
  flock -s 9 # shared: runs go together; setup waits for them
  [[ -f $stamp ]] || die "$chroot_dir is not set up; run: $0 setup"
  local workspace_locks="$chroot_dir/var/lib/rules_tfjs_bazel7/workspaces"
  mkdir -p "$workspace_locks"
  exec 8> "$workspace_locks/$(printf '%s' "$workspace" | sha256sum | cut -c1-16).lock"
  flock -s 8 # shared by the runs in this workspace; see cleanup
  case $env_cache_mode in
    link) link_environments ;;
    bind | none) ;;
    *) die "RULES_TFJS_BAZEL7_ENV_CACHE must be link, bind or none, not $env_cache_mode" ;;
  esac
  exec unshare --mount --propagation private -- "$BASH" "$self" _run "$workspace" "$@"
}

case "${1:-}" in
  setup) setup ;;
  run)
    shift
    run "$@"
    ;;
  check)
    if [[ -n "$(mounts_under)" ]]; then
      mounts_under
      exit 1
    fi
    ;;
  _bootstrap) bootstrap ;;
  _configure) configure ;;
  _run)
    shift
    run_inside "$@"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$self" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
