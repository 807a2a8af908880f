#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate src/python/unicode_tables.c: the character classes tripod's
repr and pprint code needs, taken from real interpreters.

  non-printable   not str.isprintable()   (repr escapes these), one table
                  per Unicode database: each interpreter given (or found)
                  is asked, so a target's str prints with its own
                  interpreter's idea of what is printable
  space           str.isspace()           (pprint's \\s in r'\\S*\\s*')
  line break      ends a line in str.splitlines()

The space and line-break classes come from the Python running this script
(tripod lays values out with one pprint, Python 3.8+ rules); run it with
3.12 as before.  The printable tables are stored compactly: the newest
Unicode database as sorted ranges, every other one as the ranges where it
differs from the newest (a few dozen ranges each).

Usage:
  python3 tools/gen-unicode-tables.py [PYTHON...] > src/python/unicode_tables.c

Without PYTHON arguments it asks every CPython 3 it finds: pyenv's
~/.pyenv/versions/3.*/bin/python, the Debian sid interpreters fetched by
tools/fetch-sid-python.sh (its wrappers ~/.cache/tripod/sid/bin/python3.14
and python3.15, or under $TRIPOD_SID_CACHE),
and /usr/bin/python3.*.  A Python version with no table here (3.14 while
no 3.14 interpreter was found) uses the table of the nearest older version
we have: regenerate once such an interpreter is installed.  Standard
library only.
"""
import glob
import json
import os
import re
import subprocess
import sys
import unicodedata

MAX_CP = 0x10FFFF

# Run by each interpreter: its version, its Unicode version, and the
# code points that are not printable as sorted inclusive ranges.
PROBE = r'''
import json, sys, unicodedata
out, start = [], None
for cp in range(0x110001):
    inside = cp <= 0x10FFFF and not chr(cp).isprintable()
    if inside and start is None:
        start = cp
    elif not inside and start is not None:
        out.append((start, cp - 1))
        start = None
print(json.dumps({"version": list(sys.version_info[:3]),
                  "unidata": unicodedata.unidata_version,
                  "nonprintable": out}))
'''


def ranges(pred):
    out = []
    start = None
    for cp in range(MAX_CP + 2):
        inside = cp <= MAX_CP and pred(cp)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def is_linebreak(cp):
    c = chr(cp)
    return len(('a' + c + 'b').splitlines()) == 2


def to_set(rows):
    s = set()
    for a, b in rows:
        s.update(range(a, b + 1))
    return s


def set_ranges(s):
    out = []
    for cp in sorted(s):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [tuple(r) for r in out]


def uver(s):
    return tuple(int(x) for x in s.split('.'))


def default_pythons():
    home = os.path.expanduser('~')
    found = sorted(glob.glob(os.path.join(home, '.pyenv/versions/3.*/bin/python')))
    sid = os.environ.get('TRIPOD_SID_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(home, '.cache'),
        'tripod', 'sid')
    found += sorted(glob.glob(os.path.join(sid, 'bin', 'python3.*')))
    found += sorted(glob.glob('/usr/bin/python3.[0-9]*'))
    return [p for p in found if os.access(p, os.X_OK) and
            re.search(r'/python(3\.[0-9]+)?$', p)]


def probe(python):
    try:
        out = subprocess.run([python, '-c', PROBE], check=True,
                             stdout=subprocess.PIPE, timeout=600).stdout
    except (OSError, subprocess.SubprocessError) as e:
        sys.stderr.write('skipping %s: %s\n' % (python, e))
        return None
    return json.loads(out)


def emit_ranges(name, rows, what, static=False):
    print('/* %s: %d ranges */' % (what, len(rows)))
    print('%sconst struct tp_unicode_range %s[] = {' %
          ('static ' if static else '', name))
    for i in range(0, len(rows), 3):
        line = ' '.join('{0x%06x, 0x%06x},' % tuple(r) for r in rows[i:i + 3])
        print('\t' + line)
    if not rows:
        print('\t{0, 0}, /* unused */')
    print('};')
    if not static:
        print('const size_t %s_count = %d;' % (name, len(rows)))
    print()


def main():
    pythons = sys.argv[1:] or default_pythons()
    results = {}        # (major, minor) -> probe result
    used = {}           # (major, minor) -> path
    for p in pythons:
        r = probe(p)
        if r is None or r['version'][0] != 3:
            continue
        key = tuple(r['version'][:2])
        if key in results:
            if results[key]['unidata'] != r['unidata']:
                sys.exit('%s and %s: both %d.%d, Unicode %s vs %s'
                         % (used[key], p, key[0], key[1],
                            results[key]['unidata'], r['unidata']))
            continue
        results[key] = r
        used[key] = p
    if not results:
        sys.exit('no Python 3 interpreter found')
    # one table per Unicode database; the newest one is the base
    tables = {}
    for key, r in results.items():
        prev = tables.get(r['unidata'])
        if prev is not None and prev != r['nonprintable']:
            sys.exit('two interpreters with Unicode %s disagree' % r['unidata'])
        tables[r['unidata']] = r['nonprintable']
    udvs = sorted(tables, key=uver, reverse=True)
    base = udvs[0]
    base_set = to_set(tables[base])

    home = os.path.expanduser('~')
    print('/* SPDX-License-Identifier: MIT */')
    print('/*')
    print(' * GENERATED FILE - do not edit.')
    print(' * Made by: %s tools/gen-unicode-tables.py%s > src/python/unicode_tables.c'
          % (sys.executable.replace(home, '~'),
             ''.join(' ' + a.replace(home, '~') for a in sys.argv[1:])))
    print(' * space and line break: Python %s, Unicode %s'
          % (sys.version.split()[0], unicodedata.unidata_version))
    print(' * printable: Python %s' % ', '.join(
        '%d.%d (%s, Unicode %s)' % (k[0], k[1], used[k].replace(home, '~'),
                                    results[k]['unidata'])
        for k in sorted(results)))
    print(' * Sorted, disjoint, inclusive code point ranges.')
    print(' */')
    print('#include "config.h"')
    print()
    print('#include "python/unicode_tables.h"')
    print()
    emit_ranges('tp_unicode_nonprintable', tables[base],
                'not str.isprintable(), Unicode %s' % base)
    for udv in udvs[1:]:
        delta = set_ranges(base_set ^ to_set(tables[udv]))
        emit_ranges('printable_diff_' + udv.replace('.', '_'), delta,
                    'Unicode %s: str.isprintable() differs from %s'
                    % (udv, base), static=True)
    print('const struct tp_unicode_printable tp_unicode_printables[] = {')
    for udv in udvs:
        if udv == base:
            print('\t{ "%s", NULL, 0 },' % udv)
        else:
            name = 'printable_diff_' + udv.replace('.', '_')
            n = len(set_ranges(base_set ^ to_set(tables[udv])))
            print('\t{ "%s", %s, %d },' % (udv, name, n))
    print('};')
    print('const size_t tp_unicode_printables_count = %d;' % len(udvs))
    print()
    print('/* the Python versions measured, oldest first */')
    print('const struct tp_unicode_python tp_unicode_pythons[] = {')
    for k in sorted(results):
        print('\t{ %d, %d, %d },' % (k[0], k[1],
                                    udvs.index(results[k]['unidata'])))
    print('};')
    print('const size_t tp_unicode_pythons_count = %d;' % len(results))
    print()
    emit_ranges('tp_unicode_space', ranges(lambda cp: chr(cp).isspace()),
                'str.isspace()')
    emit_ranges('tp_unicode_linebreak', ranges(is_linebreak),
                'line boundaries of str.splitlines()')


if __name__ == '__main__':
    main()
