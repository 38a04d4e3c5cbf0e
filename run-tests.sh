#!/usr/bin/env bash
# Run the contest load test against the stack of docker-compose.yml and print the contest score.
#
# Native by default: two processor simulators on 127.0.0.1:8001/8002, then the compose services
# (redis, api1, api2, worker, nginx on :9999) as processes, each in a cgroup with its compose
# limits. --docker does the same in a Docker engine (installed and started when none answers), from
# the submission directory, with the simulator as the processors (perf/lib/docker_stack.sh).
# Everything is torn down on exit, whatever the exit path. Takes /tmp/rinha-stack.lock itself
# (perf/lib/lock.sh), so runs of the test bed wait for each other. See `./run-tests.sh --help`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
# shellcheck source=perf/lib/docker_stack.sh
source "$ROOT/perf/lib/docker_stack.sh"
# shellcheck source=perf/lib/timeline.sh
source "$ROOT/perf/lib/timeline.sh"

READY_TRIES=15
READY_DELAY_NATIVE_S=1
READY_DELAY_DOCKER_S=2
PROGRESS_EVERY_S=5

# "5%/15%": a profile's fees as perf/profiles.json gives them.
fees_text() { # profile
  stack_fees "$1"
  awk -v d="$DEFAULT_FEE" -v f="$FALLBACK_FEE" 'BEGIN { printf "%g%%/%g%%", d * 100, f * 100 }'
}

