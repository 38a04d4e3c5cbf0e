#!/usr/bin/env python3
"""The contest profiles of perf/profiles.json, for the shell side of the test bed.

Usage: profiles.py fees PROFILE    prints "DEFAULT_FEE FALLBACK_FEE", e.g. "0.05 0.15"

perf/profiles.json is the one place where the profiles' fees (and amounts, check windows,
results files) are written: perf/k6/lib.js reads it for the score, and perf/lib/stack.sh
(stack_fees) through this script for the simulators and the worker. The fees are printed as
written in the file (0.10 stays 0.10), since the worker and the simulator parse exact decimals.
"""

import json
import sys
from pathlib import Path

PROFILES_PATH = Path(__file__).resolve().parent.parent / "profiles.json"


def load_profiles(path=PROFILES_PATH):
    """Profile name -> its settings, numbers kept as the text they were written with."""
    return json.loads(path.read_text(), parse_float=str, parse_int=str)


def main(argv):
    if len(argv) != 2 or argv[0] != "fees":
        print(__doc__, file=sys.stderr)
        return 2
    profiles = load_profiles()
    if argv[1] not in profiles:
        print(f"profiles.py: no profile {argv[1]!r} in {PROFILES_PATH}", file=sys.stderr)
        return 2
    fees = profiles[argv[1]]["fees"]
    print(fees["default"], fees["fallback"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
