#!/usr/bin/env bash
# Fault suite: each case starts the native stack of docker-compose.yml (perf/lib/stack.sh, every
# service supervised as the compose `restart:` policy), puts it under a steady load with the
# 250 ms consistency audit (perf/k6/faults.js), injects one fault, waits for the drain, and prints
# accepted, recorded by the processors, lost, paid twice, paid though refused, failed POSTs, audit
# differences among answered audits, p99 and time to recover. The table of every case goes to
# results/faults-<native|docker>-<UTC timestamp>/faults.md (perf/README.md, "Fault suite",
# explains the columns).
#
# Usage: perf/faults.sh [--case NAME]... [--quick] [--list] [--strict] [--rate N] [--duration S]
#                       [--docker] [--no-install] [--no-build]
#   --case NAME   run only these cases (repeatable); default: every case (--list shows them)
#   --quick       the short CI subset (worker, Redis and processor faults, 12 s each)
#   --strict      exit 1 unless every case has 0 lost, 0 paid twice, 0 paid though refused and
#                 0 audit differences among answered audits, and no bad input broke a service
#   --rate N      steady load in payments per second (400); the overload case uses 3x the
#                 contest's peak (1800) whatever this says
#   --duration S  load per case in seconds (20)
#   --docker      the same cases against the compose stack in a Docker engine
#                 (perf/lib/docker_stack.sh): the submission directory, `restart: always` as the
#                 supervisor, our simulator image as the processors (so the processor fault
#                 modes apply there too)
#
# It takes /tmp/rinha-stack.lock itself (the test bed is shared; perf/lib/lock.sh), unless it is
# held for it already (`flock /tmp/rinha-stack.lock perf/faults.sh`, or a script that took it).
#
# Modes: every fault and every reading of the stack goes through a function per mode (native_* or
# docker_* below): start and stop the stack, kill, stop, restarts, sockets, memory peaks. Under
# --docker a kill signals every process of the container's cgroup from the host, as a crash or the
# OOM killer would, and the engine's `restart: always` brings the container back. It is not a
# literal `docker kill`: the engine records that as a stop by hand, which no restart policy undoes
# (seen with Docker 26: the container stays down), so it tests the operator, not the stack.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
# shellcheck source=perf/lib/docker_stack.sh
source "$ROOT/perf/lib/docker_stack.sh"

RATE=400
DURATION_S=20
OVERLOAD_RATE=1800
OVERLOAD_DURATION_S=30
INJECT_AT_S=8
STOP_S=3
PROCESSOR_FAULT_S=5
IDLE_CONNECTIONS=5000
DRAIN_BOUND_S=90
RECOVER_BOUND_S=30
INSTALL=1
BUILD=1
STRICT=0
SELECTED=()

# name | what the case does (the table's "fault" column)
CASES=(
  "worker-kill-early|SIGKILL worker at 3 s"
  "worker-kill-mid|SIGKILL worker at 8 s"
  "worker-kill-late|SIGKILL worker 1 s before the load ends"
  "api1-kill|SIGKILL api1 at 8 s"
  "api2-kill|SIGKILL api2 at 8 s"
  "nginx-kill|SIGKILL nginx (master and worker) at 8 s"
  "redis-kill|SIGKILL redis at 8 s"
  "redis-stop|SIGSTOP redis for 3 s at 8 s"
  "worker-stop|SIGSTOP worker for 3 s at 8 s"
  "processor-reset|default resets after recording, 5 s"
  "processor-silent|default never answers after recording, 5 s"
  "processor-truncated|default sends half an answer, 5 s"
  "processor-garbage|default answers garbage, 5 s"
  "processor-bad-body|default answers 200 with a malformed body, 5 s"
  "processor-busy|default answers 429 to everything, 5 s"
  "overload|3x the contest's peak: 1800/s for 30 s"
  "idle-connections|5,000 idle connections and a 1 byte/s header on 9999"
  "parser-corpus|the parser tests' inputs sent raw to 9999 and to both APIs"
)
QUICK_CASES=(worker-kill-mid redis-kill processor-reset)
QUICK_DURATION_S=12

