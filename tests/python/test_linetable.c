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

TestSuite(linetable_oracle);

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
Test(linetable_oracle, python_3_15) { check_version(3, 15); }

/* ---- hand-made tables: documented examples, edges, corrupt input ------- */

static int line_at(enum tp_linetable_format fmt, const uint8_t *t, size_t len,
		   int64_t addr)
{
	return tp_linetable_addr2line(fmt, t, len, 1, addr);
}

/* CPYTHON.md §5: the same four-line function under each format. */
Test(linetable, documented_examples)
{
	static const uint8_t lnotab27[] = { 0x00, 0x01, 0x0a, 0x01, 0x03, 0x01 };
	static const uint8_t lnotab38[] = { 0x00, 0x01, 0x08, 0x01,
					    0x02, 0x01, 0x02, 0xff };
	static const uint8_t pep626[] = { 0x08, 0x01, 0x02, 0x01,
					  0x02, 0x01, 0x04, 0xff };
	const enum tp_linetable_format U8 = TP_LINETABLE_LNOTAB_U8;
	const enum tp_linetable_format S8 = TP_LINETABLE_LNOTAB_S8;
	const enum tp_linetable_format P = TP_LINETABLE_PEP626;

	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 0), 2);
	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 9), 2);
	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 10), 3);
	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 12), 3);
	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 13), 4);
	cr_assert_eq(line_at(U8, lnotab27, sizeof(lnotab27), 1000), 4);

	cr_assert_eq(line_at(S8, lnotab38, sizeof(lnotab38), 0), 2);
	cr_assert_eq(line_at(S8, lnotab38, sizeof(lnotab38), 8), 3);
	cr_assert_eq(line_at(S8, lnotab38, sizeof(lnotab38), 10), 4);
	cr_assert_eq(line_at(S8, lnotab38, sizeof(lnotab38), 12), 3);
	cr_assert_eq(line_at(S8, lnotab38, sizeof(lnotab38), 14), 3);
	/* The same bytes read as unsigned: 0xff is +255. */
	cr_assert_eq(line_at(U8, lnotab38, sizeof(lnotab38), 12), 259);

	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 0), 2);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 6), 2);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 8), 3);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 10), 4);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 12), 3);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 14), 3);
	cr_assert_eq(line_at(P, pep626, sizeof(pep626), 16), -1);

	cr_assert_null(tp_linetable_validate(U8, lnotab27, sizeof(lnotab27), 16));
	cr_assert_null(tp_linetable_validate(S8, lnotab38, sizeof(lnotab38), 16));
	cr_assert_null(tp_linetable_validate(P, pep626, sizeof(pep626), 16));
}

Test(linetable, documented_locations_example)
{
	static const uint8_t t[] = {
		0x80, 0x00,                    /* RESUME */
		0xd8, 0x08, 0x09,              /* LOAD_FAST a */
		0x88, 0x41,                    /* LOAD_CONST */
		0x89, 0x05,                    /* BINARY_OP + cache */
		0x80, 0x41,                    /* STORE_FAST x */
		0xd8, 0x0c, 0x0d,              /* LOAD_FAST x */
		0xd8, 0x0c, 0x0d,              /* LOAD_FAST a */
		0xf0, 0x03, 0x01, 0x0c, 0x0f,  /* BUILD_TUPLE */
		0xf0, 0x00, 0x01, 0x05, 0x0f,  /* RETURN_VALUE */
	};
	static const struct tp_linetable_position want[] = {
		{ 1, 1, 0, 0 }, { 2, 2, 8, 9 }, { 2, 2, 12, 13 }, { 2, 2, 8, 13 },
		{ 2, 2, 8, 13 }, { 2, 2, 4, 5 }, { 3, 3, 12, 13 }, { 4, 4, 12, 13 },
		{ 3, 4, 11, 14 }, { 3, 4, 4, 14 },
	};
	struct tp_linetable_position pos;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert(tp_linetable_addr2location(t, sizeof(t), 1, 2 * i, &pos));
		cr_assert(pos.line == want[i].line &&
			  pos.end_line == want[i].end_line &&
			  pos.column == want[i].column &&
			  pos.end_column == want[i].end_column,
			  "unit %zu: %d,%d,%d,%d", i, pos.line, pos.end_line,
			  pos.column, pos.end_column);
		cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_LOCATIONS, t,
						    sizeof(t), 1, 2 * i),
			     want[i].line);
		/* Odd offsets belong to the same code unit. */
		cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_LOCATIONS, t,
						    sizeof(t), 1, 2 * i + 1),
			     want[i].line);
	}
	cr_assert_not(tp_linetable_addr2location(t, sizeof(t), 1, 20, &pos));
	cr_assert(pos.line == -1 && pos.end_line == -1 && pos.column == -1 &&
		  pos.end_column == -1);
	cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_LOCATIONS, t, sizeof(t),
					    1, 20), -1);
	cr_assert_null(tp_linetable_validate(TP_LINETABLE_LOCATIONS, t,
					     sizeof(t), 20));
}

