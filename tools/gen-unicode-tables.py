#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate src/python/unicode_tables.c: the character classes tripod's
repr and pprint code needs, taken from the running Python's str methods.

  non-printable   not str.isprintable()   (repr escapes these)
  space           str.isspace()           (pprint's \\s in r'\\S*\\s*')
  line break      ends a line in str.splitlines()

Usage: python3 tools/gen-unicode-tables.py > src/python/unicode_tables.c
Standard library only.  Use the Python whose Unicode database the renderers
should follow (tripod: 3.12, i.e. Unicode 15.0.0).
"""
import sys
import unicodedata

MAX_CP = 0x10FFFF


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


def emit_table(name, rows, what):
    print('/* %s: %d ranges */' % (what, len(rows)))
    print('const struct tp_unicode_range %s[] = {' % name)
    for i in range(0, len(rows), 3):
        line = ' '.join('{0x%06x, 0x%06x},' % r for r in rows[i:i + 3])
        print('\t' + line)
    print('};')
    print('const size_t %s_count = %d;' % (name, len(rows)))
    print()


def main():
    nonprint = ranges(lambda cp: not chr(cp).isprintable())
    space = ranges(lambda cp: chr(cp).isspace())
    linebreak = ranges(is_linebreak)
    exe = sys.executable
    print('/* SPDX-License-Identifier: MIT */')
    print('/*')
    print(' * GENERATED FILE - do not edit.')
    print(' * Made by: %s tools/gen-unicode-tables.py > src/python/unicode_tables.c'
          % exe.replace(__import__('os').path.expanduser('~'), '~'))
    print(' * Python %s, unicodedata.unidata_version %s'
          % (sys.version.split()[0], unicodedata.unidata_version))
    print(' * Sorted, disjoint, inclusive code point ranges.')
    print(' */')
    print('#include "config.h"')
    print()
    print('#include "python/unicode_tables.h"')
    print()
    emit_table('tp_unicode_nonprintable', nonprint,
               'not str.isprintable()')
    emit_table('tp_unicode_space', space, 'str.isspace()')
    emit_table('tp_unicode_linebreak', linebreak,
               'line boundaries of str.splitlines()')


if __name__ == '__main__':
    main()
