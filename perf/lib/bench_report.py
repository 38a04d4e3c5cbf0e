#!/usr/bin/env python3
"""The table of perf/bench.sh: each interleaved floor/stack round, then the medians and ratios.

Usage:
  bench_report.py OUT_DIR ROUNDS PROFILE RATE DURATION_S   the table
  bench_report.py --k6-summary SUMMARY_EXPORT_JSON         one run's figures as JSON, on stdout
  bench_report.py --line RUN_JSON                          one run's figures as one line

Reads OUT_DIR/{floor,base,stack}-<round>.json (base: the older build of BENCH_BASELINE_BIN, when
bench.sh ran one) (rate.js's results file, or what --k6-summary made of
k6's --summary-export), OUT_DIR/<run>.cpu.{before,after} (`service ns` lines: each service's
cgroup cpuacct.usage) and OUT_DIR/stack-<round>.recorded (the backend's count after the drain).

CPU per payment divides a cgroup's CPU over the run by the accepted POST /payments of that run;
for the floor that is nginx's CPU per request (the profile scripts' few summary GETs and admin
calls to the simulators are not counted as requests: they are under 1 % of nginx's requests).
"""

import json
import os
import statistics
import sys

# Services of the compose file, in the order of the table's columns.
SERVICES = ("redis", "nginx", "api1", "api2", "worker")
FLOOR_SERVICE = "nginx-floor"
# The contest's p99 (rules section 5): every request with an expected status.
P99_ALL_METRIC = "http_req_duration{expected_response:true}"


def summarize_k6(path):
    """rate.js-shaped figures from a k6 --summary-export of a profile script (ours or official)."""
    with open(path) as file:
        metrics = json.load(file)["metrics"]

    def stat(metric, key):
        values = metrics.get(metric)
        if values is None:
            return None
        values = values.get("values", values)
        return values.get(key)

    accepted = stat("transactions_success", "count") or 0
    # Our profiles record the accepted POSTs apart; the official script has only the overall trend.
    payments = "payment_accepted_duration" if "payment_accepted_duration" in metrics else None
    return {
        "accepted": int(accepted),
        "refused": int(stat("transactions_failure", "count") or 0),
        "dropped_iterations": int(stat("dropped_iterations", "count") or 0),
        "http_reqs": int(stat("http_reqs", "count") or 0),
        "p50_ms": stat(payments, "p(50)") if payments else None,
        "p99_ms": stat(payments, "p(99)") if payments else stat(P99_ALL_METRIC, "p(99)"),
        "max_ms": stat(payments, "max") if payments else None,
        "p99_all_ms": stat(P99_ALL_METRIC, "p(99)"),
    }


