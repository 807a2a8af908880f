#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Capture benchmark: what a snapshot costs the target, the disk and the
sampler, against gcore, fork() and no sampler, measured in the same run.

For each target size (--sizes, MB of RSS; default 110 and 1024):

  freeze     the longest stall a thread of the target sees (it spins on
             time.perf_counter() and records every gap over 0.3 ms): with
             no sampler (baseline), tripod-snap -i 0.2 (clone, the default),
             tripod-snap --capture=copy, tripod-snap --native (when
             the option exists) and gcore; per snapshot, the
             largest gap within its window; plus fork() timed inside the
             target (the floor of a copy-on-write snapshot) and the
             freeze_us tripod-snap recorded
  disk       bytes on disk per snapshot over --snapshots snapshots of a
             steady target, as a share of its RSS (and --standalone)
  sampler    tripod-snap's CPU time (user + system) per snapshot and peak
             RSS (wait4), with and without --native if the option exists;
             for the default, also the first snapshot of a directory alone
             (it stores every block) and each later one (what changed)
  slowdown   a CPU-bound target's own run time with tripod-snap at 1 Hz and
             10 Hz, over its run time alone, runs interleaved

Every figure is min / median / max over --repeat runs, with a ratio to its
baseline from the same run.  Standard library only; prints Markdown.
"""
import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAP = os.path.join(ROOT, "src", "tripod-snap")
ANALYZE = os.path.join(ROOT, "src", "tripod-analyze")

# The target: RSS of --mb MB (ordinary objects, or random bytes), a main
# thread that spins on the clock and logs every gap, and fork() timed on
# SIGUSR1.
TARGET = r'''
import os, signal, sys, time
mb, kind, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if kind == "random":
    blob = os.urandom(mb << 20)
else:
    n = mb * 11600
    words = ["item-%d-%s" % (i, "x" * (i % 40)) for i in range(n // 4)]
    nums = list(range(n // 2))
    table = {i: [i, str(i), (i, i + 1)] for i in range(n // 8)}
forks = []
def time_fork(signum, frame):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    forks.append(time.perf_counter() - t)
    os.waitpid(pid, 0)
signal.signal(signal.SIGUSR1, time_fork)
out = open(log, "w", buffering=1)
print("ready", flush=True)
perf = time.perf_counter
last = perf()
flush = last + 0.5
gaps = []
while True:
    now = perf()
    if now - last > 0.0003:
        gaps.append((now, now - last))
    last = now
    if now > flush:
        for g in gaps:
            out.write("gap %.6f %.6f\n" % g)
        for f in forks:
            out.write("fork %.6f\n" % f)
        gaps, forks[:] = [], []
        flush = now + 0.5
        last = perf()   # the writing itself is not a stall
'''

# A CPU-bound target: fixed work, prints its own run time.
WORK = r'''
import time
def work(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s
t = time.perf_counter()
work(int(__import__("sys").argv[1]))
print("%.6f" % (time.perf_counter() - t), flush=True)
'''


def find_python():
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for v in sorted(os.listdir(os.path.join(root, "versions")), reverse=True):
        if v.startswith("3.12."):
            return os.path.join(root, "versions", v, "bin", "python3.12")
    return sys.executable


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


class Target:
    def __init__(self, python, mb, kind, tmp):
        self.log = os.path.join(tmp, "gaps-%d-%s.log" % (mb, kind))
        self.script = os.path.join(tmp, "target.py")
        with open(self.script, "w") as f:
            f.write(TARGET)
        self.proc = subprocess.Popen([python, self.script, str(mb), kind,
                                      self.log], stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if b"ready" not in line:
            raise SystemExit("the target did not start")
        time.sleep(1.0)
        self.rss = rss_mb(self.proc.pid)

    def gaps(self, t0, t1):
        """Gaps recorded between perf_counter times t0 and t1."""
        time.sleep(0.7)  # the target flushes every 0.5 s
        out = []
        with open(self.log) as f:
            for line in f:
                p = line.split()
                if p[0] == "gap" and t0 <= float(p[1]) <= t1:
                    out.append((float(p[1]), float(p[2])))
        return out

    def forks(self):
        time.sleep(0.7)
        with open(self.log) as f:
            return [float(l.split()[1]) for l in f if l.startswith("fork")]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def stats(v):
    if not v:
        return (float("nan"),) * 3
    return (min(v), statistics.median(v), max(v))


def run_timed(argv, **kw):
    """Run argv; its exit status and rusage (wait4)."""
    p = subprocess.Popen(argv, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru


def per_snapshot_gaps(gaps, times, width):
    """The largest gap in each window [t, t + width) after a snapshot."""
    out = []
    for t in times:
        g = [d for (at, d) in gaps if t <= at < t + width]
        out.append(max(g) if g else 0.0)
    return out


def freeze_bench(python, mb, kind, tmp, n, repeat, native):
    """Stalls seen by the target, per method; rows of (name, values ms)."""
    t = Target(python, mb, kind, tmp)
    rows = {}
    try:
        rss = t.rss
        for r in range(repeat):
            # no sampler: the N largest gaps over as long a time
            t0 = time.perf_counter()
            time.sleep(n * 0.2)
            g = sorted(d for _, d in t.gaps(t0, time.perf_counter()))
            rows.setdefault("no sampler (largest gaps)", []).extend(
                x * 1000 for x in (g[-n:] if g else [0.0]))
            methods = [("tripod-snap (clone)", []),
                       ("tripod-snap --capture=copy", ["--capture=copy"])]
            if native:
                # native stacks are unwound after the freeze: the same
                # stall as the clone row, or the unwinding leaked into it
                methods.append(("tripod-snap --native", ["--native"]))
            for name, extra in methods:
                d = tempfile.mkdtemp(dir=tmp)
                # a copy of a large target is slow: fewer of them
                k = n if extra != ["--capture=copy"] else \
                    max(3, min(n, 2000 // mb))
                t0 = time.perf_counter()
                rc, _ = run_timed([SNAP, "-q", "-i", "0.2", "-n", str(k),
                                   "-o", d, "--pid", str(t.proc.pid)]
                                  + extra)
                g = t.gaps(t0, time.perf_counter())
                # each snapshot stalls the target once: the k largest
                g = sorted(x for _, x in g)[-k:]
                rows.setdefault(name, []).extend(x * 1000 for x in g)
                fz = freeze_us(d)
                rows.setdefault(name + ": its freeze_us", []).extend(
                    x / 1000 for x in fz)
                shutil.rmtree(d)
            if shutil.which("gcore"):
                gn = max(1, n // 4)
                t0 = time.perf_counter()
                for i in range(gn):
                    subprocess.run(["gcore", "-o", os.path.join(tmp, "gc"),
                                    str(t.proc.pid)],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    for f in os.listdir(tmp):
                        if f.startswith("gc."):
                            os.unlink(os.path.join(tmp, f))
                g = sorted(x for _, x in t.gaps(t0, time.perf_counter()))
                rows.setdefault("gcore", []).extend(x * 1000
                                                    for x in g[-gn:])
            for i in range(5):
                os.kill(t.proc.pid, signal.SIGUSR1)
                time.sleep(0.1)
        rows["fork() in the target"] = [x * 1000 for x in t.forks()]
    finally:
        t.stop()
    return rss, rows


def freeze_us(d):
    out = subprocess.run([ANALYZE, "--format", "json", "--no-locals", d],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    v = []
    for line in out.stdout.splitlines():
        rec = json.loads(line)
        if rec.get("freeze_us") is not None:
            v.append(rec["freeze_us"])
    return v


def du(d):
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def disk_and_cpu(python, mb, kind, tmp, n, repeat, native):
    t = Target(python, mb, kind, tmp)
    rows = {}
    try:
        rss = t.rss
        variants = [("stored (default)", []),
                    ("--standalone", ["--standalone"]),
                    ("--capture=copy", ["--capture=copy"])]
        if native:
            variants.append(("--native", ["--native"]))
        for r in range(repeat):
            for name, extra in variants:
                d = tempfile.mkdtemp(dir=tmp)
                # whole copies of a large target: fewer of them
                count = n if not extra or name == "--native" else \
                    max(3, min(n, 2000 // mb))
                rc, ru = run_timed([SNAP, "-q", "-i", "0.2", "-n",
                                    str(count), "-o", d, "--pid",
                                    str(t.proc.pid)] + extra)
                taken = sum(1 for f in os.listdir(d)
                            if f.startswith("snapshot-"))
                if taken and name == "stored (default)" and taken > 1:
                    # the first snapshot of a directory stores every
                    # block; the others store what changed: CPU of one
                    # snapshot alone, and of the rest per snapshot
                    d1 = tempfile.mkdtemp(dir=tmp)
                    rc1, ru1 = run_timed([SNAP, "-q", "-n", "1", "-o", d1,
                                          "--pid", str(t.proc.pid)])
                    shutil.rmtree(d1)
                    one = ru1.ru_utime + ru1.ru_stime
                    rest = (ru.ru_utime + ru.ru_stime - one) / (taken - 1)
                    rows.setdefault(("cpu", "stored: first snapshot"),
                                    []).append(one * 1000)
                    rows.setdefault(("cpu", "stored: each later snapshot"),
                                    []).append(max(rest, 0) * 1000)
                if taken:
                    cpu = (ru.ru_utime + ru.ru_stime) / taken * 1000
                    rows.setdefault(("cpu", name), []).append(cpu)
                    rows.setdefault(("rss", name), []).append(
                        ru.ru_maxrss / 1024.0)
                    rows.setdefault(("disk", name), []).append(
                        100.0 * du(d) / taken / (rss * (1 << 20)))
                shutil.rmtree(d)
    finally:
        t.stop()
    return rss, rows


def slowdown(python, tmp, repeat, work):
    script = os.path.join(tmp, "work.py")
    with open(script, "w") as f:
        f.write(WORK)
    rows = {}
    for r in range(repeat):
        for name, interval in (("alone", None), ("1 Hz", "1"),
                               ("10 Hz", "0.1")):
            argv = [python, script, str(work)]
            if interval:
                d = tempfile.mkdtemp(dir=tmp)
                argv = [SNAP, "-q", "-i", interval, "-o", d, "--"] + argv
            out = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
            rows.setdefault(name, []).append(float(out.stdout.split()[0]))
            if interval:
                shutil.rmtree(d)
    return rows


def table(title, head, rows, unit_fmt="%.1f", base=None, ratio_label=None):
    print()
    print("| %s | min | median | max |%s" % (
        title, " %s |" % ratio_label if base else ""))
    print("| --- | --- | --- | --- |%s" % (" --- |" if base else ""))
    bm = statistics.median(rows[base]) if base and rows.get(base) else None
    for name, v in rows.items():
        mn, md, mx = stats(v)
        ratio = ""
        if base:
            ratio = " (baseline) |" if name == base else (
                " %.2f |" % (md / bm) if bm else " - |")
        print("| %s | %s | %s | %s |%s" % (
            name, unit_fmt % mn, unit_fmt % md, unit_fmt % mx, ratio))


def has_native():
    out = subprocess.run([SNAP, "--help"], stdout=subprocess.PIPE).stdout
    return b"--native" in out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="110,1024")
    ap.add_argument("--snapshots", type=int, default=20,
                    help="snapshots per freeze run (default 20)")
    ap.add_argument("--disk-snapshots", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", type=int, default=30_000_000,
                    help="loop count of the slowdown target")
    a = ap.parse_args()
    if not os.access(SNAP, os.X_OK):
        raise SystemExit("build tripod first (make)")
    python = find_python()
    tmp = tempfile.mkdtemp(prefix="tripod-bench-")
    os.chmod(tmp, 0o700)
    native = has_native()
    print("# Capture benchmark")
    print()
    print("%s, %s, %d CPUs, load %.1f at start; target %s" % (
        time.strftime("%Y-%m-%d"), os.uname().release, os.cpu_count(),
        os.getloadavg()[0], python))
    try:
        for mb in (int(x) for x in a.sizes.split(",")):
            kind = "random" if mb >= 512 else "steady"
            rss, rows = freeze_bench(python, mb, kind, tmp, a.snapshots,
                                     a.repeat, native)
            print()
            print("## Target of %.0f MB RSS (%s)" % (rss, kind))
            table("stall seen by the target per snapshot (ms)", None, rows,
                  "%.2f", base="gcore", ratio_label="/ gcore")
            rss, rows = disk_and_cpu(python, mb, kind, tmp,
                                     a.disk_snapshots, a.repeat, native)
            for key, title, fmt in (
                    ("disk", "disk per snapshot (%% of RSS), %d snapshots"
                     % a.disk_snapshots, "%.2f"),
                    ("cpu", "tripod-snap CPU per snapshot (ms)", "%.1f"),
                    ("rss", "tripod-snap peak RSS (MB)", "%.1f")):
                sub = {n: v for (k, n), v in rows.items() if k == key}
                table(title, None, sub, fmt, base="--capture=copy",
                      ratio_label="/ --capture=copy")
        rows = slowdown(python, tmp, a.repeat, a.work)
        print()
        print("## Slowdown of a CPU-bound target")
        table("its run time (s)", None, rows, "%.3f", base="alone",
              ratio_label="/ alone")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