log() {
  printf '[faults %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 2
}

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
}

parse_arguments() {
  local quick=0
  while (($# > 0)); do
    case $1 in
      --case) SELECTED+=("${2:?--case needs a name}"); shift ;;
      --quick) quick=1 ;;
      --list) printf '%s\n' "${CASES[@]}" | tr '|' '\t'; exit 0 ;;
      --strict) STRICT=1 ;;
      --rate) RATE=${2:?--rate needs a number}; shift ;;
      --duration) DURATION_S=${2:?--duration needs seconds}; shift ;;
      --no-install) INSTALL=0 ;;
      --no-build) BUILD=0 ;;
      --docker) MODE=docker ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
    shift
  done
  [[ $RATE =~ ^[1-9][0-9]*$ ]] || die "--rate must be a positive integer"
  [[ $DURATION_S =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer"
  if ((quick == 1)); then
    SELECTED+=("${QUICK_CASES[@]}")
    DURATION_S=$QUICK_DURATION_S
  fi
  if ((${#SELECTED[@]} == 0)); then
    local entry
    for entry in "${CASES[@]}"; do SELECTED+=("${entry%%|*}"); done
  fi
  local name
  for name in "${SELECTED[@]}"; do
    case_description "$name" >/dev/null || die "unknown case $name (--list shows them)"
  done
  ((DURATION_S > INJECT_AT_S + STOP_S + 1)) || INJECT_AT_S=$((DURATION_S / 3))
}

case_description() { # name
  local entry
  for entry in "${CASES[@]}"; do
    if [[ ${entry%%|*} == "$1" ]]; then
      printf '%s\n' "${entry#*|}"
      return 0
    fi
  done
  return 1
}

# --- Faults, one function per mode -------------------------------------------------------------

now_ms() {
  date +%s%3N
}

native_kill() { # service
  stack_kill "$1" KILL
}

native_stop() { # service seconds
  stack_kill "$1" STOP
  sleep "$2"
  stack_kill "$1" CONT
}

native_processor() { # fault seconds: the default simulator's fault mode for a while
  set_processor_fault "$1"
  sleep "$2"
  set_processor_fault none
}

set_processor_fault() { # fault
  curl -sf -o /dev/null --max-time 2 -X PUT -H "X-Rinha-Token: $STACK_SIM_TOKEN" \
    -d "{\"fault\":\"$1\"}" "http://127.0.0.1:$STACK_DEFAULT_PORT/admin/configurations/fault" ||
    log "WARNING: could not set the default processor's fault to $1"
}

fault_kill() { "${MODE}_kill" "$@"; }
fault_stop() { "${MODE}_stop" "$@"; }
fault_processor() { "${MODE}_processor" "$@"; }
service_restarts() { "${MODE}_restarts" "$@"; }
service_memory_peak_bytes() { "${MODE}_memory_peak_bytes" "$@"; }
socket_dir() { "${MODE}_socket_dir"; }
start_stack() { "${MODE}_start_stack" "$@"; }
stop_stack() { "${MODE}_stop_stack"; }

native_restarts() { stack_restarts "$1"; }
native_memory_peak_bytes() { cat "$(stack_cgroup_dir memory "$1")/memory.max_usage_in_bytes"; }
native_socket_dir() { printf '%s\n' "$STACK_SOCKET_DIR"; }

native_start_stack() { # directory
  stack_init "$ROOT" "$1/run"
  {
    stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
    stack_start_services
    stack_wait_ready 15 0.5
  } 2>>"$1/stack.log"
}

native_stop_stack() { stack_stop; }

# Docker: every process of the container's cgroup gets the signal from the host.
docker_signal() { # service signal
  local id directory pid
  id=$(docker_container_id "$DOCKER_PROJECT" "$1")
  [[ -n $id ]] || { log "WARNING: no container for $1"; return 0; }
  directory=$(docker_cgroup_dir "$id" cpuacct) || directory=$(docker_cgroup_dir "$id" pids)
  while read -r pid; do
    kill -s "$2" "$pid" 2>/dev/null || true
  done <"$directory/cgroup.procs"
}

docker_kill() { docker_signal "$1" KILL; }

docker_stop() { # service seconds
  docker_signal "$1" STOP
  sleep "$2"
  docker_signal "$1" CONT
}

docker_processor() { native_processor "$@"; } # the simulator image has the same admin API

docker_restarts() {
  local id
  id=$(docker_container_id "$DOCKER_PROJECT" "$1")
  if [[ -n $id ]]; then docker inspect -f '{{.RestartCount}}' "$id"; else echo 0; fi
}

docker_memory_peak_bytes() {
  local id directory
  id=$(docker_container_id "$DOCKER_PROJECT" "$1")
  directory=$(docker_cgroup_dir "$id" memory) || { echo 0; return; }
  if [[ -f $directory/memory.max_usage_in_bytes ]]; then
    cat "$directory/memory.max_usage_in_bytes"
  else
    cat "$directory/memory.peak" 2>/dev/null || echo 0
  fi
}

docker_socket_dir() {
  local socket
  socket=$(docker_stack_redis_socket) || return 1
  dirname "$socket"
}

docker_start_stack() { # directory
  stack_init "$ROOT" "$1/run"
  docker_stack_init "$ROOT" "$1/run" rinha-rs
  {
    docker_stack_start
    stack_wait_ready 15 0.5
  } 2>>"$1/stack.log"
}

docker_stop_stack() {
  docker_stack_stop
  stack_stop # the per-case socket directory stack_init made
}

MODE=native

# --- Measurements ------------------------------------------------------------------------------

processors_recorded() {
  local port total=0 count
  for port in "$STACK_DEFAULT_PORT" "$STACK_FALLBACK_PORT"; do
    count=$(curl -s --max-time 2 -H "X-Rinha-Token: $STACK_SIM_TOKEN" \
      "http://127.0.0.1:$port/admin/payments-summary" | grep -o '"totalRequests":[0-9]*' |
      grep -o '[0-9]*$') || count=0
    total=$((total + ${count:-0}))
  done
  printf '%s\n' "$total"
}

# Time from FROM_MS until SERVICE (if any) has been restarted and the backend records new
# payments again: two answered summaries, the second larger. Bounded by RECOVER_BOUND_S.
measure_recovery() { # from_ms service restarts_before
  local from_ms=$1 service=$2 before=$3 last='' current deadline=$((SECONDS + RECOVER_BOUND_S))
  while ((SECONDS < deadline)); do
    if [[ -z $service ]] || (($(service_restarts "$service") > before)); then
      current=$(stack_backend_recorded 0.5) || current=
      if [[ -n $current && -n $last ]] && ((current > last)); then
        awk -v d=$(($(now_ms) - from_ms)) 'BEGIN { printf "%.2f\n", d / 1000 }'
        return
      fi
      [[ -z $current ]] || last=$current
    fi
    sleep 0.1
  done
  echo -
}

# After the load: wait until the queue and the processing hash are empty and the processors'
# books stop moving (bounded).
wait_drained() {
  local deadline=$((SECONDS + DRAIN_BOUND_S)) previous=-1 current queue processing
  local cli=(redis-cli -s "$(socket_dir)/redis.sock")
  while ((SECONDS < deadline)); do
    queue=$("${cli[@]}" LLEN rinha:queue 2>/dev/null) || queue='?'
    processing=$("${cli[@]}" HLEN rinha:processing:worker-1:0 2>/dev/null) || processing='?'
    current=$(processors_recorded)
    if [[ $queue == 0 && $processing == 0 && $current == "$previous" ]]; then
      return 0
    fi
    previous=$current
    sleep 1
  done
  log "WARNING: not drained after $DRAIN_BOUND_S s (queue $queue, processing $processing)"
}

peaks() { # peak memory of each service, MiB
  local service
  for service in redis api1 api2 worker nginx; do
    service_memory_peak_bytes "$service" |
      awk -v s="$service" '{ printf "%s %.1f MiB\n", s, $1 / 1048576 }'
  done | paste -sd, | sed 's/,/, /g'
}

restarts() { # services the supervisor restarted, as "worker 1, redis 1"
  local service count out=()
  for service in redis api1 api2 worker nginx; do
    count=$(service_restarts "$service")
    ((count == 0)) || out+=("$service $count")
  done
  (IFS=,; printf '%s\n' "${out[*]}" | sed 's/,/, /g')
}

# --- One case ----------------------------------------------------------------------------------

K6_PID=

start_load() { # directory rate duration_s
  (cd "$ROOT/perf/k6" && exec k6 run --no-color --quiet -e RATE="$2" -e DURATION_S="$3" \
    -e BACKEND_URL="$STACK_BACKEND_URL" -e DEFAULT_URL="http://127.0.0.1:$STACK_DEFAULT_PORT" \
    -e FALLBACK_URL="http://127.0.0.1:$STACK_FALLBACK_PORT" -e TOKEN="$STACK_SIM_TOKEN" \
    -e RESULTS_FILE="$1/k6.json" faults.js) >"$1/k6.log" 2>&1 &
  K6_PID=$!
}

wait_load() {
  local status=0
  wait "$K6_PID" || status=$?
  K6_PID=
  ((status == 0)) || log "WARNING: k6 exited with status $status"
}

sleep_until() { # seconds since LOAD_STARTED
  local wait_s
  wait_s=$(awk -v t="$1" -v s="$LOAD_STARTED_MS" -v n="$(now_ms)" \
    'BEGIN { w = t - (n - s) / 1000; printf "%.3f\n", (w > 0 ? w : 0) }')
  sleep "$wait_s"
}

# The fault of case NAME; prints the time to recover (or "-").
inject() { # name directory
  local name=$1 directory=$2 service before from_ms
  case $name in
    worker-kill-early | worker-kill-mid | worker-kill-late | api1-kill | api2-kill | \
      nginx-kill | redis-kill)
      service=${name%%-kill*}
      case $name in
        worker-kill-early) sleep_until 3 ;;
        worker-kill-late) sleep_until $((DURATION_S - 1)) ;;
        *) sleep_until "$INJECT_AT_S" ;;
      esac
      before=$(service_restarts "$service")
      from_ms=$(now_ms)
      log "$name: kill -KILL every process of $service"
      fault_kill "$service"
      measure_recovery "$from_ms" "$service" "$before"
      ;;
    redis-stop | worker-stop)
      service=${name%-stop}
      sleep_until "$INJECT_AT_S"
      log "$name: kill -STOP $service for $STOP_S s"
      fault_stop "$service" "$STOP_S"
      measure_recovery "$(now_ms)" "" 0
      ;;
    processor-*)
      sleep_until "$INJECT_AT_S"
      log "$name: default processor fault ${name#processor-} for $PROCESSOR_FAULT_S s"
      fault_processor "${name#processor-}" "$PROCESSOR_FAULT_S"
      measure_recovery "$(now_ms)" "" 0
      ;;
    idle-connections)
      sleep_until 2
      log "$name: $IDLE_CONNECTIONS idle connections and a slow header for $((DURATION_S - 4)) s"
      python3 "$ROOT/perf/lib/idle_clients.py" 127.0.0.1 9999 "$IDLE_CONNECTIONS" \
        $((DURATION_S - 4)) "$directory/extra.json" >&2
      echo -
      ;;
    parser-corpus)
      sleep_until 2
      log "$name: the parser corpus, raw, to 9999 and to both API sockets"
      python3 "$ROOT/perf/lib/raw_corpus.py" "$ROOT" "$directory/extra.json" 127.0.0.1:9999 \
        "unix:$(socket_dir)/api1.sock" "unix:$(socket_dir)/api2.sock" >&2
      echo -
      ;;
    overload) echo - ;;
    *) die "no fault for case $name" ;;
  esac
}