usage() {
  cat <<EOF
Usage: ./run-tests.sh [options]

Profiles (one of; amount and fees from perf/profiles.json):
  --preview            the preview test: 550 users, 60 s, fees $(fees_text preview) (default)
  --final              the final test: 603 users, 300 s, fees $(fees_text final)
  --script PATH        run another k6 script unmodified, from its own directory, as the official
                       harness does (-e TOKEN -e PARTICIPANT [-e MAX_REQUESTS]); fees of the
                       preview unless --final is also given
Options:
  --schedule FILE      processor delays/failures from a JSON schedule (see perf/schedules/)
  --audit              consistency check every 250 ms instead of every 10 s
  --duration SECONDS   shorten the run (smoke tests); stages after the end are skipped
  --max-users N        peak number of virtual users
  --strict             exit non-zero if lag != 0 or inconsistencies != 0
  --participant NAME   name written in the results JSON (default: rinha-rs)
  --docker             run the stack in a Docker engine, from the submission directory, with the
                       simulator image as the processors (installs and starts an engine on
                       Debian as root when none answers; builds stand-ins for images that
                       cannot be pulled)
  --no-install         do not install missing tools (apt, pip, a Docker engine)
  --no-build           do not build (cargo build --release, or the Docker image)
  -h, --help           this text
Environment: MAX_REQUESTS is passed to --script runs, as the official harness does.
Outputs: results/<UTC timestamp>/ (score table, results JSON, k6 HTML report, cgroup usage, logs,
timeline.png: the run second by second, from k6's per-request CSV, Redis and the processors).
EOF
}

log() {
  printf '[run-tests %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 2
}

PROFILE=preview
SCRIPT=
SCHEDULE=
AUDIT=0
DURATION=
MAX_USERS=
STRICT=0
MODE=native
PARTICIPANT=rinha-rs
INSTALL=1
BUILD=1

parse_arguments() {
  while (($# > 0)); do
    case $1 in
      --preview) PROFILE=preview ;;
      --final) PROFILE=final ;;
      --script) SCRIPT=${2:?--script needs a path}; shift ;;
      --schedule) SCHEDULE=${2:?--schedule needs a file}; shift ;;
      --audit) AUDIT=1 ;;
      --duration) DURATION=${2:?--duration needs seconds}; shift ;;
      --max-users) MAX_USERS=${2:?--max-users needs a number}; shift ;;
      --strict) STRICT=1 ;;
      --participant) PARTICIPANT=${2:?--participant needs a name}; shift ;;
      --docker) MODE=docker ;;
      --no-install) INSTALL=0 ;;
      --no-build) BUILD=0 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option $1" ;;
    esac
    shift
  done
  [[ -z $DURATION || $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer"
  [[ -z $MAX_USERS || $MAX_USERS =~ ^[1-9][0-9]*$ ]] || die "--max-users must be a positive integer"
  if [[ -n $SCRIPT ]]; then
    [[ -f $SCRIPT ]] || die "no such script: $SCRIPT"
    if [[ -n $SCHEDULE$DURATION$MAX_USERS ]] || ((AUDIT == 1)); then
      die "--schedule, --audit, --duration and --max-users apply to our profiles, not to --script" \
        "(an external script runs unmodified; MAX_REQUESTS=N is passed on when set)"
    fi
    SCRIPT=$(cd "$(dirname "$SCRIPT")" && pwd)/$(basename "$SCRIPT")
  fi
  if [[ -n $SCHEDULE ]]; then
    [[ -f $SCHEDULE ]] || die "no such schedule: $SCHEDULE"
    SCHEDULE=$(cd "$(dirname "$SCHEDULE")" && pwd)/$(basename "$SCHEDULE")
  fi
  # The profile's fees, exported: docker-compose.yml interpolates them into the worker's
  # environment (natively too). An external script gets the preview's unless --final is given.
  stack_fees "$PROFILE"
}

# The schedule our own scripts will use, and its effective duration (for the progress lines).
effective_schedule() {
  if [[ -n $SCHEDULE ]]; then
    printf '%s\n' "$SCHEDULE"
  else
    printf '%s\n' "$ROOT/perf/schedules/$PROFILE.json"
  fi
}

# "at_s<TAB>description" lines of the schedule, and its duration on the first line.
schedule_phases() {
  python3 "$ROOT/perf/lib/schedule_phases.py" "$1" "${DURATION:-}"
}

K6_PID=
K6_CGROUP_PROCS=
LOAD_STATUS=0
PHASES=()
PHASE_DURATION=

backend_payments() { # "N (default a, fallback b)" from the backend summary, or "?"
  local body counts
  body=$(curl -s --max-time 1 "$STACK_BACKEND_URL/payments-summary" 2>/dev/null) || {
    echo '?'
    return
  }
  mapfile -t counts < <(grep -o '"totalRequests": *[0-9]*' <<<"$body" | grep -o '[0-9]*$')
  if ((${#counts[@]} == 2)); then
    echo "$((counts[0] + counts[1])) (default ${counts[0]}, fallback ${counts[1]})"
  else
    echo '?'
  fi
}

current_phase() { # elapsed_s
  local line phase=setup
  for line in "${PHASES[@]}"; do
    (($1 >= ${line%%$'\t'*})) && phase="since ${line%%$'\t'*} s: ${line#*$'\t'}"
  done
  if [[ -n $PHASE_DURATION ]] && (($1 >= PHASE_DURATION)); then phase="end of load: summaries"; fi
  printf '%s\n' "$phase"
}

# Run k6 in the background and print a progress line every PROGRESS_EVERY_S seconds.
run_k6() { # directory script k6-arguments...
  local directory=$1 script=$2 started elapsed last=0 status=0
  shift 2
  log "k6 run $script $*"
  (
    # Natively, k6 runs in a cgroup of its own so that its CPU use is reported with the services'.
    if [[ -n $K6_CGROUP_PROCS ]]; then
      IFS=: read -r -a files <<<"$K6_CGROUP_PROCS"
      for file in "${files[@]}"; do echo "$BASHPID" >"$file"; done
    fi
    cd "$directory"
    timeline_k6_arguments "$RESULTS_DIR"
    exec env "${TIMELINE_K6_ENVIRONMENT[@]}" \
      K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_HOST=127.0.0.1 K6_WEB_DASHBOARD_OPEN=false \
      K6_WEB_DASHBOARD_EXPORT="$RESULTS_DIR/report.html" K6_WEB_DASHBOARD_PERIOD=2s \
      k6 run --no-color "${TIMELINE_K6_ARGUMENTS[@]}" "$@" "$script"
  ) >"$RESULTS_DIR/k6.log" 2>&1 &
  K6_PID=$!
  started=$SECONDS
  while kill -0 "$K6_PID" 2>/dev/null; do
    sleep 1
    elapsed=$((SECONDS - started))
    if ((elapsed - last >= PROGRESS_EVERY_S)); then
      last=$elapsed
      log "[${elapsed}s${PHASE_DURATION:+/${PHASE_DURATION}s}] $(current_phase "$elapsed")" \
        "| backend payments: $(backend_payments)"
    fi
  done
  wait "$K6_PID" || status=$?
  K6_PID=
  grep -E 'level=(error|warning)' "$RESULTS_DIR/k6.log" | tail -n 5 >&2 || true
  return "$status"
}

new_uuid() { # a fresh admin token per run, as the official harness's $(uuidgen)
  cat /proc/sys/kernel/random/uuid
}

k6_common_arguments() {
  K6_ARGUMENTS=(-e "BACKEND_URL=$STACK_BACKEND_URL"
    -e "DEFAULT_URL=http://127.0.0.1:$STACK_DEFAULT_PORT"
    -e "FALLBACK_URL=http://127.0.0.1:$STACK_FALLBACK_PORT" -e "RESULTS_DIR=$RESULTS_DIR"
    -e "PARTICIPANT=$PARTICIPANT" -e "TOKEN=$RUN_TOKEN")
  [[ -z $SCHEDULE ]] || K6_ARGUMENTS+=(-e "SCHEDULE=$SCHEDULE")
  [[ -z $DURATION ]] || K6_ARGUMENTS+=(-e "DURATION_S=$DURATION")
  [[ -z $MAX_USERS ]] || K6_ARGUMENTS+=(-e "MAX_USERS=$MAX_USERS")
  ((AUDIT == 0)) || K6_ARGUMENTS+=(-e AUDIT=1)
}

# The load itself: our profile script, or an unmodified external script from its directory.
run_load() {
  local status=0 schedule=
  redis_stats reset
  timeline_start "$RESULTS_DIR"
  if [[ -n $SCRIPT ]]; then
    K6_ARGUMENTS=(-e "TOKEN=$RUN_TOKEN" -e "PARTICIPANT=$PARTICIPANT")
    [[ -z ${MAX_REQUESTS:-} ]] || K6_ARGUMENTS+=(-e "MAX_REQUESTS=$MAX_REQUESTS")
    touch "$RESULTS_DIR/.k6-start"
    # The official scripts write ../participantes/<participant>/*-results.json relative to their
    # own directory, and lose the file when that directory is missing.
    mkdir -p "$(dirname "$SCRIPT")/../participantes/$PARTICIPANT"
    run_k6 "$(dirname "$SCRIPT")" "$(basename "$SCRIPT")" "${K6_ARGUMENTS[@]}" || status=$?
    collect_external_results
    tail -n 40 "$RESULTS_DIR/k6.log"
    official_score_table
    append_drivers_to_score
  else
    local phases
    mapfile -t phases < <(schedule_phases "$(effective_schedule)")
    PHASE_DURATION=${phases[0]}
    PHASES=("${phases[@]:1}")
    k6_common_arguments
    run_k6 "$ROOT/perf/k6" "$PROFILE.js" "${K6_ARGUMENTS[@]}" || status=$?
    if [[ -f $RESULTS_DIR/score.txt ]]; then
      append_drivers_to_score >/dev/null
      cat "$RESULTS_DIR/score.txt"
    else
      tail -n 40 "$RESULTS_DIR/k6.log"
    fi
  fi
  timeline_stop
  redis_stats dump
  # The score table ends with the picture's path. An external script has no schedule file: the
  # picture takes its stages from the k6 output.
  [[ -n $SCRIPT ]] || schedule=$(effective_schedule)
  timeline_render "$RESULTS_DIR" "http://127.0.0.1:$STACK_DEFAULT_PORT" \
    "http://127.0.0.1:$STACK_FALLBACK_PORT" "$RUN_TOKEN" "$schedule" "$DURATION" || true
  ((status == 0)) || log "k6 exited with status $status (see $RESULTS_DIR/k6.log)"
  return "$status"
}

# Redis's INFO commandstats over the load alone: reset just before k6 starts, written to
# commandstats.txt as soon as it ends (calls and µs per command; divide by the payments). Skipped
# when the run has no Redis socket to read.
redis_stats() { # reset | dump
  [[ -n ${TIMELINE_REDIS_SOCKET:-} ]] && command -v redis-cli >/dev/null || return 0
  case $1 in
    reset) redis-cli -s "$TIMELINE_REDIS_SOCKET" CONFIG RESETSTAT >/dev/null 2>&1 || true ;;
    dump)
      redis-cli -s "$TIMELINE_REDIS_SOCKET" INFO commandstats >"$RESULTS_DIR/commandstats.txt" \
        2>/dev/null || log "could not read Redis's commandstats"
      ;;
  esac
}

# The score table of an external script's run, from the official results JSON it wrote.
official_score_table() {
  local results
  results=$(find "$RESULTS_DIR" -maxdepth 1 -name '*results.json' | sort | tail -n 1)
  if [[ -n $results ]]; then
    python3 "$ROOT/perf/lib/official_score.py" "$results" | tee "$RESULTS_DIR/score.txt"
  else
    log "the script wrote no *results.json (see $RESULTS_DIR/k6.log)"
  fi
}

# An external script writes its results JSON where it likes: copy what it wrote during the run.
collect_external_results() {
  local file
  while IFS= read -r -d '' file; do
    log "results written by the script: $file"
    cp "$file" "$RESULTS_DIR/"
  done < <(find "$(dirname "$SCRIPT")" "$(dirname "$SCRIPT")/../participantes/$PARTICIPANT" \
    -maxdepth 1 -name '*results.json' -newer "$RESULTS_DIR/.k6-start" -print0 2>/dev/null)
  rm -f "$RESULTS_DIR/.k6-start"
}

# --strict: lag, inconsistencies and I/O drivers (perf/lib/strict_check.py).
strict_check() {
  python3 "$ROOT/perf/lib/strict_check.py" "$RESULTS_DIR"
}

# ---------------------------------------------------------------------------------------------

# Teardown on every exit path, Ctrl-C included: k6, the timeline's sampler, then the stack of the
# mode (in Docker, the containers and the socket directory stack_init made).
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $K6_PID ]]; then kill -TERM "$K6_PID" 2>/dev/null || true; fi
  timeline_stop
  if [[ $MODE == docker ]]; then
    docker_stack_stop
    stack_stop
    log "containers removed; results in $RESULTS_DIR"
  else
    stack_stop
    log "stack stopped; results in $RESULTS_DIR"
  fi
  exit "$status"
}

