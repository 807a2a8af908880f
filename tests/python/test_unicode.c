/* SPDX-License-Identifier: MIT */
/*
 * The printable tables of unicode_tables.c against the interpreters
 * themselves: for every CPython 3 installed (pyenv builds, and Debian sid's
 * 3.14/3.15 when tools/fetch-sid-python.sh fetched them), each code point
 * that Python's own str.isprintable() calls printable must be printable in
 * the table tripod picks for that version, and no other.  A version
 * without an interpreter here is skipped with the reason.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python/unicode_tables.h"

/* Prints the non-printable code points as "FIRST LAST" range lines. */
static const char probe[] =
	"import sys\n"
	"start = None\n"
	"for cp in range(0x110001):\n"
	"    inside = cp <= 0x10FFFF and not chr(cp).isprintable()\n"
	"    if inside and start is None:\n"
	"        start = cp\n"
	"    elif not inside and start is not None:\n"
	"        sys.stdout.write('%d %d\\n' % (start, cp - 1))\n"
	"        start = None\n";

/* The newest pyenv build of 3.@minor, else sid's wrapper; NULL if none. */
static char *find_python(unsigned minor)
{
	char pattern[4200];
	const char *home = getenv("HOME");
	const char *root = getenv("PYENV_ROOT");
	char rootbuf[4096];
	if (!root) {
		snprintf(rootbuf, sizeof(rootbuf), "%s/.pyenv",
			 home ? home : "/root");
		root = rootbuf;
	}
	snprintf(pattern, sizeof(pattern), "%s/versions/3.%u.*/bin/python",
		 root, minor);
	glob_t g;
	char *found = NULL;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *v = strstr(g.gl_pathv[i], "/versions/") + 10;
			if (strchr(v, '/')[-1] == 't')
				continue; /* free-threaded: same database */
			free(found);
			found = strdup(g.gl_pathv[i]);
		}
		globfree(&g);
	}
	if (found)
		return found;
	const char *sid = getenv("TRIPOD_SID_CACHE");
	if (sid)
		snprintf(pattern, sizeof(pattern), "%s/bin/python3.%u", sid,
			 minor);
	else
		snprintf(pattern, sizeof(pattern),
			 "%s/.cache/tripod/sid/bin/python3.%u",
			 home ? home : "/root", minor);
	if (access(pattern, X_OK) == 0)
		return strdup(pattern);
	return NULL;
}

static void check_version(unsigned minor)
{
	char *python = find_python(minor);
	if (!python)
		cr_skip_test("no Python 3.%u installed (pyenv, or "
			     "tools/fetch-sid-python.sh for 3.14+)", minor);
	char script[] = "/tmp/tripod-unicode-XXXXXX";
	int fd = mkstemp(script);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, probe, sizeof(probe) - 1),
		     (ssize_t)(sizeof(probe) - 1));
	close(fd);
	char cmd[8400];
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", python, script);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	unsigned table = tp_unicode_printable_for_python(3, minor);
	uint32_t next = 0;  /* first code point not checked yet */
	unsigned long first, last;
	size_t bad = 0, ranges = 0;
	uint32_t example = 0;
	while (fscanf(p, "%lu %lu", &first, &last) == 2) {
		ranges++;
		for (uint32_t cp = next; cp < first; cp++)
			if (!tp_unicode_isprintable(table, cp) && !bad++)
				example = cp;
		for (uint32_t cp = (uint32_t)first; cp <= last; cp++)
			if (tp_unicode_isprintable(table, cp) && !bad++)
				example = cp;
		next = (uint32_t)last + 1;
	}
	for (uint32_t cp = next; cp <= 0x10ffff; cp++)
		if (!tp_unicode_isprintable(table, cp) && !bad++)
			example = cp;
	int st = pclose(p);
	unlink(script);
	cr_assert_eq(st, 0, "%s failed", python);
	cr_assert_gt(ranges, 100, "%s printed no ranges", python);
	cr_expect_eq(bad, 0,
		     "Python 3.%u (%s): %zu code points differ from table %u "
		     "(Unicode %s), first U+%04X; regenerate with "
		     "tools/gen-unicode-tables.py",
		     minor, python, bad, table,
		     tp_unicode_printables[table].unidata_version, example);
	free(python);
}

TestSuite(unicode, .timeout = 120);

#define PYTHON3(minor)                                                        \
	Test(unicode, printable_like_python3_##minor)                         \
	{                                                                     \
		check_version(minor);                                         \
	}
PYTHON3(6)
PYTHON3(7)
PYTHON3(8)
PYTHON3(9)
PYTHON3(10)
PYTHON3(11)
PYTHON3(12)
PYTHON3(13)
PYTHON3(14)
PYTHON3(15)

/* Characters the issue saw printed by one version and escaped by another. */
Test(unicode, databases_differ_where_python_does)
{
	/* U+1C90..U+1CBA Georgian Mtavruli: Unicode 11.0 (3.7) */
	cr_expect(!tp_unicode_isprintable(tp_unicode_printable_for_python(3, 6),
					  0x1c97));
	cr_expect(tp_unicode_isprintable(tp_unicode_printable_for_python(3, 7),
					 0x1c97));
	/* U+2E50 CROSS WITH RIGHT/LEFT: Unicode 13.0 (3.9) */
	cr_expect(!tp_unicode_isprintable(tp_unicode_printable_for_python(3, 8),
					  0x2e50));
	cr_expect(tp_unicode_isprintable(tp_unicode_printable_for_python(3, 9),
					 0x2e50));
	/* U+FD41 ARABIC LIGATURE: Unicode 14.0 (3.11) */
	cr_expect(!tp_unicode_isprintable(tp_unicode_printable_for_python(3, 10),
					  0xfd41));
	cr_expect(tp_unicode_isprintable(tp_unicode_printable_for_python(3, 11),
					 0xfd41));
}

Test(unicode, unmeasured_versions_take_the_nearest_older_table)
{
	size_t n = tp_unicode_pythons_count;
	cr_assert_gt(n, 0);
	const struct tp_unicode_python *oldest = &tp_unicode_pythons[0];
	const struct tp_unicode_python *newest = &tp_unicode_pythons[n - 1];
	cr_expect_eq(tp_unicode_printable_for_python(3, 99), newest->table);
	cr_expect_eq(tp_unicode_printable_for_python(4, 0), newest->table);
	cr_expect_eq(tp_unicode_printable_for_python(3, 0), oldest->table);
	cr_expect_eq(tp_unicode_printable_for_python(2, 7), oldest->table);
	/* an out-of-range index means the newest table */
	cr_expect_eq(tp_unicode_isprintable(999, 0x41), true);
	cr_expect_eq(tp_unicode_isprintable(0, 0x110000), false);
}
