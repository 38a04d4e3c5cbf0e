#!/usr/bin/env python3
"""Sends the parser tests' inputs raw to a running server, for perf/faults.sh.

Usage: raw_corpus.py ROOT OUT_JSON TARGET...
  TARGET is host:port (the load balancer, 9999) or unix:/path (an API's socket).

The corpus: every byte-string literal (b"...") of tests/http_request.rs and tests/api_errors.rs
(the parser's table, prefix, pipelining and adversarial cases), every strict prefix of a valid
POST /payments, and generated inputs past each bound (headers, head size, Content-Length, body,
bare LF, NUL bytes, chunked). Each input goes on a fresh connection, the write side is then shut
(so an incomplete request meets end of stream), and the first answer is classified: a status
class (2xx, 4xx, 501 for a chunked body, 505 for an HTTP version past 1.1, 5xx...), "closed"
(no answer, orderly close), or "timeout" (nothing in 5 s); "other" is an answer that is not HTTP.
"ok" is false if any input got a 5xx or a timeout; perf/faults.sh also checks afterwards that no
service restarted.
"""

import re
import socket
import sys
from pathlib import Path

from faults_report import write_extra

LITERAL = re.compile(rb'b"((?:[^"\\]|\\.|\\\n)*)"', re.S)
TIMEOUT_S = 5.0

VALID_BODY = b'{"correlationId":"4a7901b8-7d26-4d9d-aa19-4dc1c7cf60b3","amount":19.90}'
VALID_POST = (
    b"POST /payments HTTP/1.1\r\nHost: rinha\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(VALID_BODY)).encode() + b"\r\n\r\n" + VALID_BODY
)


def unescape(raw):
    out, index = bytearray(), 0
    simple = {
        b"n": b"\n", b"r": b"\r", b"t": b"\t", b"0": b"\0", b"\\": b"\\", b'"': b'"', b"'": b"'"
    }
    while index < len(raw):
        byte = raw[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        code = raw[index + 1 : index + 2]
        if code == b"x":
            out.append(int(raw[index + 2 : index + 4], 16))
            index += 4
        elif code == b"\n":
            index += 2
            while index < len(raw) and raw[index : index + 1] in b" \t\n":
                index += 1
        else:
            out += simple.get(code, code)
            index += 2
    return bytes(out)


def corpus(root):
    inputs = []
    for name in ("tests/http_request.rs", "tests/api_errors.rs"):
        for match in LITERAL.finditer((Path(root) / name).read_bytes()):
            value = unescape(match.group(1))
            # A purge is a valid request that empties the books: not bad input, and it would
            # wipe the payments of the load running meanwhile.
            if value and b"purge" not in value:
                inputs.append(value)
    inputs += [VALID_POST[:length] for length in range(1, len(VALID_POST))]
    head = b"GET /payments-summary HTTP/1.1\r\nHost: rinha\r\n"
    inputs += [
        head + b"".join(b"X-%d: v\r\n" % index for index in range(40)) + b"\r\n",
        head + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
        b"POST /payments HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"POST /payments HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"{" * 5000,
        b"POST /payments HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /payments HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\nHost: bare-lf\n\n",
        b"\x00\x01\x02\xff" * 64,
        b"GET /payments-summary?from=" + b"9" * 3000 + b" HTTP/1.1\r\n\r\n",
        VALID_POST.replace(VALID_BODY, b'{"correlationId":"x","amount":-1}').replace(
            str(len(VALID_BODY)).encode(), b"33"
        ),
    ]
    return inputs


def connect(target):
    if target.startswith("unix:"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(TIMEOUT_S)
        connection.connect(target[len("unix:") :])
        return connection
    host, port = target.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=TIMEOUT_S)


def classify(target, data):
    try:
        connection = connect(target)
    except OSError as error:
        return f"connect failed: {error.__class__.__name__}"
    try:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(4096)
    except socket.timeout:
        return "timeout"
    except OSError:
        return "closed"
    finally:
        connection.close()
    if not answer:
        return "closed"
    match = re.match(rb"HTTP/1\.[01] (\d)(\d\d)", answer)
    if not match:
        return "other"
    # 501 (a transfer coding it does not implement: chunked bodies) and 505 (an HTTP version
    # other than 1.0 and 1.1) are the parser's deliberate refusals of what it cannot serve, like
    # a 4xx; any other 5xx would be a failure behind the parser.
    if match.group(1) == b"5" and match.group(2) in (b"01", b"05"):
        return "5" + match.group(2).decode()
    return f"{match.group(1).decode()}xx"


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, out_path, targets = argv[0], argv[1], argv[2:]
    inputs = corpus(root)
    report = {"inputs": len(inputs), "targets": {}}
    ok = True
    for target in targets:
        classes, examples = {}, {}
        for data in inputs:
            outcome = classify(target, data)
            classes[outcome] = classes.get(outcome, 0) + 1
            examples.setdefault(outcome, repr(data[:60]))
        report.setdefault("examples", {})[target] = examples
        report["targets"][target] = classes
        bad = {name: count for name, count in classes.items() if name in ("5xx", "timeout")}
        bad.update({name: count for name, count in classes.items() if name.startswith("connect")})
        if bad:
            ok = False
            report.setdefault("why", []).append(f"{target}: {bad}")
    report["ok"] = ok
    if "why" in report:
        report["why"] = "; ".join(report["why"])
    return write_extra(out_path, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
