#!/usr/bin/env bash
# Latency and cost benchmark of the native stack against its floor.
#
# Runs, interleaved, ROUNDS times each: the "floor" (nginx alone answering `return 202;` on :9999,
# same nginx.conf and limits) and the full stack of docker-compose.yml (with the simulators). Each
# run is the same load, chosen by BENCH_PROFILE:
#   rate     (default) perf/k6/rate.js: RATE POST /payments per second for DURATION_S seconds
#   preview  perf/k6/preview.js, the contest's preview profile (60 s, up to 550 users, schedule)
#   final    perf/k6/final.js, the final profile (300 s)
# BENCH_SCRIPT=PATH runs another k6 script instead of preview.js/final.js, unmodified and from its
# own directory (e.g. the official rinha.js; MAX_REQUESTS is passed on when set). The simulators
# run in the floor rounds too, since the profile scripts configure them; they are never counted.
# BENCH_BASELINE_BIN=DIR adds a third run to every round, "base": the same stack and harness with
# the three binaries of DIR (an older build: `git worktree add /tmp/before REV` and
# `cargo build --release` there), so before and after are measured interleaved, in one session:
# floor, base, stack, floor, base, stack, ...
#
# Prints, per run and as medians: p50/p99/max of accepted POST /payments, the p99 of every
# successful request (the contest's p99, profiles only), and CPU: the floor nginx's µs per request,
# the stack's µs per payment in all and per service (cgroup cpuacct.usage from just before the load
# until the backend has recorded every accepted payment), and the ratios stack/floor.
#
# Usage: [BENCH_PROFILE=rate|preview|final] [BENCH_SCRIPT=PATH]
#        perf/bench.sh [--rounds N] [--rate N] [--duration S] [--no-install] [--no-build]
# (--rate and --duration apply to the rate profile only.)
# Output: results/bench-<UTC timestamp>/ (bench.txt, one JSON per run, each run's logs).
# Takes /tmp/rinha-stack.lock itself (perf/lib/lock.sh), unless it is held for it already.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
DRAIN_TRIES=30
perf_options bench --rounds=ROUNDS:count:3 --rate=RATE:count:600 \
  --duration=DURATION_S:count:20 -- "$@"
stack_lock bench

PROFILE=${BENCH_PROFILE:-rate}
SCRIPT=${BENCH_SCRIPT:-}
BASELINE=${BENCH_BASELINE_BIN:-}
if [[ -n $BASELINE ]]; then
  for binary in rinha-api rinha-worker rinha-processor-sim; do
    [[ -x $BASELINE/$binary ]] || { echo "bench: no $BASELINE/$binary" >&2; exit 2; }
  done
  BASELINE=$(cd "$BASELINE" && pwd)
fi
case $PROFILE in
  rate)
    [[ -z $SCRIPT ]] || { echo "bench: BENCH_SCRIPT needs BENCH_PROFILE=preview|final" >&2; exit 2; }
    ;;
  preview | final) ;;
  *) echo "bench: BENCH_PROFILE must be rate, preview or final" >&2; exit 2 ;;
esac
if [[ -n $SCRIPT ]]; then
  [[ -f $SCRIPT ]] || { echo "bench: no such script: $SCRIPT" >&2; exit 2; }
  SCRIPT=$(cd "$(dirname "$SCRIPT")" && pwd)/$(basename "$SCRIPT")
fi

OUT=$ROOT/results/bench-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
# The profile's fees, as run-tests.sh sets them (the simulators charge them; no figure uses them).
if [[ $PROFILE == final ]]; then stack_fees final; else stack_fees preview; fi

