#!/usr/bin/env python3
"""Check docker-compose.yml against the contest rules (shared/docs/rinha-2025.md, section 4).

Usage:
    .ci/compose_rules.py [COMPOSE_FILE]              check the file (default: docker-compose.yml)
    .ci/compose_rules.py --self-test [COMPOSE_FILE]  mutate an in-memory copy into each violation
                                                     and assert that the checker catches it

Exit status: 0 when every rule holds (or every self-test case passes), 1 otherwise, 2 on a
file that cannot be read. Each broken rule is printed on its own line with the service it concerns.
"""

import copy
import json
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "perf" / "lib"))
from compose_units import parse_memory  # noqa: E402  (shared with the native launch plan)

CPU_LIMIT_TOTAL = Decimal("1.5")
MEMORY_LIMIT_TOTAL_BYTES = 350 * 1024 * 1024
API_SERVICES_MIN = 2
LOAD_BALANCER_PORT = 9999
PROCESSOR_NETWORK = "payment-processor"
PROCESSOR_HOST_PREFIX = "payment-processor-"
API_BINARY = "rinha-api"

def command_words(service):
    """The service's command as a list of words (compose allows a string or a list)."""
    command = service.get("command") or []
    if isinstance(command, str):
        return command.split()
    return [str(word) for word in command]


def environment_values(service):
    """The service's environment values as strings (compose allows a mapping or a list)."""
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return [str(value) for value in environment.values()]
    return [str(item).split("=", 1)[-1] for item in environment]


def service_networks(service):
    """Names of the networks a service joins (compose allows a list or a mapping)."""
    networks = service.get("networks") or []
    return list(networks.keys()) if isinstance(networks, dict) else list(networks)


