#!/usr/bin/env python3
"""The figures of perf/ceiling.sh.

Usage:
  ceiling_report.py --accepted WRK_JSON                 payments wrk saw answered 2xx
  ceiling_report.py --line RATE_DIR RATE DURATION_S CONNECTIONS   one rate's verdict line
  ceiling_report.py OUT_DIR DURATION_S CONNECTIONS RATE...        the table over the rates

A rate's directory holds wrk.json (perf/wrk/payments.lua's done() line), cpu.{before,after}
(`service ns` of each cgroup), backend.json (GET /payments-summary after the drain),
default.json and fallback.json (the simulators' admin summaries), queue_left, processing_left,
drain_s, resources.txt and commandstats.txt (Redis INFO commandstats, reset before the load).
"""

import json
import os
import re
import sys

from bench_report import read_cpu

SERVICES = ("redis", "nginx", "api1", "api2", "worker")
P99_LIMIT_MS = 5.0
# Commands our Lua scripts call: Redis counts them apart *and* inside the EVALSHA that ran them,
# so the top-level total adds EVALSHA and only the commands outside this set (health GET, PEXPIRE).
SCRIPT_COMMANDS = {"lindex", "rpop", "lpush", "rpush", "hsetnx", "hset", "hget", "hdel", "set",
                   "hincrby", "zadd", "time", "zrangebyscore", "zrange", "hmget", "hgetall", "del"}
# Commands perf/ceiling.sh itself sends around the load.
OWN_COMMANDS = {"config|resetstat", "scan", "llen", "hlen", "info", "ping"}
RATE_SHARE_MIN = 0.99


def load_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return ""


def accepted(wrk):
    """wrk counts non-2xx/3xx answers in status_errors; the rest of its requests were 202s."""
    return wrk["requests"] - wrk["status_errors"]


