#!/usr/bin/env python3
"""Check that gdb, with the interpreter's own pythonX.Y-gdb.py, lists the same
Python frames per thread as tripod-analyze.

usage: compare_gdb.py GDB_OUTPUT ANALYZE.jsonl [--lines]

GDB_OUTPUT is what `thread apply all py-bt` printed for the gunzipped
snapshot.  Threads are matched by their LWP.  File and function names must
agree for every frame, and line numbers too with --lines (the gdb
extensions of 3.6-3.8 misread negative line steps, so the caller leaves
lines out there; 3.10's says line 0 for a traced frame, which is noted and
not compared).

gdb walks each thread's C stack, so a thread that runs code in a
subinterpreter shows its main interpreter's frames and then, further in,
the subinterpreter's; tripod lists one thread state per interpreter.  Their
frames are joined in the order of the interpreter ids (the main one, 0,
outermost), as the subinterpreters of this test suite nest.
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
    notes = []
    python_threads = 0
    by_tid = {}
    for t in snap["threads"]:
        by_tid.setdefault(t["tid"], []).append(t)
    for tid, states in sorted(by_tid.items(), key=lambda kv: kv[0] or 0):
        states.sort(key=lambda t: t.get("interpreter") or 0)
        t = states[0]
        ours = [(f["file"], f["line"], f["function"])
                for st in states for f in st["frames"]]
        theirs = list(reversed(gdb.get(t["tid"], [])))
        if not ours and not theirs:
            continue
        python_threads += 1
        if not lines:
            ours = [(f, fn) for f, _, fn in ours]
            theirs = [(f, fn) for f, _, fn in theirs]
        else:
            # 3.10's extension returns f_lineno for a frame with f_trace
            # set, though CPython only uses it when non-zero: "line 0"
            # means gdb did not know
            for i, (o, g) in enumerate(zip(ours, theirs)):
                if g[1] == 0 and o[0] == g[0] and o[2] == g[2]:
                    notes.append("gdb says line 0 for %s in %s; tripod: %d"
                                 % (g[2], g[0], o[1]))
                    theirs[i] = o
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
    for p in notes + problems:
        print(p)
    if not problems:
        print("ok: gdb and tripod agree on %d threads" % python_threads)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
