#!/usr/bin/env bash
# Make a Docker engine answer on this machine, with the compose and buildx plugins. Idempotent.
#
# Usage: perf/docker/engine.sh [--check]
#   --check   only report whether an engine answers and the plugins are there (exit 0 or 1)
#
# What it does, in order, stopping at the first step that is enough:
#   1. `docker info` answers and `docker compose` and `docker buildx` work: nothing to do. A user's
#      own Docker installation (Docker Desktop, docker-ce, rootless) is never modified.
#   2. dockerd is installed but not running (no systemd here): start it in the background, its
#      log in /var/log/rinha-dockerd.log, and wait until `docker info` answers.
#   3. No engine at all, on Debian 12 as root: install one. Debian 12's own docker.io is 20.10 and
#      it has no compose v2, so the engine, compose and buildx come from Debian 13 (trixie), whose
#      .deb files install on Debian 12 (they need libc6 >= 2.34 and Debian 12's containerd, runc and
#      tini). apt-get downloads them through a private configuration (its own sources file, lists
#      and cache under /var/cache/rinha-docker-apt), so the system's apt sources are not touched.
#      The Docker CLI is installed from trixie too when no `docker` client is on PATH.
# Anything else (not root, not Debian, an engine that refuses) stops with a message saying what to
# install by hand.
set -euo pipefail

ENGINE_LOG=/var/log/rinha-dockerd.log
ENGINE_READY_STEPS=150 # 0.2 s each: 30 s
PRIVATE_APT=/var/cache/rinha-docker-apt
TRIXIE_PACKAGES=(docker.io docker-compose docker-buildx)
BOOKWORM_PACKAGES=(containerd runc tini iptables adduser ca-certificates)

engine_log() {
  printf '[docker-engine %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

engine_die() {
  engine_log "ERROR: $*"
  exit 1
}

engine_answers() {
  docker info >/dev/null 2>&1
}

plugins_present() {
  docker compose version >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1
}

# The private apt configuration: Debian 13's main suite, nothing else, in its own directories.
private_apt() { # apt-get|apt-cache arguments...
  local tool=$1
  shift
  "$tool" -o Dir::Etc::SourceList="$PRIVATE_APT/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$PRIVATE_APT/lists" -o Dir::Cache="$PRIVATE_APT/cache" \
    -o Debug::NoLocking=true "$@"
}

install_engine() {
  [[ $(id -u) == 0 ]] || engine_die "no Docker engine, and installing one needs root"
  [[ -r /etc/debian_version ]] ||
    engine_die "no Docker engine, and this is not Debian: install Docker 25+ with compose v2"
  command -v apt-get >/dev/null || engine_die "no apt-get to install a Docker engine with"
  local packages=("${TRIXIE_PACKAGES[@]}") debs=()
  command -v docker >/dev/null || packages+=(docker-cli)
  engine_log "installing ${BOOKWORM_PACKAGES[*]} from this system's apt sources"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${BOOKWORM_PACKAGES[@]}" >/dev/null
  engine_log "downloading ${packages[*]} from Debian 13 through $PRIVATE_APT"
  mkdir -p "$PRIVATE_APT/lists/partial" "$PRIVATE_APT/cache/archives/partial"
  echo 'deb http://deb.debian.org/debian trixie main' >"$PRIVATE_APT/sources.list"
  private_apt apt-get update -qq
  rm -f "$PRIVATE_APT"/debs/*.deb
  mkdir -p "$PRIVATE_APT/debs"
  (cd "$PRIVATE_APT/debs" && private_apt apt-get download -qq "${packages[@]}") 2>&1 |
    grep -v 'unsandboxed' >&2 || true
  debs=("$PRIVATE_APT"/debs/*.deb)
  ((${#debs[@]} == ${#packages[@]})) ||
    engine_die "downloaded ${#debs[@]} of ${#packages[@]} packages"
  engine_log "installing ${debs[*]##*/}"
  dpkg -i "${debs[@]}" >"$PRIVATE_APT/dpkg.log" 2>&1 ||
    engine_die "dpkg -i failed, see $PRIVATE_APT/dpkg.log"
}

start_engine() {
  local step
  command -v dockerd >/dev/null || engine_die "dockerd is not installed"
  engine_log "starting dockerd in the background (log: $ENGINE_LOG)"
  # setsid: the engine outlives the shell that started it, as a service would. It must not inherit
  # any other descriptor either: a lock file the caller holds (flock) would stay held by dockerd.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
    done
    exec setsid dockerd >>"$ENGINE_LOG" 2>&1 </dev/null
  ) &
  for ((step = 0; step < ENGINE_READY_STEPS; step++)); do
    engine_answers && return 0
    sleep 0.2
  done
  tail -n 20 "$ENGINE_LOG" >&2 || true
  engine_die "dockerd started but docker info does not answer after $((ENGINE_READY_STEPS / 5)) s"
}

main() {
  if [[ ${1:-} == --check ]]; then
    engine_answers && plugins_present
    return
  fi
  if engine_answers && plugins_present; then
    return 0
  fi
  # An engine this script did not install is never modified: say what it lacks instead.
  if engine_answers && [[ ! -f $PRIVATE_APT/dpkg.log ]]; then
    engine_die "a Docker engine answers but docker compose v2 or buildx is missing: install them"
  fi
  if ! command -v dockerd >/dev/null || ! plugins_present; then
    install_engine
  fi
  engine_answers || start_engine
  plugins_present || engine_die "the engine runs but docker compose or buildx is missing"
  engine_log "engine ready:" \
    "$(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}')," \
    "compose $(docker compose version --short 2>/dev/null)"
}

main "$@"
