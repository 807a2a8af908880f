#!/usr/bin/env python3
"""Check tripod-analyze --native's "waiting for the GIL" state against gdb.

usage: check_gil.py GDB_OUTPUT ANALYZE.jsonl [--expect-waiter NAME]

GDB_OUTPUT holds the line gdb_native.py printed for the snapshot exported
as a core (every frame gdb unwinds per thread, newest first, inlined
frames included); ANALYZE.jsonl is tripod-analyze --native --format json
of the same snapshot.  A thread waits for the GIL when gdb shows take_gil()
on its stack (as a frame of its own or inlined), or, on 2.7 where the GIL
is a plain lock, PyThread_acquire_lock() called by PyEval_RestoreThread(),
PyEval_AcquireThread(), PyEval_AcquireLock() or PyEval_EvalFrameEx().
Every thread must be in tripod's state "gil" exactly when gdb shows that.
With --expect-waiter, the thread of that name must be one of them (the
fixture made it wait; gdb must be able to name the functions).
"""
import json
import sys

PY2_TAKERS = ("PyEval_RestoreThread", "PyEval_AcquireThread",
              "PyEval_AcquireLock", "PyEval_EvalFrameEx")


def waits_in_gdb(frames):
    if any(f["function"] == "take_gil" for f in frames
           if not f.get("tailcall")):
        return True
    real = [f for f in frames if not f["inline"] and not f.get("tailcall")]
    for i, f in enumerate(real[:-1]):
        if f["function"] == "PyThread_acquire_lock":
            return real[i + 1]["function"] in PY2_TAKERS
    return False


def main():
    args = sys.argv[1:]
    expect = None
    if "--expect-waiter" in args:
        i = args.index("--expect-waiter")
        expect = args[i + 1]
        del args[i:i + 2]
    text = open(args[0]).read()
    line = [l for l in text.splitlines() if l.startswith("TRIPOD-GDB-NATIVE ")]
    if not line:
        print("no TRIPOD-GDB-NATIVE line in %s" % args[0])
        return 1
    gdb = dict((t["lwp"], t["frames"])
               for t in json.loads(line[0][len("TRIPOD-GDB-NATIVE "):]))
    snap = json.loads(open(args[1]).readline())
    problems = []
    waiting = []
    for t in snap["threads"]:
        frames = gdb.get(t["tid"])
        if frames is None:
            problems.append("thread %s (%s): not in gdb's output" % (
                t["tid"], t.get("name")))
            continue
        want = waits_in_gdb(frames)
        if want:
            waiting.append(t.get("name"))
        if (t.get("state") == "gil") != want:
            problems.append("thread %s (%s): state %r, gdb %s" % (
                t["tid"], t.get("name"), t.get("state"),
                "shows it waiting for the GIL" if want else
                "shows no wait for the GIL"))
    if expect is not None and expect not in waiting:
        problems.append("thread %r: gdb does not show it waiting for the "
                        "GIL (threads that wait: %r)" % (expect, waiting))
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d threads, waiting for the GIL per gdb and tripod: %r" %
              (len(snap["threads"]), waiting))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
