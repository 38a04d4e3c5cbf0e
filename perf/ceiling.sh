#!/usr/bin/env bash
# The ceiling of the native stack: the highest constant rate it holds for DURATION_S seconds at the
# compose limits with p99 under 5 ms, nothing lost and the backlog drained; and how CPU per payment
# grows with the rate.
#
# For each rate, a fresh stack (perf/lib/stack.sh, simulators at delay 0, both healthy) takes
# POST /payments from wrk (perf/wrk/payments.lua: unique ids, paced to the rate). wrk, from Debian,
# costs a few µs of CPU per request where k6 costs about 450, so the generator is not the limit on
# two cores; it runs in a cgroup of its own so that its CPU is reported. After the load the script
# waits (bounded) until the backend has recorded every payment wrk saw accepted and the queue is
# empty, then compares the backend's summary with both processors' books. Redis's INFO
# commandstats is reset before the load and read after the drain: calls and µs per command.
#
# A rate holds when: wrk reached 99 % of it, p99 < 5 ms, no request failed, the backend recorded at
# least what wrk saw accepted (it may record up to CONNECTIONS more: requests in flight when wrk
# stopped), the books equal the backend's summary, and the queue and processing hashes are empty.
#
# --floor also runs, before each rate, nginx alone answering 202 (bench.sh's floor) under the same
# wrk load: its p99 is the share of the tail that belongs to the machine and the generator.
#
# Usage: perf/ceiling.sh [--rates "600 1200 ..."] [--duration S] [--connections N] [--threads N]
#                        [--drain S] [--floor] [--no-install] [--no-build]
# Output: results/ceiling-<UTC timestamp>/ (ceiling.txt, one directory per rate).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"

# Enough idle connections that the schedule never waits for an answer (rate x p99 << this).
perf_options ceiling '--rates=RATES:counts:600 1200 1800 2400 3000' \
  --duration=DURATION_S:count:60 --connections=CONNECTIONS:count:128 \
  --threads=THREADS:count:1 --drain=DRAIN_S:count:60 --floor=FLOOR:flag:0 -- "$@"

stack_lock ceiling
OUT=$ROOT/results/ceiling-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
stack_fees preview

log() {
  printf '[ceiling %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

stack_stop_on_exit

install_wrk() {
  command -v wrk >/dev/null && return
  log "installing wrk with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}

# Every service's cpuacct.usage (the five of the compose file, the simulators and wrk).
cpu_snapshot() { # file
  local service
  for service in "${STACK_SERVICES[@]}"; do
    printf '%s %s\n' "$service" "$(<"$(stack_cgroup_dir cpuacct "$service")/cpuacct.usage")"
  done >"$1"
}

redis_cli() {
  redis-cli -s "$(stack_plan_field redis unix_listen)" "$@"
}

# Until the backend has at least ACCEPTED and the queue is empty, or DRAIN_S; prints the seconds.
wait_drained() { # accepted
  local started=$SECONDS recorded queued
  while ((SECONDS - started < DRAIN_S)); do
    recorded=$(stack_backend_recorded 2) || recorded=0
    queued=$(redis_cli LLEN rinha:queue) || queued=1
    if ((${recorded:-0} >= $1 && queued == 0)); then
      echo $((SECONDS - started))
      return 0
    fi
    sleep 0.5
  done
  log "WARNING: backend recorded ${recorded:-?} of $1, queue ${queued:-?}, after $DRAIN_S s"
  echo -1
}

# What is left in the processing hashes (payments taken and not settled).
processing_left() {
  local key total=0
  while read -r key; do
    [[ -n $key && $key != *:take ]] || continue
    total=$((total + $(redis_cli HLEN "$key")))
  done < <(redis_cli --scan --pattern 'rinha:processing:*')
  echo "$total"
}

# wrk at RATE against :9999 for DURATION_S, in the cgroup `wrk`; its done() line to FILE.
run_wrk() { # rate file
  local procs nonce
  stack_cgroup_add_unlimited wrk
  procs=$(stack_cgroup_procs_files wrk)
  nonce=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  # shellcheck disable=SC2016 # expanded by the inner bash
  bash -c 'IFS=: read -r -a files <<<"$1"; for file in "${files[@]}"; do echo $$ >"$file"; done
    shift; exec "$@"' wrk-launch "$procs" \
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION_S}s" --timeout 2s \
    -s "$ROOT/perf/wrk/payments.lua" "$STACK_BACKEND_URL" -- \
    "$(awk -v r="$1" -v t="$THREADS" 'BEGIN { print r / t }')" "$nonce" \
    >"${2%.json}.txt" 2>&1 || { cat "${2%.json}.txt" >&2; stack_die "wrk failed at $1/s"; }
  tail -n 1 "${2%.json}.txt" >"$2"
}

run_floor() { # rate
  local dir=$OUT/rate-$1
  stack_init "$ROOT" "$dir/floor"
  stack_start_floor
  log "floor: nginx alone, rate $1/s for $DURATION_S s"
  cpu_snapshot "$dir/floor-cpu.before"
  run_wrk "$1" "$dir/floor-wrk.json"
  cpu_snapshot "$dir/floor-cpu.after"
  stack_stop
}

run_rate() { # rate
  local rate=$1 dir=$OUT/rate-$1 drained
  ((FLOOR == 0)) || run_floor "$rate"
  stack_init "$ROOT" "$dir"
  stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
  stack_start_services
  stack_wait_ready 15 1
  curl -sf -o /dev/null -X POST "$STACK_BACKEND_URL/purge-payments"
  redis_cli CONFIG RESETSTAT >/dev/null
  log "rate $rate/s for $DURATION_S s: wrk, $THREADS thread(s), $CONNECTIONS connections"
  cpu_snapshot "$dir/cpu.before"
  run_wrk "$rate" "$dir/wrk.json"
  drained=$(wait_drained "$(python3 "$ROOT/perf/lib/ceiling_report.py" --accepted "$dir/wrk.json")")
  cpu_snapshot "$dir/cpu.after"
  echo "$drained" >"$dir/drain_s"
  curl -s --max-time 2 "$STACK_BACKEND_URL/payments-summary" >"$dir/backend.json"
  curl -s --max-time 2 -H "X-Rinha-Token: $STACK_SIM_TOKEN" \
    "http://127.0.0.1:$STACK_DEFAULT_PORT/admin/payments-summary" >"$dir/default.json"
  curl -s --max-time 2 -H "X-Rinha-Token: $STACK_SIM_TOKEN" \
    "http://127.0.0.1:$STACK_FALLBACK_PORT/admin/payments-summary" >"$dir/fallback.json"
  redis_cli LLEN rinha:queue >"$dir/queue_left"
  processing_left >"$dir/processing_left"
  redis_cli INFO commandstats >"$dir/commandstats.txt"
  stack_usage_report "$dir/resources.txt" >/dev/null
  stack_stop
  python3 "$ROOT/perf/lib/ceiling_report.py" --line "$dir" "$rate" "$DURATION_S" \
    "$CONNECTIONS" >&2
}

stack_init "$ROOT" "$OUT/setup"
((INSTALL == 0)) || { stack_install_deps; install_wrk; }
((BUILD == 0)) || stack_build
command -v wrk >/dev/null || stack_die "wrk is missing (apt-get install wrk)"
for rate in $RATES; do
  run_rate "$rate"
done
# shellcheck disable=SC2086 # RATES is a list: one argument per rate
python3 "$ROOT/perf/lib/ceiling_report.py" "$OUT" "$DURATION_S" "$CONNECTIONS" $RATES |
  tee "$OUT/ceiling.txt"
log "results in $OUT"