def commandstats(directory):
    """{command: (calls, usec)} from INFO commandstats."""
    stats = {}
    for line in read_text(os.path.join(directory, "commandstats.txt")).splitlines():
        match = re.match(r"cmdstat_([^:]+):calls=(\d+),usec=(\d+)", line)
        if match:
            stats[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    return stats


def throttled(directory):
    """{service: 'throttled/periods'} from resources.txt."""
    result = {}
    for line in read_text(os.path.join(directory, "resources.txt")).splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6:
            result[fields[0]] = fields[5]
    return result


def evaluate(directory, rate, duration_s, connections):
    wrk = load_json(os.path.join(directory, "wrk.json"))
    if wrk is None:
        return {"rate": rate, "error": "no wrk result"}
    backend = load_json(os.path.join(directory, "backend.json")) or {}
    books = [load_json(os.path.join(directory, f"{name}.json")) or {}
             for name in ("default", "fallback")]
    ok = accepted(wrk)
    recorded = sum(backend.get(p, {}).get("totalRequests", 0) for p in ("default", "fallback"))
    paid = sum(book.get("totalRequests", 0) for book in books)
    cpu = read_cpu(directory)
    denominator = max(recorded, 1)
    achieved = wrk["requests"] / (wrk["duration_us"] / 1e6)
    failed = (wrk["connect_errors"] + wrk["read_errors"] + wrk["write_errors"] +
              wrk["status_errors"] + wrk["timeouts"])
    queue_left = read_text(os.path.join(directory, "queue_left"))
    processing = read_text(os.path.join(directory, "processing_left"))
    drain = read_text(os.path.join(directory, "drain_s"))
    lost = max(ok - recorded, 0)
    in_flight = recorded - ok
    reasons = []
    if achieved < RATE_SHARE_MIN * rate:
        reasons.append(f"rate {achieved:.0f}/s")
    if wrk["p99_us"] / 1000 >= P99_LIMIT_MS:
        reasons.append(f"p99 {wrk['p99_us'] / 1000:.2f} ms")
    if failed:
        reasons.append(f"{failed} failed")
    if lost:
        reasons.append(f"{lost} lost")
    if in_flight > connections:
        reasons.append(f"{in_flight} recorded beyond wrk's count")
    if paid != recorded:
        reasons.append(f"books {paid} != backend {recorded}")
    if queue_left != "0" or processing != "0" or drain == "-1":
        reasons.append(f"not drained (queue {queue_left}, processing {processing})")
    floor = load_json(os.path.join(directory, "floor-wrk.json"))
    floor_cpu = read_cpu(directory, "floor-")
    return {
        "rate": rate,
        "floor_p99_ms": floor["p99_us"] / 1000 if floor else None,
        "floor_nginx_us": (floor_cpu.get("nginx-floor", 0) / 1000 / max(floor["requests"], 1)
                           if floor and floor_cpu else None),
        "achieved": achieved,
        "p50_ms": wrk["p50_us"] / 1000,
        "p99_ms": wrk["p99_us"] / 1000,
        "p999_ms": wrk["p999_us"] / 1000,
        "max_ms": wrk["max_us"] / 1000,
        "accepted": ok,
        "recorded": recorded,
        "paid": paid,
        "failed": failed,
        "drain_s": drain,
        "cpu_us": {name: ns / 1000 / denominator for name, ns in cpu.items()},
        "stack_cpu_us": sum(cpu.get(s, 0) for s in SERVICES) / 1000 / denominator,
        "wrk_us_per_request": cpu.get("wrk", 0) / 1000 / max(wrk["requests"], 1),
        "commands": commandstats(directory),
        "throttled": throttled(directory),
        "holds": not reasons,
        "reasons": reasons,
    }


def optional(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def verdict_line(result):
    if "error" in result:
        return f"rate {result['rate']}/s: {result['error']}"
    return (f"rate {result['rate']}/s: achieved {result['achieved']:.0f}/s, "
            f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
            f"max {result['max_ms']:.1f} ms, accepted {result['accepted']}, recorded "
            f"{result['recorded']}, books {result['paid']}, drained in {result['drain_s']} s, "
            f"stack {result['stack_cpu_us']:.1f} us/payment, wrk "
            f"{result['wrk_us_per_request']:.1f} us/request: "
            + ("HOLDS" if result["holds"] else "fails (" + ", ".join(result["reasons"]) + ")"))


def table(results):
    lines = []
    header = (f"{'rate':>5} {'achieved':>8} {'p50_ms':>7} {'p99_ms':>7} {'p99.9':>7} "
              f"{'floor99':>7} {'floor_us':>8} "
              f"{'max_ms':>7} {'accepted':>8} {'recorded':>8} {'books':>8} {'drain_s':>7} "
              f"{'stack_us':>8} " + " ".join(f"{s:>7}" for s in SERVICES) +
              f" {'sims':>6} {'wrk_us':>6}  verdict")
    lines.append("CPU in us per recorded payment; wrk in us per request; floor99 and floor_us: "
                 "p99 and nginx CPU per request of nginx alone (return 202) under the same load")
    lines.append(header)
    for result in results:
        if "error" in result:
            lines.append(f"{result['rate']:>5} {result['error']}")
            continue
        cpu = result["cpu_us"]
        sims = cpu.get("sim-default", 0) + cpu.get("sim-fallback", 0)
        lines.append(
            f"{result['rate']:>5} {result['achieved']:>8.0f} {result['p50_ms']:>7.2f} "
            f"{result['p99_ms']:>7.2f} {result['p999_ms']:>7.2f} "
            f"{optional(result['floor_p99_ms'], 2):>7} {optional(result['floor_nginx_us'], 1):>8} "
            f"{result['max_ms']:>7.1f} "
            f"{result['accepted']:>8} {result['recorded']:>8} {result['paid']:>8} "
            f"{result['drain_s']:>7} {result['stack_cpu_us']:>8.1f} " +
            " ".join(f"{cpu.get(s, 0):>7.1f}" for s in SERVICES) +
            f" {sims:>6.1f} {result['wrk_us_per_request']:>6.1f}  " +
            ("holds" if result["holds"] else "fails: " + ", ".join(result["reasons"])))
    held = [r["rate"] for r in results if r.get("holds")]
    lines.append(f"ceiling: {max(held)}/s (highest rate that held)" if held
                 else "ceiling: no rate held")
    lines.append("")
    lines.append("throttled CFS periods / periods:")
    for result in results:
        if "throttled" in result:
            lines.append(f"  {result['rate']:>5}/s: " + ", ".join(
                f"{s} {result['throttled'].get(s, '-')}" for s in SERVICES))
    lines.append("")
    lines.append("Redis INFO commandstats per recorded payment (calls, usec):")
    for result in results:
        if not result.get("commands"):
            continue
        payments = max(result["recorded"], 1)
        parts = [f"{name} {calls / payments:.2f} / {usec / payments:.1f}"
                 for name, (calls, usec) in sorted(result["commands"].items(),
                                                   key=lambda item: -item[1][1])]
        total = sum(usec for name, (_, usec) in result["commands"].items()
                    if name not in SCRIPT_COMMANDS and name not in OWN_COMMANDS) / payments
        lines.append(f"  {result['rate']:>5}/s: top-level {total:.1f} usec (evalsha includes the "
                     f"calls of its scripts); " + ", ".join(parts))
    return "\n".join(lines)


def main(argv):
    if len(argv) == 2 and argv[0] == "--accepted":
        wrk = load_json(argv[1])
        print(0 if wrk is None else accepted(wrk))
        return 0
    if len(argv) == 5 and argv[0] == "--line":
        print(verdict_line(evaluate(argv[1], int(argv[2]), int(argv[3]), int(argv[4]))))
        return 0
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, duration_s, connections = argv[0], int(argv[1]), int(argv[2])
    results = [evaluate(os.path.join(out, f"rate-{rate}"), int(rate), duration_s, connections)
               for rate in argv[3:]]
    with open(os.path.join(out, "ceiling.json"), "w") as file:
        json.dump(results, file, indent=2)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
