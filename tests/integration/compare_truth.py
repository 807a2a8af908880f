#!/usr/bin/env python3
"""Compare tripod-analyze's output for one snapshot with the truth a fixture
recorded inside the target (fixtures/tripod_fixture.py).

usage: compare_truth.py [--native] TRUTH.json ANALYZE.jsonl [DOGSLOW.txt]

With --native the output is tripod-analyze --native's: the Python frames
(kind "python") must be the truth's, the native frames between them are
left to compare_native.py (gdb), threads that run no Python ("python":
false) must be as many as the truth's native_only_threads, and the
Dogslow text is compared without its "  <native> " lines.

ANALYZE.jsonl is `tripod-analyze --format json` of snapshots of the parked
target, one line each, every one compared with the truth (the harness
takes two: tripod-analyze decodes the second with what it kept from the
first); DOGSLOW.txt, if given, is `tripod-analyze --no-header` of the first.
Every record is also checked against doc/tripod-analyze.schema.json.
Prints every difference and exits 1 if there is any, 0 otherwise.
"""
import difflib
import json
import sys

import schema_check

SEPARATOR = "\n\n" + "-" * 80 + "\n\n"
FULL_MARK = "Full backtrace with local variables:\n\n"


def _same_interp(t, tt):
    """tripod's thread t and the truth's thread tt are in the same
    interpreter (the truth says None where the version has no ids)."""
    ti = tt.get("interpreter")
    if ti is None:
        return True
    return (t.get("interpreter") or 0) == ti


def find_thread(threads, tt):
    """The thread of tripod's output that is the truth's thread tt: the
    same ident and interpreter (a thread that runs code in a
    subinterpreter has a thread state, same ident, in each)."""
    for t in threads:
        if t.get("ident") == tt["ident"] and _same_interp(t, tt):
            return t
    return None


def find_truth(truth_threads, t):
    for tt in truth_threads:
        if t.get("ident") == tt["ident"] and _same_interp(t, tt):
            return tt
    return None


def _cut(s, n=2000):
    return s if len(s) <= n else s[:n] + "...[%d more]" % (len(s) - n)


def _diff(expected, got, max_lines=80):
    """A unified diff, long lines cut, at most max_lines lines."""
    def cut(lines):
        return [l if len(l) <= 4000 else l[:4000] + "...[%d more]" %
                (len(l) - 4000) for l in lines]
    lines = list(difflib.unified_diff(cut(expected.split("\n")),
                                      cut(got.split("\n")),
                                      "expected", "got", n=2, lineterm=""))
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["... (%d more lines)" %
                                     (len(lines) - max_lines)]
    return "\n".join(lines)


NATIVE = False


def python_only(snap):
    """--native output as it would be without: Python threads, Python
    frames; problems with the native-only threads."""
    problems = []
    threads = [t for t in snap["threads"] if t.get("python", True)]
    native_only = len(snap["threads"]) - len(threads)
    if NATIVE:
        for t in snap["threads"]:
            if "state" not in t:
                problems.append("thread %s: no state with --native" %
                                t.get("tid"))
        for t in threads:
            t["frames"] = [f for f in t["frames"]
                           if f.get("kind", "python") == "python"]
    snap = dict(snap, threads=threads)
    return snap, native_only, problems


def strip_native_lines(text):
    return "\n".join(l for l in text.split("\n")
                     if not l.startswith("  <native> "))


def main():
    global NATIVE
    args = sys.argv[1:]
    if args and args[0] == "--native":
        NATIVE = True
        args = args[1:]
    sys.argv[1:] = args
    truth = json.load(open(sys.argv[1]))
    lines = [l for l in open(sys.argv[2]) if l.strip()]
    if not lines:
        print("no JSON line")
        return 1
    problems = []
    # every record must also be what doc/tripod-analyze.schema.json says
    with open(schema_check.DEFAULT_SCHEMA, encoding="utf-8") as fp:
        schema = json.load(fp)
    for i, line in enumerate(lines):
        problems += ["snapshot %d: schema: %s" % (i + 1, p) for p in
                     schema_check.validate(json.loads(line), schema, schema)]
    for i, line in enumerate(lines):
        found = compare(truth, json.loads(line),
                        sys.argv[3] if len(sys.argv) > 3 and i == 0 else None)
        problems += ["snapshot %d: %s" % (i + 1, p) if len(lines) > 1 else p
                     for p in found]
    if problems and truth.get("notes"):
        # e.g. the seed of the random values: how to run it again
        print("notes: %s" % ", ".join("%s=%s" % kv for kv in
                                        sorted(truth["notes"].items())))
    for p in problems:
        print(p)
    if not problems:
        print("ok: %d snapshot%s, %d threads, %d frames match the truth" % (
            len(lines), "" if len(lines) == 1 else "s",
            len(truth["threads"]),
            sum(len(t["frames"]) for t in truth["threads"])))
    return 1 if problems else 0