run_native() {
  stack_init "$ROOT" "$RESULTS_DIR/run"
  ((INSTALL == 0)) || stack_install_deps
  ((BUILD == 0)) || stack_build
  stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
  stack_start_services
  stack_wait_ready "$READY_TRIES" "$READY_DELAY_NATIVE_S"
  stack_drivers "$RESULTS_DIR/drivers.txt"
  report_drivers
  stack_cgroup_add_unlimited k6
  K6_CGROUP_PROCS=$(stack_cgroup_procs_files k6)
  TIMELINE_REDIS_SOCKET=$STACK_SOCKET_DIR/redis.sock
  timeline_native_cgroups
  run_load || LOAD_STATUS=$?
  log "cgroup usage of each service (peak memory, CPU seconds):"
  stack_usage_report "$RESULTS_DIR/resources.txt"
}

# The same stack through a Docker engine: our image built (and any base image that cannot be pulled
# stood in), the processors on the external network, then `docker compose up --build` inside the
# submission directory, so that what is tested is what is submitted.
run_docker() {
  stack_init "$ROOT" "$RESULTS_DIR/run"
  docker_stack_init "$ROOT" "$RESULTS_DIR/run" "$PARTICIPANT"
  if ((INSTALL == 1)); then
    stack_install_tools
    docker_stack_install
  fi
  docker info >/dev/null 2>&1 || die "--docker: no Docker engine answers (docker info failed)"
  docker_stack_images "$BUILD"
  docker_stack_start
  stack_wait_ready "$READY_TRIES" "$READY_DELAY_DOCKER_S"
  docker_stack_drivers "$RESULTS_DIR/drivers.txt"
  report_drivers
  docker_timeline_inputs
  run_load || LOAD_STATUS=$?
  log "cgroup usage of each container (peak memory, CPU seconds):"
  docker_stack_usage_report "$RESULTS_DIR/resources.txt"
}

