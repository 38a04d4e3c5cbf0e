"""Tests of the timeline (perf/lib/timeline.py, sampler.py, books.py).

Method: the fixture is a real, small recorded run (`./run-tests.sh --audit --schedule
perf/lib/tests/fixture/schedule.json`, 60 users, 10 s: the default fails from 3 s to 6 s, then
answers in 200 ms). Every expected value is computed here again from the raw files by a different
route (csv.DictReader over every line, statistics.quantiles, first-minus-last counters) or taken
from what k6 itself summed up in score.json; nothing is a number copied from an earlier output.
Synthetic data is used only where the recorded run cannot show a case: an inconsistent check, an
external script's tagged stage scenarios, a Redis holding a known backlog, a refused admin token.

Run: python3 -m unittest discover -s perf/lib/tests -v
"""

import collections
import csv
import gzip
import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixture")
sys.path.insert(0, os.path.dirname(HERE))

import books  # noqa: E402
import sampler  # noqa: E402
import timeline  # noqa: E402

SCHEDULE = os.path.join(FIXTURE, "schedule.json")


def fixture_rows():
    with gzip.open(os.path.join(FIXTURE, timeline.K6_SAMPLES), "rt", newline="") as file:
        return list(csv.DictReader(file))


def fixture_score():
    with open(os.path.join(FIXTURE, "score.json")) as file:
        return json.load(file)


def read_jsonl(path):
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def fixture_jsonl(name):
    return read_jsonl(os.path.join(FIXTURE, name))


class RecordedRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.timeline_run = timeline.load_run(FIXTURE, SCHEDULE)
        cls.series = timeline.aggregate(cls.timeline_run)
        cls.rows = fixture_rows()
        cls.score = fixture_score()

    def accepted_posts(self):
        return [row for row in self.rows
                if row["metric_name"] == "http_req_duration" and row["name"] == "POST /payments"
                and row["status"] == "202"]

    def test_accepted_per_second_equals_an_independent_count(self):
        expected = collections.Counter(int(row["timestamp"]) // 1000
                                       for row in self.accepted_posts())
        self.assertEqual(dict(expected), self.series.accepted)
        # And k6's own total of the run.
        self.assertEqual(sum(self.series.accepted.values()), self.score["accepted"])
        self.assertEqual(sum(self.series.failed.values()), self.score["failed"])

    def test_latency_percentiles_per_second(self):
        durations = collections.defaultdict(list)
        for row in self.accepted_posts():
            durations[int(row["timestamp"]) // 1000].append(float(row["metric_value"]))
        self.assertEqual(set(durations), set(self.series.latency_p99_ms))
        for second, values in durations.items():
            if len(values) == 1:
                expected_p50 = expected_p99 = values[0]
            else:
                # "inclusive" is the interpolation k6 uses: rank p * (n - 1) in the sorted values.
                cuts = statistics.quantiles(values, n=100, method="inclusive")
                expected_p50, expected_p99 = cuts[49], cuts[98]
            self.assertAlmostEqual(self.series.latency_p50_ms[second], expected_p50, places=6)
            self.assertAlmostEqual(self.series.latency_p99_ms[second], expected_p99, places=6)

    def test_recorded_per_second_adds_up_to_the_processors_totals(self):
        self.assertEqual(sum(self.series.recorded["default"].values()),
                         self.score["default"]["requests"])
        self.assertEqual(sum(self.series.recorded["fallback"].values()),
                         self.score["fallback"]["requests"])
        # The schedule fails the default from 3 s to 6 s: the fallback took payments then.
        fallback_seconds = [timeline.second_x(self.timeline_run, second)
                            for second, count in self.series.recorded["fallback"].items() if count]
        self.assertTrue(fallback_seconds)
        self.assertGreaterEqual(min(fallback_seconds), 3.0 - 1)

    def test_every_check_is_a_mark(self):
        self.assertEqual(len(self.timeline_run.checks), self.score["consistency_checks"])
        inconsistent = sum(1 for _, value in self.timeline_run.checks if value > 0)
        self.assertEqual(inconsistent, self.score["consistency_checks_inconsistent"])

    def test_throttled_periods_add_up_to_the_counters(self):
        samples = fixture_jsonl(timeline.SAMPLER_SAMPLES)
        first, last = samples[0]["cgroups"], samples[-1]["cgroups"]
        self.assertEqual(set(first), set(self.series.throttled))
        for service in first:
            self.assertEqual(sum(self.series.throttled[service].values()),
                             last[service]["nr_throttled"] - first[service]["nr_throttled"])

    def test_backlog_is_the_sampled_values(self):
        samples = fixture_jsonl(timeline.SAMPLER_SAMPLES)
        self.assertEqual([value for _, value in self.series.queue],
                         [sample["queue"] for sample in samples if sample["queue"] is not None])

    def test_load_starts_at_the_first_scenario_request(self):
        starts = [int(row["timestamp"]) - float(row["metric_value"]) for row in self.rows
                  if row["metric_name"] == "http_req_duration" and row["scenario"]]
        self.assertEqual(self.timeline_run.start_ms, int(min(starts)))
        # The first payment ends within a second of the start.
        first_end_ms = min(int(row["timestamp"]) for row in self.accepted_posts())
        self.assertLess(timeline.relative(self.timeline_run, first_end_ms), 1.0)

    def test_stages_come_from_the_schedule(self):
        with open(SCHEDULE) as file:
            stages = json.load(file)["stages"]
        self.assertEqual([stage["at_s"] for stage in self.timeline_run.stages],
                         [stage["at_s"] for stage in stages])
        self.assertEqual([stage["default"]["failure"] for stage in self.timeline_run.stages],
                         [stage["default"]["failure"] for stage in stages])
        shortened, _ = timeline.stages_from_schedule(SCHEDULE, 5)
        self.assertEqual([stage["at_s"] for stage in shortened],
                         [stage["at_s"] for stage in stages if stage["at_s"] < 5])

    def test_picture_has_every_panel(self):
        with tempfile.TemporaryDirectory() as directory:
            output = os.path.join(directory, "timeline.png")
            titles = timeline.render(self.timeline_run, self.series, output)
            with open(output, "rb") as file:
                self.assertEqual(file.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertGreater(os.path.getsize(output), 20000)
        self.assertEqual(titles, list(timeline.PANEL_TITLES))
        for word in ("processor conditions", "consistency checks", "payments per second",
                     "backlog", "latency", "throttled"):
            self.assertTrue(any(word in title for title in titles), word)


class InconsistentCheck(unittest.TestCase):
    """A check that found a difference is drawn red, across every panel."""

    def test_difference_is_red(self):
        with tempfile.TemporaryDirectory() as directory:
            for name in os.listdir(FIXTURE):
                shutil.copy(os.path.join(FIXTURE, name), directory)
            rows = fixture_rows()
            checks = [row for row in rows if row["metric_name"] == "payments_inconsistency"]
            bad = dict(checks[len(checks) // 2], metric_value="3.000000")
            path = os.path.join(directory, timeline.K6_SAMPLES)
            with gzip.open(path, "wt", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows + [bad])
            run = timeline.load_run(directory, SCHEDULE)
            figure, axes = timeline.build_figure(run, timeline.aggregate(run))
        self.assertEqual(sum(1 for _, value in run.checks if value > 0), 1)
        red_marks = [line for line in axes[0].lines
                     if line.get_marker() == "X" and line.get_color() == "red"]
        self.assertEqual(len(red_marks), 1)
        self.assertAlmostEqual(red_marks[0].get_xdata()[0],
                               timeline.relative(run, int(bad["timestamp"])))
        self.assertEqual(len(axes), len(timeline.PANEL_TITLES))
        for axis in axes:
            self.assertTrue(any(line.get_color() == "red" and line.get_linestyle() == "-"
                                for line in axis.lines if line.get_marker() != "X"))
        timeline.pyplot.close(figure)


class ExternalScriptStages(unittest.TestCase):
    """The official scripts tag each stage scenario; the stages are read back from k6's CSV."""

    HEADER = ["metric_name", "timestamp", "metric_value", "method", "name", "scenario", "status",
              "url", "extra_tags"]

    def test_stages_from_the_tags(self):
        start_ms = 1_800_000_000_000
        tags = [("0", "false", "0", "false"), ("100", "true", "1000", "false")]
        rows = [["http_req_duration", start_ms + 3, 3.0, "POST", "", "payments", "200",
                 "http://localhost:9999/payments", ""]]
        for index, (default_delay, default_failure, fallback_delay, fallback_failure) in \
                enumerate(tags):
            extra = (f"defaultDelay={default_delay}&defaultFailure={default_failure}"
                     f"&fallbackDelay={fallback_delay}&fallbackFailure={fallback_failure}")
            begin = start_ms + 1000 + 9000 * index
            # Two calls per stage: the stage starts with the first one's start.
            for offset, duration in ((0, 2.0), (5, 1.0)):
                rows.append(["http_req_duration", begin + offset + duration, duration, "PUT", "",
                             f"stage_0{index}", "200",
                             "http://localhost:8001/admin/configurations/delay", extra])
        with tempfile.TemporaryDirectory() as directory:
            with gzip.open(os.path.join(directory, timeline.K6_SAMPLES), "wt",
                           newline="") as file:
                writer = csv.writer(file)
                writer.writerow(self.HEADER)
                writer.writerows(rows)
            # What the official script's handleSummary writes (run-tests.sh copies it here).
            with open(os.path.join(directory, "partial-results.json"), "w") as file:
                json.dump({"participante": "rinha-rs", "total_liquido": 1234.5,
                           "p99": {"valor": "3.1ms"}, "lag": {"lag": 2},
                           "multa": {"composicao": {"num_inconsistencias": 0}}}, file)
            run = timeline.load_run(directory)
        title = timeline.title_of(run)
        for part in ("external script", "1,234.50", "p99 3.1ms", "lag 2", "inconsistencies 0"):
            self.assertIn(part, title)
        self.assertEqual(run.start_ms, start_ms)
        self.assertEqual([stage["at_s"] for stage in run.stages], [1.0, 10.0])
        self.assertEqual(run.stages[1]["default"], {"delay": 100, "failure": True})
        self.assertEqual(run.stages[1]["fallback"], {"delay": 1000, "failure": False})
        self.assertIn("tags", run.stages_source)
        self.assertEqual(len(run.payments), 1)


@unittest.skipUnless(shutil.which("redis-server"), "redis-server is not installed")
class SamplerOnRedis(unittest.TestCase):
    """The sampler's RESP client against a real Redis holding a known backlog."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="timeline-test-")
        self.socket = os.path.join(self.directory, "redis.sock")
        self.redis = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.socket, "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(self.socket):
                break
            time.sleep(0.05)

    def tearDown(self):
        self.redis.terminate()
        self.redis.wait(timeout=10)
        shutil.rmtree(self.directory)

    def test_queue_in_flight_and_health(self):
        client = sampler.RedisClient(self.socket)
        client.pipeline([
            ["RPUSH", sampler.QUEUE_KEY, "a", "b", "c"],
            ["HSET", "rinha:processing:worker-1:0", "x", "1", "y", "2"],
            ["HSET", "rinha:processing:worker-1:1", "z", "3"],
            # Not a processing hash: must not be counted.
            ["HSET", "rinha:seen", "q", "1"],
            ["SET", "rinha:health:d", "1:100:1800000000000"],
        ])
        queue, in_flight, health = sampler.sample_redis(client)
        self.assertEqual((queue, in_flight), (3, 3))
        self.assertEqual(health, {"default": "1:100:1800000000000", "fallback": None})
        self.assertEqual(timeline.parse_health(health["default"]), (True, 100, 1800000000000))
        client.close()

    def test_unreachable_redis_gives_nulls(self):
        client = sampler.RedisClient(os.path.join(self.directory, "absent.sock"))
        self.assertEqual(sampler.sample_redis(client), (None, None, None))

    def test_main_writes_one_line_per_interval_and_stops_by_itself(self):
        cgroup = os.path.join(self.directory, "cgroup")
        os.mkdir(cgroup)
        with open(os.path.join(cgroup, "cpu.stat"), "w") as file:
            file.write("nr_periods 40\nnr_throttled 7\nthrottled_time 123\n")
        output = os.path.join(self.directory, "samples.jsonl")
        started = time.time()
        sampler.main([output, "--redis-socket", self.socket, "--cgroup", f"redis={cgroup}",
                      "--cgroup", "gone=/nonexistent", "--interval-s", "0.1",
                      "--max-duration-s", "0.55"])
        self.assertLess(time.time() - started, 3)
        lines = read_jsonl(output)
        self.assertGreaterEqual(len(lines), 3)
        self.assertEqual(lines[0]["cgroups"]["redis"], {"nr_periods": 40, "nr_throttled": 7})
        self.assertIsNone(lines[0]["cgroups"]["gone"])
        self.assertEqual(lines[0]["queue"], 0)


class Books(unittest.TestCase):
    """books.py asks one window per second and falls back to the next token on 401."""

    def test_windows_and_token_fallback(self):
        seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                seen.append((self.path, self.headers.get("X-Rinha-Token")))
                if self.headers.get("X-Rinha-Token") != "123":
                    body, status = b"", 401
                else:
                    # The count is the window's second modulo 7: each window is told apart.
                    query = dict(pair.split("=") for pair in self.path.split("?")[1].split("&"))
                    second = int(query["from"][17:19])
                    assert query["to"][17:23] == f"{second:02d}.999", query["to"]
                    body, status = json.dumps({"totalRequests": second % 7}).encode(), 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        first_second = 1_800_000_010
        with tempfile.TemporaryDirectory() as directory:
            output = os.path.join(directory, "books.jsonl")
            books.main([output, "--from-ms", str(first_second * 1000 + 250),
                        "--to-ms", str((first_second + 4) * 1000 + 10),
                        "--processor", f"default={url}", "--token", "run-token",
                        "--token", "123"])
            lines = read_jsonl(output)
        server.shutdown()
        server.server_close()
        self.assertEqual([line["second"] for line in lines],
                         list(range(first_second, first_second + 5)))
        self.assertEqual([line["default"] for line in lines],
                         [int(time.strftime("%S", time.gmtime(line["second"]))) % 7
                          for line in lines])
        # The refused token was tried once, then never again.
        self.assertEqual([token for _, token in seen].count("run-token"), 1)
        self.assertEqual(books.iso_ms(1_800_000_000_123), "2027-01-15T08:00:00.123Z")


if __name__ == "__main__":
    unittest.main()