Test(linetable, location_forms)
{
	/* no location, no columns (+70000 lines: a 3-chunk varint), long form
	 * with unknown columns, one-line form +2 */
	static const uint8_t t[] = {
		0xf8,                               /* 15: 1 unit, no location */
		0xe9, 0x60, 0x4b, 0x22,             /* 13: 2 units, +70000 */
		0xf0, 0x03, 0x05, 0x00, 0x00,       /* 14: -1, end +5, cols none */
		0xe0, 0x7f, 0x10,                   /* 12: line +2, cols 127-16 */
		0xf8,                               /* 15 again */
	};
	struct tp_linetable_position p;
	const enum tp_linetable_format L = TP_LINETABLE_LOCATIONS;

	cr_assert(tp_linetable_addr2location(t, sizeof(t), 10, 0, &p));
	cr_assert(p.line == -1 && p.end_line == -1 && p.column == -1 &&
		  p.end_column == -1);
	cr_assert_eq(tp_linetable_addr2line(L, t, sizeof(t), 10, 0), -1);
	for (int64_t a = 2; a < 6; a++) {
		cr_assert(tp_linetable_addr2location(t, sizeof(t), 10, a, &p));
		cr_assert(p.line == 70010 && p.end_line == 70010 &&
			  p.column == -1 && p.end_column == -1);
	}
	cr_assert(tp_linetable_addr2location(t, sizeof(t), 10, 6, &p));
	cr_assert(p.line == 70009 && p.end_line == 70014 && p.column == -1 &&
		  p.end_column == -1);
	cr_assert(tp_linetable_addr2location(t, sizeof(t), 10, 8, &p));
	cr_assert(p.line == 70011 && p.end_line == 70011 && p.column == 127 &&
		  p.end_column == 16);
	/* "No location" leaves the running line alone. */
	cr_assert_eq(tp_linetable_addr2line(L, t, sizeof(t), 10, 10), -1);
	cr_assert_null(tp_linetable_validate(L, t, sizeof(t), 12));
}

Test(linetable, negative_and_past_the_end)
{
	static const uint8_t t[] = { 0x02, 0x01 };
	static const enum tp_linetable_format fmts[] = {
		TP_LINETABLE_LNOTAB_U8, TP_LINETABLE_LNOTAB_S8,
		TP_LINETABLE_PEP626, TP_LINETABLE_LOCATIONS,
	};
	struct tp_linetable_position p;

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(tp_linetable_addr2line(fmts[i], t, sizeof(t), 7, -1), 7);
		cr_assert_eq(tp_linetable_addr2line(fmts[i], t, sizeof(t), 7, -2), 7);
		cr_assert_eq(tp_linetable_addr2line(fmts[i], t, sizeof(t), 7,
						    INT64_MIN), 7);
		/* Empty tables: lnotab keeps firstlineno, 3.10+ has no line. */
		int want = i < 2 ? 7 : -1;
		cr_assert_eq(tp_linetable_addr2line(fmts[i], NULL, 0, 7, 0), want);
		cr_assert_eq(tp_linetable_addr2line(fmts[i], t, 0, 7, INT64_MAX),
			     want);
	}
	/* lnotab (2, +1): offsets 0-1 on line 7, then 8 for ever. */
	cr_assert_eq(tp_linetable_addr2line(fmts[1], t, sizeof(t), 7, 1), 7);
	cr_assert_eq(tp_linetable_addr2line(fmts[1], t, sizeof(t), 7, INT64_MAX), 8);
	/* 3.10 (2, +1): [0,2) on line 8, nothing after. */
	cr_assert_eq(tp_linetable_addr2line(fmts[2], t, sizeof(t), 7, 1), 8);
	cr_assert_eq(tp_linetable_addr2line(fmts[2], t, sizeof(t), 7, 2), -1);

	cr_assert(tp_linetable_addr2location(t, sizeof(t), 7, -1, &p));
	cr_assert(p.line == 7 && p.end_line == 7 && p.column == 0 &&
		  p.end_column == 0);
	cr_assert_eq(tp_linetable_addr2line(99, t, sizeof(t), 7, 0), -1);
}