# The timeline's sampler reads Redis through the engine's mount of the sockets volume, and the
# containers' cpu cgroups.
docker_timeline_inputs() {
  local service directory
  TIMELINE_REDIS_SOCKET=$(docker_stack_redis_socket) || TIMELINE_REDIS_SOCKET=
  TIMELINE_CGROUPS=()
  for service in $(docker_stack_services); do
    directory=$(docker_stack_cpu_dir "$service") && TIMELINE_CGROUPS+=("$service=$directory")
  done
}

# The I/O driver of each of our services, and a warning in the score table for any that fell back
# to epoll (--strict fails the run then: the seccomp profile or the engine refused io_uring).
report_drivers() {
  local service driver
  while read -r service driver; do
    log "$service: driver=$driver"
    [[ $driver == io_uring ]] || log "WARNING: $service runs on $driver, not io_uring"
  done <"$RESULTS_DIR/drivers.txt"
}

append_drivers_to_score() {
  local file=$RESULTS_DIR/score.txt line
  [[ -f $RESULTS_DIR/drivers.txt ]] || return 0
  line=$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$RESULTS_DIR/drivers.txt")
  {
    echo "I/O drivers: $line"
    if grep -qv ' io_uring$' "$RESULTS_DIR/drivers.txt"; then
      echo "WARNING: not every service runs on io_uring (--strict fails this run)"
    fi
  } | tee -a "$file"
}

main() {
  local outputs
  parse_arguments "$@"
  # The test bed is shared: wait for any other run that holds the stack's ports and cgroups
  # (perf/lib/lock.sh), unless whoever started this one holds the lock for it already.
  stack_lock run-tests
  RESULTS_DIR=$ROOT/results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$RESULTS_DIR"
  RUN_TOKEN=$(new_uuid)
  log "profile $PROFILE${SCRIPT:+, script $SCRIPT}, mode $MODE," \
    "fees $DEFAULT_FEE / $FALLBACK_FEE, results in $RESULTS_DIR"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Not called in a `||` list: that would switch `set -e` off inside them.
  if [[ $MODE == docker ]]; then run_docker; else run_native; fi
  outputs=("$RESULTS_DIR"/*)
  log "outputs: ${outputs[*]##*/}"
  if ((STRICT == 1)) && ! strict_check; then
    exit 1
  fi
  exit "$LOAD_STATUS"
}

main "$@"
