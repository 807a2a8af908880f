/* SPDX-License-Identifier: MIT */
/*
 * Line tables: the interpreters are the oracle.
 *
 * fixtures/linetable/lines-X.Y.txt (written by fixtures/linetable/gen.py
 * under each interpreter; format in gen.py) hold, for every code object of a
 * few real modules and a stress source, the raw table and the line CPython's
 * PyCode_Addr2Line() gives for every offset (and, 3.11+, co_positions()).
 * Each version's test checks every one of them and prints the counts as a
 * TAP diagnostic; a missing file skips that version with the reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "python/linetable.h"

struct fixture_stats {
	unsigned long codes;
	unsigned long offsets;
	unsigned long positions;
	unsigned long mismatches;
};

/* Report at most this many mismatches per version, then only count them. */
#define MAX_REPORTED 20

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode @hex ('-' = empty) into a new buffer; *len_ret = its length. */
static uint8_t *parse_hex(const char *hex, size_t *len_ret)
{
	size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
	uint8_t *buf = malloc(n / 2 + 1);

	cr_assert_not_null(buf);
	cr_assert_eq(n % 2, 0, "odd hex table: %s", hex);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		cr_assert(hi >= 0 && lo >= 0, "bad hex table: %s", hex);
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*len_ret = n / 2;
	return buf;
}

/*
 * Parse one run "V[,V,V,V][*COUNT]" of @nvals integers at *@p; advance *@p.
 * Returns false at the end of the line.
 */
static bool parse_run(char **p, int nvals, long vals[4], long *count)
{
	char *s = *p, *end;

	while (*s == ' ')
		s++;
	if (*s == '\0' || *s == '\n')
		return false;
	for (int i = 0; i < nvals; i++) {
		errno = 0;
		vals[i] = strtol(s, &end, 10);
		cr_assert(end != s && errno == 0, "bad run at \"%.20s\"", s);
		s = end;
		if (i + 1 < nvals) {
			cr_assert_eq(*s, ',', "bad run at \"%.20s\"", s);
			s++;
		}
	}
	*count = 1;
	if (*s == '*') {
		s++;
		*count = strtol(s, &end, 10);
		cr_assert(end != s && *count > 0, "bad count at \"%.20s\"", s);
		s = end;
	}
	*p = s;
	return true;
}

struct code_entry {
	char name[256];
	int firstlineno;
	long nbytes;
	long unit;
	int before;
	int after;
	uint8_t *table;
	size_t len;
};

