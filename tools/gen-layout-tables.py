#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generate src/python/layout_tables.c: tripod's built-in layout tables, one
per minor version of CPython, for interpreters whose DWARF is out of reach.

Each table is the output of `tripod-analyze --dump-layout FILE` for one
reference build (a libpython with its DWARF; the entries it lacks from its
_asyncio extension module's, as tripod fills them), recorded as (entry
name, value) pairs so that a later change to src/python/layout.h cannot shift a value into
the wrong entry.  Nothing in the tables is typed by hand.

usage: tools/gen-layout-tables.py [--tripod-analyze PATH] [--pyenv-root DIR]
                                  [--sid-cache DIR]
                                  [--output FILE | --check FILE] [RELEASE...]

  --tripod-analyze  the built tool (default: src/tripod-analyze)
  --pyenv-root      where the pyenv reference builds are (default:
                    $PYENV_ROOT or ~/.pyenv); RELEASE's file is
                    DIR/versions/RELEASE/lib/libpythonX.Y[m].so.1.0
  --sid-cache       where tools/fetch-sid-python.sh put Debian sid's
                    interpreters (default: $TRIPOD_SID_CACHE, else
                    ~/.cache/tripod/sid); RELEASE:debian-sid's file is
                    DIR/root/usr/bin/pythonX.Y (statically linked, stripped),
                    its DWARF the build-id .debug file of pythonX.Y-dbg
                    under DIR/root/usr/lib/debug
  --output          write the C file there (default: standard output)
  --check           regenerate and compare with FILE (the command line in
                    the header comment is not compared); exit 1 if they
                    differ, printing the difference
  RELEASE           reference releases, one per minor version: X.Y.Z (a
                    pyenv build) or X.Y.Z:debian-sid (default: 2.7.18 3.6.15
                    3.7.16 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0
                    3.14.10:debian-sid 3.15.2:debian-sid)

Standard library only.  Regenerate after any change to the entries of
src/python/layout.h (the test tests/python/test_layout.c says so when the
tables are stale), then commit the result.
"""
import argparse
import difflib
import glob
import os
import re
import shlex
import subprocess
import sys

DEFAULT_RELEASES = ["2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.9.18",
                    "3.10.13", "3.11.7", "3.12.1", "3.13.0",
                    "3.14.10:debian-sid", "3.15.2:debian-sid"]
SID = ":debian-sid"
MADE_BY = " * Made by (from the top of the tree, src/tripod-analyze built):"


def fail(msg):
    sys.stderr.write("gen-layout-tables: %s\n" % msg)
    sys.exit(2)


def home_relative(path):
    home = os.path.expanduser("~")
    if home != "/" and path.startswith(home + "/"):
        return "~" + path[len(home):]
    return path


def tree_relative(path):
    """@path relative to the current directory when it is inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def shell_word(arg):
    """@arg quoted for the shell, with $HOME written as ~ where safe."""
    q = shlex.quote(arg)
    return home_relative(arg) if q == arg else q


def reference_file(root, release):
    major, minor = release.split(".")[:2]
    pattern = os.path.join(root, "versions", release, "lib",
                           "libpython%s.%s*.so.1.0" % (major, minor))
    found = sorted(glob.glob(pattern))
    if len(found) != 1:
        fail("reference build of %s: expected one file %s, found %d"
             % (release, pattern, len(found)))
    return found[0]


