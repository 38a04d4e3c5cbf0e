#!/usr/bin/env bash
# Every image the Docker stack names, present in the local engine: pulled where a registry
# answers, built as a local stand-in under the same name where none does; then our own image.
#
# Usage: perf/docker/images.sh ROOT IMAGE COMPOSE_FILE...
#   ROOT          the repository (its Dockerfile is built)
#   IMAGE         the name our image is tagged with (the name docker-compose.yml gives it)
#   COMPOSE_FILE  compose files whose images must exist (ours is skipped: it is built)
#
# The images named are the Dockerfile's FROM lines (rust:1-slim-bookworm, debian:bookworm-slim)
# and the compose files' services (redis:7-bookworm, nginx:1.27-bookworm). For each one, in order:
#   1. present locally: used as it is (a user's own images are never replaced);
#   2. `docker pull` succeeds: used;
#   3. otherwise a stand-in is built under the same name from Debian's packages (stand-ins/):
#        debian:bookworm-slim   debootstrap --variant=minbase bookworm, trimmed, docker import
#        rust:1-slim-bookworm   the host's rustup toolchain on that base (stand-ins/rust.Dockerfile)
#        redis:*, nginx:*       Debian's redis-server and nginx on that base
#      Each stand-in carries the label org.rinha-rs.stand-in saying what it is.
# Stand-ins are for test machines cut off from every registry; the contest machine pulls the
# public images. A BuildKit cache keeps cargo's registry and target directory between builds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STAND_INS=$HERE/stand-ins
PULL_TIMEOUT_S=120
DEBIAN_MIRROR=${RINHA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
STAND_IN_LABEL=org.rinha-rs.stand-in

images_log() {
  printf '[docker-images %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

images_die() {
  images_log "ERROR: $*"
  exit 1
}

image_present() {
  docker image inspect "$1" >/dev/null 2>&1
}

# debian:bookworm-slim from Debian's own mirror: a minbase debootstrap, trimmed the way the
# official slim image is (no docs, man pages, locales or apt lists), with the official image's
# policy-rc.d so that packages installed in later builds do not try to start their services.
stand_in_debian() { # name
  local name=$1 rootfs
  command -v debootstrap >/dev/null || {
    images_log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
      >/dev/null || images_die "apt-get install debootstrap failed"
  }
  rootfs=$(mktemp -d /tmp/rinha-rootfs.XXXXXX)
  images_log "$name: debootstrap --variant=minbase bookworm ($DEBIAN_MIRROR)"
  debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2
    images_die "debootstrap failed"
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/etc/apt/sources.list
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  # Later layers skip documentation, as in the official slim image.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-exclude /usr/share/man/*' \
    'path-exclude /usr/share/locale/*' >"$rootfs/etc/dpkg/dpkg.cfg.d/rinha-slim"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL $STAND_IN_LABEL=\"debootstrap minbase bookworm\"" \
    --change 'CMD ["bash"]' - "$name" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
}

stand_in_rust() { # name
  local sysroot certificates
  ensure_image debian:bookworm-slim
  sysroot=$(rustc --print sysroot 2>/dev/null) || images_die "$1: no host Rust toolchain to use"
  certificates=$(mktemp -d /tmp/rinha-certificates.XXXXXX)
  cp /usr/local/share/ca-certificates/*.crt "$certificates/" 2>/dev/null || true
  images_log "$1: the host toolchain $sysroot on debian:bookworm-slim"
  docker build -q -t "$1" -f "$STAND_INS/rust.Dockerfile" --build-context "toolchain=$sysroot" \
    --build-context "certificates=$certificates" "$STAND_INS" >/dev/null ||
    images_die "$1: stand-in build failed"
  rm -rf "$certificates"
}

stand_in_package() { # name dockerfile
  ensure_image debian:bookworm-slim
  images_log "$1: Debian's package on debian:bookworm-slim ($2)"
  docker build -q -t "$1" -f "$STAND_INS/$2" "$STAND_INS" >/dev/null ||
    images_die "$1: stand-in build failed"
}

ensure_image() { # name
  local name=$1
  image_present "$name" && return 0
  if timeout "$PULL_TIMEOUT_S" docker pull -q "$name" >/dev/null 2>&1; then
    images_log "$name: pulled"
    return 0
  fi
  images_log "$name: not present and cannot be pulled; building a local stand-in"
  case $name in
    debian:bookworm* | docker.io/library/debian:bookworm*) stand_in_debian "$name" ;;
    rust:*bookworm* | docker.io/library/rust:*bookworm*) stand_in_rust "$name" ;;
    redis:* | docker.io/library/redis:*) stand_in_package "$name" redis.Dockerfile ;;
    nginx:* | docker.io/library/nginx:*) stand_in_package "$name" nginx.Dockerfile ;;
    *) images_die "$name cannot be pulled and no stand-in is known for it" ;;
  esac
  image_present "$name" || images_die "$name: still missing after its stand-in build"
}

# The base images of the Dockerfile, in the order they appear (stage names are skipped).
dockerfile_bases() { # Dockerfile
  awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' \
    "$1" | while read -r base; do
    grep -qiE "^FROM .* AS $base\$" "$1" || printf '%s\n' "$base"
  done
}

main() {
  (($# >= 2)) || images_die "usage: images.sh ROOT IMAGE COMPOSE_FILE..."
  local root=$1 image=$2 name started
  shift 2
  local names=()
  mapfile -t names < <({
    dockerfile_bases "$root/Dockerfile"
    for compose in "$@"; do docker compose -f "$compose" config --images 2>/dev/null; done
  } | awk '!seen[$0]++')
  for name in "${names[@]}"; do
    [[ $name == "$image" ]] || ensure_image "$name"
  done
  started=$SECONDS
  images_log "building $image from $root/Dockerfile"
  DOCKER_BUILDKIT=1 docker build -q -t "$image" "$root" >/dev/null ||
    images_die "docker build of $image failed (rerun: docker build -t $image $root)"
  images_log "$image built in $((SECONDS - started)) s"
  for name in "${names[@]}"; do
    [[ $name != "$image" ]] || continue
    if [[ -n $(docker image inspect -f "{{index .Config.Labels \"$STAND_IN_LABEL\"}}" "$name" \
      2>/dev/null) ]]; then
      images_log "$name is a local stand-in"
    fi
  done
}

main "$@"