static void mismatch(struct fixture_stats *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mismatch(struct fixture_stats *st, const char *fmt, ...)
{
	if (st->mismatches++ < MAX_REPORTED) {
		va_list ap;
		char buf[512];
		va_start(ap, fmt);
		vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		cr_log_error("%s", buf);
	}
}

static void check_lines(enum tp_linetable_format fmt, const struct code_entry *c,
			char *runs, struct fixture_stats *st)
{
	long vals[4], count;
	long k = 0;

	while (parse_run(&runs, 1, vals, &count)) {
		for (long i = 0; i < count; i++, k++) {
			int64_t addr = k * c->unit;
			int got = tp_linetable_addr2line(fmt, c->table, c->len,
							 c->firstlineno, addr);
			if (got != vals[0])
				mismatch(st, "%s offset %lld: line %d, CPython %ld",
					 c->name, (long long)addr, got, vals[0]);
			st->offsets++;
		}
	}
	cr_assert_eq(k * c->unit, c->nbytes, "%s: runs cover %ld of %ld bytes",
		     c->name, k * c->unit, c->nbytes);

	int got = tp_linetable_addr2line(fmt, c->table, c->len, c->firstlineno, -1);
	if (got != c->before)
		mismatch(st, "%s offset -1: line %d, CPython %d", c->name, got,
			 c->before);
	got = tp_linetable_addr2line(fmt, c->table, c->len, c->firstlineno,
				     c->nbytes);
	if (got != c->after)
		mismatch(st, "%s offset %ld (end): line %d, CPython %d", c->name,
			 c->nbytes, got, c->after);

	struct tp_error *err = tp_linetable_validate(fmt, c->table, c->len,
						     (uint64_t)c->nbytes);
	if (err) {
		mismatch(st, "%s: valid table rejected: %s", c->name,
			 tp_error_message(err));
		tp_error_destroy(err);
	}
}

static void check_positions(const struct code_entry *c, char *runs,
			    struct fixture_stats *st)
{
	long vals[4], count;
	long k = 0;

	while (parse_run(&runs, 4, vals, &count)) {
		for (long i = 0; i < count; i++, k++) {
			struct tp_linetable_position pos;
			int64_t addr = k * c->unit;
			bool found = tp_linetable_addr2location(c->table, c->len,
								c->firstlineno,
								addr, &pos);
			if (!found || pos.line != vals[0] ||
			    pos.end_line != vals[1] || pos.column != vals[2] ||
			    pos.end_column != vals[3])
				mismatch(st, "%s offset %lld: position %d,%d,%d,%d, "
					 "CPython %ld,%ld,%ld,%ld", c->name,
					 (long long)addr, pos.line, pos.end_line,
					 pos.column, pos.end_column, vals[0],
					 vals[1], vals[2], vals[3]);
			st->positions++;
		}
	}
	cr_assert_eq(k * c->unit, c->nbytes,
		     "%s: position runs cover %ld of %ld bytes", c->name,
		     k * c->unit, c->nbytes);
}

/* Print a TAP diagnostic line with one write, so it stays whole. */
static void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void tap_diag(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	buf[0] = '#';
	buf[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 2;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	fflush(stdout);
	if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
		return;
}

static void check_version(int major, int minor)
{
	char path[PATH_MAX];
	enum tp_linetable_format fmt;
	struct fixture_stats st = { 0 };
	struct code_entry c = { .table = NULL };
	bool have_code = false, saw_header = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	cr_assert_null(tp_linetable_format_for_version(major, minor, &fmt));
	snprintf(path, sizeof(path), "%s/linetable/lines-%d.%d.txt",
		 FIXTURES_DIR, major, minor);
	f = fopen(path, "re");
	if (!f)
		cr_skip_test("no fixture for Python %d.%d (%s: %s); run "
			     "fixtures/linetable/gen.py with that interpreter",
			     major, minor, path, strerror(errno));

	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "python ", 7) == 0) {
			int ma, mi;
			cr_assert_eq(sscanf(line + 7, "%d.%d", &ma, &mi), 2);
			cr_assert(ma == major && mi == minor,
				  "%s is for Python %d.%d", path, ma, mi);
			saw_header = true;
		} else if (strncmp(line, "code ", 5) == 0) {
			char *hex = malloc(strlen(line) + 1);
			cr_assert_not_null(hex);
			free(c.table);
			cr_assert_eq(sscanf(line + 5, "%255s %d %ld %ld %d %d %s",
					    c.name, &c.firstlineno, &c.nbytes,
					    &c.unit, &c.before, &c.after, hex),
				     7, "bad code line: %.80s", line);
			cr_assert(c.unit == 1 || c.unit == 2);
			c.table = parse_hex(hex, &c.len);
			free(hex);
			have_code = true;
			st.codes++;
		} else if (strncmp(line, "lines", 5) == 0) {
			cr_assert(have_code, "lines without code");
			check_lines(fmt, &c, line + 5, &st);
		} else if (strncmp(line, "pos", 3) == 0) {
			cr_assert(have_code, "pos without code");
			cr_assert_eq(fmt, TP_LINETABLE_LOCATIONS);
			check_positions(&c, line + 3, &st);
		} else {
			cr_assert_fail("unexpected line in %s: %.80s", path, line);
		}
	}
	free(line);
	free(c.table);
	fclose(f);

	tap_diag("Python %d.%d: %lu code objects, %lu offsets, %lu positions "
		 "checked, %lu mismatches", major, minor, st.codes, st.offsets,
		 st.positions, st.mismatches);
	cr_assert(saw_header, "%s has no 'python X.Y' line", path);
	cr_assert_gt(st.codes, 0);
	cr_assert_gt(st.offsets, 0);
	if (fmt == TP_LINETABLE_LOCATIONS)
		cr_assert_eq(st.positions, st.offsets);
	cr_assert_eq(st.mismatches, 0, "%lu mismatches (first ones logged)",
		     st.mismatches);
}

TestSuite(linetable_oracle, .timeout = 60);

Test(linetable_oracle, python_2_7) { check_version(2, 7); }
Test(linetable_oracle, python_3_6) { check_version(3, 6); }
Test(linetable_oracle, python_3_7) { check_version(3, 7); }
Test(linetable_oracle, python_3_8) { check_version(3, 8); }
Test(linetable_oracle, python_3_9) { check_version(3, 9); }
Test(linetable_oracle, python_3_10) { check_version(3, 10); }
Test(linetable_oracle, python_3_11) { check_version(3, 11); }
Test(linetable_oracle, python_3_12) { check_version(3, 12); }
Test(linetable_oracle, python_3_13) { check_version(3, 13); }
Test(linetable_oracle, python_3_14) { check_version(3, 14); }