Test(linetable, versions_and_offsets)
{
	static const struct { int major, minor; enum tp_linetable_format fmt; } v[] = {
		{ 2, 7, TP_LINETABLE_LNOTAB_U8 }, { 3, 5, TP_LINETABLE_LNOTAB_U8 },
		{ 3, 6, TP_LINETABLE_LNOTAB_S8 }, { 3, 9, TP_LINETABLE_LNOTAB_S8 },
		{ 3, 10, TP_LINETABLE_PEP626 }, { 3, 11, TP_LINETABLE_LOCATIONS },
		{ 3, 13, TP_LINETABLE_LOCATIONS }, { 3, 14, TP_LINETABLE_LOCATIONS },
		{ 3, 15, TP_LINETABLE_LOCATIONS },
	};
	enum tp_linetable_format fmt;
	struct tp_error *err;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_null(tp_linetable_format_for_version(v[i].major,
							       v[i].minor, &fmt));
		cr_assert_eq(fmt, v[i].fmt, "%d.%d", v[i].major, v[i].minor);
	}
	err = tp_linetable_format_for_version(3, 16, &fmt);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_UNSUPPORTED);
	tp_error_destroy(err);
	err = tp_linetable_format_for_version(2, 2, &fmt);
	cr_assert_not_null(err);
	tp_error_destroy(err);

	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_LNOTAB_U8, 26), 26);
	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_LNOTAB_S8, 26), 26);
	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_PEP626, 13), 26);
	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_LOCATIONS, 13), 26);
	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_LOCATIONS, -1), -1);
	cr_assert_eq(tp_linetable_offset(TP_LINETABLE_PEP626, INT64_MAX),
		     INT64_MAX);
}

static void assert_invalid(enum tp_linetable_format fmt, const uint8_t *t,
			   size_t len, uint64_t code_bytes,
			   enum tp_error_code code)
{
	struct tp_error *err = tp_linetable_validate(fmt, t, len, code_bytes);
	cr_assert_not_null(err, "format %d, %zu bytes accepted", (int)fmt, len);
	cr_assert_eq(err->code, code, "%s", tp_error_message(err));
	tp_error_destroy(err);
}

Test(linetable, validate_rejects)
{
	static const uint8_t pairs[] = { 0x04, 0x01, 0x04 };
	static const uint8_t truncated[] = { 0x80, 0x00, 0xf0, 0x03 };
	static const uint8_t no_start[] = { 0x00, 0x80, 0x00 };
	static const uint8_t stray[] = { 0x80, 0x00, 0x00 };
	static const uint8_t open_varint[] = { 0xe8, 0x7f, 0x7f };
	const enum tp_linetable_format L = TP_LINETABLE_LOCATIONS;

	/* odd length */
	assert_invalid(TP_LINETABLE_LNOTAB_U8, pairs, 3, 100, TP_ERR_FORMAT);
	assert_invalid(TP_LINETABLE_PEP626, pairs, 3, 4, TP_ERR_FORMAT);
	/* line starts past the code; coverage != code size */
	assert_invalid(TP_LINETABLE_LNOTAB_S8, pairs, 2, 2, TP_ERR_FORMAT);
	cr_assert_null(tp_linetable_validate(TP_LINETABLE_LNOTAB_S8, pairs, 2, 4));
	assert_invalid(TP_LINETABLE_PEP626, pairs, 2, 6, TP_ERR_FORMAT);
	assert_invalid(L, truncated, 2, 4, TP_ERR_FORMAT);
	cr_assert_null(tp_linetable_validate(L, truncated, 2, 2));
	/* malformed location entries */
	assert_invalid(L, truncated, 4, 4, TP_ERR_FORMAT);
	assert_invalid(L, no_start, 3, 2, TP_ERR_FORMAT);
	assert_invalid(L, stray, 3, 2, TP_ERR_FORMAT);
	assert_invalid(L, open_varint, 3, 2, TP_ERR_FORMAT);
	/* caps and arguments */
	assert_invalid(L, stray, TP_LINETABLE_MAX_BYTES + 1, 2, TP_ERR_LIMIT);
	assert_invalid(99, stray, 3, 2, TP_ERR_INVALID);
	assert_invalid(L, NULL, 3, 2, TP_ERR_INVALID);
	cr_assert_null(tp_linetable_validate(L, NULL, 0, 0));
}

