#!/usr/bin/env python3
"""Check the text form of tripod-analyze --native (doc/native-stacks.md,
"Text form" and "Thread state") against its JSON form of the same
snapshot, whose frames and states the other checks compare with gdb, the
kernel and the truth.

usage: check_native_text.py ANALYZE.jsonl ANALYZE.txt

ANALYZE.txt is tripod-analyze --native with its headers.  For every thread,
in the order of the JSON:
- the header's "Thread ID:" line ends its parentheses with the state:
  "running", "waiting for the GIL", "blocked in NAME", "idle in NAME";
- the traceback lists, outermost first, one line per frame: Python frames
  as '  File "FILE", line N, in FUNCTION', native frames as
  '  <native> FUNCTION (MODULE+0xOFFSET[, inlined])[ at FILE:LINE]' with
  FUNCTION '??' when unknown, MODULE the file name without its directory,
  '(0xPC)' without a module;
- the "Full backtrace" part holds the same native lines in the same order.
"""
import json
import os
import re
import sys

SEPARATOR = "-" * 80
FULL_MARK = "Full backtrace with local variables:"
HEADER = re.compile(r"^Thread ID:\s+\S+ \(native (\d+)(?:, [^)]*)?\)$")


def native_line(f):
    fn = f["function"] if f["function"] is not None else "??"
    if f["module"] is not None:
        where = "%s+0x%x" % (os.path.basename(f["module"]), f["offset"])
    else:
        where = "0x%x" % f["pc"]
    if f["inlined"]:
        where += ", inlined"
    line = "  <native> %s (%s)" % (fn, where)
    if f["file"] is not None and f["line"] is not None:
        line += " at %s:%d" % (f["file"], f["line"])
    return line


def state_text(t):
    st = t.get("state")
    if st == "running":
        return "running"
    if st == "gil":
        return "waiting for the GIL"
    if st == "syscall":
        return "blocked in %s" % t.get("syscall")
    if st == "idle":
        return "idle in %s" % t.get("syscall")
    return None


def main():
    snap = json.loads(open(sys.argv[1]).readline())
    blocks = open(sys.argv[2]).read().split(SEPARATOR)
    blocks = [b for b in blocks if b.strip()]
    problems = []
    if len(blocks) != len(snap["threads"]):
        problems.append("%d thread blocks in the text, %d threads in JSON" %
                        (len(blocks), len(snap["threads"])))
    nlines = 0
    for t, block in zip(snap["threads"], blocks):
        where = "thread %s (%s)" % (t["tid"], t.get("name"))
        lines = block.split("\n")
        head = [l for l in lines if l.startswith("Thread ID:")]
        m = HEADER.match(head[0]) if head else None
        if not m or int(m.group(1)) != t["tid"]:
            problems.append("%s: header %r" % (where, head[:1]))
            continue
        want_state = state_text(t)
        if want_state is None or \
                not head[0].endswith(", %s)" % want_state):
            problems.append("%s: header %r does not end with the state %r" %
                            (where, head[0], want_state))
        if FULL_MARK not in block:
            problems.append("%s: no %r" % (where, FULL_MARK))
            continue
        tb, full = block.split(FULL_MARK, 1)
        want = []
        for f in t["frames"]:
            if f["kind"] == "native":
                want.append(native_line(f))
            else:
                want.append('  File "%s", line %d, in %s' % (
                    f["file"], f["line"], f["function"]))
        got = [l for l in tb.split("\n")
               if l.startswith("  <native> ") or l.startswith("  File ")]
        if got != want:
            problems.append("%s: traceback lines differ:\n  want %r\n  got  %r"
                            % (where, want, got))
        want_native = [l for l in want if l.startswith("  <native> ")]
        got_native = [l for l in full.split("\n")
                      if l.startswith("  <native> ")]
        if got_native != want_native:
            problems.append("%s: full backtrace native lines differ:\n"
                            "  want %r\n  got  %r" % (where, want_native,
                                                      got_native))
        nlines += len(want)
    for p in problems:
        print(p)
    if not problems:
        print("ok: the text of %d threads, %d frame lines, is the JSON's" %
              (len(snap["threads"]), nlines))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