def published_ports(service):
    """Host ports a service publishes, from short ("9999:9999") or long syntax."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                ports.append(str(entry["published"]).split("-")[0])
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:
            ports.append(parts[-2])
    return ports


def check_limits(services):
    """Every service has CPU and memory limits, in MB, and the totals fit the budget."""
    errors = []
    cpu_total = Decimal(0)
    memory_total_bytes = 0
    for name, service in services.items():
        limits = (((service.get("deploy") or {}).get("resources") or {}).get("limits")) or {}
        if "cpus" not in limits:
            errors.append(f"{name}: no deploy.resources.limits.cpus")
        else:
            try:
                cpu_total += Decimal(str(limits["cpus"]))
            except InvalidOperation:
                errors.append(f"{name}: unreadable cpus limit {limits['cpus']!r}")
        if "memory" not in limits:
            errors.append(f"{name}: no deploy.resources.limits.memory")
            continue
        try:
            memory_bytes, unit = parse_memory(limits["memory"])
        except ValueError as error:
            errors.append(f"{name}: {error}")
            continue
        if unit.upper() != "MB":
            errors.append(f"{name}: memory limit {limits['memory']!r} is not in MB units")
        memory_total_bytes += memory_bytes
    if cpu_total > CPU_LIMIT_TOTAL:
        errors.append(f"CPU limits add up to {cpu_total}, more than {CPU_LIMIT_TOTAL}")
    if memory_total_bytes > MEMORY_LIMIT_TOTAL_BYTES:
        errors.append(
            f"memory limits add up to {memory_total_bytes / 1024**2:g}MB, more than "
            f"{MEMORY_LIMIT_TOTAL_BYTES // 1024**2}MB"
        )
    return errors


def check_forbidden(services):
    """No host networking, no privileged containers, no replicas."""
    errors = []
    for name, service in services.items():
        if str(service.get("network_mode", "")).strip() == "host":
            errors.append(f"{name}: network_mode host is forbidden")
        if service.get("privileged"):
            errors.append(f"{name}: privileged is forbidden")
        if "replicas" in (service.get("deploy") or {}):
            errors.append(f"{name}: deploy.replicas is forbidden")
        if "scale" in service:
            errors.append(f"{name}: scale is forbidden (it is replicas by another name)")
    return errors


def check_topology(compose, services):
    """Two APIs, port 9999 published, bridge networks, processor callers on the external network."""
    errors = []
    api_services = [n for n, s in services.items() if API_BINARY in command_words(s)]
    if len(api_services) < API_SERVICES_MIN:
        errors.append(
            f"{len(api_services)} API service(s) running {API_BINARY} "
            f"({', '.join(api_services) or 'none'}); at least {API_SERVICES_MIN} are required"
        )
    publishers = [n for n, s in services.items() if str(LOAD_BALANCER_PORT) in published_ports(s)]
    if not publishers:
        errors.append(f"no service publishes port {LOAD_BALANCER_PORT}")
    networks = compose.get("networks") or {}
    for network_name, network in networks.items():
        driver = (network or {}).get("driver", "bridge")
        if driver != "bridge" and not (network or {}).get("external"):
            errors.append(f"network {network_name}: driver {driver!r}, only bridge is allowed")
    processor_network = networks.get(PROCESSOR_NETWORK)
    if not processor_network or processor_network.get("external") is not True:
        errors.append(f"network {PROCESSOR_NETWORK!r} is not declared with external: true")
    callers = [
        name
        for name, service in services.items()
        if any(PROCESSOR_HOST_PREFIX in value for value in environment_values(service))
    ]
    if not callers:
        errors.append(f"no service is configured with a {PROCESSOR_HOST_PREFIX}* URL")
    for name in callers:
        if PROCESSOR_NETWORK not in service_networks(services[name]):
            errors.append(f"{name}: calls the processors but is not on network {PROCESSOR_NETWORK}")
    return errors


def referenced_files(service):
    """Host paths a service needs beside the compose file: bind-mount sources, seccomp profiles."""
    paths = []
    for volume in service.get("volumes") or []:
        source = volume.get("source", "") if isinstance(volume, dict) else str(volume).split(":")[0]
        if source.startswith((".", "/", "~")):
            paths.append(source)
    for option in service.get("security_opt") or []:
        key, _, value = str(option).replace(":", "=", 1).partition("=")
        if key == "seccomp" and value != "unconfined":
            paths.append(value)
    return paths


def check_portable(services):
    """What the contest machine and an unprivileged engine need: pullable images, no build from
    source (the submission directory holds none), no hard limits raised, files beside the
    compose."""
    errors = []
    for name, service in services.items():
        if "build" in service:
            errors.append(f"{name}: build: the submission directory holds no source to build")
        if not service.get("image"):
            errors.append(f"{name}: no image: every image must be public and pullable")
        for limit in service.get("ulimits") or {}:
            errors.append(
                f"{name}: ulimits.{limit}: an unprivileged or rootless engine cannot raise hard "
                "limits (the binaries raise their own soft limit)"
            )
        for path in referenced_files(service):
            if not path.startswith("./") or ".." in Path(path).parts:
                errors.append(f"{name}: {path}: a referenced file must sit beside the compose file")
    return errors


# The one source of the contest's fees (perf/profiles.json); the compose file's own defaults, used
# when nothing exports DEFAULT_FEE / FALLBACK_FEE (the contest), must be the final test's.
PROFILES = Path(__file__).resolve().parent.parent / "perf" / "profiles.json"
FEE_DEFAULT = re.compile(r"^\$\{(DEFAULT_FEE|FALLBACK_FEE):-([0-9.]+)\}$")


def check_fees(services):
    """Every `${DEFAULT_FEE:-x}` / `${FALLBACK_FEE:-y}` default equals the final profile's fee."""
    fees = json.loads(PROFILES.read_text())["final"]["fees"]
    expected = {"DEFAULT_FEE": fees["default"], "FALLBACK_FEE": fees["fallback"]}
    errors = []
    for name, service in services.items():
        for value in environment_values(service):
            match = FEE_DEFAULT.match(str(value))
            if match and float(match.group(2)) != expected[match.group(1)]:
                errors.append(
                    f"{name}: {value}: the default must be the final fee in perf/profiles.json "
                    f"({expected[match.group(1)]})"
                )
    return errors


def check(compose):
    """Return the list of broken rules (empty when the compose is fine)."""
    services = compose.get("services") or {}
    if not services:
        return ["no services"]
    return (
        check_limits(services)
        + check_forbidden(services)
        + check_topology(compose, services)
        + check_portable(services)
        + check_fees(services)
    )


def limits_of(compose, name):
    return compose["services"][name]["deploy"]["resources"]["limits"]


def first_service_of(compose, predicate):
    return next(name for name, service in compose["services"].items() if predicate(service))


def mutate_cpu_total(compose):
    name = next(iter(compose["services"]))
    limits_of(compose, name)["cpus"] = str(Decimal(str(limits_of(compose, name)["cpus"])) + 1)


def mutate_memory_total(compose):
    name = next(iter(compose["services"]))
    limits_of(compose, name)["memory"] = "400MB"


def mutate_memory_units(compose):
    name = next(iter(compose["services"]))
    memory_bytes, _ = parse_memory(limits_of(compose, name)["memory"])
    limits_of(compose, name)["memory"] = f"{memory_bytes // 1024}KB"


def mutate_missing_limit(compose):
    name = next(iter(compose["services"]))
    del limits_of(compose, name)["memory"]


