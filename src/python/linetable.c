/* SPDX-License-Identifier: MIT */
/*
 * Decoding CPython's line-number tables.
 *
 * A code object maps each instruction to a source line with a compact table
 * that walks the code from offset 0 while a running line number starts at
 * co_firstlineno.  CPython has used three encodings, and each one's design
 * explains how it must be read:
 *
 * co_lnotab (2.3-3.9) is a list of (address increment, line increment)
 * byte pairs that record *line starts*: after adding a pair's address
 * increment we are at the first instruction of a new line, and the line
 * increment applies from there on.  PyCode_Addr2Line() therefore sums the
 * line increments of every pair whose cumulative address is <= the offset
 * asked for, and anything past the last pair keeps the last line, even past
 * the end of the code.  An increment larger than a byte is split into
 * several pairs ((255, 0), ..., or (0, 255), ...), so pairs with a zero
 * address increment only move the line.  Until 3.5 line increments were
 * unsigned: the compiler emitted code in source order.  3.6 made them a
 * signed byte (split into (0, -128) pairs when larger) so that code could be
 * moved (bpo-26107); 3.6 and 3.7 still compile forward-only tables, 3.8's
 * per-expression line numbers are the first to step backwards (multi-line
 * calls and literals, loop headers).
 *
 * co_linetable of 3.10 (PEP 626) was redesigned so that "this instruction
 * has no line" can be said, which lnotab could not: tracing must not report
 * lines for artificial instructions.  A pair (length, delta) now describes
 * the *range* that follows instead of a point: [end, end + length) gets line
 * `line += delta`, or no line when delta is -128 (the running line is then
 * left alone).  The delta applies to the range it comes with, one step
 * earlier than lnotab's increment.  Zero-length pairs only move the line;
 * lengths are at most 254, so longer ranges repeat.  Offsets past the last
 * range have no line (-1).
 *
 * The 3.11 location table adds columns and end positions for tracebacks
 * (PEP 657) and so needs a denser, variable-length encoding.  Each entry
 * starts with a byte that has bit 7 set (following bytes have it clear, so
 * entries are self-delimiting); bits 0-2 hold the length - 1 in 2-byte code
 * units (inline cache units count: they share their instruction's entry) and
 * bits 3-6 a code choosing the form: 0-9 "short" (same line, columns packed
 * into one more byte: the code supplies the high bits of the start column),
 * 10-12 "one line" (line += code - 10, then start and end column bytes), 13
 * "no columns" (signed varint line delta), 14 "long" (signed varint line
 * delta, varints for end-line delta and column + 1, end column + 1, where 0
 * means unknown) and 15 "no location".  Varints are little-endian 6-bit
 * chunks with 0x40 meaning "more"; the signed variant keeps the sign in bit
 * 0 of the unsigned value.  The line delta is relative to the previous
 * entry's line, so "no location" entries leave the running line unchanged.
 * 3.12, 3.13 and 3.14 kept this format.
 *
 * All three are decoded here into the same shape: a sequence of contiguous
 * ranges [start, end) of byte offsets, each with a line or "no line" (and
 * for 3.11+ the columns), so lookups and validation share one loop.
 *
 * The bytes come from another process and may be garbage.  Every read goes
 * through a bounded reader; every loop consumes at least one byte per step,
 * so it ends within the table; line and address arithmetic saturates instead
 * of overflowing; varints stop accumulating bits before they can overflow.
 * Lookups stay lenient where the table is sloppy in a way CPython tolerates
 * (an odd trailing byte of a pair format, stray continuation bytes of a
 * location entry) and stop decoding at a truncated or malformed entry, so
 * the offsets it would have covered have no line.  tp_linetable_validate()
 * is strict and reports all of these.
 */
#include <limits.h>
#include <string.h>

#include "python/linetable.h"

/*
 * Saturation bounds.  Real lines and offsets fit in an int; these keep
 * garbage from overflowing int64_t while staying far from real values.
 */
#define LT_LINE_CAP ((int64_t)1 << 40)
#define LT_ADDR_CAP (INT64_MAX / 4)
/* A varint stops accumulating bits at this shift (the value stays < 2^42). */
#define LT_VARINT_MAX_SHIFT 36

static int64_t lt_sat_add(int64_t a, int64_t b, int64_t cap)
{
	/* |a| <= cap and |b| <= 2^42 keep a + b well inside int64_t. */
	int64_t v = a + b;
	if (v > cap)
		return cap;
	if (v < -cap)
		return -cap;
	return v;
}

