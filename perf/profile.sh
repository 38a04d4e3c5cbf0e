#!/usr/bin/env bash
# CPU flamegraphs of every service of the stack under load, on the native stack.
#
# Starts the stack (perf/lib/stack.sh, the same code as run-tests.sh), drives it with
# perf/k6/rate.js (RATE POST /payments per second), samples redis, nginx (master and worker),
# api1, api2 and the worker with `perf record -e cpu-clock` while the load runs, and renders one
# SVG per service with inferno into FLAMEGRAPH_DIR/<service>.svg (default flamegraphs/). Redis and
# nginx are Debian's stripped binaries: their user-space frames show as the nearest exported
# symbol or [unknown], but the split between their own code and the kernel's is exact.
#
# Call graphs: --call-graph fp (default) builds a separate copy of the binaries with frame pointers
# (CARGO_TARGET_DIR=target/profiling, RUSTFLAGS=-Cforce-frame-pointers=yes), because the release
# profile omits them and fp unwinding would be cut short; --call-graph dwarf profiles the normal
# release binaries with DWARF unwinding (larger perf.data, slower to process).
#
# Usage: perf/profile.sh [--duration S] [--rate N] [--frequency HZ] [--call-graph fp|dwarf]
#                        [--no-install] [--no-build]
# Output: FLAMEGRAPH_DIR/{redis,nginx,api1,api2,worker}.svg, and
# results/profile-<UTC timestamp>/ (perf.data, folded stacks, logs).
# Takes /tmp/rinha-stack.lock itself (perf/lib/lock.sh), unless it is held for it already.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=perf/lib/stack.sh
source "$ROOT/perf/lib/stack.sh"
WARMUP_S=3
perf_options profile --duration=DURATION_S:count:30 --rate=RATE:count:600 \
  --frequency=FREQUENCY_HZ:count:499 '--call-graph=CALL_GRAPH:fp|dwarf:fp' -- "$@"
if ((DURATION_S <= WARMUP_S + 2)); then
  echo "profile: --duration must exceed $((WARMUP_S + 2)) s" >&2
  exit 2
fi
stack_lock profile

PROFILED_SERVICES=(redis nginx api1 api2 worker)
FLAMEGRAPH_DIR=${FLAMEGRAPH_DIR:-$ROOT/flamegraphs}
OUT=$ROOT/results/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT" "$FLAMEGRAPH_DIR"
stack_fees preview
STACK_LOAD_PID=

log() {
  printf '[profile %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

stack_stop_on_exit

install_tools() {
  command -v perf >/dev/null || {
    log "installing linux-perf with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
  }
  command -v inferno-flamegraph >/dev/null || {
    log "installing inferno with cargo (a few minutes)"
    cargo install --locked inferno >"$OUT/cargo-install-inferno.log" 2>&1
  }
}

build_binaries() {
  if [[ $CALL_GRAPH == fp ]]; then
    log "building with frame pointers into target/profiling"
    (cd "$ROOT" && CARGO_TARGET_DIR=$ROOT/target/profiling \
      RUSTFLAGS="${RUSTFLAGS:-} -C force-frame-pointers=yes" cargo build --release) \
      >"$OUT/cargo-build.log" 2>&1 || { tail -n 30 "$OUT/cargo-build.log" >&2; exit 1; }
    export RINHA_BIN_DIR=$ROOT/target/profiling/release
  else
    (cd "$ROOT" && cargo build --release) >"$OUT/cargo-build.log" 2>&1 ||
      { tail -n 30 "$OUT/cargo-build.log" >&2; exit 1; }
  fi
}

stack_init "$ROOT" "$OUT/run"
if ((INSTALL == 1)); then
  stack_install_deps
  install_tools
fi
((BUILD == 0)) || build_binaries
stack_start_simulators "$DEFAULT_FEE" "$FALLBACK_FEE"
stack_start_services
stack_wait_ready 15 1

# Every process of each service's cgroup (nginx has a master and a worker), comma-separated.
pids=()
for service in "${PROFILED_SERVICES[@]}"; do
  pids+=("$(paste -sd, "$(stack_cgroup_dir cpuacct "$service")/cgroup.procs")")
done
log "load: $RATE payments/s for $DURATION_S s; sampling ${PROFILED_SERVICES[*]} (pids ${pids[*]})"
(cd "$ROOT/perf/k6" && exec k6 run --quiet --no-color -e RATE="$RATE" -e DURATION_S="$DURATION_S" \
  -e DEFAULT_URL="http://127.0.0.1:$STACK_DEFAULT_PORT" \
    -e FALLBACK_URL="http://127.0.0.1:$STACK_FALLBACK_PORT" \
    -e PURGE=1 -e RESULTS_FILE="$OUT/load.json" rate.js) >"$OUT/k6.log" 2>&1 &
STACK_LOAD_PID=$!
sleep "$WARMUP_S"
if [[ $CALL_GRAPH == fp ]]; then graph=(-g); else graph=(--call-graph "dwarf,16384"); fi
(IFS=,; perf record -e cpu-clock -F "$FREQUENCY_HZ" "${graph[@]}" -p "${pids[*]}" \
  -o "$OUT/perf.data" -- sleep $((DURATION_S - WARMUP_S - 1))) >"$OUT/perf-record.log" 2>&1 ||
  { cat "$OUT/perf-record.log" >&2; exit 1; }
wait "$STACK_LOAD_PID" || log "k6 exited with status $?"
STACK_LOAD_PID=
tail -n 1 "$OUT/k6.log" >&2

for index in "${!PROFILED_SERVICES[@]}"; do
  service=${PROFILED_SERVICES[$index]}
  perf script -i "$OUT/perf.data" --pid "${pids[$index]}" 2>>"$OUT/perf-script.log" |
    inferno-collapse-perf >"$OUT/$service.folded"
  if [[ ! -s $OUT/$service.folded ]]; then
    log "WARNING: no samples for $service"
    continue
  fi
  title="$service: $RATE payments/s, cpu-clock ${FREQUENCY_HZ} Hz, $CALL_GRAPH"
  inferno-flamegraph --title "$title" \
    <"$OUT/$service.folded" >"$FLAMEGRAPH_DIR/$service.svg"
  log "$FLAMEGRAPH_DIR/$service.svg ($(wc -l <"$OUT/$service.folded") distinct stacks)"
done
log "perf data and folded stacks in $OUT"
