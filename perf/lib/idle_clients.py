#!/usr/bin/env python3
"""Idle connections and a slow-header client against the load balancer, for perf/faults.sh.

Usage: idle_clients.py HOST PORT COUNT HOLD_S OUT_JSON

Opens COUNT TCP connections that send nothing, and one more that sends a valid POST /payments
head one byte per second; holds them for HOLD_S seconds while the suite's load runs, then
reports how many idle connections the server still held open, and what the slow client got
(a status line, a close, or nothing yet). Writes the report to OUT_JSON and prints it.
"""

import resource
import select
import socket
import sys
import time

from faults_report import write_extra

SLOW_REQUEST = (
    b"POST /payments HTTP/1.1\r\nHost: rinha\r\nContent-Type: application/json\r\n"
    b"Content-Length: 70\r\n\r\n"
)


def raise_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, needed), hard))


def readable(connection, timeout_s):
    """poll(2), not select(2): descriptors past 1024 are the point of this script."""
    poller = select.poll()
    poller.register(connection, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(int(timeout_s * 1000)))


def still_open(connection):
    if not readable(connection, 0):
        return True
    try:
        return connection.recv(1, socket.MSG_PEEK) != b""
    except OSError:
        return False


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, count, hold_s = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    out_path = argv[4]
    raise_file_limit(count + 64)
    idle, refused = [], 0
    for _ in range(count):
        try:
            idle.append(socket.create_connection((host, port), timeout=5))
        except OSError:
            refused += 1
    slow = socket.create_connection((host, port), timeout=5)
    slow.setblocking(False)
    started = time.monotonic()
    sent, slow_answer = 0, None
    while time.monotonic() - started < hold_s:
        if sent < len(SLOW_REQUEST):
            try:
                slow.send(SLOW_REQUEST[sent : sent + 1])
                sent += 1
            except OSError as error:
                slow_answer = f"send failed: {error}"
                break
        if readable(slow, 1.0):
            try:
                data = slow.recv(4096)
            except OSError as error:
                slow_answer = f"recv failed: {error}"
                break
            slow_answer = data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
            break
    open_at_end = sum(1 for connection in idle if still_open(connection))
    report = {
        "idle_opened": len(idle),
        "idle_refused": refused,
        "idle_open_at_end": open_at_end,
        "slow_bytes_sent": sent,
        "slow_answer": slow_answer or "none yet (still sending or waiting)",
        "held_s": round(time.monotonic() - started, 1),
        "ok": refused == 0,
    }
    if refused:
        report["why"] = f"{refused} idle connections refused"
    for connection in idle + [slow]:
        connection.close()
    return write_extra(out_path, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
