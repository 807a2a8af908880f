#!/usr/bin/env python3
"""Compare tripod-analyze's output for the same scenario run twice, by two
builds of one interpreter (an unmodified binary and a copy rewritten by
patchelf): the same threads (by name), each with the same frames (file,
function, line) and the same locals (name, type, repr).  What differs from
one process to the next is left out: pids, thread idents and native ids
(also inside reprs: a Thread's shows its ident), object addresses in
reprs ("at 0x..."), the scratch directory of the run, the argv.

usage: compare_runs.py A.jsonl B.jsonl
Prints every difference and exits 1 if there is any, 0 otherwise.
"""
import json
import re
import sys

ADDRESS = re.compile(r"0x[0-9a-f]+")
SCRATCH = re.compile(r"/tripod-test-[^/'\"]*")


def normal(text, idents):
    text = SCRATCH.sub("/SCRATCH", ADDRESS.sub("0x?", text))
    # a Thread's repr shows its ident
    for ident in idents:
        text = text.replace(ident, "IDENT")
    return text


def threads(path):
    lines = [l for l in open(path) if l.strip()]
    if len(lines) != 1:
        sys.exit("%s: expected one JSON line, got %d" % (path, len(lines)))
    snap = json.loads(lines[0])
    out = {}
    idents = set(str(t["ident"]) for t in snap.get("threads", [])
                 if t.get("ident"))
    for t in snap.get("threads", []):
        frames = []
        for f in t.get("frames", []):
            frames.append((f.get("file"), f.get("function"), f.get("line"),
                           [(l["name"], l.get("type"), normal(l["repr"], idents))
                            for l in f.get("locals", [])]))
        key = (t.get("name"), t.get("interpreter") or 0)
        out.setdefault(key, []).append(frames)
    for v in out.values():
        v.sort(key=repr)
    return snap.get("python_version"), out


def main():
    va, a = threads(sys.argv[1])
    vb, b = threads(sys.argv[2])
    problems = []
    if va != vb:
        problems.append("python_version %r != %r" % (va, vb))
    if sorted(a, key=repr) != sorted(b, key=repr):
        problems.append("threads %r != %r" % (sorted(a, key=repr),
                                               sorted(b, key=repr)))
    for key in sorted(set(a) & set(b), key=repr):
        if a[key] != b[key]:
            problems.append("thread %r differs:\n  %r\n  %r"
                            % (key, a[key], b[key]))
    for p in problems:
        print(p)
    if not problems:
        n = sum(len(s) for v in a.values() for s in v)
        print("ok: %d threads, %d frames the same in both runs"
              % (sum(len(v) for v in a.values()), n))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
