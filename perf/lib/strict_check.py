#!/usr/bin/env python3
"""The --strict verdict of run-tests.sh on one results directory.

Usage: strict_check.py RESULTS_DIR

Fails (exit 1, one line saying why) when lag is not 0, when any inconsistency was counted, or when
one of our services runs on epoll instead of io_uring. Lag and inconsistencies come from our
profiles' score.json, or from an official-format *results.json (an external --script run);
drivers from drivers.txt (`service driver` lines, written by the test bed at start-up).
"""

import glob
import json
import os
import sys


def lag_and_inconsistencies(directory):
    score_path = os.path.join(directory, "score.json")
    if os.path.exists(score_path):
        with open(score_path) as file:
            score = json.load(file)
        return score["lag"], score["inconsistencies"]
    paths = sorted(glob.glob(os.path.join(directory, "*results.json")))
    if not paths:
        sys.exit("strict: no score.json nor *results.json to check")
    with open(paths[-1]) as file:
        result = json.load(file)
    composition = result.get("multa", {}).get("composicao", {})
    inconsistencies = composition.get(
        "num_inconsistencias", composition.get("total_inconsistencias", 0)
    )
    return result.get("lag", {}).get("lag", 0), inconsistencies


def drivers_not_io_uring(directory):
    path = os.path.join(directory, "drivers.txt")
    if not os.path.exists(path):
        return []
    with open(path) as file:
        pairs = [line.split() for line in file if line.strip()]
    return [f"{service} on {driver}" for service, driver in pairs if driver != "io_uring"]


def main(argv):
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    lag, inconsistencies = lag_and_inconsistencies(argv[0])
    problems = []
    if lag != 0:
        problems.append(f"lag {lag} != 0")
    if inconsistencies != 0:
        problems.append(f"inconsistencies {inconsistencies} != 0")
    problems += drivers_not_io_uring(argv[0])
    if problems:
        print("strict: " + ", ".join(problems), file=sys.stderr)
        return 1
    print("strict: lag 0, inconsistencies 0, every service on io_uring")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
