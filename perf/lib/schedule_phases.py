#!/usr/bin/env python3
"""Progress-line phases of a processor schedule (perf/schedules/*.json), for run-tests.sh.

Usage: schedule_phases.py SCHEDULE_JSON [DURATION_S]

Prints the effective duration in seconds (DURATION_S when given and not empty, else the
schedule's duration_s), then one `at_s<TAB>description` line per stage that starts before it.
"""

import json
import sys


def side(config):
    return f"{config.get('delay', 0)} ms{' FAILING' if config.get('failure') else ''}"


def main(argv):
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0]) as file:
        schedule = json.load(file)
    duration = int(argv[1]) if len(argv) == 2 and argv[1] else int(schedule["duration_s"])
    print(duration)
    for stage in sorted(schedule.get("stages", []), key=lambda stage: stage["at_s"]):
        if stage["at_s"] < duration:
            print(
                f"{stage['at_s']}\tdefault {side(stage.get('default', {}))}, "
                f"fallback {side(stage.get('fallback', {}))}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
