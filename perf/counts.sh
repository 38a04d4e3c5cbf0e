#!/usr/bin/env bash
# Repeatable counts per payment on the native stack: system calls and context switches of each
# service (perf stat on the syscall tracepoint, which needs no hardware counters), the system calls
# of api1 and the worker by name (perf trace -s), and Redis's INFO commandstats, all over one
# window of a steady constant-rate load from wrk (perf/wrk/payments.lua).
#
# Counts, unlike CPU time, barely move with the machine's load, so they are the figures to compare
# before and after a change. The payments of the window are those the backend recorded in it (at a
# steady rate that is also what nginx and the APIs took).
#
# Usage: perf/counts.sh [--rate N] [--duration S] [--window S] [--connections N] [--no-trace]
#                       [--no-install] [--no-build]
# Output: results/counts-<UTC timestamp>/ (counts.txt, perf stat and perf trace outputs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"

WARMUP_S=5
SERVICES=(redis nginx api1 api2 worker)
TRACED_SERVICES=(redis nginx api1 api2 worker)
perf_options counts --rate=RATE:count:600 --duration=DURATION_S:count:30 \
  --window=WINDOW_S:count:10 --connections=CONNECTIONS:count:64 --no-trace=NO_TRACE:flag:0 \
  -- "$@"
TRACE=$((1 - NO_TRACE))
((DURATION_S >= WARMUP_S + WINDOW_S + 2)) ||
  { echo "counts: --duration must be at least --window + $((WARMUP_S + 2)) s" >&2; exit 2; }

stack_lock counts
OUT=$ROOT/results/counts-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
stack_fees preview
STACK_LOAD_PID=

log() {
  printf '[counts %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

stack_stop_on_exit

service_pids() { # service -> comma-separated pids of its cgroup (nginx: master and worker)
  paste -sd, "$(stack_cgroup_dir cpuacct "$1")/cgroup.procs"
}

command -v wrk >/dev/null || stack_die "wrk is missing (apt-get install wrk)"
command -v perf >/dev/null || stack_die "perf is missing (apt-get install linux-perf)"
stack_init "$ROOT" "$OUT/run"
((BUILD == 0)) || stack_build
stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
stack_start_services
stack_wait_ready 15 1
curl -sf -o /dev/null -X POST "$STACK_BACKEND_URL/purge-payments"
redis=$(stack_plan_field redis unix_listen)

log "load: wrk at $RATE payments/s for $DURATION_S s; window of $WINDOW_S s after $WARMUP_S s"
wrk -t 1 -c "$CONNECTIONS" -d "${DURATION_S}s" --timeout 2s -s "$ROOT/perf/wrk/payments.lua" \
  "$STACK_BACKEND_URL" -- "$RATE" "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')" \
  >"$OUT/wrk.txt" 2>&1 &
STACK_LOAD_PID=$!
sleep "$WARMUP_S"

redis-cli -s "$redis" CONFIG RESETSTAT >/dev/null
recorded_before=$(stack_backend_recorded 2)
watchers=()
for service in "${SERVICES[@]}"; do
  perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock \
    -p "$(service_pids "$service")" -o "$OUT/$service.stat" -- sleep "$WINDOW_S" 2>/dev/null &
  watchers+=("$!")
done
if ((TRACE == 1)); then
  for service in "${TRACED_SERVICES[@]}"; do
    perf trace -s -p "$(service_pids "$service")" -o "$OUT/$service.trace" -- sleep "$WINDOW_S" \
      >/dev/null 2>&1 &
    watchers+=("$!")
  done
fi
for pid in "${watchers[@]}"; do wait "$pid" || log "a perf watcher exited with status $?"; done
recorded_after=$(stack_backend_recorded 2)
redis-cli -s "$redis" INFO commandstats >"$OUT/commandstats.txt"
echo $((recorded_after - recorded_before)) >"$OUT/payments"
wait "$STACK_LOAD_PID" || log "wrk exited with status $?"
STACK_LOAD_PID=
tail -n 1 "$OUT/wrk.txt" >"$OUT/wrk.json"
stack_usage_report "$OUT/resources.txt" >/dev/null
python3 "$ROOT/perf/lib/counts_report.py" "$OUT" "$RATE" "$WINDOW_S" | tee "$OUT/counts.txt"
log "results in $OUT"
