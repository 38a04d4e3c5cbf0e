#!/usr/bin/env python3
"""The table of perf/bench.sh: each interleaved floor/stack round, then the medians and ratios.

Usage: bench_report.py OUT_DIR ROUNDS RATE DURATION_S

Reads OUT_DIR/{floor,stack}-<round>.json (k6/rate.js's summary) and, for the stack rounds,
OUT_DIR/stack-<round>.cpu_ns (the services' CPU over the round), and prints the table.
"""

import json
import os
import statistics
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, rounds, rate, duration = argv[0], int(argv[1]), argv[2], argv[3]
    rows = {"floor": [], "stack": []}
    print(f"rate {rate}/s, {duration} s per run, {rounds} rounds, interleaved floor/stack")
    print(f"{'run':<9} {'p50_ms':>9} {'p99_ms':>9} {'max_ms':>9} {'accepted':>9} {'refused':>8} "
          f"{'dropped':>8} {'cpu_us/payment':>15}")
    for r in range(1, rounds + 1):
        for kind in ("floor", "stack"):
            with open(os.path.join(out, f"{kind}-{r}.json")) as file:
                data = json.load(file)
            cpu_path = os.path.join(out, f"{kind}-{r}.cpu_ns")
            cpu = None
            if os.path.exists(cpu_path):
                with open(cpu_path) as file:
                    cpu = int(file.read()) / 1000 / max(data["accepted"], 1)
            data["cpu_us_per_payment"] = cpu
            rows[kind].append(data)
            print(f"{kind + '-' + str(r):<9} {data['p50_ms']:>9.3f} {data['p99_ms']:>9.3f} "
                  f"{data['max_ms']:>9.3f} "
                  f"{data['accepted']:>9} {data['refused']:>8} {data['dropped_iterations']:>8} "
                  f"{'-' if cpu is None else format(cpu, '.1f'):>15}")
    def median(kind, key):
        return statistics.median(row[key] for row in rows[kind])

    def ratio(key):
        return median("stack", key) / median("floor", key)

    print("medians:")
    for kind in ("floor", "stack"):
        print(f"  {kind:<6} p50 {median(kind, 'p50_ms'):.3f} ms, "
              f"p99 {median(kind, 'p99_ms'):.3f} ms, max {median(kind, 'max_ms'):.3f} ms")
    print(f"  ratio stack/floor: p50 {ratio('p50_ms'):.2f}x, p99 {ratio('p99_ms'):.2f}x, "
          f"max {ratio('max_ms'):.2f}x")
    print(f"  stack CPU per payment (api1+api2+worker+redis+nginx): "
          f"{median('stack', 'cpu_us_per_payment'):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