def mutate_one_api(compose):
    apis = [n for n, s in compose["services"].items() if API_BINARY in command_words(s)]
    for name in apis[1:]:
        del compose["services"][name]


def mutate_port(compose):
    name = first_service_of(compose, lambda s: str(LOAD_BALANCER_PORT) in published_ports(s))
    compose["services"][name]["ports"] = ["8080:9999"]


def mutate_host_network(compose):
    name = first_service_of(compose, lambda s: API_BINARY in command_words(s))
    compose["services"][name]["network_mode"] = "host"


def mutate_privileged(compose):
    name = next(iter(compose["services"]))
    compose["services"][name]["privileged"] = True


def mutate_replicas(compose):
    name = first_service_of(compose, lambda s: API_BINARY in command_words(s))
    compose["services"][name]["deploy"]["replicas"] = 2


def mutate_network_not_external(compose):
    compose["networks"][PROCESSOR_NETWORK] = {"driver": "bridge"}


def mutate_network_missing(compose):
    del compose["networks"][PROCESSOR_NETWORK]


def mutate_caller_detached(compose):
    for service in compose["services"].values():
        networks = service.get("networks")
        if isinstance(networks, list) and PROCESSOR_NETWORK in networks:
            networks.remove(PROCESSOR_NETWORK)
        elif isinstance(networks, dict):
            networks.pop(PROCESSOR_NETWORK, None)


def mutate_build(compose):
    name = first_service_of(compose, lambda s: API_BINARY in command_words(s))
    compose["services"][name]["build"] = "."


def mutate_memlock(compose):
    name = first_service_of(compose, lambda s: API_BINARY in command_words(s))
    compose["services"][name]["ulimits"] = {"memlock": -1}


def mutate_file_outside(compose):
    name = first_service_of(compose, lambda s: s.get("security_opt"))
    compose["services"][name]["security_opt"] = ["seccomp=../seccomp-io_uring.json"]


def mutate_fee_default(compose):
    name = first_service_of(
        compose, lambda s: any("DEFAULT_FEE" in str(v) for v in environment_values(s)))
    environment = compose["services"][name]["environment"]
    environment["DEFAULT_FEE"] = "${DEFAULT_FEE:-0.05}"


MUTATIONS = [
    ("cpu total above 1.5", mutate_cpu_total),
    ("memory total above 350MB", mutate_memory_total),
    ("memory not in MB", mutate_memory_units),
    ("service without a memory limit", mutate_missing_limit),
    ("only one API service", mutate_one_api),
    ("9999 not published", mutate_port),
    ("network_mode host", mutate_host_network),
    ("privileged", mutate_privileged),
    ("deploy.replicas", mutate_replicas),
    ("payment-processor not external", mutate_network_not_external),
    ("payment-processor not declared", mutate_network_missing),
    ("processor caller not on payment-processor", mutate_caller_detached),
    ("an image built from source", mutate_build),
    ("a memlock ulimit", mutate_memlock),
    ("a referenced file outside the compose directory", mutate_file_outside),
    ("a fee default that is not the final fee", mutate_fee_default),
]


def self_test(compose):
    """Run the checker on the file and on every mutation; return the number of failed cases."""
    passed = failed = 0
    cases = [("unmodified compose", None)] + MUTATIONS
    for label, mutate in cases:
        mutated = copy.deepcopy(compose)
        if mutate is not None:
            mutate(mutated)
        errors = check(mutated)
        # The file itself must pass; each mutation must be caught.
        ok = bool(errors) == (mutate is not None)
        if mutate is None:
            why = "no violation" if ok else f"expected no violation, got {errors}"
        else:
            why = f"caught ({errors[0]})" if ok else "the checker found nothing"
        passed, failed = passed + ok, failed + (not ok)
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {why}")
    print(f"{passed} passed, {failed} failed")
    return failed


def main(argv):
    arguments = [a for a in argv if a != "--self-test"]
    path = (
        Path(arguments[0])
        if arguments
        else Path(__file__).resolve().parent.parent / "docker-compose.yml"
    )
    try:
        compose = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        print(f"compose_rules: cannot read {path}: {error}", file=sys.stderr)
        return 2
    if not isinstance(compose, dict):
        print(f"compose_rules: {path} is not a compose mapping", file=sys.stderr)
        return 2
    if "--self-test" in argv:
        return 1 if self_test(compose) else 0
    errors = check(compose)
    for error in errors:
        print(f"compose rule broken: {error}")
    if errors:
        print(f"compose_rules: {path}: {len(errors)} rule(s) broken")
        return 1
    print(f"compose_rules: {path}: all contest rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
