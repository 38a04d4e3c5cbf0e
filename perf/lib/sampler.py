"""Background sampler of a run's timeline: once per second, what Redis and the cgroups hold.

Usage:
  sampler.py OUTPUT.jsonl --redis-socket PATH [--cgroup SERVICE=CPU_CGROUP_DIR ...]
             [--interval-s 1] [--max-duration-s 3600]

Each line of OUTPUT.jsonl is one sample, written and flushed as soon as it is taken:
  {"t_ms": unix ms, "queue": LLEN rinha:queue, "in_flight": sum of HLEN rinha:processing:*,
   "health": {"default": "<failing>:<minResponseTime>:<polled at ms>", "fallback": ...},
   "cgroups": {"nginx": {"nr_periods": N, "nr_throttled": N}, ...}}
A value that could not be read is null (Redis not up yet, a cgroup already gone): the sample is
still written, so a gap in the picture is a gap in the data, not a missing line.

Why these and why here: the queue (`rinha:queue`, a list) and the processing hashes
(`rinha:processing:<worker>:<thread>`, one entry per payment in flight) are the worker's backlog
(DESIGN.md section 2), and `rinha:health:<d|f>` is what the backend's health poller last saw. The
test bed reads them from outside, so the services' hot path does no extra work; the cost is one
pipelined round trip plus one SCAN per second on Redis. The cgroup counters (cpu.stat, the same
keys in cgroup v1 and v2) are cumulative; timeline.py turns them into periods throttled per second.

Nothing here assumes the native stack: the socket path and the cgroup directories are arguments
(natively $STACK_SOCKET_DIR/redis.sock and /sys/fs/cgroup/cpu/rinha/<service>; under Docker the
volume's redis.sock and each container's cpu cgroup). Only the standard library is used.

Bounded: it stops after --max-duration-s even if nobody signals it, and on SIGTERM or SIGINT it
finishes the current sample and exits 0.
"""

import argparse
import json
import os
import signal
import socket
import sys
import time

QUEUE_KEY = "rinha:queue"
PROCESSING_PATTERN = "rinha:processing:*"
HEALTH_KEYS = {"default": "rinha:health:d", "fallback": "rinha:health:f"}
# SCAN batches and a cap on processing hashes: a worker has one per thread, so a few at most.
SCAN_COUNT = 1000
SCAN_ROUNDS_MAX = 100
PROCESSING_KEYS_MAX = 256
# Bounds on what a reply may hold, so that a confused peer cannot make this grow without end.
REPLY_BYTES_MAX = 1 << 20
REPLY_DEPTH_MAX = 4
SOCKET_TIMEOUT_S = 0.5
CPU_STAT_KEYS = ("nr_periods", "nr_throttled")


class RedisError(Exception):
    """A Redis error reply, or a reply this client cannot read."""


def bounded_length(text, too_long):
    """The length of a bulk or array reply: None for RESP's null (a negative length), and an
    error, TOO_LONG formatted with it, past REPLY_BYTES_MAX."""
    length = int(text)
    if length < 0:
        return None
    if length > REPLY_BYTES_MAX:
        raise RedisError(too_long.format(length))
    return length


