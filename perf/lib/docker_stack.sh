#!/usr/bin/env bash
# The contest stack in a Docker engine, as the official harness runs it: the processors first (the
# project's simulator under the contest's names, on the external `payment-processor` network), then
# `docker compose up --build` inside the submission directory, which holds the compose file and the
# files it mounts, and no source.
#
# Sourced by run-tests.sh after perf/lib/stack.sh (it uses stack_log, stack_die, STACK_* ports).
# Entry points:
#   docker_stack_init ROOT RUN_DIR PARTICIPANT   paths and names; call first
#   docker_stack_install                         an engine (perf/docker/engine.sh) if none answers
#   docker_stack_images BUILD                    images present (pulled or stood in), ours built
#                                                when BUILD is 1 (perf/docker/images.sh)
#   docker_stack_start                           submission directory, network, processors, stack
#   docker_stack_drivers FILE                    `service driver` lines from our containers' logs
#   docker_stack_usage_report FILE               peak memory, CPU seconds, throttled periods
#   docker_stack_redis_socket                    host path of the stack's Redis socket
#   docker_stack_cpu_dir SERVICE                 host path of a container's cpu cgroup directory
#   docker_stack_stop                            logs to RUN_DIR/logs/<service>.log, then down -v
# Globals it reads: RINHA_IMAGE (optional: the image name; default: the compose file's).

DOCKER_PROJECT=rinha
DOCKER_PROCESSORS_PROJECT=rinha-processors
DOCKER_NETWORK=payment-processor
DOCKER_START_STEPS=100 # 0.1 s each

docker_stack_init() { # root run_dir participant
  DOCKER_ROOT=$1
  DOCKER_RUN_DIR=$2
  DOCKER_SUBMISSION_DIR=$2/participantes/$3
  DOCKER_PROCESSORS_FILE=$DOCKER_ROOT/perf/docker/payment-processors.yml
  DOCKER_NETWORK_CREATED=0
  DOCKER_STARTED=0
  mkdir -p "$DOCKER_RUN_DIR/logs"
  # One name for our image everywhere: the compose file's default unless RINHA_IMAGE is set.
  if [[ -z ${RINHA_IMAGE:-} ]]; then
    # shellcheck disable=SC2016 # the pattern matches a literal ${RINHA_IMAGE:-...}
    RINHA_IMAGE=$(sed -n 's/.*image: \${RINHA_IMAGE:-\([^}]*\)}.*/\1/p' \
      "$DOCKER_ROOT/docker-compose.yml" | head -n 1)
    [[ -n $RINHA_IMAGE ]] || stack_die "docker-compose.yml names no \${RINHA_IMAGE:-...} image"
  fi
  export RINHA_IMAGE
}

docker_compose_stack() {
  docker compose -p "$DOCKER_PROJECT" --project-directory "$DOCKER_SUBMISSION_DIR" \
    -f "$DOCKER_SUBMISSION_DIR/docker-compose.yml" "$@"
}

docker_compose_processors() {
  docker compose -p "$DOCKER_PROCESSORS_PROJECT" -f "$DOCKER_PROCESSORS_FILE" "$@"
}

docker_stack_install() {
  bash "$DOCKER_ROOT/perf/docker/engine.sh" || stack_die "no Docker engine (perf/docker/engine.sh)"
}

docker_stack_images() { # build: 1 builds our image, 0 only checks that it exists
  if (($1 == 1)); then
    bash "$DOCKER_ROOT/perf/docker/images.sh" "$DOCKER_ROOT" "$RINHA_IMAGE" \
      "$DOCKER_ROOT/docker-compose.yml" "$DOCKER_PROCESSORS_FILE" ||
      stack_die "images are missing (perf/docker/images.sh)"
  else
    docker image inspect "$RINHA_IMAGE" >/dev/null 2>&1 ||
      stack_die "--no-build: no image $RINHA_IMAGE (run once without --no-build)"
  fi
}

docker_wait_http() { # what url
  local step
  for ((step = 0; step < DOCKER_START_STEPS; step++)); do
    curl -sf -o /dev/null --max-time 1 "$2" && return 0
    sleep 0.1
  done
  stack_die "$1 does not answer on $2 after $((DOCKER_START_STEPS / 10)) s"
}