log() {
  printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

stack_stop_on_exit

k6_failed() { # name
  tail -n 20 "$OUT/$1.k6.log" >&2
  stack_die "k6 failed for $1"
}

# The load of one run. Writes OUT/NAME.json in rate.js's shape (accepted, p50_ms, p99_ms, ...).
run_load() { # name purge
  local name=$1 purge=$2 directory script
  local urls=(-e "DEFAULT_URL=http://127.0.0.1:$STACK_DEFAULT_PORT"
    -e "FALLBACK_URL=http://127.0.0.1:$STACK_FALLBACK_PORT")
  if [[ $PROFILE == rate ]]; then
    (cd "$ROOT/perf/k6" && k6 run --quiet --no-color -e RATE="$RATE" -e DURATION_S="$DURATION_S" \
      "${urls[@]}" -e PURGE="$purge" -e RESULTS_FILE="$OUT/$name.json" rate.js) \
      >"$OUT/$name.k6.log" 2>&1 || k6_failed "$name"
    tail -n 1 "$OUT/$name.k6.log" >&2
    return
  fi
  if [[ -n $SCRIPT ]]; then
    directory=$(dirname "$SCRIPT") script=$(basename "$SCRIPT")
    urls=()
    [[ -z ${MAX_REQUESTS:-} ]] || urls+=(-e "MAX_REQUESTS=$MAX_REQUESTS")
  else
    directory=$ROOT/perf/k6 script=$PROFILE.js
    urls+=(-e "RESULTS_DIR=$OUT/$name.k6")
    mkdir -p "$OUT/$name.k6"
  fi
  # The profile scripts always purge the backend in their setup (the floor answers 202 to it).
  (cd "$directory" && k6 run --no-color --summary-export "$OUT/$name.summary.json" "${urls[@]}" \
    "$script") >"$OUT/$name.k6.log" 2>&1 || k6_failed "$name"
  python3 "$ROOT/perf/lib/bench_report.py" --k6-summary "$OUT/$name.summary.json" \
    >"$OUT/$name.json" || stack_die "cannot read $OUT/$name.summary.json"
  python3 "$ROOT/perf/lib/bench_report.py" --line "$OUT/$name.json" >&2
}

# Each budget service's cpuacct.usage, one `service ns` line each (simulators and k6 excluded).
cpu_snapshot() { # file
  local service
  while read -r service; do
    printf '%s %s\n' "$service" "$(<"$(stack_cgroup_dir cpuacct "$service")/cpuacct.usage")"
  done < <(stack_budget_services) >"$1"
}

# The worker may still be paying when k6 ends: wait (bounded) until the backend has them all.
wait_drained() { # accepted
  local try recorded=0
  for ((try = 0; try < DRAIN_TRIES; try++)); do
    recorded=$(stack_backend_recorded 1) || recorded=0
    ((${recorded:-0} >= $1)) && return 0
    sleep 0.5
  done
  log "WARNING: backend recorded ${recorded:-?} of $1 payments after $((DRAIN_TRIES / 2)) s"
}

json_field() { # file field
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# stack_start_floor refuses to start while any cgroup of the stack holds a process, as a guard
# against another run; here that process is our own simulators, started a moment ago by the same
# check. Skip the check for this one call only.
start_floor_beside_simulators() {
  local check
  check=$(declare -f stack_cgroup_check_free)
  stack_cgroup_check_free() { :; }
  stack_start_floor
  eval "$check"
}

# One run of the whole stack (stack_init done): load, drain, CPU snapshots, usage, stop.
run_stack() { # name
  local name=$1
  stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
  stack_start_services
  stack_wait_ready 15 1
  cpu_snapshot "$OUT/$name.cpu.before"
  run_load "$name" 1
  wait_drained "$(json_field "$OUT/$name.json" accepted)"
  cpu_snapshot "$OUT/$name.cpu.after"
  stack_backend_recorded 1 >"$OUT/$name.recorded" || true
  stack_usage_report "$OUT/$name.resources.txt" >/dev/null
  stack_stop
}

first=1
for ((round = 1; round <= ROUNDS; round++)); do
  stack_init "$ROOT" "$OUT/floor-$round"
  if ((first == 1)); then
    ((INSTALL == 0)) || stack_install_deps
    ((BUILD == 0)) || stack_build
    command -v bc >/dev/null || stack_die "bc is missing (apt-get install bc)"
    first=0
  fi
  log "round $round/$ROUNDS: floor (nginx return 202), profile $PROFILE${SCRIPT:+ ($SCRIPT)}"
  # The profile scripts configure and read the processors: the floor needs them too.
  if [[ $PROFILE == rate ]]; then
    stack_start_floor
  else
    stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
    start_floor_beside_simulators
  fi
  cpu_snapshot "$OUT/floor-$round.cpu.before"
  run_load "floor-$round" 0
  cpu_snapshot "$OUT/floor-$round.cpu.after"
  stack_stop

  if [[ -n $BASELINE ]]; then
    RINHA_BIN_DIR=$BASELINE stack_init "$ROOT" "$OUT/base-$round"
    log "round $round/$ROUNDS: base (binaries of $BASELINE)"
    run_stack "base-$round"
  fi
  stack_init "$ROOT" "$OUT/stack-$round"
  log "round $round/$ROUNDS: stack"
  run_stack "stack-$round"
done

python3 "$ROOT/perf/lib/bench_report.py" "$OUT" "$ROUNDS" "$PROFILE${SCRIPT:+ ($SCRIPT)}" \
  "$RATE" "$DURATION_S" | tee "$OUT/bench.txt"
log "results in $OUT"
