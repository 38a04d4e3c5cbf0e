#!/usr/bin/env python3
"""Figures of one fault case, and the table of all of them, for perf/faults.sh.

Usage:
  faults_report.py case NAME CASE_DIR DEFAULT_URL FALLBACK_URL TOKEN RECOVER_S DESCRIPTION
      reads CASE_DIR/k6.json (perf/k6/faults.js's summary), CASE_DIR/k6.log (its FAILED lines),
      CASE_DIR/restarts.txt and CASE_DIR/peaks.txt; asks both simulators for their admin summary
      and their recorded ids; writes CASE_DIR/result.json and prints one line.
  faults_report.py table RESULTS_DIR
      prints the Markdown table of every RESULTS_DIR/*/result.json, in the order run.
  faults_report.py fail EXTRA_JSON WHY
      marks a case's extra report (CASE_DIR/extra.json) failed, saying why.
  faults_report.py check RESULTS_DIR
      exits 1 unless every case has 0 lost, 0 paid twice, 0 paid though refused and 0 audit
      differences among answered audits (the suite's --strict).

Definitions (perf/README.md, "Fault suite"):
  accepted          POSTs answered 2xx (k6)
  recorded          default + fallback totalRequests of the admin summaries
  paid twice        ids recorded by both processors
  paid refused      ids whose POST failed (k6 logged them) and that a processor has anyway
  lost              accepted payments that no processor has:
                    accepted - (distinct paid - paid refused)
"""

import json
import sys
import urllib.request
from pathlib import Path


def fetch(url, token):
    request = urllib.request.Request(url, headers={"X-Rinha-Token": token})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def failed_ids(log_path):
    ids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        index = line.find("FAILED ")
        if index >= 0:
            words = line[index:].split()
            if len(words) >= 2:
                ids.add(words[1].strip('"'))
    return ids


def case(name, case_dir, default_url, fallback_url, token, recover_s, description):
    directory = Path(case_dir)
    k6 = json.loads((directory / "k6.json").read_text())
    summaries, holders = {}, {}
    for processor, url in (("default", default_url), ("fallback", fallback_url)):
        summaries[processor] = json.loads(fetch(f"{url}/admin/payments-summary", token))
        holders[processor] = set(fetch(f"{url}/admin/payment-ids", token).split())
    recorded = sum(summary["totalRequests"] for summary in summaries.values())
    both = holders["default"] & holders["fallback"]
    paid = holders["default"] | holders["fallback"]
    refused = failed_ids(directory / "k6.log")
    paid_refused = len(paid & refused)
    lost = k6["accepted"] - (len(paid) - paid_refused)
    result = {
        "case": name,
        "description": description,
        "accepted": k6["accepted"],
        "recorded": recorded,
        "default": summaries["default"]["totalRequests"],
        "fallback": summaries["fallback"]["totalRequests"],
        "lost": lost,
        "paid_twice": len(both),
        "paid_refused": paid_refused,
        "failed_posts": k6["failed"],
        "audits_answered": k6["audits_answered"],
        "audits_unanswered": k6["audits_unanswered"],
        "audit_differences": k6["audit_differences"],
        "p99_ms": k6["p99_ms"],
        "recover_s": None if recover_s in ("", "-") else float(recover_s),
        "restarts": (directory / "restarts.txt").read_text().strip()
        if (directory / "restarts.txt").exists()
        else "",
        "peaks": (directory / "peaks.txt").read_text().strip()
        if (directory / "peaks.txt").exists()
        else "",
    }
    extra = directory / "extra.json"
    if extra.exists():
        result["extra"] = json.loads(extra.read_text())
    (directory / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{name}: accepted {result['accepted']}, recorded {recorded}, lost {lost}, "
        f"paid twice {len(both)}, paid though refused {paid_refused}, failed POSTs "
        f"{result['failed_posts']}, audit differences {result['audit_differences']} "
        f"({result['audits_answered']} answered, {result['audits_unanswered']} unanswered), "
        f"p99 {fmt(result['p99_ms'])} ms, recovered in {fmt(result['recover_s'])} s"
    )
    return 0


def fmt(value, places=2):
    return "-" if value is None else f"{value:.{places}f}"


def results(results_dir):
    paths = sorted(Path(results_dir).glob("*/result.json"), key=lambda path: path.stat().st_mtime)
    return [json.loads(path.read_text()) for path in paths]


def table(results_dir):
    print(
        "| case | fault | accepted | recorded (default + fallback) | lost | paid twice | "
        "paid though refused | failed POSTs | audit differences (answered / unanswered audits) "
        "| p99 ms | recover s | restarts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results(results_dir):
        print(
            f"| {result['case']} | {result['description']} | {result['accepted']} | "
            f"{result['recorded']} ({result['default']} + {result['fallback']}) | "
            f"{result['lost']} | {result['paid_twice']} | {result['paid_refused']} | "
            f"{result['failed_posts']} | {result['audit_differences']} "
            f"({result['audits_answered']} / {result['audits_unanswered']}) | "
            f"{fmt(result['p99_ms'])} | {fmt(result['recover_s'])} | "
            f"{result['restarts'] or '-'} |"
        )
    return 0


def check(results_dir):
    problems = []
    for result in results(results_dir):
        for field in ("lost", "paid_twice", "paid_refused", "audit_differences"):
            if result[field] != 0:
                problems.append(f"{result['case']}: {field} {result[field]}")
        extra = result.get("extra") or {}
        if extra.get("ok") is False:
            problems.append(f"{result['case']}: {extra.get('why', 'check failed')}")
    for problem in problems:
        print(f"faults: {problem}", file=sys.stderr)
    return 1 if problems else 0


def write_extra(extra_path, extra, echo=True):
    """Writes a case's extra report (CASE_DIR/extra.json: idle_clients.py's, raw_corpus.py's),
    and prints it on one line unless echo is false. Returns 0, the writer's exit status."""
    Path(extra_path).write_text(json.dumps(extra, indent=2) + "\n")
    if echo:
        print(json.dumps(extra))
    return 0


def fail(extra_path, why):
    """Marks a case's extra report failed (a service restarted during a bad-input case)."""
    path = Path(extra_path)
    extra = json.loads(path.read_text()) if path.exists() else {}
    extra["ok"] = False
    extra["why"] = "; ".join(filter(None, [extra.get("why"), why]))
    return write_extra(path, extra, echo=False)


def main(argv):
    if len(argv) == 8 and argv[0] == "case":
        return case(*argv[1:])
    if len(argv) == 2 and argv[0] == "table":
        return table(argv[1])
    if len(argv) == 2 and argv[0] == "check":
        return check(argv[1])
    if len(argv) == 3 and argv[0] == "fail":
        return fail(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
