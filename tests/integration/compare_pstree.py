#!/usr/bin/env python3
"""Compare tripod-analyze's asyncio tasks with what CPython 3.14+'s own
tools say about the same live process: `python -m asyncio pstree PID`
(the awaited-by tree, or the await cycles it refuses to draw) and the
table behind `python -m asyncio ps PID` (asyncio.tools.build_task_table:
each task's name, coroutine stack and awaiters).  Both read the process
from outside through CPython's remote debugging support.

usage: compare_pstree.py INTERPRETER PID ANALYZE.jsonl
Exits 77 when the interpreter has no asyncio.tools (before 3.14) or
cannot read the process, 1 on differences, 0 when all agree.
"""
import json
import re
import subprocess
import sys

TABLE = r"""
import json, sys
try:
    from asyncio import tools
except ImportError as e:
    print(json.dumps({"skip": "no asyncio.tools: %s" % e}))
    sys.exit(0)
try:
    rows = tools.build_task_table(tools.get_all_awaited_by(int(sys.argv[1])))
except Exception as e:
    print(json.dumps({"skip": "asyncio.tools cannot read the process: %r" % e}))
    sys.exit(0)
print(json.dumps({"rows": [[str(x) for x in r] for r in rows]}))
"""


# tasks of asyncio_tasks_py37.py that ps does not list (see main())
NOT_IN_PS = ("py-task", "second-loop-task")
# functions of asyncio_tasks_py37.py that are plain generators
PLAIN_GENERATORS = ("legacy_wait",)


def run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def tree_edges(text):
    """(child, parent) task names from pstree's tree: a task line is
    "...── (T) NAME"; its parent task is the nearest task line above it
    that is less indented."""
    edges = set()
    roots = set()
    stack = []
    for line in text.splitlines():
        m = re.search(r"[└├]── \(T\) (.*)$", line)
        if not m:
            continue
        col = m.start()
        while stack and stack[-1][0] >= col:
            stack.pop()
        name = m.group(1).strip()
        if stack:
            edges.add((name, stack[-1][1]))
        else:
            roots.add(name)
        stack.append((col, name))
    return edges, roots


def main():
    interp, pid, jsonl = sys.argv[1], sys.argv[2], sys.argv[3]
    snap = json.loads([l for l in open(jsonl) if l.strip()][0])
    tasks = snap.get("tasks") or []
    by_addr = dict((int(t["address"], 16), t) for t in tasks)
    problems = []

    code, out = run([interp, "-c", TABLE, pid])
    try:
        table = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print("asyncio.tools failed (%d): %s" % (code, out[-2000:]))
        return 1
    if "skip" in table:
        print(table["skip"])
        return 77
    # tid, task id, task name, coroutine stack, awaiter chain, awaiter
    # name, awaiter id: one row per (task, awaiter)
    seen = {}
    for row in table["rows"]:
        tid, ident, name, stack, _, _, awaiter = row
        t = by_addr.get(int(ident, 16))
        if t is None:
            problems.append("ps: task %s %s: not in tripod's tasks" % (
                ident, name))
            continue
        entry = seen.setdefault(int(ident, 16), {"awaiters": set()})
        if int(awaiter, 16):
            entry["awaiters"].add(int(awaiter, 16))
        if t.get("name") != name:
            problems.append("ps: task %s: name %r, tripod %r" % (
                ident, name, t.get("name")))
        names = [f.get("qualname") or f["function"] for f in t["frames"]]
        # ps follows coroutines only: the frames of a plain generator a
        # coroutine awaits (asyncio_tasks_py37.legacy_wait, driven by
        # `yield from`) are not in its stack
        while len(names) > 1 and names[-1] in PLAIN_GENERATORS:
            names.pop()
        mine = " -> ".join(reversed(names))
        if mine != stack:
            problems.append("ps: task %s: coroutine stack %r, tripod %r" %
                            (name, stack, mine))
    for ident, entry in seen.items():
        mine = set(int(a, 16) for a in by_addr[ident].get("awaited_by", []))
        if mine != entry["awaiters"]:
            problems.append("ps: task %s: awaited by %s, tripod %s" % (
                by_addr[ident].get("name"),
                sorted(hex(a) for a in entry["awaiters"]),
                sorted(hex(a) for a in mine)))
    # what ps leaves out: tasks of the Python implementation, which 3.14+
    # keeps apart from the C tasks' lists, and the tasks of the event
    # loop in another thread: ps reads the task list of the main thread's
    # state and of those after it in the interpreter's thread list, newest
    # first, so none of a thread started later
    for ident, t in by_addr.items():
        if ident not in seen and t.get("name") not in NOT_IN_PS:
            problems.append("tripod's task %s is not in ps" % t.get("name"))

    code, out = run([interp, "-m", "asyncio", "pstree", pid])
    cycle_tasks = set(t.get("name") for t in tasks if t.get("in_cycle"))
    if "cycle" in out:
        named = set()
        for m in re.finditer(r"cycle: (.*)", out):
            named |= set(x.strip() for x in m.group(1).split("→"))
        if named != cycle_tasks:
            problems.append("pstree's cycles %s, tripod's %s" % (
                sorted(named), sorted(cycle_tasks)))
        what = "cycles %s" % sorted(named)
    else:
        if cycle_tasks:
            problems.append("pstree drew a tree, tripod has cycles %s" %
                            sorted(cycle_tasks))
        edges, roots = tree_edges(out)
        names = dict((i, t.get("name")) for i, t in by_addr.items())
        mine = set()
        for i, t in by_addr.items():
            if i not in seen:
                continue
            for p in t.get("awaited_by", []):
                mine.add((t.get("name"), names.get(int(p, 16))))
        if edges != mine:
            problems.append("pstree's tree edges differ:\n  pstree only %s"
                            "\n  tripod only %s" % (sorted(edges - mine),
                                                    sorted(mine - edges)))
        what = "a tree of %d edges, %d roots" % (len(edges), len(roots))
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d tasks as asyncio ps lists them; pstree: %s" % (
            len(seen), what))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