def compare(truth, snap, dogslow_path):
    """The differences between one snapshot's JSON record and the truth."""
    snap, native_only, problems = python_only(snap)
    want_native = truth.get("native_only_threads", 0) if NATIVE else 0
    if native_only != want_native:
        problems.append("%d threads that run no Python, truth has %d" % (
            native_only, want_native))

    if snap.get("pid") != truth["pid"]:
        problems.append("pid %r != %r" % (snap.get("pid"), truth["pid"]))
    argv = snap.get("argv") or []
    want = truth["argv"]
    if truth.get("cmdline") is not None:
        # the command line the kernel has: tripod-snap reads the same
        ok = argv == truth["cmdline"]
        want = truth["cmdline"]
    elif want and want[0] == "-c":
        # python -c CODE ARG...: sys.argv is ['-c', ARG...], the command
        # line holds the code itself after the -c
        ok = len(argv) >= len(want) + 1 and argv[-len(want) - 1] == "-c" \
            and argv[len(argv) - len(want) + 1:] == want[1:]
    else:
        ok = argv[-len(want):] == want
    if not ok:
        problems.append("argv %r does not end with %r" % (argv, want))
    if snap.get("python_version") != truth["python_version"]:
        problems.append("python_version %r != %r" % (
            snap.get("python_version"), truth["python_version"]))
    if len(snap["threads"]) != len(truth["threads"]):
        problems.append("%d threads, truth has %d" % (
            len(snap["threads"]), len(truth["threads"])))

    for tt in truth["threads"]:
        where = "thread %s (%s)" % (tt["ident"], tt["name"])
        if tt.get("interpreter"):
            where += " in interpreter %s" % tt["interpreter"]
        t = find_thread(snap["threads"], tt)
        if t is None:
            problems.append("%s: missing" % where)
            continue
        if t.get("name") != tt["name"]:
            problems.append("%s: name %r" % (where, t.get("name")))
        if tt["native_id"] is not None and t.get("tid") != tt["native_id"]:
            problems.append("%s: tid %r != %r" % (where, t.get("tid"),
                                                   tt["native_id"]))
        if tt.get("interpreter") is not None and \
                t.get("interpreter") != tt["interpreter"]:
            problems.append("%s: interpreter %r != %r" % (
                where, t.get("interpreter"), tt["interpreter"]))
        if "main" in tt and t.get("is_main") != tt["main"]:
            problems.append("%s: is_main %r != %r" % (where, t.get("is_main"),
                                                      tt["main"]))
        if tt["cpu_bound"] and t.get("holds_gil") is not True and \
                truth.get("hexversion", 0) < 0x03000000 and \
                t.get("holds_gil") is False and \
                not any(o.get("holds_gil") for o in snap["threads"]):
            # 2.7 drops and retakes the GIL every 100 bytecodes even
            # with nobody waiting: a snapshot may fall in that gap, where
            # truly nobody holds it (no other thread may be named)
            print("note: %s: snapshot taken while 2.7 passed the GIL on"
                  % where)
        elif tt["cpu_bound"] and t.get("holds_gil") is not True:
            problems.append("%s: CPU-bound thread should hold the GIL, "
                            "holds_gil=%r" % (where, t.get("holds_gil")))
        elif "holds_gil" in tt and t.get("holds_gil") != tt["holds_gil"]:
            problems.append("%s: holds_gil %r != %r" % (
                where, t.get("holds_gil"), tt["holds_gil"]))
        frames, tframes = t["frames"], tt["frames"]
        if len(frames) != len(tframes):
            problems.append("%s: %d frames, truth has %d: %r" % (
                where, len(frames), len(tframes),
                [(f["function"], f["line"]) for f in frames]))
            continue
        for i, (f, tf) in enumerate(zip(frames, tframes)):
            fw = "%s frame %d (%s)" % (where, i, tf["function"])
            for key in ("file", "function"):
                if f[key] != tf[key]:
                    problems.append("%s: %s %r != %r" % (fw, key, f[key],
                                                         tf[key]))
            if tf.get("qualname") is not None and \
                    f.get("qualname") != tf["qualname"]:
                problems.append("%s: qualname %r != %r" % (
                    fw, f.get("qualname"), tf["qualname"]))
            if not tf.get("volatile_line") and f["line"] != tf["line"]:
                problems.append("%s: line %r != %r" % (fw, f["line"],
                                                       tf["line"]))
            volatile = set(tf.get("volatile_locals", []))
            got = dict((l["name"], l) for l in (f.get("locals") or []))
            if set(got) != set(tf["locals"]):
                problems.append("%s: local names differ: missing %s, extra %s"
                                % (fw, sorted(set(tf["locals"]) - set(got)),
                                   sorted(set(got) - set(tf["locals"]))))
            for name, exp in sorted(tf["locals"].items()):
                if name in volatile or name not in got:
                    continue
                if got[name]["repr"] != exp["repr"]:
                    problems.append("%s: local %s: repr\n  got      %r\n  expected %r"
                                    % (fw, name, _cut(got[name]["repr"]),
                                       _cut(exp["repr"])))
                if got[name]["type"] != exp["type"]:
                    problems.append("%s: local %s: type %r != %r" % (
                        fw, name, got[name]["type"], exp["type"]))
                if "attributes" in exp and \
                        got[name].get("attributes") != exp["attributes"]:
                    problems.append(
                        "%s: local %s: attributes\n  got      %s\n"
                        "  expected %s" % (
                            fw, name, _cut(repr(got[name].get("attributes"))),
                            _cut(repr(exp["attributes"]))))

    problems += compare_tasks(truth, snap)

    if dogslow_path:
        text = open(dogslow_path, encoding="utf-8").read()
        samples = text.split(SEPARATOR)
        if samples and samples[-1] == "":
            samples.pop()
        if NATIVE:
            # native-only threads have no Python frame at all
            samples = [strip_native_lines(x) for x in samples
                       if '  File "' in x]
        ntasks = len(snap.get("tasks") or [])
        if len(samples) != len(snap["threads"]) + ntasks:
            problems.append("dogslow: %d samples for %d threads and %d "
                            "tasks" % (len(samples), len(snap["threads"]),
                                       ntasks))
        problems += compare_task_samples(truth, samples[len(snap["threads"]):])
        for sample, t in zip(samples, snap["threads"]):
            tt = find_truth(truth["threads"], t)
            if tt is None or "dogslow_full" not in tt:
                continue
            if FULL_MARK not in sample:
                problems.append("dogslow: thread %s: no full backtrace" %
                                t["ident"])
                continue
            full = sample.split(FULL_MARK, 1)[1]
            # dogslow's stack() output; a trailing '' element gives "\n"
            if full != tt["dogslow_full"]:
                problems.append(
                    "dogslow: thread %s (%s): full backtrace differs\n%s" % (
                        t["ident"], tt["name"],
                        _diff(tt["dogslow_full"], full)))

    return problems