class RedisClient:
    """A minimal RESP2 client over a Unix socket: enough for LLEN, GET, SCAN and HLEN."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buffer = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""

    def pipeline(self, commands):
        """Send every command, then read one reply per command, in order.

        # Errors
        OSError when the socket fails (the caller reconnects next time); RedisError on an error
        reply or a reply over the bounds.
        """
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(SOCKET_TIMEOUT_S)
            self.sock.connect(self.path)
        self.sock.sendall(b"".join(encode_command(command) for command in commands))
        return [self.read_reply(0) for _ in commands]

    def read_line(self):
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > REPLY_BYTES_MAX:
                raise RedisError("reply line too long")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("Redis closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read_exact(self, length):
        while len(self.buffer) < length + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("Redis closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:length], self.buffer[length + 2 :]
        return data

    def read_reply(self, depth):
        if depth > REPLY_DEPTH_MAX:
            raise RedisError("reply nested too deep")
        line = self.read_line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = bounded_length(rest, "bulk reply of {} bytes")
            return None if length is None else self.read_exact(length).decode(errors="replace")
        if kind == b"*":
            count = bounded_length(rest, "array reply of {} elements")
            return None if count is None else [self.read_reply(depth + 1) for _ in range(count)]
        raise RedisError(f"unknown reply type {line[:20]!r}")


def encode_command(arguments):
    """RESP array of bulk strings, the form Redis accepts for every command."""
    parts = [b"*%d\r\n" % len(arguments)]
    for argument in arguments:
        data = str(argument).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def processing_keys(client):
    """Every key matching rinha:processing:* (a handful: one per worker thread)."""
    keys, cursor = set(), "0"
    for _ in range(SCAN_ROUNDS_MAX):
        command = ["SCAN", cursor, "MATCH", PROCESSING_PATTERN, "COUNT", SCAN_COUNT]
        [reply] = client.pipeline([command])
        cursor, batch = reply
        keys.update(batch)
        if cursor == "0" or len(keys) >= PROCESSING_KEYS_MAX:
            break
    return sorted(keys)[:PROCESSING_KEYS_MAX]


def sample_redis(client):
    """(queue, in_flight, health) now, or (None, None, None) if Redis cannot be read."""
    try:
        replies = client.pipeline(
            [["LLEN", QUEUE_KEY]] + [["GET", key] for key in HEALTH_KEYS.values()]
        )
        keys = processing_keys(client)
        lengths = client.pipeline([["HLEN", key] for key in keys]) if keys else []
    except (OSError, RedisError, ValueError):
        client.close()
        return None, None, None
    health = dict(zip(HEALTH_KEYS, replies[1:]))
    return replies[0], sum(lengths), health


def read_cpu_stat(directory):
    """nr_periods and nr_throttled from DIRECTORY/cpu.stat, or None if it cannot be read."""
    try:
        with open(os.path.join(directory, "cpu.stat")) as file:
            fields = dict(line.split(None, 1) for line in file if line.strip())
    except (OSError, ValueError):
        return None
    try:
        return {key: int(fields[key]) for key in CPU_STAT_KEYS}
    except (KeyError, ValueError):
        return None


def parse_cgroup_pairs(pairs):
    cgroups = {}
    for pair in pairs:
        service, separator, directory = pair.partition("=")
        if not separator or not service or not directory:
            raise SystemExit(f"sampler: --cgroup wants SERVICE=DIRECTORY, got {pair!r}")
        cgroups[service] = directory
    return cgroups


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output", help="JSONL file to append samples to")
    parser.add_argument("--redis-socket", required=True, help="Redis Unix socket path")
    parser.add_argument("--cgroup", action="append", default=[], metavar="SERVICE=DIR",
                        help="a service and its cpu cgroup directory (repeatable)")
    parser.add_argument("--interval-s", type=float, default=1.0)
    parser.add_argument("--max-duration-s", type=float, default=3600.0)
    arguments = parser.parse_args(argv)
    if not 0.05 <= arguments.interval_s <= 60:
        parser.error("--interval-s must be within [0.05, 60]")
    return arguments


def main(argv):
    arguments = parse_arguments(argv)
    cgroups = parse_cgroup_pairs(arguments.cgroup)
    stopping = []
    handlers = {number: signal.signal(number, lambda *_: stopping.append(True))
                for number in (signal.SIGTERM, signal.SIGINT)}
    client = RedisClient(arguments.redis_socket)
    started = time.time()
    deadline = started + arguments.max_duration_s
    with open(arguments.output, "a") as output:
        # Samples sit on whole multiples of the interval, so that they fall one per second bin.
        next_at = (int(started / arguments.interval_s) + 1) * arguments.interval_s
        while not stopping and next_at < deadline:
            pause = next_at - time.time()
            if pause > 0:
                time.sleep(pause)
            if stopping:
                break
            now_ms = int(time.time() * 1000)
            queue, in_flight, health = sample_redis(client)
            sample = {
                "t_ms": now_ms,
                "queue": queue,
                "in_flight": in_flight,
                "health": health,
                "cgroups": {name: read_cpu_stat(path) for name, path in cgroups.items()},
            }
            output.write(json.dumps(sample, separators=(",", ":")) + "\n")
            output.flush()
            next_at += arguments.interval_s
            # A stall (suspended, overloaded machine) skips the missed samples instead of bursting.
            while next_at < time.time():
                next_at += arguments.interval_s
    client.close()
    for number, handler in handlers.items():
        signal.signal(number, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
