#!/usr/bin/env bash
# The test bed's one lock. Every script that starts a stack (natively or in Docker: ports 9999, 8001
# and 8002, the cgroups under rinha/) holds /tmp/rinha-stack.lock while it runs, so that runs of
# several people on one machine wait for each other instead of colliding.
#
# Sourced by perf/lib/stack.sh. Entry point:
#   stack_lock NAME    take the lock for this process and its children, or see that it is held
#                      for us already; NAME prefixes the log lines. Nothing to release: the lock
#                      goes when the last process holding its descriptor exits.
#
# Held for us already means one of:
#   - a descriptor we inherited holds it: `flock /tmp/rinha-stack.lock ./run-tests.sh`, or a script
#     that took it (stack_lock, faults.sh) running another one. flock(2) locks belong to the open
#     file description, so locking that inherited descriptor again returns at once;
#   - an ancestor is `flock [-o] ... /tmp/rinha-stack.lock ...` whose descriptor did not reach us
#     (`flock -o` closes it for its command): locking it again would wait for ourselves forever.
# RINHA_STACK_LOCK names another lock file (to test this code without holding the shared one).

STACK_LOCK_FILE=${RINHA_STACK_LOCK:-/tmp/rinha-stack.lock}
# The descriptor a fresh lock is taken on (an inherited one keeps its own number): exec 9> below.
STACK_LOCK_FD=9

stack_lock_log() { # name message...
  local name=$1
  shift
  printf '[%s %s] %s\n' "$name" "$(date -u +%H:%M:%S)" "$*" >&2
}

# The number of a descriptor of this process open on the lock file, if there is one.
stack_lock_inherited_fd() {
  local target link
  target=$(readlink -f "$STACK_LOCK_FILE") || return 1
  for link in "/proc/$BASHPID/fd/"*; do
    [[ $(readlink "$link" 2>/dev/null) == "$target" ]] || continue
    printf '%s\n' "${link##*/}"
    return 0
  done
  return 1
}

stack_lock_held_by_ancestor() {
  local pid=$PPID command
  while ((pid > 1)); do
    command=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $command == *flock*"$STACK_LOCK_FILE"* ]] && return 0
    pid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || return 1
  done
  return 1
}

stack_lock() { # name
  local name=$1 fd
  if fd=$(stack_lock_inherited_fd); then
    if flock -n "$fd"; then
      stack_lock_log "$name" "$STACK_LOCK_FILE is held for this run already (descriptor $fd)"
      return 0
    fi
  elif stack_lock_held_by_ancestor; then
    stack_lock_log "$name" "an ancestor (flock) holds $STACK_LOCK_FILE"
    return 0
  else
    fd=$STACK_LOCK_FD
    exec 9>"$STACK_LOCK_FILE"
    flock -n "$fd" && return 0
  fi
  stack_lock_log "$name" "waiting for $STACK_LOCK_FILE (another run of the test bed holds it)"
  flock "$fd"
  stack_lock_log "$name" "took $STACK_LOCK_FILE"
}
