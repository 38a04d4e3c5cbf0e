#!/usr/bin/env python3
"""Translate docker-compose.yml into a native launch plan for perf/lib/stack.sh.

Usage: compose_native.py COMPOSE_FILE PLAN_FILE SOCKET_DIR DEFAULT_URL FALLBACK_URL [VOLUME_DIR]

The compose file stays the one source of truth: every service's command, environment, ulimits,
seccomp profile and CPU/memory limits are read from it. Only these are rewritten, because they
name places that exist inside the containers only:
  - "/sockets/" (the shared socket volume)          -> SOCKET_DIR/
  - http://payment-processor-default:8080          -> DEFAULT_URL
  - http://payment-processor-fallback:8080         -> FALLBACK_URL
  - the mount point of any other named volume      -> VOLUME_DIR/<volume> (created here; default
    VOLUME_DIR: volumes/ beside PLAN_FILE), e.g. Redis's "/data" (redis-data:/data); a word is
    rewritten when it is the mount point or lies under it
${VAR}, ${VAR:-default} and ${VAR-default} are interpolated from the environment, as compose does.

Writes PLAN_FILE, one file of NUL-terminated words (a word may hold any byte but NUL, so a
command or an environment value needs no quoting). stack_plan_read in perf/lib/stack.sh is its
one reader, and checks every key below in this order. The first word is PLAN_FORMAT; then, for
each service in start order (depends_on first):
  service NAME
  kind KIND                  redis | nginx | app
  cpu_quota_us N             CFS quota for a 100000 us period ("-1": no limit)
  memory_bytes N             memory limit ("-1": no limit)
  memlock VALUE              ulimit -l value ("" = leave as is; "unlimited" for -1)
  nofile VALUE               ulimit -n value ("" = leave as is)
  seccomp PATH               absolute path of the seccomp profile ("" = none)
  unix_listen PATH           the Unix socket the service listens on ("" = none)
  argv COUNT WORD...         the command (nginx: filled in by stack.sh)
  env COUNT KEY=VALUE...     the environment
"""

import os
import re
import sys
from decimal import Decimal
from pathlib import Path

import yaml
from compose_units import parse_memory

CFS_PERIOD_US = 100000
# The plan file's first word; stack.sh refuses any other (bump it when the layout changes).
PLAN_FORMAT = "rinha-plan 1"
# The scalar fields of a service, in the order they are written (stack.sh reads the same order).
PLAN_SCALARS = (
    "kind",
    "cpu_quota_us",
    "memory_bytes",
    "memlock",
    "nofile",
    "seccomp",
    "unix_listen",
)
SOCKET_VOLUME_PREFIX = "/sockets/"
PROCESSOR_URLS = {
    "http://payment-processor-default:8080": 3,
    "http://payment-processor-fallback:8080": 4,
}
INTERPOLATION = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value):
    """Compose-style variable interpolation of one string."""

    def replace(match):
        name = match.group(1) or match.group(4)
        operator, default = match.group(2), match.group(3)
        current = os.environ.get(name)
        if operator == ":-" and not current:
            return default
        if operator == "-" and current is None:
            return default
        return current or ""

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def rewrite(value, socket_dir, urls, mounts=None):
    """Interpolate, then point container-only names at their native equivalents."""
    text = interpolate(str(value)).replace(SOCKET_VOLUME_PREFIX, socket_dir.rstrip("/") + "/")
    for container_url, native_url in urls.items():
        text = text.replace(container_url, native_url)
    for container_path, native_path in (mounts or {}).items():
        if text == container_path or text.startswith(container_path + "/"):
            text = native_path + text[len(container_path) :]
    return text


def volume_mounts(service, named_volumes, volume_dir):
    """Mount point -> native directory for the service's named volumes (the socket volume is
    SOCKET_DIR's business); each directory is created, as Docker creates a volume."""
    mounts = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            source, target = entry.get("source"), entry.get("target")
        else:
            source, _, rest = str(entry).partition(":")
            target = rest.split(":", 1)[0]
        if not source or not target or source not in named_volumes:
            continue
        if target.rstrip("/") + "/" == SOCKET_VOLUME_PREFIX:
            continue
        native = Path(volume_dir) / source
        native.mkdir(parents=True, exist_ok=True)
        mounts[target.rstrip("/")] = str(native.resolve())
    return mounts