Test(linetable, lenient_lookups)
{
	/* Lookups stop at a malformed entry but keep what came before it. */
	static const uint8_t truncated[] = { 0x80, 0x00, 0xf0, 0x03 };
	static const uint8_t stray[] = { 0x80, 0x00, 0x00, 0x88, 0x11 };
	static const uint8_t odd[] = { 0x04, 0x01, 0x04 };
	const enum tp_linetable_format L = TP_LINETABLE_LOCATIONS;
	struct tp_linetable_position p;

	cr_assert_eq(tp_linetable_addr2line(L, truncated, 4, 5, 0), 5);
	cr_assert_eq(tp_linetable_addr2line(L, truncated, 4, 5, 2), -1);
	cr_assert_not(tp_linetable_addr2location(truncated, 4, 5, 2, &p));
	/* A stray continuation byte is skipped, as CPython does. */
	cr_assert(tp_linetable_addr2location(stray, sizeof(stray), 5, 2, &p));
	cr_assert(p.line == 5 && p.column == 9 && p.end_column == 10);
	/* An odd trailing byte of a pair format is ignored. */
	cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_LNOTAB_U8, odd, 3, 5,
					    100), 6);
	cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_PEP626, odd, 3, 5, 3), 6);
	cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_PEP626, odd, 3, 5, 4), -1);
}

/* Copy @len bytes into a buffer of exactly that size, so ASan sees overreads. */
static uint8_t *exact_copy(const uint8_t *t, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	if (len)
		memcpy(buf, t, len);
	return buf;
}

static void probe(const uint8_t *t, size_t len)
{
	static const int64_t addrs[] = {
		-1, 0, 1, 2, 3, 14, 16, 254, 255, 256, 4096, INT_MAX,
		(int64_t)INT_MAX + 1, INT64_MAX,
	};
	static const enum tp_linetable_format fmts[] = {
		TP_LINETABLE_LNOTAB_U8, TP_LINETABLE_LNOTAB_S8,
		TP_LINETABLE_PEP626, TP_LINETABLE_LOCATIONS,
	};
	uint8_t *buf = exact_copy(t, len);
	struct tp_linetable_position p;

	for (size_t f = 0; f < 4; f++) {
		tp_error_destroy(tp_linetable_validate(fmts[f], buf, len, len));
		for (size_t a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
			int line = tp_linetable_addr2line(fmts[f], buf, len, 1,
							  addrs[a]);
			if (fmts[f] == TP_LINETABLE_LOCATIONS) {
				tp_linetable_addr2location(buf, len, 1, addrs[a], &p);
				cr_assert_eq(p.line, line);
			}
		}
	}
	free(buf);
}

Test(linetable, garbage_tables)
{
	uint8_t t[64] = { 0 };
	uint32_t seed = 12345;

	/* every table of up to 2 bytes */
	probe(t, 0);
	for (unsigned int a = 0; a < 256; a++) {
		t[0] = (uint8_t)a;
		probe(t, 1);
		for (unsigned int b = 0; b < 256; b++) {
			t[1] = (uint8_t)b;
			probe(t, 2);
		}
	}
	/* random tables up to 64 bytes, biased towards location-entry starts */
	for (int n = 0; n < 100000; n++) {
		size_t len = 3 + n % 62;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			t[i] = (uint8_t)(seed >> 16);
			if ((seed >> 8) % 4 == 0)
				t[i] |= 0x80;
		}
		probe(t, len);
	}
}

Test(linetable, huge_values_saturate)
{
	/* 2.7: 10M pairs of (0, +255) push the line past INT_MAX. */
	size_t len = (size_t)20 << 20;
	uint8_t *t = malloc(len);
	cr_assert_not_null(t);
	for (size_t i = 0; i < len; i += 2) {
		t[i] = 0;
		t[i + 1] = 0xff;
	}
	cr_assert_eq(tp_linetable_addr2line(TP_LINETABLE_LNOTAB_U8, t, len, 1, 0),
		     INT_MAX);
	/* 3.11: an endless varint (all continuation bits) stays bounded. */
	t[0] = 0xe8; /* no-columns form, 1 unit */
	memset(t + 1, 0x7f, len - 2);
	t[len - 1] = 0x3f;
	int line = tp_linetable_addr2line(TP_LINETABLE_LOCATIONS, t, len, 1, 0);
	cr_assert(line == INT_MIN || line == INT_MAX, "line %d", line);
	cr_assert_null(tp_linetable_validate(TP_LINETABLE_LOCATIONS, t, len, 2));
	/* long form with huge end line and columns */
	t[0] = 0xf0;
	memset(t + 1, 0x7f, len - 1);
	t[1] = 0x7e;             /* line-delta varint: even, so positive */
	t[len / 2] = 0x3e;       /* ends it */
	t[len / 2 + 1] = 0x3f;   /* end-line delta */
	t[len / 2 + 2] = 0x3f;   /* column + 1 */
	t[len / 2 + 3] = 0x00;   /* end column unknown */
	struct tp_linetable_position p;
	cr_assert(tp_linetable_addr2location(t, len / 2 + 4, 1, 1, &p));
	cr_assert_eq(p.line, INT_MAX);
	cr_assert_eq(p.end_line, INT_MAX);
	cr_assert_eq(p.column, 62);
	cr_assert_eq(p.end_column, -1);
	free(t);
}
