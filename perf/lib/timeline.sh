#!/usr/bin/env bash
# A run's timeline picture (issue 11): the shell side. The work is in Python next to this file:
#   sampler.py   once per second during the load: queue depth and payments in flight (Redis),
#                the health the backend polled, CFS counters of each service's cpu cgroup;
#   books.py     after the load: payments recorded per second by each processor (admin summaries);
#   timeline.py  draws RESULTS_DIR/timeline.png from those and from k6's per-request CSV.
#
# Sourced by run-tests.sh after perf/lib/stack.sh; nothing here runs on its own. Mode-neutral:
# the caller says where Redis and the cgroups are.
#   TIMELINE_REDIS_SOCKET          Redis Unix socket to sample (empty: no Redis samples)
#   TIMELINE_CGROUPS               array of SERVICE=CPU_CGROUP_DIR (empty: no CFS panel)
#   timeline_native_cgroups        fills TIMELINE_CGROUPS from the native stack's cgroups
#   (the Docker stack's socket and cgroups come from perf/lib/docker_stack.sh: run_docker)
#   timeline_k6_arguments DIR      fills TIMELINE_K6_ARGUMENTS: k6's per-request CSV into DIR
#   timeline_start DIR             marks the start; starts the sampler if a socket is set
#   timeline_stop                  stops the sampler (idempotent; call it from EXIT traps too)
#   timeline_render DIR DEFAULT_URL FALLBACK_URL TOKEN [SCHEDULE [DURATION_S]]
#                                  reads the books, draws, prints "timeline <path>" and appends
#                                  that line to DIR/score.txt when there is one

TIMELINE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TIMELINE_K6_SAMPLES=k6-samples.csv.gz
# The sampler stops by itself after this long, should nobody stop it (the final profile: ~6 min).
TIMELINE_SAMPLER_MAX_S=3600
# Books are read from a little before the load to a little after the end: payments recorded
# after k6 stopped are lag, and the picture should show them.
TIMELINE_BOOKS_MARGIN_MS=3000
TIMELINE_REDIS_SOCKET=${TIMELINE_REDIS_SOCKET:-}
TIMELINE_CGROUPS=()
TIMELINE_SAMPLER_PID=
TIMELINE_STARTED_MS=

timeline_log() {
  printf '[timeline %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

timeline_now_ms() {
  date +%s%3N
}

timeline_native_cgroups() {
  local service
  TIMELINE_CGROUPS=()
  while read -r service; do
    TIMELINE_CGROUPS+=("$service=$(stack_cgroup_dir cpu "$service")")
  done < <(stack_budget_services)
}

# k6 writes every sample to a gzipped CSV with millisecond timestamps (the default is seconds).
# K6_CSV_TIME_FORMAT is read from k6's environment: pass it with `env`.
# shellcheck disable=SC2034 # both arrays are read by the caller (run-tests.sh run_k6)
timeline_k6_arguments() { # results_dir
  TIMELINE_K6_ARGUMENTS=(--out "csv=$1/$TIMELINE_K6_SAMPLES")
  TIMELINE_K6_ENVIRONMENT=(K6_CSV_TIME_FORMAT=unix_milli)
}

timeline_start() { # results_dir
  local arguments=() pair
  TIMELINE_STARTED_MS=$(timeline_now_ms)
  if [[ -z $TIMELINE_REDIS_SOCKET ]]; then
    timeline_log "no Redis socket given: the timeline will have no queue, in-flight or CFS panel"
    return 0
  fi
  for pair in "${TIMELINE_CGROUPS[@]}"; do arguments+=(--cgroup "$pair"); done
  python3 "$TIMELINE_LIB/sampler.py" "$1/timeline-samples.jsonl" \
    --redis-socket "$TIMELINE_REDIS_SOCKET" --max-duration-s "$TIMELINE_SAMPLER_MAX_S" \
    "${arguments[@]}" </dev/null 2>>"$1/timeline.log" &
  TIMELINE_SAMPLER_PID=$!
}

timeline_stop() {
  [[ -n $TIMELINE_SAMPLER_PID ]] || return 0
  kill -TERM "$TIMELINE_SAMPLER_PID" 2>/dev/null || true
  wait "$TIMELINE_SAMPLER_PID" 2>/dev/null || true
  TIMELINE_SAMPLER_PID=
}

timeline_render() { # results_dir default_url fallback_url token [schedule [duration_s]]
  local directory=$1 started=${TIMELINE_STARTED_MS:-} picture=$1/timeline.png arguments=()
  [[ -n $started ]] || started=$(($(timeline_now_ms) - TIMELINE_SAMPLER_MAX_S * 1000))
  python3 "$TIMELINE_LIB/books.py" "$directory/timeline-books.jsonl" \
    --from-ms "$((started - TIMELINE_BOOKS_MARGIN_MS))" \
    --to-ms "$(($(timeline_now_ms) + TIMELINE_BOOKS_MARGIN_MS))" \
    --processor "default=$2" --processor "fallback=$3" --token "$4" --token "$STACK_SIM_TOKEN" \
    2>>"$directory/timeline.log" || timeline_log "reading the processors' books failed"
  [[ -z ${5:-} ]] || arguments+=(--schedule "$5")
  [[ -z ${6:-} ]] || arguments+=(--duration-s "$6")
  if ! python3 "$TIMELINE_LIB/timeline.py" "$directory" "${arguments[@]}" --output "$picture" \
    >/dev/null 2>>"$directory/timeline.log"; then
    timeline_log "drawing the timeline failed, see $directory/timeline.log"
    return 1
  fi
  printf 'timeline %s\n' "$picture"
  if [[ -f $directory/score.txt ]]; then
    printf 'timeline %s\n' "$picture" >>"$directory/score.txt"
  fi
}
