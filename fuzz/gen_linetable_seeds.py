#!/usr/bin/env python3
"""Seeds of fuzz_linetable (fixtures/fuzz/linetable/): the line tables of
real code objects, compiled by each interpreter found, in fuzz_linetable's
input format (format byte, co_firstlineno, an offset, the table).

    fuzz/gen_linetable_seeds.py OUTDIR [PYTHON...]
"""
import os
import subprocess
import sys

# Runs inside each interpreter (2.7 and 3.x): prints format, firstlineno
# and the hex of the table of a few code objects.
PROBE = r'''
import sys
src = """
def f(a, b=2, *args, **kw):
    x = a + b
    for i in range(3):
        if i % 2:
            x += i
        else:
            try:
                x -= 1
            except Exception:
                pass
    return [y * 2 for y in args
            if y]

class C(object):
    def m(self):
        return (1,
                2,
                3)
"""
code = compile(src, "seed.py", "exec")
todo = [code]
v = sys.version_info
fmt = 0 if v[0] == 2 else 1 if v < (3, 10) else 2 if v < (3, 11) else 3
while todo:
    c = todo.pop()
    table = getattr(c, "co_linetable", None) if v >= (3, 10) else c.co_lnotab
    if table is None:
        table = c.co_lnotab
    h = "".join("%02x" % (b if isinstance(b, int) else ord(b)) for b in table)
    sys.stdout.write("%d %d %s\n" % (fmt, c.co_firstlineno, h))
    for k in c.co_consts:
        if hasattr(k, "co_code"):
            todo.append(k)
'''


def main():
    out = sys.argv[1]
    pythons = sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    n = 0
    for py in pythons:
        if not os.access(py, os.X_OK):
            continue
        text = subprocess.run([py, "-c", PROBE], check=True,
                              stdout=subprocess.PIPE,
                              universal_newlines=True).stdout
        tag = os.path.basename(py)
        for i, line in enumerate(text.split("\n")):
            if not line:
                continue
            fmt, first, hexd = line.split(" ") if line.count(" ") == 2 \
                else (line.split(" ")[0], line.split(" ")[1], "")
            data = (bytes([int(fmt)]) + int(first).to_bytes(4, "little") +
                    (6).to_bytes(4, "little") + bytes.fromhex(hexd))
            with open(os.path.join(out, "%s-%d" % (tag, i)), "wb") as f:
                f.write(data)
            n += 1
    print("%d seeds" % n)


if __name__ == "__main__":
    main()