def start_order(services):
    """Services sorted so that each comes after what it depends_on (stable, cycle-checked)."""
    order, visiting = [], set()

    def visit(name):
        if name in order:
            return
        if name in visiting:
            raise SystemExit(f"compose_native: depends_on cycle through {name}")
        visiting.add(name)
        depends = services[name].get("depends_on") or []
        for dependency in depends.keys() if isinstance(depends, dict) else depends:
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in services:
        visit(name)
    return order


def service_kind(service):
    image = str(service.get("image", ""))
    if image.startswith("redis"):
        return "redis"
    if image.startswith("nginx"):
        return "nginx"
    return "app"


def environment_items(service):
    environment = service.get("environment") or {}
    if isinstance(environment, dict):
        return [
            (str(key), "" if value is None else str(value)) for key, value in environment.items()
        ]
    return [
        tuple(str(item).split("=", 1)) if "=" in str(item) else (str(item), "")
        for item in environment
    ]


def memory_bytes(value):
    try:
        return parse_memory(value)[0]
    except ValueError as error:
        raise SystemExit(f"compose_native: {error}") from None


def ulimit(service, name):
    value = (service.get("ulimits") or {}).get(name)
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("soft", value.get("hard"))
    return "unlimited" if int(value) < 0 else str(int(value))


def seccomp_profile(service, compose_dir):
    for option in service.get("security_opt") or []:
        key, _, value = str(option).replace(":", "=", 1).partition("=")
        if key == "seccomp" and value != "unconfined":
            return str((compose_dir / value).resolve())
    return ""


def service_plan(name, service, compose_dir, socket_dir, urls, mounts):
    """The plan words of one service: its scalar fields, then its command and environment."""
    kind = service_kind(service)
    command = service.get("command") or []
    if isinstance(command, str):
        raise SystemExit(f"compose_native: {name}: write command as a list, not a shell string")
    argv = [rewrite(word, socket_dir, urls, mounts) for word in command]
    environment = [
        f"{key}={rewrite(value, socket_dir, urls, mounts)}"
        for key, value in environment_items(service)
    ]
    limits = (((service.get("deploy") or {}).get("resources") or {}).get("limits")) or {}
    cpus = limits.get("cpus")
    quota = int(Decimal(str(cpus)) * CFS_PERIOD_US) if cpus is not None else -1
    memory = memory_bytes(limits["memory"]) if "memory" in limits else -1
    unix_listen = ""
    for item in environment:
        key, _, value = item.partition("=")
        if key.endswith("_LISTEN") and value.startswith("unix:"):
            unix_listen = value[len("unix:") :]
    if kind == "redis" and "--unixsocket" in argv:
        unix_listen = argv[argv.index("--unixsocket") + 1]
    scalars = {
        "kind": kind,
        "cpu_quota_us": str(quota),
        "memory_bytes": str(memory),
        "memlock": ulimit(service, "memlock"),
        "nofile": ulimit(service, "nofile"),
        "seccomp": seccomp_profile(service, compose_dir),
        "unix_listen": unix_listen,
    }
    assert tuple(scalars) == PLAN_SCALARS, "the plan's fields and their order are fixed"
    words = ["service", name]
    for key, value in scalars.items():
        words += [key, value]
    for key, values in (("argv", argv), ("env", environment)):
        words += [key, str(len(values)), *values]
    return words


def encode_plan(words):
    """NUL-terminated words; a NUL inside one would split it, so it is refused."""
    for word in words:
        if "\0" in word:
            raise SystemExit(f"compose_native: a NUL byte in {word!r}")
    return b"".join(word.encode() + b"\0" for word in words)


def main(argv):
    if len(argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    compose_path, plan_path, socket_dir, default_url, fallback_url = argv[:5]
    plan_path = Path(plan_path)
    volume_dir = argv[5] if len(argv) == 6 else str(plan_path.parent / "volumes")
    compose_path = Path(compose_path).resolve()
    compose = yaml.safe_load(compose_path.read_text())
    services = compose.get("services") or {}
    urls = {
        url: (default_url if slot == 3 else fallback_url) for url, slot in PROCESSOR_URLS.items()
    }
    named_volumes = set((compose.get("volumes") or {}).keys())
    words = [PLAN_FORMAT]
    for name in start_order(services):
        mounts = volume_mounts(services[name], named_volumes, volume_dir)
        words += service_plan(name, services[name], compose_path.parent, socket_dir, urls, mounts)
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole, then renamed: a reader never sees half a plan.
    partial = plan_path.with_name(plan_path.name + ".partial")
    partial.write_bytes(encode_plan(words))
    partial.replace(plan_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
