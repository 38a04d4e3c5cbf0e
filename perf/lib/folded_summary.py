#!/usr/bin/env python3
"""A text summary of folded stacks (inferno-collapse-perf output): where a service's samples go.

Usage: folded_summary.py FOLDED [TOP]

Prints the share of samples in the kernel (stacks through a syscall or interrupt entry), the
system calls by entry point, and the TOP (default 15) functions by self time and by total time
(counted once per stack), so that a flamegraph's reading can be written down and compared.
"""

import collections
import sys

# Frames through which a stack enters the kernel from user space.
KERNEL_ENTRIES = ("entry_SYSCALL_64", "do_syscall_64", "asm_sysvec_", "asm_common_interrupt",
                  "ret_from_fork", "asm_exc_page_fault")


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    top = int(argv[1]) if len(argv) > 1 else 15
    total = 0
    kernel = 0
    self_time = collections.Counter()
    inclusive = collections.Counter()
    syscalls = collections.Counter()
    with open(argv[0]) as file:
        for line in file:
            stack, _, weight = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            weight = int(weight)
            frames = stack.split(";")
            total += weight
            self_time[frames[-1]] += weight
            for frame in set(frames):
                inclusive[frame] += weight
            entry = next((i for i, frame in enumerate(frames)
                          if frame.startswith(KERNEL_ENTRIES)), None)
            if entry is not None:
                kernel += weight
                # The frame after do_syscall_64 names the system call (__x64_sys_*).
                call = next((frame for frame in frames[entry:] if frame.startswith("__x64_sys_")
                             or frame.startswith("__do_sys_")), frames[entry])
                syscalls[call] += weight
    if total == 0:
        print("no samples")
        return 0

    def share(value):
        return f"{100 * value / total:5.1f} %"

    print(f"samples: {total / 1e9:.3f} s of cpu-clock; kernel {share(kernel)}")
    print("kernel entries:")
    for name, value in syscalls.most_common(top):
        print(f"  {share(value)}  {name}")
    print("self time:")
    for name, value in self_time.most_common(top):
        print(f"  {share(value)}  {name[:110]}")
    print("total time (frames below the thread's start):")
    shown = 0
    for name, value in inclusive.most_common():
        if value / total > 0.97:
            continue
        print(f"  {share(value)}  {name[:110]}")
        shown += 1
        if shown == top:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