static int lt_to_int(int64_t v)
{
	if (v > INT_MAX)
		return INT_MAX;
	if (v < INT_MIN)
		return INT_MIN;
	return (int)v;
}

/* Bounded reader over the table. Reads never advance on failure. */
struct lt_reader {
	const uint8_t *p;
	const uint8_t *end;
};

static size_t lt_left(const struct lt_reader *r)
{
	return (size_t)(r->end - r->p);
}

/* Any byte. */
static bool lt_read_u8(struct lt_reader *r, uint8_t *ret)
{
	if (r->p >= r->end)
		return false;
	*ret = *r->p++;
	return true;
}

/* Both bytes of a pair (lnotab, 3.10), or nothing. */
static bool lt_read_pair(struct lt_reader *r, uint8_t *first, uint8_t *second)
{
	if (lt_left(r) < 2)
		return false;
	*first = r->p[0];
	*second = r->p[1];
	r->p += 2;
	return true;
}

/* A continuation byte of a location entry: bit 7 clear. */
static bool lt_read_cont(struct lt_reader *r, uint8_t *ret)
{
	if (r->p >= r->end || (*r->p & 0x80))
		return false;
	*ret = *r->p++;
	return true;
}

static bool lt_read_varint(struct lt_reader *r, uint64_t *ret)
{
	struct lt_reader save = *r;
	uint64_t val = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (!lt_read_cont(r, &b)) {
			*r = save;
			return false;
		}
		if (shift <= LT_VARINT_MAX_SHIFT)
			val |= (uint64_t)(b & 0x3f) << shift;
		shift += 6;
		if (shift > LT_VARINT_MAX_SHIFT + 6)
			shift = LT_VARINT_MAX_SHIFT + 6; /* no wrap on long garbage */
	} while (b & 0x40);
	*ret = val;
	return true;
}

static bool lt_read_svarint(struct lt_reader *r, int64_t *ret)
{
	uint64_t u;
	if (!lt_read_varint(r, &u))
		return false;
	*ret = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return true;
}

/* One range of byte offsets [start, end) and its position. */
struct lt_range {
	int64_t start;
	int64_t end;
	bool has_line;
	int64_t line;
	/* TP_LINETABLE_LOCATIONS only; -1 = unknown. */
	int64_t end_line;
	int64_t column;
	int64_t end_column;
};

struct lt_iter {
	enum tp_linetable_format fmt;
	struct lt_reader r;
	int64_t addr;   /* end of the ranges decoded so far */
	int64_t line;   /* the running line number */
	bool malformed; /* stopped at a truncated or malformed entry */
	bool sloppy;    /* tolerated oddities: odd length, stray bytes */
};

static void lt_iter_init(struct lt_iter *it, enum tp_linetable_format fmt,
			 const uint8_t *table, size_t len, int firstlineno)
{
	memset(it, 0, sizeof(*it));
	it->fmt = fmt;
	it->r.p = table;
	it->r.end = table ? table + len : table;
	it->line = firstlineno;
}

static bool lt_next_lnotab(struct lt_iter *it, struct lt_range *ret)
{
	uint8_t incr, delta;

	while (lt_read_pair(&it->r, &incr, &delta)) {
		int64_t start = it->addr;
		int64_t line = it->line;

		it->addr = lt_sat_add(it->addr, incr, LT_ADDR_CAP);
		if (it->fmt == TP_LINETABLE_LNOTAB_S8)
			it->line = lt_sat_add(it->line, (int8_t)delta, LT_LINE_CAP);
		else
			it->line = lt_sat_add(it->line, delta, LT_LINE_CAP);
		if (incr == 0)
			continue;
		/* The increment applies from the new address on. */
		*ret = (struct lt_range){
			.start = start, .end = it->addr,
			.has_line = true, .line = line,
			.end_line = -1, .column = -1, .end_column = -1,
		};
		return true;
	}
	if (lt_left(&it->r))
		it->sloppy = true;
	return false;
}

static bool lt_next_pep626(struct lt_iter *it, struct lt_range *ret)
{
	uint8_t length, byte;

	while (lt_read_pair(&it->r, &length, &byte)) {
		int8_t delta = (int8_t)byte;
		int64_t start = it->addr;
		bool has_line = delta != -128;

		it->addr = lt_sat_add(it->addr, length, LT_ADDR_CAP);
		if (has_line)
			it->line = lt_sat_add(it->line, delta, LT_LINE_CAP);
		if (length == 0)
			continue;
		*ret = (struct lt_range){
			.start = start, .end = it->addr,
			.has_line = has_line, .line = has_line ? it->line : -1,
			.end_line = -1, .column = -1, .end_column = -1,
		};
		return true;
	}
	if (lt_left(&it->r))
		it->sloppy = true;
	return false;
}

