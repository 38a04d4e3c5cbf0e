"""Draw a run's timeline: one PNG, shared time axis, what the routing did second by second.

Usage:
  timeline.py RESULTS_DIR [--schedule FILE] [--duration-s S] [--output PNG]

Reads, from RESULTS_DIR (file names in the constants below; each one may be missing, and the
panels it feeds then say so instead of failing the run):
  k6-samples.csv.gz      k6's own per-request output (`--out csv=...` with
                         K6_CSV_TIME_FORMAT=unix_milli):
                         POST /payments latency and status, the consistency checks
                         (the payments_inconsistency counter, one sample per check), and, for an
                         external script, the processor stages (see stages_from_k6);
  timeline-samples.jsonl perf/lib/sampler.py: queue depth, payments in flight, the health the
                         backend polled, cumulative CFS counters per service;
  timeline-books.jsonl   perf/lib/books.py: payments recorded per second by each processor;
  score.json             our profiles' score, for the title.
The schedule (our profiles: the JSON file that ran, stages at or after --duration-s dropped as
lib.js drops them) gives the shaded bands of the processors' conditions.

Time: every series is binned by whole unix second, and the axis is seconds since the load
started: the start of the first request of any scenario (setup excluded), which is when k6 starts
its scenarios and so the origin of the schedule's at_s.

Panels, top to bottom: processor conditions (the schedule, and under it the last health poll the
backend stored) with the consistency checks; payments per second (accepted by the backend, POSTs
that failed, recorded by default and by fallback); queue depth and payments in flight; POST
/payments latency p50 and p99 per second; CFS periods throttled per second per service.
"""

import argparse
import csv
import gzip
import json
import math
import os
import sys
import urllib.parse

import matplotlib

# No display: draw straight into the file.
matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402 (after the backend is chosen)
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

K6_SAMPLES = "k6-samples.csv.gz"
SAMPLER_SAMPLES = "timeline-samples.jsonl"
BOOKS = "timeline-books.jsonl"
SCORE = "score.json"
OUTPUT = "timeline.png"

ACCEPTED_STATUSES = {"200", "201", "202", "204"}
# Our lib.js and the official final script count inconsistencies in payments_inconsistency; the
# first official preview script counted an amount difference in balance_inconsistency_amount.
CHECK_METRICS = ("payments_inconsistency", "balance_inconsistency_amount")
# The scenario tags the official scripts put on each stage scenario (`define_stage`).
STAGE_TAGS = ("defaultDelay", "defaultFailure", "fallbackDelay", "fallbackFailure")
PROCESSORS = ("default", "fallback")
# Lines of the CSV worth parsing; the rest (blocked, connecting, data_sent, ...) is skipped on a
# prefix test, which keeps a 90k-payment run's 1.5 M lines at a few seconds.
KEPT_PREFIXES = tuple(f"{name}," for name in ("http_req_duration",) + CHECK_METRICS)


# ---------------------------------------------------------------------------------------------
# Reading a run.


class Run:
    """Everything read from one results directory, in unix milliseconds."""

    def __init__(self):
        self.name = ""
        # (end_ms, duration_ms, accepted) of every POST /payments.
        self.payments = []
        # (ms, inconsistencies) of every consistency check.
        self.checks = []
        # Start of the load (unix ms), or None if k6 left no request.
        self.start_ms = None
        # [{"at_s": s, "default": {"delay", "failure"}, "fallback": {...}}], sorted.
        self.stages = []
        self.stages_source = ""
        self.samples = []
        self.books = []
        self.score = None
        # An official-format results JSON (an external script's), when there is no score.json.
        self.official_results = None
        self.notes = []