LOAD_STARTED_MS=0

run_case() { # name
  local name=$1 directory=$OUT/$1 rate=$RATE duration=$DURATION_S recover_s
  mkdir -p "$directory"
  if [[ $name == overload ]]; then
    rate=$OVERLOAD_RATE duration=$OVERLOAD_DURATION_S
  fi
  log "=== $name: $(case_description "$name") (load $rate/s for $duration s)"
  start_stack "$directory"
  LOAD_STARTED_MS=$(now_ms)
  start_load "$directory" "$rate" "$duration"
  # DURATION_S is what inject() schedules against.
  local saved_duration=$DURATION_S
  DURATION_S=$duration
  recover_s=$(inject "$name" "$directory")
  DURATION_S=$saved_duration
  wait_load
  wait_drained
  restarts >"$directory/restarts.txt"
  peaks >"$directory/peaks.txt"
  if [[ $name == parser-corpus || $name == idle-connections ]]; then
    check_no_restarts "$directory"
  fi
  python3 "$ROOT/perf/lib/faults_report.py" case "$name" "$directory" \
    "http://127.0.0.1:$STACK_DEFAULT_PORT" "http://127.0.0.1:$STACK_FALLBACK_PORT" \
    "$STACK_SIM_TOKEN" "$recover_s" "$(case_description "$name")" | tee -a "$OUT/faults.txt"
  log "$name: restarts: $(cat "$directory/restarts.txt"); peak memory: $(cat "$directory/peaks.txt")"
  if [[ -f $directory/run/logs/restarts.log ]]; then cat "$directory/run/logs/restarts.log" >&2; fi
  stop_stack
}

