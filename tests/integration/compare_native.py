#!/usr/bin/env python3
"""Check tripod-analyze --native's merged stacks against gdb.

usage: compare_native.py GDB_OUTPUT ANALYZE.jsonl [--python]

GDB_OUTPUT holds the line gdb_native.py printed for the snapshot exported
as a core: every frame gdb unwinds in each thread (newest first, inlined
frames included) and, with the interpreter's pythonX.Y-gdb.py loaded, the
Python frames its Frame.print_traceback() finds in each call of the
evaluation loop.  ANALYZE.jsonl is tripod-analyze --native --format json
of the same snapshot.

For every thread (matched by LWP), outermost first:
- each C frame of gdb must be a native frame of tripod, in the same
  order, at the same pc, with the same function name where gdb names one
  (names of one address that differ only by glibc's alias prefixes,
  "__GI_" and leading underscores -- clone3 / __clone3 --, are the same);
  source lines are shown on a difference but not compared (see same());
  a PLT stub, which gdb names "NAME@plt" and tripod does not name, counts
  as a frame gdb does not name;
- each evaluation-loop frame of gdb, together with the frames gdb shows
  inlined into it, stands for the Python frames that call ran: with
  --python (the extension was loaded) they must be tripod's Python frames
  at that place, file and function equal; without it, tripod must show a
  run of Python frames there (or none: a call whose frames are all being
  set up); where gdb names no function there (no symbols), any frame gdb
  cannot name may be such a call.
Threads must be the same on both sides.  Frames gdb makes up for tail
calls (from DWARF call-site information: no such frame is on the stack)
are left out.
"""
import json
import re
import sys

FRAME = re.compile(r'^  File "(.*)", line (\d+), in (.*)$')
EVAL_LOOPS = ("_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx")


def norm(name):
    # gdb names a PLT stub after the function it jumps to ("NAME@plt"),
    # from the relocations; tripod has no symbol there ("??")
    if name is None or name.endswith("@plt"):
        return None
    return re.sub(r"^(_*GI_)?_*", "", name)


def is_eval(name, version):
    if name is None:
        return False
    loop = "PyEval_EvalFrameEx" if version.startswith("2.") else \
        "_PyEval_EvalFrameDefault"
    return name == loop or name.startswith(loop + ".")


def c_item(f):
    """A C frame, gdb's or tripod's: ("c", name, pc, file's base name,
    line); pc, file and line None where unknown."""
    fn = f.get("file")
    line = f.get("line")
    return ("c", norm(f["function"]), f.get("pc"),
            fn.rsplit("/", 1)[-1] if fn and line else None,
            line if fn and line else None)


def gdb_stack(frames, version, python):
    """gdb's frames, outermost first, as ("c", name) and ("py", file,
    function) items; ("eval",) for a call of the eval loop when the
    Python frames are not known."""
    items = []
    pending_inline = []
    for f in frames:              # newest first
        if f.get("tailcall"):
            continue
        if f["inline"]:
            pending_inline.append(c_item(f))
            continue
        if is_eval(f["function"], version):
            # the frames inlined at this pc belong to the eval loop's call
            pending_inline = []
            if python:
                text = f.get("python")
                if text is None:
                    items.append(("py", "?", "gdb extension did not read this frame"))
                    continue
                pys = []
                for line in text.splitlines():
                    m = FRAME.match(line)
                    if m:
                        pys.append(("py", m.group(1), m.group(3)))
                    elif line.strip().startswith("(") and \
                            "not a python frame" not in line:
                        pys.append(("py", "?", line.strip()))
                items.extend(pys)   # newest first, like gdb
            else:
                items.append(("eval",))
            continue
        items.extend(pending_inline)
        pending_inline = []
        items.append(c_item(f))
    items.extend(pending_inline)
    items.reverse()
    return items


def tripod_stack(frames, python):
    items = []
    for f in frames:
        if f.get("kind") == "native":
            items.append(c_item(f))
        elif python:
            items.append(("py", f["file"], f["function"]))
        elif not items or items[-1] != ("eval",):
            items.append(("eval",))
    return items


def same(g, t):
    # a frame gdb cannot name (a stripped static interpreter) may be the
    # eval loop's call, which tripod finds by its entry frame's address
    if g[0] == "c" and g[1] is None and t == ("eval",):
        return True
    if g[0] != t[0]:
        return False
    if g[0] == "c":
        # the same name and pc.  Source lines are not compared: where
        # several line-table rows share the address of a call (GCC's
        # location views), gdb shows the first row marked is_stmt, libdw
        # (tripod, eu-addr2line) the last one -- e.g. methodobject.h:52
        # against methodobject.c:443 for Debian 3.11's
        # cfunction_vectorcall_FASTCALL_KEYWORDS
        return (g[1] is None or g[1] == t[1]) and g[2] == t[2]
    return g == t


def main():
    text = open(sys.argv[1], errors="replace").read()
    line = [l for l in text.splitlines() if l.startswith("TRIPOD-GDB-NATIVE ")]
    if not line:
        print("gdb printed no stacks:\n" + text[-3000:])
        return 1
    gdb = dict((t["lwp"], t["frames"])
               for t in json.loads(line[0].split(" ", 1)[1]))
    snap = json.loads(open(sys.argv[2]).readline())
    python = "--python" in sys.argv[3:]
    version = snap.get("python_version") or ""
    problems = []
    by_tid = {}
    for t in snap["threads"]:
        if t.get("frames") and any(f.get("kind") == "native"
                                   for f in t["frames"]):
            by_tid[t["tid"]] = t
    if set(by_tid) != set(gdb):
        problems.append("threads differ: tripod %s, gdb %s" % (
            sorted(by_tid), sorted(gdb)))
    checked = frames = 0
    for tid in sorted(set(by_tid) & set(gdb)):
        g = gdb_stack(gdb[tid], version, python)
        t = tripod_stack(by_tid[tid]["frames"], python)
        ok = len(g) == len(t) and all(same(a, b) for a, b in zip(g, t))
        if not ok:
            problems.append("thread %s (%s):\n  tripod: %r\n  gdb:    %r" % (
                tid, by_tid[tid].get("name"), t, g))
        checked += 1
        frames += len(g)
    for p in problems:
        print(p)
    if not problems:
        print("ok: gdb and tripod agree on %d threads, %d frames%s" % (
            checked, frames, " (Python frames compared)" if python else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