def percentile(values, fraction):
    """k6's percentile: linear interpolation between closest ranks of the sorted values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def is_payment_post(row):
    target = row["url"] or row["name"]
    return row["method"] == "POST" and target.rstrip("/").endswith("/payments")


def open_text(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def read_k6_samples(path, run):
    """Fill run.payments, run.checks, run.start_ms and the stage calls seen in k6's CSV."""
    stage_calls = {}
    with open_text(path) as file:
        header = next(csv.reader([file.readline()]))
        kept = (line for line in file if line.startswith(KEPT_PREFIXES))
        for values in csv.reader(kept):
            row = dict(zip(header, values))
            time_ms = int(float(row["timestamp"]))
            value = float(row["metric_value"])
            if row["metric_name"] in CHECK_METRICS:
                run.checks.append((time_ms, value))
                continue
            # http_req_duration: the sample is stamped when the response ended.
            scenario = row.get("scenario", "")
            if scenario:
                begin_ms = time_ms - value
                run.start_ms = begin_ms if run.start_ms is None else min(run.start_ms, begin_ms)
            if is_payment_post(row):
                run.payments.append((time_ms, value, row["status"] in ACCEPTED_STATUSES))
            tags = row.get("extra_tags", "")
            if scenario and "defaultDelay=" in tags:
                begin_ms = time_ms - value
                if scenario not in stage_calls or begin_ms < stage_calls[scenario][0]:
                    stage_calls[scenario] = (begin_ms, dict(urllib.parse.parse_qsl(tags)))
    if run.start_ms is not None:
        run.start_ms = int(run.start_ms)
    return stage_calls


def stages_from_schedule(path, duration_s):
    """The stages of a schedule file, as lib.js's loadSchedule keeps them."""
    with open(path) as file:
        schedule = json.load(file)
    duration_s = duration_s or schedule.get("duration_s")
    stages = []
    for stage in schedule.get("stages", []):
        if duration_s is not None and stage["at_s"] >= duration_s:
            continue
        stages.append({
            "at_s": float(stage["at_s"]),
            **{side: {"delay": int(stage.get(side, {}).get("delay", 0)),
                      "failure": stage.get(side, {}).get("failure") is True}
               for side in PROCESSORS},
        })
    return sorted(stages, key=lambda stage: stage["at_s"]), schedule.get("name", "")


def stages_from_k6(stage_calls, start_ms):
    """An external script's stages, from the tags of its stage scenarios' first requests.

    The official scripts run each stage as a scenario tagged defaultDelay, defaultFailure,
    fallbackDelay and fallbackFailure, and k6 writes those tags into every sample of it. A stage
    starts at the start of its first request.
    """
    stages = []
    for begin_ms, tags in stage_calls.values():
        if not all(tag in tags for tag in STAGE_TAGS):
            continue
        try:
            stage = {"at_s": (begin_ms - start_ms) / 1000}
            for side in PROCESSORS:
                stage[side] = {"delay": int(tags[f"{side}Delay"]),
                               "failure": tags[f"{side}Failure"] == "true"}
        except ValueError:
            continue
        stages.append(stage)
    return sorted(stages, key=lambda stage: stage["at_s"])


def read_jsonl(path):
    lines = []
    with open(path) as file:
        for line in file:
            line = line.strip()
            if line:
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    # The sampler may have been killed mid-line: keep what is whole.
                    continue
    return lines


