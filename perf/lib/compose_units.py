"""Units of docker-compose.yml values, shared by perf/lib/compose_native.py (the native launch
plan) and .ci/compose_rules.py (the contest rule check), so both read limits the same way."""

import re
from decimal import Decimal

# Docker parses memory with go-units RAMInBytes: binary multiples, case-insensitive suffix.
MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
MEMORY_UNIT_BYTES = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}


def parse_memory(value):
    """Return (bytes, unit) for a compose memory string such as "80MB"; raise ValueError."""
    match = MEMORY_PATTERN.match(str(value))
    if not match or match.group(2).lower() not in MEMORY_UNIT_BYTES:
        raise ValueError(f"unreadable memory value {value!r}")
    number = Decimal(match.group(1))
    return int(number * MEMORY_UNIT_BYTES[match.group(2).lower()]), match.group(2)