docker_stack_start() {
  local port
  for port in "$STACK_DEFAULT_PORT" "$STACK_FALLBACK_PORT" 9999; do
    stack_port_free "$port" || stack_die "port $port is already in use (ss -ltnp 'sport = :$port')"
  done
  python3 "$DOCKER_ROOT/perf/lib/submission.py" "$DOCKER_ROOT" "$DOCKER_SUBMISSION_DIR" \
    >"$DOCKER_RUN_DIR/logs/submission.log" || stack_die "cannot lay out the submission directory"
  stack_log "submission directory $DOCKER_SUBMISSION_DIR:" \
    "$(sed 's/^submission: //' "$DOCKER_RUN_DIR/logs/submission.log" | tr '\n' ' ')"
  if ! docker network inspect "$DOCKER_NETWORK" >/dev/null 2>&1; then
    docker network create "$DOCKER_NETWORK" >/dev/null || stack_die "cannot create $DOCKER_NETWORK"
    DOCKER_NETWORK_CREATED=1
  fi
  DOCKER_STARTED=1
  stack_log "processors: $RINHA_IMAGE rinha-processor-sim on $DOCKER_NETWORK" \
    "(fees $DEFAULT_FEE / $FALLBACK_FEE;" \
    "admin on 127.0.0.1:$STACK_DEFAULT_PORT and :$STACK_FALLBACK_PORT)"
  docker_compose_processors up -d >"$DOCKER_RUN_DIR/logs/compose-processors.log" 2>&1 || {
    tail -n 20 "$DOCKER_RUN_DIR/logs/compose-processors.log" >&2
    stack_die "the processors did not start"
  }
  docker_wait_http payment-processor-default \
    "http://127.0.0.1:$STACK_DEFAULT_PORT/payments/service-health"
  docker_wait_http payment-processor-fallback \
    "http://127.0.0.1:$STACK_FALLBACK_PORT/payments/service-health"
  stack_log "stack: docker compose up --build in the submission directory"
  (cd "$DOCKER_SUBMISSION_DIR" && docker_compose_stack up -d --build) \
    >"$DOCKER_RUN_DIR/logs/compose-up.log" 2>&1 || {
    tail -n 20 "$DOCKER_RUN_DIR/logs/compose-up.log" >&2
    stack_die "docker compose up failed (see $DOCKER_RUN_DIR/logs/compose-up.log)"
  }
}

docker_stack_services() { # the stack's services, one per line
  docker_compose_stack config --services 2>/dev/null
}

docker_container_id() { # project service
  local compose=docker_compose_stack
  [[ $1 == "$DOCKER_PROCESSORS_PROJECT" ]] && compose=docker_compose_processors
  "$compose" ps -q "$2" 2>/dev/null | head -n 1
}

# `service driver` for each of our containers (those that log driver=...), after a short wait for
# the start-up lines. A container that logged nothing gets `unknown`.
docker_stack_drivers() { # file
  local file=$1 service id
  : >"$file"
  for service in $(docker_stack_services); do
    id=$(docker_container_id "$DOCKER_PROJECT" "$service")
    [[ -n $id ]] || continue
    [[ $(docker inspect -f '{{.Config.Image}}' "$id") == "$RINHA_IMAGE" ]] || continue
    printf '%s %s\n' "$service" "$(stack_driver_in_log docker logs "$id")" >>"$file"
  done
}

# A container's cgroup directory for one controller, from its init process's /proc/PID/cgroup:
# cgroup v1 (`N:cpu,cpuacct:/docker/ID`) and v2 (`0::/system.slice/docker-ID.scope`) alike.
docker_cgroup_dir() { # container_id controller
  local pid line path
  pid=$(docker inspect -f '{{.State.Pid}}' "$1" 2>/dev/null) || return 1
  [[ $pid != 0 && -r /proc/$pid/cgroup ]] || return 1
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    path=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
    printf '/sys/fs/cgroup%s\n' "$path"
    return 0
  fi
  while IFS=: read -r _ controllers path; do
    case ",$controllers," in
      *",$2,"*)
        # cpu and cpuacct may be one mount (cpu,cpuacct) with symlinks, or two.
        for line in "/sys/fs/cgroup/$2" "/sys/fs/cgroup/$controllers"; do
          [[ -d $line$path ]] && { printf '%s%s\n' "$line" "$path"; return 0; }
        done
        ;;
    esac
  done <"/proc/$pid/cgroup"
  return 1
}

docker_stack_cpu_dir() { # service -> its container's cpu cgroup directory
  local id
  id=$(docker_container_id "$DOCKER_PROJECT" "$1") && [[ -n $id ]] && docker_cgroup_dir "$id" cpu
}