/* Decode the fields after the first byte of a location entry. */
static bool lt_location_fields(struct lt_iter *it, unsigned int code,
			       struct lt_range *ret)
{
	struct lt_reader *r = &it->r;
	int64_t delta;
	uint64_t end_delta, col, end_col;
	uint8_t c0, c1;

	ret->has_line = true;
	ret->end_line = -1;
	ret->column = -1;
	ret->end_column = -1;
	switch (code) {
	case 15: /* no location */
		ret->has_line = false;
		ret->line = -1;
		return true;
	case 14: /* long form */
		if (!lt_read_svarint(r, &delta) || !lt_read_varint(r, &end_delta) ||
		    !lt_read_varint(r, &col) || !lt_read_varint(r, &end_col))
			return false;
		it->line = lt_sat_add(it->line, delta, LT_LINE_CAP);
		ret->line = it->line;
		ret->end_line = lt_sat_add(it->line, (int64_t)end_delta,
					   LT_LINE_CAP);
		ret->column = (int64_t)col - 1;
		ret->end_column = (int64_t)end_col - 1;
		return true;
	case 13: /* no columns */
		if (!lt_read_svarint(r, &delta))
			return false;
		it->line = lt_sat_add(it->line, delta, LT_LINE_CAP);
		ret->line = ret->end_line = it->line;
		return true;
	case 10: /* one-line forms: line += code - 10 */
	case 11:
	case 12:
		if (!lt_read_cont(r, &c0) || !lt_read_cont(r, &c1))
			return false;
		it->line = lt_sat_add(it->line, code - 10, LT_LINE_CAP);
		ret->line = ret->end_line = it->line;
		ret->column = c0;
		ret->end_column = c1;
		return true;
	default: /* 0-9: short forms, same line */
		if (!lt_read_cont(r, &c0))
			return false;
		ret->line = ret->end_line = it->line;
		ret->column = (int64_t)code * 8 + ((c0 >> 4) & 7);
		ret->end_column = ret->column + (c0 & 15);
		return true;
	}
}

static bool lt_next_locations(struct lt_iter *it, struct lt_range *ret)
{
	while (!it->malformed && lt_left(&it->r)) {
		struct lt_reader save = it->r;
		uint8_t first;
		unsigned int code;
		int64_t units;

		if (!lt_read_u8(&it->r, &first) || !(first & 0x80)) {
			it->r = save;
			it->malformed = true;
			return false;
		}
		code = (first >> 3) & 15;
		units = (first & 7) + 1;
		if (!lt_location_fields(it, code, ret)) {
			it->r = save;
			it->malformed = true;
			return false;
		}
		/* CPython skips to the next entry start; so do we. */
		while (lt_left(&it->r) && !(*it->r.p & 0x80)) {
			it->r.p++;
			it->sloppy = true;
		}
		ret->start = it->addr;
		it->addr = lt_sat_add(it->addr, units * 2, LT_ADDR_CAP);
		ret->end = it->addr;
		return true;
	}
	return false;
}

static bool lt_next(struct lt_iter *it, struct lt_range *ret)
{
	switch (it->fmt) {
	case TP_LINETABLE_LNOTAB_U8:
	case TP_LINETABLE_LNOTAB_S8:
		return lt_next_lnotab(it, ret);
	case TP_LINETABLE_PEP626:
		return lt_next_pep626(it, ret);
	case TP_LINETABLE_LOCATIONS:
		return lt_next_locations(it, ret);
	}
	return false;
}

static bool lt_format_known(enum tp_linetable_format fmt)
{
	switch (fmt) {
	case TP_LINETABLE_LNOTAB_U8:
	case TP_LINETABLE_LNOTAB_S8:
	case TP_LINETABLE_PEP626:
	case TP_LINETABLE_LOCATIONS:
		return true;
	}
	return false;
}

static bool lt_is_lnotab(enum tp_linetable_format fmt)
{
	return fmt == TP_LINETABLE_LNOTAB_U8 || fmt == TP_LINETABLE_LNOTAB_S8;
}

/*
 * Find the range holding @addr (>= 0).  Returns true with *ret filled, or
 * false when no range holds it; then it->line and it->addr describe the end
 * of the table (for lnotab formats the last line start).
 */
