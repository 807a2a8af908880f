#!/usr/bin/env python3
"""Check that gdb, with the interpreter's own pythonX.Y-gdb.py, lists the same
Python frames per thread as tripod-analyze.

usage: compare_gdb.py GDB_OUTPUT ANALYZE.jsonl [--lines]

GDB_OUTPUT is what `thread apply all py-bt` printed for the gunzipped
snapshot.  Threads are matched by their LWP.  File and function names must
agree for every frame, and line numbers too with --lines (the gdb
extensions of 3.6-3.8 misread negative line steps, so the caller leaves
lines out there).
"""
import json
import re
import sys

THREAD = re.compile(r"^Thread \d+ \(.*LWP (\d+)\)\)?:")
FRAME = re.compile(r'^  File "(.*)", line (\d+), in (.*)$')


def parse_gdb(text):
    threads = {}
    current = None
    for line in text.splitlines():
        m = THREAD.match(line)
        if m:
            current = threads.setdefault(int(m.group(1)), [])
            continue
        m = FRAME.match(line)
        if m and current is not None:
            current.append((m.group(1), int(m.group(2)), m.group(3)))
        elif current is not None and "Unable to read information" in line:
            current.append(("?", -1, "?"))
    return threads


def main():
    gdb = parse_gdb(open(sys.argv[1], errors="replace").read())
    snap = json.loads(open(sys.argv[2]).readline())
    lines = "--lines" in sys.argv[3:]
    problems = []
    python_threads = 0
    for t in snap["threads"]:
        ours = [(f["file"], f["line"], f["function"]) for f in t["frames"]]
        theirs = list(reversed(gdb.get(t["tid"], [])))
        if not ours and not theirs:
            continue
        python_threads += 1
        if not lines:
            ours = [(f, fn) for f, _, fn in ours]
            theirs = [(f, fn) for f, _, fn in theirs]
        if ours != theirs:
            problems.append("thread %s (%s):\n  tripod: %r\n  gdb:    %r" % (
                t["tid"], t.get("name"), ours, theirs))
    if not python_threads:
        problems.append("no thread with Python frames")
    extra = set(tid for tid, fr in gdb.items() if fr) - \
        set(t["tid"] for t in snap["threads"])
    if extra:
        problems.append("gdb shows Python frames in threads tripod does "
                        "not list: %s" % sorted(extra))
    for p in problems:
        print(p)
    if not problems:
        print("ok: gdb and tripod agree on %d threads" % python_threads)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
