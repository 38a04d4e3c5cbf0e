"""Payments recorded per second by each processor, read from the processors' own books.

Usage:
  books.py OUTPUT.jsonl --from-ms MS --to-ms MS --processor default=URL --processor fallback=URL
           --token TOKEN [--token TOKEN ...]

Runs once, after the load and before the stack stops. For every whole second s of
[from, to] and each processor it asks `GET /admin/payments-summary?from=s.000Z&to=s.999Z` (header
X-Rinha-Token) and writes one line per second:
  {"second": s, "default": totalRequests, "fallback": totalRequests}
(null where the processor did not answer).

Why the processors' admin summaries: they are the books the contest scores and audits, they
exist for the official processor images as for our simulator, and nothing in the backend has to
log or count anything for the picture. They filter on the requestedAt the backend sent (inclusive
bounds, millisecond precision), so a payment is counted in the second the worker sent its
recorded attempt; that attempt was recorded a processor delay later. The bounds are s.000 and
s.999: the backend sends millisecond timestamps, so consecutive windows neither overlap nor leave
a gap.

Tokens: the load scripts install a new admin token per run (run-tests.sh passes TOKEN); the first
token that is not refused (401) is used, so the simulators' initial 123 can follow as a fallback.
Bounded: at most SECONDS_MAX windows, one keep-alive connection per processor, a timeout per call.
"""

import argparse
import datetime
import http.client
import json
import sys
import urllib.parse

SECONDS_MAX = 7200
TIMEOUT_S = 5.0


def iso_ms(unix_ms):
    """JavaScript's toISOString(): YYYY-MM-DDTHH:MM:SS.mmmZ, UTC."""
    moment = datetime.datetime.fromtimestamp(unix_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{unix_ms % 1000:03d}Z"


class Processor:
    """One processor's admin summary endpoint over a kept-alive connection."""

    def __init__(self, url, tokens):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit(f"books: only http://host[:port] processor URLs, got {url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.tokens = list(tokens)
        self.connection = None

    def close(self):
        if self.connection is not None:
            self.connection.close()
        self.connection = None

    def get(self, path, token):
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port,
                                                             timeout=TIMEOUT_S)
            try:
                self.connection.request("GET", path, headers={"X-Rinha-Token": token})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                # A kept-alive connection closed by the peer: reconnect once, then give up.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    return None, b""
        return None, b""

    def count(self, second):
        """totalRequests of [second.000, second.999], or None."""
        start_ms = second * 1000
        query = urllib.parse.urlencode({"from": iso_ms(start_ms), "to": iso_ms(start_ms + 999)},
                                       safe=":")
        while self.tokens:
            status, body = self.get(f"/admin/payments-summary?{query}", self.tokens[0])
            if status == 401 and len(self.tokens) > 1:
                self.tokens.pop(0)
                continue
            if status != 200:
                return None
            try:
                return int(json.loads(body)["totalRequests"])
            except (ValueError, KeyError, TypeError):
                return None
        return None


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output")
    parser.add_argument("--from-ms", type=int, required=True)
    parser.add_argument("--to-ms", type=int, required=True)
    parser.add_argument("--processor", action="append", default=[], metavar="NAME=URL")
    parser.add_argument("--token", action="append", default=[])
    arguments = parser.parse_args(argv)
    if arguments.to_ms < arguments.from_ms:
        parser.error("--to-ms is before --from-ms")
    if not arguments.token:
        parser.error("at least one --token")
    return arguments


def main(argv):
    arguments = parse_arguments(argv)
    processors = {}
    for pair in arguments.processor:
        name, separator, url = pair.partition("=")
        if not separator:
            raise SystemExit(f"books: --processor wants NAME=URL, got {pair!r}")
        processors[name] = Processor(url, arguments.token)
    first, last = arguments.from_ms // 1000, arguments.to_ms // 1000
    last = min(last, first + SECONDS_MAX - 1)
    totals = dict.fromkeys(processors, 0)
    with open(arguments.output, "w") as output:
        for second in range(first, last + 1):
            line = {"second": second}
            for name, processor in processors.items():
                line[name] = processor.count(second)
                totals[name] += line[name] or 0
            output.write(json.dumps(line, separators=(",", ":")) + "\n")
    for processor in processors.values():
        processor.close()
    summary = ", ".join(f"{name} {total}" for name, total in totals.items())
    print(f"books: {last - first + 1} one-second windows read; recorded {summary}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