static bool lt_find(struct lt_iter *it, int64_t addr, struct lt_range *ret)
{
	while (lt_next(it, ret)) {
		if (addr < ret->end)
			return addr >= ret->start;
	}
	return false;
}

struct tp_error *tp_linetable_format_for_version(int major, int minor,
						 enum tp_linetable_format *ret)
{
	if ((major == 2 && minor >= 3) || (major == 3 && minor <= 5 && minor >= 0))
		*ret = TP_LINETABLE_LNOTAB_U8;
	else if (major == 3 && minor >= 6 && minor <= 9)
		*ret = TP_LINETABLE_LNOTAB_S8;
	else if (major == 3 && minor == 10)
		*ret = TP_LINETABLE_PEP626;
	else if (major == 3 && minor >= 11 && minor <= 15)
		*ret = TP_LINETABLE_LOCATIONS;
	else
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "no known line-table format for Python %d.%d",
				       major, minor);
	return NULL;
}

int64_t tp_linetable_offset(enum tp_linetable_format fmt, int64_t raw)
{
	if (raw < 0 || lt_is_lnotab(fmt))
		return raw;
	if (raw > INT64_MAX / 2)
		return INT64_MAX;
	return raw * 2;
}

int tp_linetable_addr2line(enum tp_linetable_format fmt, const uint8_t *table,
			   size_t len, int firstlineno, int64_t addr)
{
	struct lt_iter it;
	struct lt_range range;

	if (addr < 0)
		return firstlineno;
	if (!lt_format_known(fmt))
		return -1;
	lt_iter_init(&it, fmt, table, len, firstlineno);
	if (lt_find(&it, addr, &range))
		return range.has_line ? lt_to_int(range.line) : -1;
	/* Past the last line start, lnotab keeps the last line. */
	if (lt_is_lnotab(fmt) && addr >= it.addr)
		return lt_to_int(it.line);
	return -1;
}

bool tp_linetable_addr2location(const uint8_t *table, size_t len,
				int firstlineno, int64_t addr,
				struct tp_linetable_position *ret)
{
	struct lt_iter it;
	struct lt_range range;

	if (addr < 0) {
		*ret = (struct tp_linetable_position){
			firstlineno, firstlineno, 0, 0,
		};
		return true;
	}
	lt_iter_init(&it, TP_LINETABLE_LOCATIONS, table, len, firstlineno);
	if (!lt_find(&it, addr, &range)) {
		*ret = (struct tp_linetable_position){ -1, -1, -1, -1 };
		return false;
	}
	ret->line = range.has_line ? lt_to_int(range.line) : -1;
	ret->end_line = lt_to_int(range.end_line);
	ret->column = lt_to_int(range.column);
	ret->end_column = lt_to_int(range.end_column);
	return true;
}

struct tp_error *tp_linetable_validate(enum tp_linetable_format fmt,
				       const uint8_t *table, size_t len,
				       uint64_t code_bytes)
{
	struct lt_iter it;
	struct lt_range range;

	if (!lt_format_known(fmt))
		return tp_error_create(TP_ERR_INVALID,
				       "unknown line-table format %d", (int)fmt);
	if (len > TP_LINETABLE_MAX_BYTES)
		return tp_error_create(TP_ERR_LIMIT,
				       "line table of %zu bytes exceeds the %zu-byte limit",
				       len, TP_LINETABLE_MAX_BYTES);
	if (len && !table)
		return tp_error_create(TP_ERR_INVALID, "line table is NULL");
	lt_iter_init(&it, fmt, table, len, 0);
	while (lt_next(&it, &range))
		;
	if (it.malformed)
		return tp_error_create(TP_ERR_FORMAT,
				       "malformed line-table entry at byte %zu of %zu",
				       (size_t)(it.r.p - table), len);
	if (it.sloppy)
		return tp_error_create(TP_ERR_FORMAT,
				       lt_is_lnotab(fmt) || fmt == TP_LINETABLE_PEP626
				       ? "line table of odd length %zu"
				       : "stray bytes in line table of %zu bytes",
				       len);
	if (lt_is_lnotab(fmt) ? (uint64_t)it.addr > code_bytes
			      : (uint64_t)it.addr != code_bytes)
		return tp_error_create(TP_ERR_FORMAT,
				       "line table reaches offset %lld of %llu-byte code",
				       (long long)it.addr,
				       (unsigned long long)code_bytes);
	return NULL;
}