def sid_reference(cache, release):
    """(file, debug dir) of Debian sid's build of @release, checking that
    the cached interpreter is that release."""
    major, minor = release.split(".")[:2]
    path = os.path.join(cache, "root", "usr", "bin",
                        "python%s.%s" % (major, minor))
    wrapper = os.path.join(cache, "bin", "python%s.%s" % (major, minor))
    if not os.path.exists(path) or not os.path.exists(wrapper):
        fail("no %s: run tools/fetch-sid-python.sh" % path)
    try:
        got = subprocess.run(
            [wrapper, "-c", "import platform; print(platform.python_version())"],
            check=True, stdout=subprocess.PIPE,
            universal_newlines=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail("%s: %s" % (wrapper, e))
    if got != release:
        fail("%s is Python %s, not %s" % (wrapper, got, release))
    return path, os.path.join(cache, "root", "usr", "lib", "debug")


def dump(tool, path, debug_dir=None):
    cmd = [tool]
    if debug_dir:
        cmd.append("--debuginfo-path=" + debug_dir)
    try:
        out = subprocess.run(cmd + ["--dump-layout", path], check=True,
                             stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail("%s --dump-layout %s: %s" % (tool, path, e))
    build_id = machine = None
    entries = []
    for line in out.splitlines():
        if line.startswith("# build-id "):
            build_id = line.split()[2]
        elif line.startswith("# machine "):
            machine = line.split()[2]
        elif line.startswith("#") or not line.strip():
            continue
        else:
            m = re.match(r"^([A-Z0-9_]+) (absent|-?[0-9]+)$", line)
            if not m:
                fail("%s: unexpected line %r" % (path, line))
            entries.append((m.group(1), m.group(2)))
    if not build_id or build_id == "unknown" or not machine:
        fail("%s: the dump names no build-id or machine" % path)
    if not entries:
        fail("%s: the dump has no entries" % path)
    return build_id, machine, entries


def asyncio_module(prefix, release):
    """The _asyncio extension module of the build installed under
    @prefix (a pyenv version's directory, or sid's usr), or None when
    _asyncio is built into the interpreter."""
    major, minor = release.split(".")[:2]
    found = sorted(glob.glob(os.path.join(
        prefix, "lib", "python%s.%s" % (major, minor), "lib-dynload",
        "_asyncio.*%s%s-*.so" % (major, minor))))
    return found[0] if found else None


def with_asyncio(tool, entries, module, debug_dir):
    """As tripod does (layout_source.c): when the interpreter's DWARF has
    no _asyncio.Task, the entries it lacks come from the DWARF of the
    _asyncio extension module."""
    values = dict(entries)
    if values.get("TASK_CORO", "absent") != "absent" or not module:
        return entries
    _, _, extra = dump(tool, module, debug_dir)
    more = dict(extra)
    return [(name, v if v != "absent" else more.get(name, "absent"))
            for name, v in entries]


def generate(tool, root, sid_cache, releases, command):
    refs = []
    for spec in releases:
        release = spec[:-len(SID)] if spec.endswith(SID) else spec
        if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", release):
            fail("bad release %r (want X.Y.Z or X.Y.Z%s)" % (spec, SID))
        if spec.endswith(SID):
            path, debug_dir = sid_reference(sid_cache, release)
            origin = "Debian sid's python%s-dbg" % release.rsplit(".", 1)[0]
            prefix = os.path.join(sid_cache, "root", "usr")
        else:
            path, debug_dir = reference_file(root, release), None
            origin = "pyenv"
            prefix = os.path.join(root, "versions", release)
        build_id, machine, entries = dump(tool, path, debug_dir)
        entries = with_asyncio(tool, entries,
                               asyncio_module(prefix, release), debug_dir)
        refs.append((release, path, build_id, machine, entries, origin))
    minors = [r[0].rsplit(".", 1)[0] for r in refs]
    if len(set(minors)) != len(minors):
        fail("one reference release per minor version, please")

    o = []
    o.append("/* SPDX-License-Identifier: MIT */")
    o.append("/*")
    o.append(" * GENERATED FILE - do not edit.  The built-in layout tables of")
    o.append(" * src/python/layout_table.h.")
    o.append(" *")
    o.append(MADE_BY)
    line = " *   "
    for word in command.split(" "):
        if len(line) + len(word) > 74 and line.strip(" *"):
            o.append(line + "\\")
            line = " *     "
        line += word + " "
    o.append(line.rstrip())
    o.append(" *")
    o.append(" * Each table is the output of `tripod-analyze --dump-layout FILE`")
    o.append(" * (the layout record that FILE's DWARF gives) for one reference")
    o.append(" * build: pyenv's default build of that release, or Debian sid's")
    o.append(" * (fetched by tools/fetch-sid-python.sh, DWARF from its -dbg")
    o.append(" * package):")
    o.append(" *")
    for release, path, build_id, machine, _, origin in refs:
        o.append(" *   %-8s %s %s" % (release, machine, build_id))
        o.append(" *            %s (%s)" % (home_relative(path), origin))
    o.append(" *")
    o.append(" * Entries are (name, value) pairs; tp_layout_table_load() matches")
    o.append(" * them to src/python/layout.h by name.  TP_LAYOUT_ABSENT: the")
    o.append(" * reference build has no such field.")
    o.append(" */")
    o.append('#include "config.h"')
    o.append("")
    o.append('#include "python/layout_table.h"')
    for release, path, build_id, machine, entries, _ in refs:
        major, minor = release.split(".")[:2]
        o.append("")
        o.append("/* Python %s.%s: %s, build-id %s */" % (major, minor,
                                                        release, build_id))
        o.append("static const struct tp_layout_table_entry table_%s_%s[] = {"
                 % (major, minor))
        for name, value in entries:
            v = "TP_LAYOUT_ABSENT" if value == "absent" else value
            o.append('\t{ "%s", %s },' % (name, v))
        o.append("};")
    o.append("")
    o.append("const struct tp_layout_table tp_layout_tables[] = {")
    for release, path, build_id, machine, entries, _ in refs:
        major, minor = release.split(".")[:2]
        o.append('\t{ %s, %s, "%s", "%s", "%s", table_%s_%s,' % (
            major, minor, release, build_id, machine, major, minor))
        o.append("\t  sizeof(table_%s_%s) / sizeof(table_%s_%s[0]) }," % (
            major, minor, major, minor))
    o.append("};")
    o.append("")
    o.append("const size_t tp_layout_ntables = %d;" % len(refs))
    return "\n".join(o) + "\n"


def without_command(text):
    """The lines of @text without the command (it differs by checkout)."""
    out, skipping = [], False
    for l in text.splitlines(True):
        if l.rstrip("\n") == MADE_BY:
            skipping = True
        elif skipping and l.rstrip("\n") == " *":
            skipping = False
        if not skipping:
            out.append(l)
    return out


def main():
    ap = argparse.ArgumentParser(
        description="Generate tripod's built-in layout tables.")
    ap.add_argument("--tripod-analyze", default="src/tripod-analyze")
    ap.add_argument("--pyenv-root", default=os.environ.get(
        "PYENV_ROOT", os.path.expanduser("~/.pyenv")))
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--output")
    group.add_argument("--check")
    ap.add_argument("--sid-cache", default=os.environ.get(
        "TRIPOD_SID_CACHE", os.path.join(os.environ.get(
            "XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
            "tripod", "sid")))
    ap.add_argument("releases", nargs="*", default=DEFAULT_RELEASES)
    args = ap.parse_args()

    # The exact command that writes this file, every default spelled out.
    command = " ".join(shell_word(a) for a in [
        os.path.relpath(sys.argv[0]),
        "--tripod-analyze", tree_relative(args.tripod_analyze),
        "--pyenv-root", args.pyenv_root,
        "--sid-cache", args.sid_cache,
        "--output", args.check or args.output or "/dev/stdout",
    ] + args.releases)
    text = generate(args.tripod_analyze, args.pyenv_root, args.sid_cache,
                    args.releases, command)
    if args.check:
        try:
            with open(args.check) as f:
                old = f.read()
        except OSError as e:
            fail("%s: %s" % (args.check, e))
        diff = list(difflib.unified_diff(without_command(old),
                                         without_command(text),
                                         args.check, "regenerated"))
        if diff:
            sys.stdout.writelines(diff)
            return 1
        print("%s: up to date" % args.check)
        return 0
    if args.output:
        tmp = args.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.output)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