# Bad input must not crash anything: a restart during those cases fails them.
check_no_restarts() { # directory
  local extra=$1/extra.json restarted
  restarted=$(cat "$1/restarts.txt")
  [[ -z $restarted ]] && return 0
  log "a service restarted during the case: $restarted"
  python3 "$ROOT/perf/lib/faults_report.py" fail "$extra" "restarted: $restarted"
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $K6_PID ]]; then kill -TERM "$K6_PID" 2>/dev/null || true; fi
  if [[ $MODE == docker ]]; then docker_stack_stop; fi
  stack_stop
  exit "$status"
}

main() {
  parse_arguments "$@"
  stack_lock faults
  OUT=$ROOT/results/faults-$MODE-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$OUT"
  stack_fees preview
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  stack_init "$ROOT" "$OUT/setup"
  ((INSTALL == 0)) || stack_install_deps
  if [[ $MODE == docker ]]; then
    ((INSTALL == 0)) || docker_stack_install
    docker_stack_init "$ROOT" "$OUT/setup" rinha-rs
    docker_stack_images "$BUILD"
  else
    ((BUILD == 0)) || stack_build
  fi
  log "mode $MODE"
  local name started=$SECONDS
  for name in "${SELECTED[@]}"; do
    run_case "$name"
  done
  python3 "$ROOT/perf/lib/faults_report.py" table "$OUT" | tee "$OUT/faults.md"
  log "${#SELECTED[@]} cases in $((SECONDS - started)) s; results in $OUT"
  if ((STRICT == 1)); then
    python3 "$ROOT/perf/lib/faults_report.py" check "$OUT" || exit 1
    log "strict: every case 0 lost, 0 paid twice, 0 paid though refused, 0 audit differences"
  fi
}

main "$@"
