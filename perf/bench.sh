#!/usr/bin/env bash
# Latency and cost benchmark of the native stack at the contest's peak rate.
#
# Runs, interleaved, ROUNDS times each: the "floor" (nginx alone answering `return 202;` on :9999,
# same nginx.conf and limits) and the full stack of docker-compose.yml (with the simulators at
# delay 0). Each run is a k6 constant-arrival-rate load of RATE POST /payments per second for
# DURATION_S seconds (perf/k6/rate.js). Prints p50/p99/max of accepted requests for each run, the
# medians, the ratios stack/floor, and the stack's CPU microseconds per payment: the services'
# cgroup cpuacct.usage summed over the run (until the worker has drained) / accepted payments.
#
# Usage: perf/bench.sh [--rounds N] [--rate N] [--duration S] [--no-install] [--no-build]
# Output: results/bench-<UTC timestamp>/ (bench.txt, one JSON per run, each run's logs).
# Takes /tmp/rinha-stack.lock itself (perf/lib/lock.sh), unless it is held for it already.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
# shellcheck source=perf/lib/options.sh
source "$ROOT/perf/lib/options.sh"

DRAIN_TRIES=30
perf_options bench --rounds=ROUNDS:count:3 --rate=RATE:count:600 \
  --duration=DURATION_S:count:20 -- "$@"
stack_lock bench

OUT=$ROOT/results/bench-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
stack_fees preview

log() {
  printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stack_stop
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_rate() { # name purge
  (cd "$ROOT/perf/k6" && k6 run --quiet --no-color -e RATE="$RATE" -e DURATION_S="$DURATION_S" \
    -e DEFAULT_URL="http://127.0.0.1:$STACK_DEFAULT_PORT" \
    -e FALLBACK_URL="http://127.0.0.1:$STACK_FALLBACK_PORT" \
    -e PURGE="$2" -e RESULTS_FILE="$OUT/$1.json" rate.js) >"$OUT/$1.k6.log" 2>&1 ||
    { tail -n 20 "$OUT/$1.k6.log" >&2; stack_die "k6 failed for $1"; }
  tail -n 1 "$OUT/$1.k6.log" >&2
}

# The worker may still be paying when k6 ends: wait (bounded) until the backend has them all.
wait_drained() { # accepted
  local try recorded
  for ((try = 0; try < DRAIN_TRIES; try++)); do
    recorded=$(curl -s --max-time 1 "$STACK_BACKEND_URL/payments-summary" |
      grep -o '"totalRequests": *[0-9]*' | grep -o '[0-9]*$' | paste -sd+ | bc) || recorded=0
    ((${recorded:-0} >= $1)) && return 0
    sleep 0.5
  done
  log "WARNING: backend recorded ${recorded:-?} of $1 payments after $((DRAIN_TRIES / 2)) s"
}

json_field() { # file field
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
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
  log "round $round/$ROUNDS: floor (nginx return 202)"
  stack_start_floor
  run_rate "floor-$round" 0
  stack_stop

  stack_init "$ROOT" "$OUT/stack-$round"
  log "round $round/$ROUNDS: stack"
  stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
  stack_start_services
  stack_wait_ready 15 1
  cpu_before_ns=$(stack_cpu_usage_ns)
  run_rate "stack-$round" 1
  wait_drained "$(json_field "$OUT/stack-$round.json" accepted)"
  cpu_after_ns=$(stack_cpu_usage_ns)
  echo "$((cpu_after_ns - cpu_before_ns))" >"$OUT/stack-$round.cpu_ns"
  stack_usage_report "$OUT/stack-$round.resources.txt" >/dev/null
  stack_stop
done

python3 "$ROOT/perf/lib/bench_report.py" "$OUT" "$ROUNDS" "$RATE" "$DURATION_S" |
  tee "$OUT/bench.txt"
log "results in $OUT"
