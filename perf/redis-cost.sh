#!/usr/bin/env bash
# What each Redis operation of a payment costs Redis, measured on a private redis-server (its own
# socket; no stack, no cgroup): the CPU Redis spends per operation (utime + stime from
# /proc/<pid>/stat over the operations) and the time inside the command (INFO commandstats).
#
# The scripts are read from src/store.rs, so the figures are those of the code in the tree. Load
# comes from redis-benchmark, pipelined (-P) as the API's connection pipelines concurrent requests;
# its own CPU is not counted. Operations: the bare LPUSH against the ENQUEUE script that wraps it;
# TAKE at several batch sizes; RECORD at several batch sizes; each with the AOF off and with the
# compose's AOF (appendfsync no).
#
# Usage: perf/redis-cost.sh [--operations N] [--pipeline P]
# Output: results/redis-cost-<UTC timestamp>/redis-cost.txt
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OPERATIONS=100000
PIPELINE=8

while (($# > 0)); do
  case $1 in
    --operations) OPERATIONS=${2:?}; shift ;;
    --pipeline) PIPELINE=${2:?}; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "redis-cost: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

OUT=$ROOT/results/redis-cost-$(date -u +%Y%m%dT%H%M%SZ)
DATA=$(mktemp -d /tmp/rinha-redis-cost.XXXXXX)
SOCKET=$DATA/redis.sock
REDIS_PID=
mkdir -p "$OUT"

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  if [[ -n $REDIS_PID ]]; then
    kill -TERM "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

cli() { redis-cli -s "$SOCKET" "$@"; }

# The Lua text of SCRIPT_NAME (e.g. ENQUEUE_SCRIPT) in src/store.rs, where the scripts are one raw
# string constant each; a layout where they are assembled from pieces is not read (the run stops).
script_text() {
  python3 -c 'import re,sys; s=open(sys.argv[1]).read()
m=re.search(r"const "+sys.argv[2]+r": &str = r#\"(.*?)\"#;", s, re.S)
sys.exit("redis-cost: no "+sys.argv[2]+" constant in "+sys.argv[1]) if not m else print(m.group(1))' \
    "$ROOT/src/store.rs" "$1"
}

redis_cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$REDIS_PID/stat"
}

start_redis() { # appendonly yes|no
  redis-server --port 0 --unixsocket "$SOCKET" --unixsocketperm 700 --save "" \
    --appendonly "$1" --appendfsync no --auto-aof-rewrite-min-size 4gb --dir "$DATA" \
    --daemonize no >"$OUT/redis-$1.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do cli ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redis-cost: redis did not start" >&2; exit 1
}

stop_redis() {
  kill -TERM "$REDIS_PID"; wait "$REDIS_PID" || true; REDIS_PID=
  rm -f "$DATA"/*.aof "$DATA"/appendonlydir/* 2>/dev/null || true
}

# One measurement: NAME PAYMENTS_PER_OPERATION OPERATIONS COMMAND...: runs COMMAND OPERATIONS
# times and prints Redis CPU µs and in-command µs per operation and per payment.
measure() {
  local name=$1 per=$2 operations=$3 before after hz usec calls
  shift 3
  hz=$(getconf CLK_TCK)
  cli CONFIG RESETSTAT >/dev/null
  before=$(redis_cpu_ticks)
  redis-benchmark -s "$SOCKET" -n "$operations" -c 4 -P "$PIPELINE" -r 1000000000000 -q \
    "$@" >"$OUT/$name.$AOF.benchmark.txt" 2>&1
  after=$(redis_cpu_ticks)
  cli INFO commandstats >"$OUT/$name.$AOF.commandstats.txt"
  read -r calls usec < <(awk -F'[:=,]' '/^cmdstat_(evalsha|lpush):/ { c += $3; u += $5 }
    END { print c + 0, u + 0 }' "$OUT/$name.$AOF.commandstats.txt")
  awk -v n="$name" -v a="$AOF" -v o="$operations" -v p="$per" -v t="$((after - before))" \
    -v hz="$hz" -v c="$calls" -v u="$usec" 'BEGIN {
      cpu = t * 1e6 / hz / o
      printf "%-16s %-4s %10.1f %12.1f %10.1f %12.1f\n", n, a, cpu, cpu / p, u / c, u / c / p }' |
    tee -a "$OUT/redis-cost.txt"
}

ID='00000000-0000-4000-8000-__rand_int__'
NOW_MS=$(($(date +%s) * 1000))
FAR_MS=$((NOW_MS + 86400000))
record_batch() { # n -> ARGV of RECORD for n payments
  local i batch=
  for ((i = 0; i < $1; i++)); do batch+="$ID:d:$NOW_MS:1990;"; done
  printf '%s' "$batch"
}

printf '%-16s %-4s %10s %12s %10s %12s\n' operation aof cpu_us/op cpu_us/paymt cmd_us/op \
  cmd_us/paymt | tee "$OUT/redis-cost.txt"
for AOF in no yes; do
  start_redis "$AOF"
  enqueue_text=$(script_text ENQUEUE_SCRIPT) && take_text=$(script_text TAKE_SCRIPT) &&
    record_text=$(script_text RECORD_SCRIPT) || exit 1
  enqueue=$(cli SCRIPT LOAD "$enqueue_text")
  take=$(cli SCRIPT LOAD "$take_text")
  record=$(cli SCRIPT LOAD "$record_text")
  measure lpush 1 "$OPERATIONS" LPUSH rinha:queue "$ID:1990:$NOW_MS"
  measure enqueue-script 1 "$OPERATIONS" EVALSHA "$enqueue" 1 rinha:queue "$ID:1990:$NOW_MS" \
    "$FAR_MS"
  # TAKE OPERATIONS payments from a queue that holds them, in batches of 1, 5 and 20.
  for n in 1 5 20; do
    cli DEL rinha:queue rinha:seen rinha:processing:w:0 >/dev/null
    redis-benchmark -s "$SOCKET" -n "$OPERATIONS" -c 4 -P 64 -r 1000000000000 -q \
      LPUSH rinha:queue "$ID:1990:$NOW_MS" >/dev/null 2>&1
    measure "take-$n" "$n" "$((OPERATIONS / n))" EVALSHA "$take" 4 rinha:queue rinha:seen \
      rinha:processing:w:0 rinha:processing:w:0:take "$n" d "$NOW_MS" - "t.__rand_int__"
  done
  for n in 1 10 100; do
    measure "record-$n" "$n" "$((OPERATIONS / n))" EVALSHA "$record" 2 rinha:processing:w:0 \
      rinha:seconds "$(record_batch "$n")"
  done
  stop_redis
done
echo "Redis CPU per operation from /proc (protocol, I/O and the AOF included); cmd = INFO" \
  "commandstats (EVALSHA with its calls). $OPERATIONS payments each, pipeline $PIPELINE." |
  tee -a "$OUT/redis-cost.txt"
echo "results in $OUT" >&2
