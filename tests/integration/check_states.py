#!/usr/bin/env python3
"""Check the thread states of tripod-analyze --native against the kernel.

usage: check_states.py SYSCALLS.txt ANALYZE.jsonl [UNISTD_64.H]

SYSCALLS.txt holds one line per thread of the parked target, "TID TEXT",
TEXT being what /proc/PID/task/TID/syscall said just before the snapshot:
the number of the system call the thread is blocked in (then its
arguments), "-1 ..." for a thread stopped in user space, or "running".
Every thread of the fixture is blocked for good, so the snapshot sees the
same.  A thread blocked in call N must be in state "syscall" (Python
frames) or "idle" (none) with the name <asm/unistd_64.h> gives N; any
other thread must not claim a system call.  A thread waiting for the GIL
(state "gil", checked against gdb by check_gil.py) is blocked in futex.
"""
import json
import re
import sys


def names(header):
    out = {}
    for line in open(header):
        m = re.match(r"#define __NR_(\w+)\s+(\d+)\s*$", line)
        if m:
            out[int(m.group(2))] = m.group(1)
    return out


def main():
    header = sys.argv[3] if len(sys.argv) > 3 else \
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
    nr_name = names(header)
    kernel = {}
    for line in open(sys.argv[1]):
        tid, _, text = line.strip().partition(" ")
        kernel[int(tid)] = text.split()
    snap = json.loads(open(sys.argv[2]).readline())
    problems = []
    checked = 0
    for t in snap["threads"]:
        k = kernel.get(t["tid"])
        if k is None:
            problems.append("thread %s: not seen in /proc" % t["tid"])
            continue
        has_python = any(f["kind"] == "python" for f in t["frames"])
        if k and k[0] not in ("running", "-1"):
            want = nr_name.get(int(k[0]), "unknown")
            state = "syscall" if has_python else "idle"
            if t.get("state") == "gil" and want == "futex":
                # waiting for the GIL is a wait on a futex (the
                # condition variable, 2.7: the lock's semaphore);
                # check_gil.py checks that state against gdb
                pass
            elif t.get("state") != state or t.get("syscall") != want:
                problems.append("thread %s (%s): state %r in %r, the kernel says %s in %s" % (
                    t["tid"], t.get("name"), t.get("state"),
                    t.get("syscall"), state, want))
        elif t.get("state") in ("syscall", "idle"):
            problems.append("thread %s (%s): state %r in %r, the kernel says %s" % (
                t["tid"], t.get("name"), t.get("state"), t.get("syscall"),
                " ".join(k)))
        checked += 1
    for p in problems:
        print(p)
    if not problems:
        print("ok: the states of %d threads agree with the kernel" % checked)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