docker_stack_redis_socket() { # the sockets volume is a tmpfs the engine mounts on the host
  local mountpoint
  mountpoint=$(docker volume inspect -f '{{.Mountpoint}}' "${DOCKER_PROJECT}_sockets" \
    2>/dev/null) || return 1
  printf '%s/redis.sock\n' "$mountpoint"
}

# One row per container: peak memory, its limit, CPU seconds, CPU limit, throttled/total periods;
# the same table as stack_usage_report's.
docker_usage_row() { # label container_id
  local memory cpu cpuacct peak limit cpu_ns quota period
  memory=$(docker_cgroup_dir "$2" memory) || return 0
  cpu=$(docker_cgroup_dir "$2" cpu) || return 0
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    peak=$(cat "$memory/memory.peak" 2>/dev/null || echo 0)
    limit=$(<"$memory/memory.max")
    [[ $limit == max ]] && limit=$((1 << 62))
    cpu_ns=$(($(awk '$1 == "usage_usec" { print $2 }' "$cpu/cpu.stat") * 1000))
    read -r quota period <"$cpu/cpu.max"
    [[ $quota == max ]] && quota=-1
  else
    cpuacct=$(docker_cgroup_dir "$2" cpuacct) || return 0
    peak=$(<"$memory/memory.max_usage_in_bytes")
    limit=$(<"$memory/memory.limit_in_bytes")
    cpu_ns=$(<"$cpuacct/cpuacct.usage")
    quota=$(<"$cpu/cpu.cfs_quota_us")
    period=$(<"$cpu/cpu.cfs_period_us")
  fi
  stack_usage_row "$1" "$peak" "$limit" "$cpu_ns" "$quota" "$period" \
    "$(stack_throttled "$cpu/cpu.stat")"
}

docker_stack_usage_report() { # file: a table, also printed
  local file=$1 service id
  {
    stack_usage_header
    for service in $(docker_stack_services); do
      id=$(docker_container_id "$DOCKER_PROJECT" "$service")
      [[ -z $id ]] || docker_usage_row "$service" "$id"
    done
    for service in payment-processor-default payment-processor-fallback; do
      id=$(docker_container_id "$DOCKER_PROCESSORS_PROJECT" "$service")
      [[ -z $id ]] || docker_usage_row "${service/payment-processor-/sim-}" "$id"
    done
    docker_proxy_rows
  } | tee "$file"
}

# The engine's userland proxies of the published ports (k6 reaches 127.0.0.1:9999 through one):
# host processes outside every container's cgroup, so their CPU is shown apart (peak memory from
# VmHWM). The contest machine pays the same, since its k6 also runs on the host.
docker_proxy_rows() {
  local pid port ticks
  ticks=$(getconf CLK_TCK)
  for pid in $(pgrep -x docker-proxy); do
    port=$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed -n 's/.*-host-port \([0-9]*\).*/\1/p')
    awk -v s="proxy:$port" -v t="$ticks" -v h="$(awk '$1 == "VmHWM:" { print $2 }' \
      "/proc/$pid/status")" '{ printf "%-13s %9.1f %10s %8.2f %10s %14s\n", s, h / 1024, "-",
      ($14 + $15) / t, "-", "-" }' "/proc/$pid/stat" 2>/dev/null || true
  done
}

# Idempotent; safe from a trap at any point of the start-up.
docker_stack_stop() {
  local service id
  ((DOCKER_STARTED == 1)) || return 0
  DOCKER_STARTED=0
  # docker logs, not compose logs: the latter writes terminal escapes into the file.
  for service in $(docker_stack_services); do
    id=$(docker_container_id "$DOCKER_PROJECT" "$service")
    [[ -z $id ]] || docker logs "$id" >"$DOCKER_RUN_DIR/logs/$service.log" 2>&1 || true
  done
  for service in payment-processor-default payment-processor-fallback; do
    id=$(docker_container_id "$DOCKER_PROCESSORS_PROJECT" "$service")
    [[ -z $id ]] ||
      docker logs "$id" >"$DOCKER_RUN_DIR/logs/${service/payment-processor-/sim-}.log" 2>&1 || true
  done
  docker_compose_stack down -v --remove-orphans >>"$DOCKER_RUN_DIR/logs/compose-down.log" 2>&1 ||
    true
  docker_compose_processors down -v --remove-orphans \
    >>"$DOCKER_RUN_DIR/logs/compose-down.log" 2>&1 || true
  if ((DOCKER_NETWORK_CREATED == 1)); then
    docker network rm "$DOCKER_NETWORK" >/dev/null 2>&1 || true
  fi
}
