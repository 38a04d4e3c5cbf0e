"""Tests of the shell side of the test bed: the launch plan, the stack lock and the option parser.

Method: each case runs the real bash code (perf/lib/stack.sh sourced, or perf/lib/options.sh) in
a child bash and checks what it prints and how it exits. The plan cases write a plan with
perf/lib/compose_native.py from the real docker-compose.yml and read it back with
stack_plan_read: every field read back must equal what the compose file says, computed here from
the YAML by a separate route; truncated and reordered plans must stop the reader. The lock cases
use a private lock file (RINHA_STACK_LOCK), never the shared /tmp/rinha-stack.lock: a lock held by
an outer `flock`, by an outer `flock -o`, or by a parent script must not be waited for; a lock
held by an unrelated process must be waited for until that process lets go.

Run: python3 -m unittest discover -s perf/lib/tests -v
"""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(LIB))
COMPOSE = os.path.join(ROOT, "docker-compose.yml")


def bash(script, env=None, timeout=20):
    """Run SCRIPT in bash with stack.sh and options.sh sourced; returns the CompletedProcess."""
    prelude = f'set -euo pipefail\nsource "{LIB}/stack.sh"\nsource "{LIB}/options.sh"\n'
    return subprocess.run(
        ["bash", "-c", prelude + script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class LaunchPlan(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.plan = os.path.join(self.directory.name, "plan")
        environment = {**os.environ, "DEFAULT_FEE": "0.05", "FALLBACK_FEE": "0.15"}
        subprocess.run(
            ["python3", os.path.join(LIB, "compose_native.py"), COMPOSE, self.plan, "/s",
             "http://d", "http://f"],
            check=True,
            env=environment,
        )

    def tearDown(self):
        self.directory.cleanup()

    def read_back(self, plan):
        """Every service's fields as stack_plan_read gives them: {service: {key: value}}."""
        result = bash(
            f'stack_plan_read "{plan}"\n'
            'for s in "${STACK_PLAN_SERVICES[@]}"; do\n'
            '  for k in "${STACK_PLAN_SCALARS[@]}"; do\n'
            '    printf "%s\\t%s\\t%s\\n" "$s" "$k" "$(stack_plan_field "$s" "$k")"\n'
            "  done\n"
            "  for k in argv env; do\n"
            '    stack_plan_list "$s" "$k"\n'
            '    printf "%s\\t%s\\t%s\\n" "$s" "$k" "${STACK_PLAN_LIST[*]}"\n'
            "  done\n"
            "done\n"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        services = {}
        for line in result.stdout.splitlines():
            service, key, value = line.split("\t")
            services.setdefault(service, {})[key] = value
        return services

    def test_round_trip_matches_the_compose_file(self):
        compose = yaml.safe_load(Path(COMPOSE).read_text())["services"]
        services = self.read_back(self.plan)
        self.assertEqual(set(services), set(compose))
        for name, service in compose.items():
            limits = service["deploy"]["resources"]["limits"]
            self.assertEqual(
                services[name]["cpu_quota_us"], str(round(float(limits["cpus"]) * 100000))
            )
            command = service.get("command") or [""]
            self.assertEqual(services[name]["argv"].split(" ")[0], command[0])
            environment = service.get("environment") or {}
            words = services[name]["env"].split(" ") if environment else []
            self.assertEqual(len(words), len(environment))
        self.assertEqual(services["worker"]["kind"], "app")
        self.assertIn("DEFAULT_FEE=0.05", services["worker"]["env"].split(" "))

    def test_an_empty_argument_survives(self):
        # Redis's `--save ""` is an empty word: the plan must keep it as one.
        self.assertIn(b"\0--save\0\0--appendonly\0", Path(self.plan).read_bytes())
        result = bash(
            f'stack_plan_read "{self.plan}"; stack_plan_list redis argv\n'
            'for i in "${!STACK_PLAN_LIST[@]}"; do\n'
            '  [[ ${STACK_PLAN_LIST[i]} == --save ]] && printf "[%s]" "${STACK_PLAN_LIST[i + 1]}"\n'
            "done; true"
        )
        self.assertEqual(result.stdout, "[]", result.stderr)

    def test_a_damaged_plan_stops_the_reader(self):
        words = Path(self.plan).read_bytes().split(b"\0")[:-1]
        cases = {
            "truncated": words[:-3],
            "another format": [b"rinha-plan 0"] + words[1:],
            "fields swapped": words[:3] + words[5:7] + words[3:5] + words[7:],
            "count too large": [b"999" if i == words.index(b"argv") + 1 else word
                                for i, word in enumerate(words)],
        }
        for label, damaged in cases.items():
            with self.subTest(label):
                path = os.path.join(self.directory.name, "damaged")
                with open(path, "wb") as out:
                    out.write(b"".join(word + b"\0" for word in damaged))
                result = bash(f'stack_plan_read "{path}"')
                self.assertNotEqual(result.returncode, 0)
                self.assertIn("ERROR", result.stderr)


class StackLock(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.lock = os.path.join(self.directory.name, "lock")
        self.env = {"RINHA_STACK_LOCK": self.lock}
        self.script = os.path.join(self.directory.name, "take.sh")
        with open(self.script, "w") as out:
            out.write(
                f'set -euo pipefail\nsource "{LIB}/stack.sh"\nstack_lock test\necho taken\n'
                'if [[ ${1:-} == nested ]]; then bash "$0"; fi\n'
            )

    def tearDown(self):
        self.directory.cleanup()

    def run_script(self, *command, timeout=5):
        return subprocess.run(
            [*command], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **self.env},
        )

    def test_not_held(self):
        result = self.run_script("bash", self.script)
        self.assertEqual(result.stdout, "taken\n", result.stderr)

    def test_held_for_us_is_not_waited_for(self):
        cases = {
            "flock FILE script": ["flock", self.lock, "bash", self.script],
            "flock -o FILE script": ["flock", "-o", self.lock, "bash", self.script],
            "a script that took it runs another": ["bash", self.script, "nested"],
            "flock around a nested pair": ["flock", self.lock, "bash", self.script, "nested"],
        }
        for label, command in cases.items():
            with self.subTest(label):
                result = self.run_script(*command)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout.count("taken"), 2 if "nested" in command else 1)
                self.assertNotIn("waiting", result.stderr)

    def test_held_by_another_run_is_waited_for(self):
        # The holder says when it has the lock; the script can only take it once the holder is
        # gone, so the order is checked, not a duration.
        holder = subprocess.Popen(["flock", self.lock, "sh", "-c", "echo held; sleep 1"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(holder.stdout.readline(), "held\n")
            result = self.run_script("bash", self.script)
            holder_gone = holder.poll() is not None
        finally:
            holder.wait()
            holder.stdout.close()
        self.assertEqual(result.stdout, "taken\n", result.stderr)
        self.assertIn("waiting for", result.stderr)
        self.assertTrue(holder_gone, "the script took the lock while the holder had it")


class Options(unittest.TestCase):
    SPECS = "--rate=RATE:count:600 '--call-graph=GRAPH:fp|dwarf:fp'"

    def parse(self, arguments):
        return bash(
            f"perf_options t {self.SPECS} -- {arguments}\n"
            'echo "$RATE $GRAPH $INSTALL $BUILD"'
        )

    def test_defaults_and_values(self):
        self.assertEqual(self.parse("").stdout, "600 fp 1 1\n")
        self.assertEqual(
            self.parse("--rate 5 --call-graph dwarf --no-build --no-install").stdout,
            "5 dwarf 0 0\n",
        )

    def test_flags_and_lists(self):
        result = bash(
            "perf_options t --floor=FLOOR:flag:0 '--rates=RATES:counts:600 1200' -- "
            '--floor --rates "5 10 20"\n'
            'echo "$FLOOR|$RATES"'
        )
        self.assertEqual(result.stdout, "1|5 10 20\n", result.stderr)
        result = bash("perf_options t --floor=FLOOR:flag:0 '--rates=RATES:counts:600 1200' -- \n"
                      'echo "$FLOOR|$RATES"')
        self.assertEqual(result.stdout, "0|600 1200\n", result.stderr)
        result = bash("perf_options t '--rates=RATES:counts:600' -- --rates '5 x'\n")
        self.assertEqual(result.returncode, 2)
        self.assertIn("t: --rates needs positive integers separated by spaces", result.stderr)

    def test_refusals(self):
        for arguments, message in (
            ("--rate", "--rate needs a value"),
            ("--rate 0", "--rate needs a positive integer"),
            ("--rate 5x", "--rate needs a positive integer"),
            ("--call-graph lbr", "--call-graph needs one of fp|dwarf"),
            ("--frequency 9", "unknown option --frequency"),
        ):
            with self.subTest(arguments):
                result = self.parse(arguments)
                self.assertEqual(result.returncode, 2)
                self.assertIn(f"t: {message}", result.stderr)


if __name__ == "__main__":
    unittest.main()
