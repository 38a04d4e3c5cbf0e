#!/usr/bin/env python3
"""The table of perf/counts.sh: per payment, each service's system calls, context switches and
CPU; api1's and the worker's system calls by name; Redis's commands.

Usage: counts_report.py OUT_DIR RATE WINDOW_S

Reads OUT_DIR/payments (payments recorded in the window), <service>.stat (perf stat -x,),
<service>.trace (perf trace -s), commandstats.txt (INFO commandstats, reset at the window's start).
"""

import os
import re
import sys

SERVICES = ("redis", "nginx", "api1", "api2", "worker")
TRACED = SERVICES
# Commands our Lua scripts call; Redis counts them apart and again inside EVALSHA's time.
SCRIPT_COMMANDS = {"lindex", "rpop", "lpush", "rpush", "hsetnx", "hset", "hget", "hdel", "set",
                   "hincrby", "zadd", "time", "zrangebyscore", "zrange", "hmget", "hgetall", "del"}
OWN_COMMANDS = {"config|resetstat", "info"}


def read_text(path):
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


def perf_stat(path):
    """{event: value} from `perf stat -x,` (task-clock in ms)."""
    events = {}
    for line in read_text(path).splitlines():
        fields = line.split(",")
        if len(fields) < 3 or line.startswith("#"):
            continue
        try:
            events[fields[2]] = float(fields[0])
        except ValueError:
            continue
    return events


def perf_trace(path):
    """{syscall: (calls, total ms)} summed over the threads of `perf trace -s`."""
    calls = {}
    for line in read_text(path).splitlines():
        match = re.match(r"^\s+([a-z_0-9]+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s", line)
        if match and match.group(1) != "syscall":
            name = match.group(1)
            count, total = calls.get(name, (0, 0.0))
            calls[name] = (count + int(match.group(2)), total + float(match.group(4)))
    return calls


def commandstats(path):
    stats = {}
    for line in read_text(path).splitlines():
        match = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if match and match.group(1) not in OWN_COMMANDS:
            stats[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    return stats


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, rate, window = argv
    payments = int(read_text(os.path.join(out, "payments")).strip() or 0)
    per = max(payments, 1)
    print(f"rate {rate}/s, window {window} s: {payments} payments recorded in the window")
    print(f"{'service':<8} {'syscalls':>9} {'ctx_sw':>8} {'cpu_us':>8}   (per payment)")
    for service in SERVICES:
        events = perf_stat(os.path.join(out, f"{service}.stat"))
        syscalls = events.get("raw_syscalls:sys_enter")
        switches = events.get("context-switches")
        clock = events.get("task-clock")
        print(f"{service:<8} {'-' if syscalls is None else format(syscalls / per, '.2f'):>9} "
              f"{'-' if switches is None else format(switches / per, '.2f'):>8} "
              f"{'-' if clock is None else format(clock * 1000 / per, '.1f'):>8}")
    for service in TRACED:
        calls = perf_trace(os.path.join(out, f"{service}.trace"))
        if not calls:
            continue
        ranked = sorted(calls.items(), key=lambda item: -item[1][0])
        print(f"{service} system calls per payment (perf trace -s; calls, ms of wall time in "
              f"the call per 1000 payments): " + ", ".join(
                  f"{name} {count / per:.2f} ({total * 1000 / per:.1f})"
                  for name, (count, total) in ranked[:12]))
    stats = commandstats(os.path.join(out, "commandstats.txt"))
    if stats:
        top = sum(usec for name, (_, usec) in stats.items() if name not in SCRIPT_COMMANDS)
        print(f"redis commands per payment (calls / usec; evalsha's usec includes its scripts' "
              f"calls; top-level {top / per:.1f} usec): " + ", ".join(
                  f"{name} {calls / per:.2f} / {usec / per:.1f}"
                  for name, (calls, usec) in sorted(stats.items(), key=lambda i: -i[1][1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