def load_run(directory, schedule_path=None, duration_s=None):
    run = Run()
    run.name = os.path.basename(os.path.normpath(directory))
    stage_calls = {}
    path = os.path.join(directory, K6_SAMPLES)
    if os.path.exists(path):
        stage_calls = read_k6_samples(path, run)
    else:
        run.notes.append(f"no {K6_SAMPLES}: no latency, accepted payments nor checks")
    if run.start_ms is None and run.payments:
        run.start_ms = int(min(end - duration for end, duration, _ in run.payments))
    if schedule_path:
        run.stages, name = stages_from_schedule(schedule_path, duration_s)
        run.stages_source = f"schedule {name or os.path.basename(schedule_path)}"
    elif stage_calls and run.start_ms is not None:
        run.stages = stages_from_k6(stage_calls, run.start_ms)
        run.stages_source = "stage scenarios' tags in the k6 output"
    if not run.stages:
        run.notes.append("processor conditions unknown: no schedule, no tagged stage scenarios")
    for name, attribute in ((SAMPLER_SAMPLES, "samples"), (BOOKS, "books")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            setattr(run, attribute, read_jsonl(path))
        else:
            run.notes.append(f"no {name}")
    path = os.path.join(directory, SCORE)
    if os.path.exists(path):
        with open(path) as file:
            run.score = json.load(file)
    else:
        for name in sorted(os.listdir(directory)):
            if name.endswith("results.json"):
                try:
                    with open(os.path.join(directory, name)) as file:
                        run.official_results = json.load(file)
                except ValueError:
                    pass
    if run.start_ms is None:
        times = [sample["t_ms"] for sample in run.samples]
        run.start_ms = min(times) if times else 0
    return run


# ---------------------------------------------------------------------------------------------
# Per-second series.


class Series:
    """Per-second values; each dict maps a unix second to a value."""

    def __init__(self):
        self.accepted = {}
        self.failed = {}
        self.latency_p50_ms = {}
        self.latency_p99_ms = {}
        self.recorded = {side: {} for side in PROCESSORS}
        # Instantaneous: (unix ms, value) at each sample.
        self.queue = []
        self.in_flight = []
        # service -> {second: periods throttled during that second}
        self.throttled = {}
        # [(start_ms, end_ms, delay_ms, failing)] per processor, from the health polls.
        self.health = {side: [] for side in PROCESSORS}


def aggregate(run):
    series = Series()
    durations = {}
    for end_ms, duration_ms, accepted in run.payments:
        second = end_ms // 1000
        if accepted:
            series.accepted[second] = series.accepted.get(second, 0) + 1
            durations.setdefault(second, []).append(duration_ms)
        else:
            series.failed[second] = series.failed.get(second, 0) + 1
    for second, values in durations.items():
        series.latency_p50_ms[second] = percentile(values, 0.50)
        series.latency_p99_ms[second] = percentile(values, 0.99)
    for line in run.books:
        for side in PROCESSORS:
            if line.get(side) is not None:
                series.recorded[side][line["second"]] = line[side]
    previous = None
    for sample in sorted(run.samples, key=lambda sample: sample["t_ms"]):
        if sample.get("queue") is not None:
            series.queue.append((sample["t_ms"], sample["queue"]))
        if sample.get("in_flight") is not None:
            series.in_flight.append((sample["t_ms"], sample["in_flight"]))
        if previous is not None:
            # The counters are cumulative: the difference belongs to the second that just ended.
            second = sample["t_ms"] // 1000 - 1
            for service, stat in (sample.get("cgroups") or {}).items():
                before = (previous.get("cgroups") or {}).get(service)
                if stat is None or before is None:
                    continue
                throttled = series.throttled.setdefault(service, {})
                throttled[second] = max(stat["nr_throttled"] - before["nr_throttled"], 0)
        previous = sample
    series.health = health_intervals(run.samples)
    return series


def parse_health(value):
    """`<failing 0|1>:<minResponseTime>:<polled at ms>` (DESIGN.md section 2), or None."""
    try:
        failing, delay, polled = value.split(":")
        return failing == "1", int(delay), int(polled)
    except (AttributeError, ValueError):
        return None


def health_intervals(samples):
    """Each distinct health poll, held from when it was polled until the next one."""
    polls = {side: {} for side in PROCESSORS}
    for sample in samples:
        for side in PROCESSORS:
            parsed = parse_health((sample.get("health") or {}).get(side))
            if parsed:
                polls[side][parsed[2]] = parsed
    end_ms = max((sample["t_ms"] for sample in samples), default=0)
    intervals = {}
    for side in PROCESSORS:
        ordered = sorted(polls[side].values(), key=lambda poll: poll[2])
        intervals[side] = [
            (poll[2], ordered[index + 1][2] if index + 1 < len(ordered) else end_ms, poll[1],
             poll[0])
            for index, poll in enumerate(ordered)
        ]
    return intervals


# ---------------------------------------------------------------------------------------------
# Drawing.

PANEL_TITLES = (
    "processor conditions (band: schedule; strip: last health poll stored by the backend)"
    " and consistency checks",
    "payments per second",
    "worker backlog (sampled from Redis once per second)",
    "POST /payments latency per second (accepted)",
    "CFS periods throttled per second (of 10)",
)
SERVICE_COLORS = {"nginx": "tab:green", "api1": "tab:blue", "api2": "tab:cyan",
                  "worker": "tab:orange", "redis": "tab:red"}


def condition_color(delay_ms, failing):
    """Failing: red; else orange deepening with log(delay); no delay: near white."""
    if failing:
        return (0.85, 0.15, 0.15, 0.55)
    if delay_ms <= 0:
        return (0.9, 0.95, 0.9, 0.6)
    depth = min(math.log10(delay_ms) / math.log10(5000), 1.0)
    return (1.0, 0.85 - 0.5 * depth, 0.4 - 0.35 * depth, 0.35 + 0.45 * depth)


def relative(run, unix_ms):
    return (unix_ms - run.start_ms) / 1000


def second_x(run, second):
    """The middle of a unix second on the axis."""
    return relative(run, second * 1000 + 500)


def stage_intervals(run, x_end):
    intervals = {side: [] for side in PROCESSORS}
    for index, stage in enumerate(run.stages):
        end = run.stages[index + 1]["at_s"] if index + 1 < len(run.stages) else x_end
        for side in PROCESSORS:
            intervals[side].append((stage["at_s"], end, stage[side]["delay"],
                                    stage[side]["failure"]))
    return intervals


def draw_conditions(axis, run, series, x_end):
    rows = {"default": 2.0, "fallback": 0.0}
    for side, base in rows.items():
        for start, end, delay, failing in stage_intervals(run, x_end)[side]:
            axis.add_patch(Rectangle((start, base + 0.55), end - start, 1.2,
                                     facecolor=condition_color(delay, failing),
                                     edgecolor="0.5", linewidth=0.5,
                                     hatch="//" if failing else None))
            label = ("FAIL" + (f" {delay} ms" if delay else "")) if failing else f"{delay} ms"
            if end - start >= 2:
                axis.text((start + end) / 2, base + 1.15, label, ha="center", va="center",
                          fontsize=7, clip_on=True)
        for start_ms, end_ms, delay, failing in series.health[side]:
            axis.add_patch(Rectangle((relative(run, start_ms), base + 0.15),
                                     (end_ms - start_ms) / 1000, 0.3,
                                     facecolor=condition_color(delay, failing),
                                     edgecolor="none", hatch="//" if failing else None))
    # Consistency checks on their own line at the top: green when equal, red with the difference.
    for time_ms, inconsistencies in run.checks:
        x = relative(run, time_ms)
        if inconsistencies > 0:
            axis.plot([x], [4.3], marker="X", color="red", markersize=9, zorder=5)
            axis.text(x, 4.65, f"{inconsistencies:g}", color="red", ha="center", fontsize=7)
        else:
            axis.plot([x], [4.3], marker="o", color="tab:green", markersize=4, zorder=5)
    axis.set_ylim(-0.1, 5.0)
    axis.set_yticks([0.3, 1.15, 2.3, 3.15, 4.3])
    axis.set_yticklabels(["polled", "fallback", "polled", "default", "checks"])
    for label in axis.get_yticklabels()[0:3:2]:
        label.set_fontsize(7)
        label.set_color("0.4")
    if run.stages_source:
        axis.text(1.0, 1.02, f"conditions from the {run.stages_source}", fontsize=7,
                  ha="right", va="bottom", transform=axis.transAxes)


def draw_payments(axis, run, series):
    def steps(data, label, **style):
        if data:
            seconds = sorted(data)
            axis.plot([second_x(run, second) for second in seconds],
                      [data[second] for second in seconds], label=label, drawstyle="steps-mid",
                      **style)

    steps(series.accepted, "accepted (k6: 2xx of POST /payments)", color="black", linewidth=2.2,
          alpha=0.45)
    steps(series.recorded["default"], "recorded by default (its admin summary)",
          color="tab:blue")
    steps(series.recorded["fallback"], "recorded by fallback", color="tab:orange")
    steps(series.failed, "POSTs failed", color="red", linestyle=":")
    if not run.books:
        axis.text(0.01, 0.9, "no processor books read", transform=axis.transAxes, fontsize=8)
    axis.set_ylabel("payments / s")
    axis.set_ylim(bottom=0)


def draw_backlog(axis, run, series):
    """Queue depth on the left axis, payments in flight on the right one: a backlog of
    thousands and a few dozen calls in flight are both worth reading."""
    right = axis.twinx()
    for target, data, label, color in (
            (axis, series.queue, "queue depth (LLEN rinha:queue), left axis", "tab:purple"),
            (right, series.in_flight, "in flight (HLEN rinha:processing:*), right axis",
             "tab:brown")):
        if data:
            # The legend is the left axis's: the right one's line is registered there too.
            target.plot([relative(run, time_ms) for time_ms, _ in data],
                        [value for _, value in data], color=color)
            axis.plot([], [], color=color, label=label)
        target.set_ylim(bottom=0)
    if not (series.queue or series.in_flight):
        axis.text(0.01, 0.8, "no Redis samples", transform=axis.transAxes, fontsize=8)
    axis.set_ylabel("queued", color="tab:purple")
    right.set_ylabel("in flight", color="tab:brown")


def minor_log_label(value, _position):
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if mantissa in (2, 5) else ""


def draw_latency(axis, run, series):
    for data, label, color in ((series.latency_p50_ms, "p50", "tab:blue"),
                               (series.latency_p99_ms, "p99", "tab:red")):
        if data:
            seconds = sorted(data)
            axis.plot([second_x(run, second) for second in seconds],
                      [max(data[second], 0.01) for second in seconds], label=label, color=color,
                      marker=".", markersize=3, linewidth=1)
    axis.set_yscale("log")
    # Plain numbers (0.5, 2, 100) rather than powers of ten; of the minor ticks only 2 and 5.
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.yaxis.set_minor_formatter(FuncFormatter(minor_log_label))
    axis.set_ylabel("ms")


def draw_throttled(axis, run, series):
    for service in sorted(series.throttled):
        data = series.throttled[service]
        seconds = sorted(data)
        axis.plot([second_x(run, second) for second in seconds],
                  [data[second] for second in seconds], label=service, drawstyle="steps-mid",
                  color=SERVICE_COLORS.get(service))
    if not series.throttled:
        axis.text(0.01, 0.8, "no cgroup samples", transform=axis.transAxes, fontsize=8)
    axis.set_ylabel("periods / s")
    axis.set_ylim(-0.3, 10.5)
    axis.set_xlabel("seconds since the load started")


def official_title(run):
    """The title of an external script's run, from its results JSON (official field names)."""
    results = run.official_results
    fine = results.get("multa", {}).get("composicao", {})
    inconsistencies = fine.get("num_inconsistencias", fine.get("total_inconsistencias", "?"))
    lag = results.get("lag", {}).get("lag", "?")
    return (f"run {run.name}: external script, participant {results.get('participante')}\n"
            f"total_liquido {results.get('total_liquido', 0):,.2f}, p99 "
            f"{results.get('p99', {}).get('valor')}, lag {lag}, inconsistencies "
            f"{inconsistencies}")


def title_of(run):
    score = run.score
    if not score and run.official_results:
        return official_title(run)
    if not score:
        return f"timeline of run {run.name}"
    return (f"run {run.name}: {score.get('profile')} profile, schedule {score.get('schedule')}, "
            f"{score.get('max_users')} users, {score.get('duration_s')} s\n"
            f"score {score.get('score', 0):,.2f}, p99 {score.get('p99_ms')} ms, "
            f"lag {score.get('lag')}, inconsistencies {score.get('inconsistencies')} "
            f"({score.get('consistency_checks_inconsistent')} of "
            f"{score.get('consistency_checks')} checks), default {score['default']['requests']}"
            f" / fallback {score['fallback']['requests']}")


def x_range(run, series):
    """From just before the load to the last second that holds anything (the books are read
    with a margin on both sides, and their empty seconds are not worth the width)."""
    ends = [relative(run, end) for end, _, _ in run.payments[-1:]]
    ends += [relative(run, time_ms) for time_ms, _ in series.queue[-1:]]
    ends += [second_x(run, second) for side in PROCESSORS
             for second, count in series.recorded[side].items() if count]
    ends += [stage["at_s"] + 1 for stage in run.stages]
    if run.score and run.score.get("duration_s"):
        ends.append(float(run.score["duration_s"]))
    return -2.0, max(ends, default=10.0) + 1


def build_figure(run, series):
    """The picture: (matplotlib Figure, one axis per panel top to bottom; the backlog panel's
    right-hand axis is not in that list)."""
    # Constrained layout keeps the legends, drawn outside on the right, inside the picture.
    figure, axes = pyplot.subplots(
        len(PANEL_TITLES), 1, sharex=True, figsize=(15, 14), layout="constrained",
        gridspec_kw={"height_ratios": [1.3, 1.6, 1.2, 1.2, 1.0]})
    x_start, x_end = x_range(run, series)
    draw_conditions(axes[0], run, series, x_end)
    draw_payments(axes[1], run, series)
    draw_backlog(axes[2], run, series)
    draw_latency(axes[3], run, series)
    draw_throttled(axes[4], run, series)
    for axis, title in zip(axes, PANEL_TITLES):
        axis.set_title(title, fontsize=9, loc="left")
        axis.grid(True, axis="x", alpha=0.3)
        # Stage changes and inconsistent checks cut across every panel.
        for stage in run.stages:
            axis.axvline(stage["at_s"], color="0.4", linestyle=":", linewidth=0.8)
        for time_ms, inconsistencies in run.checks:
            if inconsistencies > 0:
                axis.axvline(relative(run, time_ms), color="red", linewidth=0.8, alpha=0.6)
        if axis.get_legend_handles_labels()[0]:
            # The backlog panel's right-hand axis has its own ticks and label there: step past.
            offset = 1.06 if axis is axes[2] else 1.005
            axis.legend(loc="upper left", bbox_to_anchor=(offset, 1.0), fontsize=7)
    axes[0].set_xlim(x_start, x_end)
    figure.suptitle(title_of(run), fontsize=10)
    if run.notes:
        axes[-1].text(0.0, -0.35, "; ".join(run.notes), fontsize=7, color="0.3",
                      transform=axes[-1].transAxes)
    return figure, axes


def render(run, series, output):
    """Draw the picture into OUTPUT (PNG). Returns the panels' titles, top to bottom."""
    figure, axes = build_figure(run, series)
    figure.savefig(output, dpi=90)
    titles = [axis.get_title(loc="left") for axis in axes]
    pyplot.close(figure)
    return titles


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("directory", help="the run's results directory")
    parser.add_argument("--schedule", help="the schedule file that ran (our profiles)")
    parser.add_argument("--duration-s", type=float, help="the run's --duration, if shortened")
    parser.add_argument("--output", help=f"picture path (default DIRECTORY/{OUTPUT})")
    return parser.parse_args(argv)


def main(argv):
    arguments = parse_arguments(argv)
    run = load_run(arguments.directory, arguments.schedule, arguments.duration_s)
    output = arguments.output or os.path.join(arguments.directory, OUTPUT)
    render(run, aggregate(run), output)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
