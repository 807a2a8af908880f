#!/usr/bin/env python3
"""Check that the native stacks tripod-snap --native recorded (unwound
with libunwind in the live process) are the stacks tripod-analyze unwinds
from the same snapshot with libdwfl.

usage: compare_sources.py RECORDED.jsonl CORE.jsonl

The two files are tripod-analyze --format json --native=recorded and
--native=core of one snapshot.  Every thread must have the same frames:
native frames by pc (and so by function, module, offset, source line),
Python frames by file, function and line.
"""
import json
import sys


def frames(t):
    out = []
    for f in t["frames"]:
        if f["kind"] == "native":
            out.append(("native", f["pc"], f["function"], f["module"],
                        f["offset"], f["file"], f["line"], f["inlined"]))
        else:
            out.append(("python", f["file"], f["function"], f["line"]))
    return out


def main():
    rec = json.loads(open(sys.argv[1]).readline())
    core = json.loads(open(sys.argv[2]).readline())
    problems = []
    if rec.get("native_source") != "recorded":
        problems.append("%s: native_source %r, not 'recorded'" % (
            sys.argv[1], rec.get("native_source")))
    if core.get("native_source") != "core":
        problems.append("%s: native_source %r, not 'core'" % (
            sys.argv[2], core.get("native_source")))
    a = dict((t["tid"], t) for t in rec["threads"])
    b = dict((t["tid"], t) for t in core["threads"])
    if set(a) != set(b):
        problems.append("threads differ: recorded %s, core %s" % (
            sorted(a), sorted(b)))
    n = 0
    for tid in sorted(set(a) & set(b)):
        fa, fb = frames(a[tid]), frames(b[tid])
        n += len(fa)
        if fa != fb:
            lines = ["thread %s (%s): the stacks differ" % (
                tid, a[tid].get("name"))]
            for i in range(max(len(fa), len(fb))):
                x = fa[i] if i < len(fa) else None
                y = fb[i] if i < len(fb) else None
                lines.append("  %s %r\n    %r" % ("  " if x == y else "!=",
                                                  x, y))
            problems.append("\n".join(lines))
        for side, t in (("recorded", a[tid]), ("core", b[tid])):
            if t.get("native_error"):
                print("note: thread %s, %s: %s" % (tid, side,
                                                   t["native_error"]))
    for p in problems:
        print(p)
    if not problems:
        print("ok: libunwind (live) and libdwfl (core) agree on %d threads, "
              "%d frames" % (len(a), n))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