def number(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def run_line(data):
    return (f"accepted {data['accepted']}, refused {data['refused']}, "
            f"p50 {number(data.get('p50_ms'))} ms, p99 {number(data.get('p99_ms'))} ms, "
            f"p99 of all requests {number(data.get('p99_all_ms'))} ms, "
            f"max {number(data.get('max_ms'))} ms")


def read_cpu(directory, prefix=""):
    """Each service's CPU ns between DIRECTORY/PREFIXcpu.before and PREFIXcpu.after (`service ns`
    lines), or {} if the run has no snapshots. Shared with ceiling_report.py."""
    snapshots = []
    for when in ("before", "after"):
        path = os.path.join(directory, f"{prefix}cpu.{when}")
        if not os.path.exists(path):
            return {}
        with open(path) as file:
            snapshots.append(dict((line.split()[0], int(line.split()[1])) for line in file
                                  if line.strip()))
    before, after = snapshots
    return {service: after[service] - before.get(service, 0) for service in after}


def read_run(out, kind, number_):
    name = f"{kind}-{number_}"
    with open(os.path.join(out, f"{name}.json")) as file:
        data = json.load(file)
    data.setdefault("p99_all_ms", None)
    accepted = max(data["accepted"], 1)
    cpu = read_cpu(out, f"{name}.")
    data["cpu_us"] = {service: ns / 1000 / accepted for service, ns in cpu.items()}
    if kind == "floor":
        data["cpu_total_us"] = data["cpu_us"].get(FLOOR_SERVICE)
    else:
        data["cpu_total_us"] = (sum(data["cpu_us"].get(s, 0) for s in SERVICES)
                                if data["cpu_us"] else None)
        recorded_path = os.path.join(out, f"{name}.recorded")
        if os.path.exists(recorded_path):
            with open(recorded_path) as file:
                text = file.read().strip()
            data["recorded"] = int(text) if text.isdigit() else None
    # bench.sh before this table kept the stack's total in one file: still read it.
    cpu_ns_path = os.path.join(out, f"{name}.cpu_ns")
    if data["cpu_total_us"] is None and os.path.exists(cpu_ns_path):
        with open(cpu_ns_path) as file:
            data["cpu_total_us"] = int(file.read()) / 1000 / accepted
    return data


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None


def ratio(top, bottom):
    return None if top is None or not bottom else top / bottom


def table(out, rounds, profile, rate, duration):
    with_base = os.path.exists(os.path.join(out, "base-1.json"))
    kinds = ("floor", "base", "stack") if with_base else ("floor", "stack")
    rows = {kind: [] for kind in kinds}
    load = f"rate {rate}/s for {duration} s" if profile == "rate" else f"profile {profile}"
    lines = [f"{load}, {rounds} rounds, interleaved {'/'.join(kinds)}; CPU in us per accepted "
             f"payment (floor: nginx alone, per request)"]
    header = (f"{'run':<9} {'p50_ms':>8} {'p99_ms':>8} {'p99all':>8} {'max_ms':>8} "
              f"{'accepted':>8} {'lag':>5} {'cpu_us':>7} " +
              " ".join(f"{service:>7}" for service in SERVICES))
    lines.append(header)
    for r in range(1, rounds + 1):
        for kind in kinds:
            data = read_run(out, kind, r)
            rows[kind].append(data)
            lag = "-" if data.get("recorded") is None else data["accepted"] - data["recorded"]
            per_service = " ".join(f"{number(data['cpu_us'].get(s), 1):>7}" for s in SERVICES)
            lines.append(f"{kind + '-' + str(r):<9} {number(data['p50_ms']):>8} "
                         f"{number(data['p99_ms']):>8} {number(data['p99_all_ms']):>8} "
                         f"{number(data['max_ms']):>8} {data['accepted']:>8} {lag:>5} "
                         f"{number(data['cpu_total_us'], 1):>7} "
                         f"{per_service if kind != 'floor' else ''}")

    def med(kind, key):
        return median(row[key] for row in rows[kind])

    def med_service(service, kind="stack"):
        return median(row["cpu_us"].get(service) for row in rows[kind])

    lines.append("medians:")
    for kind in kinds:
        lines.append(f"  {kind:<6} p50 {number(med(kind, 'p50_ms'))} ms, "
                     f"p99 {number(med(kind, 'p99_ms'))} ms, "
                     f"p99 of all requests {number(med(kind, 'p99_all_ms'))} ms, "
                     f"max {number(med(kind, 'max_ms'))} ms, "
                     f"CPU {number(med(kind, 'cpu_total_us'), 1)} us per payment")
    def stack_over_floor(key):
        return number(ratio(med("stack", key), med("floor", key)), 2)

    lines.append(f"  ratio stack/floor: p50 {stack_over_floor('p50_ms')}x, "
                 f"p99 {stack_over_floor('p99_ms')}x, "
                 f"p99 of all requests {stack_over_floor('p99_all_ms')}x (target <= 1.3x)")
    lines.append(f"  CPU: stack {number(med('stack', 'cpu_total_us'), 1)} us per payment / "
                 f"floor nginx {number(med('floor', 'cpu_total_us'), 1)} us per request = "
                 f"{number(ratio(med('stack', 'cpu_total_us'), med('floor', 'cpu_total_us')), 2)}x "
                 f"(target <= 3.5x)")
    lines.append("  per service, us per payment: " + ", ".join(
        f"{service} {number(med_service(service), 1)}" for service in SERVICES) +
        f"; stack nginx / floor nginx "
        f"{number(ratio(med_service('nginx'), med('floor', 'cpu_total_us')), 2)}x")
    if with_base:
        def after_over_before(key):
            return number(ratio(med("stack", key), med("base", key)), 2)

        lines.append(f"  after/before (stack/base): p99 {after_over_before('p99_ms')}x, "
                     f"p99 of all requests {after_over_before('p99_all_ms')}x, "
                     f"CPU {after_over_before('cpu_total_us')}x; base CPU / floor "
                     f"{number(ratio(med('base', 'cpu_total_us'), med('floor', 'cpu_total_us')), 2)}"
                     "x")
        lines.append("  base per service, us per payment: " + ", ".join(
            f"{service} {number(med_service(service, 'base'), 1)}" for service in SERVICES))
    return "\n".join(lines)


def main(argv):
    if len(argv) == 2 and argv[0] == "--k6-summary":
        print(json.dumps(summarize_k6(argv[1]), indent=2))
        return 0
    if len(argv) == 2 and argv[0] == "--line":
        with open(argv[1]) as file:
            print(run_line(json.load(file)))
        return 0
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    out, rounds, profile, rate, duration = argv[0], int(argv[1]), argv[2], argv[3], argv[4]
    print(table(out, rounds, profile, rate, duration))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