def _task_key(t):
    """How the Dogslow report names a task: 'name', else its address."""
    if t.get("name") is not None:
        return "'%s'" % t["name"]
    return "at 0x%x" % t["id"] if "id" in t else "at " + t["address"]


def compare_tasks(truth, snap):
    """asyncio tasks: the same set (by address, which is id()), and for
    each its name, state, coroutine frames with their locals, who awaits
    it and whether it is in an await cycle (the scenario's own record)."""
    problems = []
    tasks = snap.get("tasks") or []
    if "tasks" not in truth:
        if tasks:
            problems.append("%d asyncio tasks where the scenario has none"
                            % len(tasks))
        return problems
    if snap.get("tasks_error"):
        problems.append("tasks_error: %s" % snap["tasks_error"])
    got = dict((int(t["address"], 16), t) for t in tasks)
    want = dict((t["id"], t) for t in truth["tasks"])
    names = dict((i, _task_key(t)) for i, t in want.items())
    for i in sorted(set(got) - set(want)):
        problems.append("task %s at 0x%x: not an asyncio.all_tasks() task"
                        % (got[i].get("name"), i))
    for i in sorted(set(want) - set(got)):
        problems.append("task %s: missing" % names[i])
    for i, tt in sorted(want.items()):
        t = got.get(i)
        if t is None:
            continue
        where = "task %s" % names[i]
        if t.get("name") != tt["name"]:
            problems.append("%s: name %r" % (where, t.get("name")))
        if t.get("state") != tt["state"]:
            problems.append("%s: state %r != %r" % (where, t.get("state"),
                                                    tt["state"]))
        by = sorted(int(a, 16) for a in t.get("awaited_by") or [])
        if by != tt["awaited_by"]:
            problems.append("%s: awaited by %s, expected %s" % (
                where, [names.get(a, hex(a)) for a in by],
                [names.get(a, hex(a)) for a in tt["awaited_by"]]))
        if bool(t.get("in_cycle")) != tt["in_cycle"]:
            problems.append("%s: in_cycle %r" % (where, t.get("in_cycle")))
        frames, tframes = t["frames"], tt["frames"]
        if len(frames) != len(tframes):
            problems.append("%s: %d frames, truth has %d: %r, truth %r" % (
                where, len(frames), len(tframes),
                [(f["function"], f["line"]) for f in frames],
                [(f["function"], f["line"]) for f in tframes]))
            continue
        for k, (f, tf) in enumerate(zip(frames, tframes)):
            fw = "%s frame %d (%s)" % (where, k, tf["function"])
            for key in ("file", "function", "line"):
                if f[key] != tf[key]:
                    problems.append("%s: %s %r != %r" % (fw, key, f[key],
                                                         tf[key]))
            if tf.get("qualname") is not None and \
                    f.get("qualname") != tf["qualname"]:
                problems.append("%s: qualname %r != %r" % (
                    fw, f.get("qualname"), tf["qualname"]))
            loc = dict((l["name"], l) for l in (f.get("locals") or []))
            if set(loc) != set(tf["locals"]):
                problems.append("%s: local names differ: missing %s, extra %s"
                                % (fw, sorted(set(tf["locals"]) - set(loc)),
                                   sorted(set(loc) - set(tf["locals"]))))
            for name, exp in sorted(tf["locals"].items()):
                if name in loc and loc[name]["repr"] != exp["repr"]:
                    problems.append("%s: local %s: repr\n  got      %r\n"
                                    "  expected %r" % (
                                        fw, name, _cut(loc[name]["repr"]),
                                        _cut(exp["repr"])))
    return problems


