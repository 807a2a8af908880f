#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a target's sockets add to the freeze: tripod-snap asks the kernel
each socket's addresses while the target is stopped (the sockets note,
doc/snapshot-format.md).  A CPython 3.12 target holds N bound TCP
sockets (--counts, default 0, 100, 1000); tripod-snap takes --snapshots
snapshots of it per repeat; the figure is the freeze_us it recorded, with
the ratio of each median to the median with no socket, all in the same
run.  Standard library only; prints Markdown.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture  # noqa: E402

TARGET = r'''
import socket, sys, time
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("ready", flush=True)
time.sleep(3600)
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counts", default="0,100,1000")
    ap.add_argument("--snapshots", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    python = capture.find_python()
    counts = [int(c) for c in args.counts.split(",")]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "target.py")
        with open(script, "w") as f:
            f.write(TARGET)
        for rep in range(args.repeat):
            for n in counts:   # interleaved: load changes alike
                p = subprocess.Popen([python, script, str(n)],
                                     stdout=subprocess.PIPE)
                if b"ready" not in p.stdout.readline():
                    raise SystemExit("the target did not start")
                time.sleep(0.5)
                d = os.path.join(tmp, "snaps-%d-%d" % (n, rep))
                subprocess.run([capture.SNAP, "-q", "--pid", str(p.pid),
                                "-n", str(args.snapshots), "-i", "0.2",
                                "-o", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)
                p.kill()
                p.wait()
                rows.setdefault("%d sockets" % n, []).extend(
                    v / 1000.0 for v in capture.freeze_us(d))
    print("Target: %s; %d snapshots x %d repeats per count." % (
        python, args.snapshots, args.repeat))
    capture.table("freeze_us (ms)", None, rows, unit_fmt="%.2f",
                  base="%d sockets" % counts[0], ratio_label="/ baseline")


if __name__ == "__main__":
    main()
