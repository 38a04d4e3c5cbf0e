#!/usr/bin/python3
"""Load a Docker-format seccomp profile into this process, then exec a command under it.

Usage: seccomp_exec.py PROFILE.json COMMAND [ARGS...]

This lets the native test bed run the API and the worker under the same seccomp-io_uring.json that
docker-compose.yml gives them, so a syscall missing from the profile fails here too, not first on
the contest machine. It needs libseccomp's Python binding (Debian: python3-seccomp, for
/usr/bin/python3). Supported: defaultAction/defaultErrnoRet, per-rule action ALLOW or ERRNO with
errnoRet, and argument conditions EQ / MASKED_EQ; syscall names unknown to this kernel's libseccomp
are skipped, as Docker does.
"""

import json
import os
import sys

import seccomp

OPERATORS = {"SCMP_CMP_EQ": seccomp.EQ, "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ}


def action_of(rule, default_errno):
    action = rule["action"]
    if action == "SCMP_ACT_ALLOW":
        return seccomp.ALLOW
    if action == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(int(rule.get("errnoRet", default_errno)))
    raise SystemExit(f"seccomp_exec: unsupported action {action}")


def conditions_of(rule):
    conditions = []
    for argument in rule.get("args") or []:
        operator = OPERATORS.get(argument["op"])
        if operator is None:
            raise SystemExit(f"seccomp_exec: unsupported operator {argument['op']}")
        conditions.append(
            seccomp.Arg(argument["index"], operator, argument["value"], argument.get("valueTwo", 0))
        )
    return conditions


def build_filter(profile):
    default_errno = int(profile.get("defaultErrnoRet", 1))
    if profile["defaultAction"] != "SCMP_ACT_ERRNO":
        raise SystemExit("seccomp_exec: only defaultAction SCMP_ACT_ERRNO is supported")
    syscall_filter = seccomp.SyscallFilter(defaction=seccomp.ERRNO(default_errno))
    for rule in profile["syscalls"]:
        action = action_of(rule, default_errno)
        conditions = conditions_of(rule)
        for name in rule["names"]:
            try:
                syscall_filter.add_rule(action, name, *conditions)
            except (RuntimeError, ValueError, OSError):
                continue  # Not a syscall of this architecture or of this libseccomp.
    return syscall_filter


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as file:
        profile = json.load(file)
    build_filter(profile).load()
    os.execvp(argv[1], argv[1:])
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