def _task_line_problems(first, key, tt, truth):
    """The Task line: "Task KEY (STATE, awaited by P1, P2, in an await
    cycle)", its state, awaiting tasks and cycle mark as the truth has
    them (the order of the awaiting tasks is free)."""
    head = "Task %s (" % key
    if not first.startswith(head) or not first.endswith(")"):
        return ["dogslow: task %s: line %r" % (key, first)]
    parts = first[len(head):-1].split(", ")
    problems = []
    if parts[0] != tt["state"]:
        problems.append("dogslow: task %s: state %r != %r" % (
            key, parts[0], tt["state"]))
    parts = parts[1:]
    cycle = bool(parts) and parts[-1] == "in an await cycle"
    if cycle:
        parts = parts[:-1]
    if cycle != tt["in_cycle"]:
        problems.append("dogslow: task %s: in an await cycle: %r" % (
            key, cycle))
    if parts and parts[0].startswith("awaited by "):
        parts[0] = parts[0][len("awaited by "):]
    keys = dict((t["id"], _task_key(t)) for t in truth["tasks"])
    want = sorted(keys[p] for p in tt["awaited_by"])
    if sorted(parts) != want:
        problems.append("dogslow: task %s: awaited by %s, expected %s" % (
            key, sorted(parts), want))
    return problems


def compare_task_samples(truth, samples):
    """The Dogslow blocks of the tasks: "Task 'name' (...)" then the
    traceback; its full part must be dogslow's own over the frames."""
    problems = []
    by_key = dict((_task_key(t), t) for t in truth.get("tasks", []))
    for sample in samples:
        first = sample.split("\n", 1)[0]
        if not first.startswith("Task "):
            problems.append("dogslow: a task block starts %r" % first[:80])
            continue
        key = first[len("Task "):].rsplit(" (", 1)[0]
        tt = by_key.get(key)
        if tt is None:
            problems.append("dogslow: block of an unknown task %r" % first)
            continue
        problems += _task_line_problems(first, key, tt, truth)
        if FULL_MARK not in sample:
            problems.append("dogslow: task %s: no full backtrace" % key)
            continue
        full = sample.split(FULL_MARK, 1)[1]
        if full != tt["dogslow_full"]:
            problems.append("dogslow: task %s: full backtrace differs\n%s"
                            % (key, _diff(tt["dogslow_full"], full)))
    return problems


if __name__ == "__main__":
    sys.exit(main())
