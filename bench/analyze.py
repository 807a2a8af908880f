#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Analysis benchmark: tripod-analyze against gdb py-bt on the same snapshots.

Starts a steady CPython target of about --rss-mb MB, takes --snapshots
snapshots of it with tripod-snap (the stored form), exports each to a plain
ELF core for gdb, then measures, each as min / median / max over repeats:

  - one snapshot:   tripod-analyze SNAPSHOT        vs  gdb py-bt on its core
                    tripod-analyze on a single-file .core.gz (BGZF) of the
                    same target, for the old format
  - N snapshots:    tripod-analyze DIR, per snapshot (its time / N)
                                                   vs  gdb py-bt on each core

wall time, CPU time (user + system, from wait4) and peak RSS of the
analyzing process; ratios are gdb's median over tripod's median, both
measured in this run.  Standard library only.  Prints a Markdown table.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TARGET = r'''
import sys, time
mb = int(sys.argv[1])
# a heap of ordinary objects: strings, ints, lists, dicts (about 100 bytes
# of RSS each, all told)
n = mb * 11600
words = ["item-%d-%s" % (i, "x" * (i % 40)) for i in range(n // 4)]
nums = list(range(n // 2))
table = {i: [i, str(i), (i, i + 1)] for i in range(n // 8)}

def inner(count, data, scale):
    total = 0
    for i in range(count):
        total += data[(i * scale) % len(data)]
    return total

def middle(rounds):
    acc = []
    for r in range(rounds):
        acc.append(inner(2000, nums, r + 1))
    return sum(acc)

def outer():
    ticks = 0
    while True:
        ticks += 1
        middle(3)
        time.sleep(0.005)

print("ready", flush=True)
outer()
'''


def run(argv, stdout=subprocess.DEVNULL):
    """Run argv; return (wall s, cpu s, peak RSS MB, exit status)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, code, err


def find_python(want):
    if want:
        return want
    pats = sorted(glob.glob(os.path.expanduser(
        "~/.pyenv/versions/3.12.*/bin/python3.12")))
    if not pats:
        sys.exit("no pyenv Python 3.12: give --python")
    return pats[-1]


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def stats(xs):
    return min(xs), statistics.median(xs), max(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=ROOT, help="tripod build tree")
    ap.add_argument("--python", help="target interpreter (default: pyenv 3.12)")
    ap.add_argument("--rss-mb", type=int, default=110)
    ap.add_argument("--snapshots", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir")
    a = ap.parse_args()

    snap = os.path.join(a.build, "src", "tripod-snap")
    analyze = os.path.join(a.build, "src", "tripod-analyze")
    python = find_python(a.python)
    gdb_script = python + "-gdb.py"
    for f in (snap, analyze, python, gdb_script, "/usr/bin/gdb"):
        if not os.path.exists(f):
            sys.exit("missing: " + f)

    scratch = tempfile.mkdtemp(prefix="tripod-bench-analyze-")
    snaps = os.path.join(scratch, "snaps")
    single = os.path.join(scratch, "single")
    cores = os.path.join(scratch, "cores")
    os.mkdir(cores)
    target = subprocess.Popen([python, "-c", TARGET, str(a.rss_mb)],
                              stdout=subprocess.PIPE)
    try:
        if target.stdout.readline().strip() != b"ready":
            sys.exit("the target did not start")
        time.sleep(1)
        rss = rss_mb(target.pid)
        pid = str(target.pid)
        subprocess.run([snap, "-q", "-i", "0.2", "-n", str(a.snapshots),
                        "-o", snaps, "--pid", pid], check=True)
        subprocess.run([snap, "-q", "-i", "0.2", "-n", "1", "--standalone",
                        "-o", single, "--pid", pid], check=True)
    finally:
        target.kill()
        target.wait()

    names = sorted(f for f in os.listdir(snaps) if f.endswith(".tripod"))
    assert len(names) == a.snapshots, names
    for n in names:
        subprocess.run([analyze, "--export-core", os.path.join(snaps, n),
                        "-o", os.path.join(cores, n[:-7] + ".core")],
                       check=True)
    core_paths = sorted(glob.glob(os.path.join(cores, "*.core")))
    mid = names[len(names) // 2]
    one_snap = os.path.join(snaps, mid)
    one_core = os.path.join(cores, mid[:-7] + ".core")
    gz = glob.glob(os.path.join(single, "*.core.gz"))[0]
    gdb = ["/usr/bin/gdb", "-nx", "-batch", "-iex",
           "set auto-load safe-path /", "-ex", "source " + gdb_script,
           "-ex", "thread apply all py-bt", python]

    def check(r, what):
        if r[3] != 0:
            sys.exit("%s failed (%d): %s" % (what, r[3], r[4]))
        return r

    # one snapshot, tripod and gdb interleaved
    t1, g1, z1 = [], [], []
    for _ in range(a.repeat):
        t1.append(check(run([analyze, one_snap]), "tripod-analyze"))
        z1.append(check(run([analyze, gz]), "tripod-analyze .core.gz"))
        g1.append(check(run(gdb + [one_core]), "gdb"))
    # N snapshots: tripod-analyze on the directory; gdb on each core
    tn = []
    for _ in range(a.repeat):
        tn.append(check(run([analyze, snaps]), "tripod-analyze DIR"))
    gn = [check(run(gdb + [c]), "gdb") for c in core_paths]

    N = a.snapshots
    print("Target: %s, RSS %.0f MB, %d snapshots at 0.2 s; %d repeats; %s"
          % (os.path.basename(python), rss, N, a.repeat,
             time.strftime("%Y-%m-%d")))
    print()
    for title, field, unit, fmt in (("wall time", 0, "ms", "%.1f"),
                                     ("CPU time (user+sys)", 1, "ms", "%.1f")):
        print("| %s per snapshot (%s) | min | median | max | gdb median / this |"
              % (title, unit))
        print("| --- | --- | --- | --- | --- |")
        g1m = statistics.median(r[field] for r in g1) * 1000
        gnm = statistics.median(r[field] for r in gn) * 1000
        for name, runs, per, base in (
                ("gdb py-bt, 1 core", g1, 1, None),
                ("tripod-analyze, 1 snapshot", t1, 1, g1m),
                ("tripod-analyze, 1 single-file .core.gz", z1, 1, g1m),
                ("gdb py-bt, each of %d cores" % N, gn, 1, None),
                ("tripod-analyze, directory of %d, per snapshot" % N, tn, N,
                 gnm)):
            xs = [r[field] * 1000 / per for r in runs]
            lo, med, hi = stats(xs)
            ratio = ("%.1fx" % (base / med)) if base else "(baseline)"
            print("| %s | %s | %s | %s | %s |" % (name, fmt % lo, fmt % med,
                                                 fmt % hi, ratio))
        print()
    print("| peak RSS of the analyzing process (MB) | min | median | max |")
    print("| --- | --- | --- | --- |")
    for name, runs in (("gdb py-bt, 1 core", g1),
                       ("tripod-analyze, 1 snapshot", t1),
                       ("tripod-analyze, 1 single-file .core.gz", z1),
                       ("gdb py-bt, each of %d cores" % N, gn),
                       ("tripod-analyze, directory of %d" % N, tn)):
        lo, med, hi = stats([r[2] for r in runs])
        print("| %s | %.1f | %.1f | %.1f |" % (name, lo, med, hi))
    if a.keep:
        print("\nscratch kept:", scratch)
    else:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
