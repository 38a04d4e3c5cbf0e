#!/usr/bin/env bash
# Cost of Redis persistence: CPU per payment and p99 for each `appendfsync` setting.
#
# Starts the native stack of docker-compose.yml once (AOF on, as the compose has it), then, for
# ROUNDS rounds, for each setting of SETTINGS in turn: `CONFIG SET appendfsync <setting>` (and
# `appendonly no` for the "off" baseline), a constant-rate load of RATE payments per second for
# DURATION_S seconds (perf/k6/rate.js), a wait until the backend has recorded every accepted
# payment, and the services' cgroup CPU time over that span divided by the accepted payments
# (simulators and k6 excluded), plus Redis's own share. Interleaved rounds spread the noise of a
# shared machine over every setting. Prints the table and the medians.
#
# Usage: perf/aof-cost.sh [--rounds N] [--rate N] [--duration S] [--no-install] [--no-build]
# Output: results/aof-cost-<UTC timestamp>/ (aof-cost.txt, one k6 JSON per run).
# Takes /tmp/rinha-stack.lock itself (perf/lib/lock.sh), unless it is held for it already.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
SETTINGS=(off no everysec always)
DRAIN_TRIES=60
perf_options aof-cost --rounds=ROUNDS:count:2 --rate=RATE:count:600 \
  --duration=DURATION_S:count:20 -- "$@"
stack_lock aof-cost

log() {
  printf '[aof-cost %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

OUT=$ROOT/results/aof-cost-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
stack_fees preview

stack_stop_on_exit

redis_cli() {
  redis-cli -s "$STACK_SOCKET_DIR/redis.sock" "$@"
}

redis_cpu_ns() {
  cat "$(stack_cgroup_dir cpuacct redis)/cpuacct.usage"
}

json_field() { # file field
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

run_one() { # name setting
  local name=$1 setting=$2 before_ns after_ns redis_before redis_after start_count accepted try
  if [[ $setting == off ]]; then
    redis_cli CONFIG SET appendonly no >/dev/null
  else
    redis_cli CONFIG SET appendonly yes >/dev/null
    redis_cli CONFIG SET appendfsync "$setting" >/dev/null
  fi
  sleep 1
  start_count=$(stack_backend_recorded 1)
  before_ns=$(stack_cpu_usage_ns)
  redis_before=$(redis_cpu_ns)
  (cd "$ROOT/perf/k6" && k6 run --quiet --no-color -e RATE="$RATE" -e DURATION_S="$DURATION_S" \
    -e RESULTS_FILE="$OUT/$name.json" rate.js) >"$OUT/$name.k6.log" 2>&1
  accepted=$(json_field "$OUT/$name.json" accepted)
  for ((try = 0; try < DRAIN_TRIES; try++)); do
    (($(stack_backend_recorded 1) >= start_count + accepted)) && break
    sleep 0.5
  done
  after_ns=$(stack_cpu_usage_ns)
  redis_after=$(redis_cpu_ns)
  awk -v n="$name" -v s="$setting" -v a="$accepted" -v c=$((after_ns - before_ns)) \
    -v r=$((redis_after - redis_before)) -v p="$(json_field "$OUT/$name.json" p99_ms)" \
    'BEGIN { printf "%s %s %d %.1f %.1f %.3f\n", n, s, a, c / 1000 / a, r / 1000 / a, p }' |
    tee -a "$OUT/runs.txt" >&2
}

stack_init "$ROOT" "$OUT/run"
((INSTALL == 0)) || stack_install_deps
((BUILD == 0)) || stack_build
stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
stack_start_services
stack_wait_ready 15 0.5
log "rounds $ROUNDS x settings ${SETTINGS[*]}, $RATE/s for $DURATION_S s each"
for ((round = 1; round <= ROUNDS; round++)); do
  for setting in "${SETTINGS[@]}"; do
    run_one "$setting-$round" "$setting"
  done
done
{
  echo "| appendfsync | runs | CPU us / payment (all services) | Redis CPU us / payment | p99 ms |"
  echo "|---|---|---|---|---|"
  for setting in "${SETTINGS[@]}"; do
    awk -v s="$setting" '$2 == s { n++; c[n] = $4; r[n] = $5; p[n] = $6 }
      function median(v, count,   i, j, t) {
        for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++)
          if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return count % 2 ? v[(count + 1) / 2] : (v[count / 2] + v[count / 2 + 1]) / 2
      }
      END { printf "| %s | %d | %.1f | %.1f | %.3f |\n", (s == "off" ? "off (appendonly no)" : s),
        n, median(c, n), median(r, n), median(p, n) }' "$OUT/runs.txt"
  done
} | tee "$OUT/aof-cost.txt"
log "results in $OUT"
