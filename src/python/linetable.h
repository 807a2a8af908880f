/* SPDX-License-Identifier: MIT */
/*
 * CPython line-number tables: offset -> source line (and, 3.11+, columns).
 *
 * The table is the raw content of the code object's bytes object, copied out
 * of the target: `co_lnotab` (2.7-3.9) or `co_linetable` (3.10+).  It is
 * untrusted: every function here reads only [table, table + len), runs in
 * time linear in @len, and gives a defined answer for any bytes (a corrupt
 * table yields wrong lines, never a crash).  tp_linetable_validate() tells a
 * well-formed table from a corrupt one.
 *
 * Which offset to pass.  Every lookup takes a *byte* offset into the
 * code, exactly like CPython's PyCode_Addr2Line(co, addr):
 *
 *   version    frame field                      offset to pass
 *   2.7-3.9    PyFrameObject.f_lasti (bytes)    f_lasti
 *   3.10       PyFrameObject.f_lasti (units)    2 * f_lasti
 *   3.11-3.12  _PyInterpreterFrame.prev_instr   2 * (prev_instr - first_instr)
 *   3.13-3.14  _PyInterpreterFrame.instr_ptr    2 * (instr_ptr - first_instr)
 *
 * where first_instr is the code object's co_code_adaptive and the pointer
 * difference counts 2-byte code units.  tp_linetable_offset() does this
 * conversion.  A negative offset (f_lasti == -1, or prev_instr one unit
 * before the first instruction in a fresh 3.11/3.12 frame) yields
 * @firstlineno, as in CPython.
 */
#ifndef TRIPOD_PYTHON_LINETABLE_H
#define TRIPOD_PYTHON_LINETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum tp_linetable_format {
	/** co_lnotab, (byte increment, unsigned line increment) pairs: 2.x, 3.0-3.5. */
	TP_LINETABLE_LNOTAB_U8 = 1,
	/** co_lnotab, (byte increment, signed line increment) pairs: 3.6-3.9. */
	TP_LINETABLE_LNOTAB_S8,
	/** co_linetable of PEP 626, (byte length, signed line delta) pairs: 3.10. */
	TP_LINETABLE_PEP626,
	/** co_linetable location table with columns: 3.11-3.15. */
	TP_LINETABLE_LOCATIONS,
};

/**
 * Tables longer than this are refused by tp_linetable_validate() (TP_ERR_LIMIT);
 * callers should not read more than this many bytes of a table from a target.
 * The largest tables of real code are a few hundred KiB.
 */
#define TP_LINETABLE_MAX_BYTES ((size_t)64 << 20)

/**
 * The table format of CPython @major.@minor.  Returns TP_ERR_UNSUPPORTED for
 * versions without a known format (before 2.3, 3.15 and later).
 */
struct tp_error *tp_linetable_format_for_version(int major, int minor,
						 enum tp_linetable_format *ret);

/**
 * The byte offset to look up for a frame of format @fmt: @raw is f_lasti for
 * the lnotab formats (already in bytes) and 3.10 (in code units), or the
 * instruction pointer's index in code units for 3.11+ (see the table above).
 * Negative @raw stays negative.
 */
int64_t tp_linetable_offset(enum tp_linetable_format fmt, int64_t raw);

/**
 * The line CPython's PyCode_Addr2Line(co, @addr) returns, given the code
 * object's line table (@table, @len bytes) and co_firstlineno.
 *
 * @addr < 0 gives @firstlineno.  Lnotab formats (2.7-3.9) give the line of
 * the last line start at or before @addr, even past the end of the code.
 * 3.10+ give -1 when CPython has no line for @addr (artificial instructions)
 * or when @addr is past the range the table covers.  An unknown @fmt gives -1.
 */
int tp_linetable_addr2line(enum tp_linetable_format fmt, const uint8_t *table,
			   size_t len, int firstlineno, int64_t addr);

/** Source position of an instruction (3.11+); -1 means "unknown" (None). */
struct tp_linetable_position {
	int line;
	int end_line;
	int column;      /* 0-based, in UTF-8 bytes of the source line */
	int end_column;  /* exclusive */
};

/**
 * The position co_positions() reports for the instruction at byte offset
 * @addr of a 3.11+ location table (TP_LINETABLE_LOCATIONS): line, end line,
 * column and end column, each -1 when unknown.  @addr < 0 gives
 * (@firstlineno, @firstlineno, 0, 0) as PyCode_Addr2Location() does.
 * Returns false, with every field -1, when @addr is past the range the table
 * covers.  ret->line always equals tp_linetable_addr2line().
 */
bool tp_linetable_addr2location(const uint8_t *table, size_t len,
				int firstlineno, int64_t addr,
				struct tp_linetable_position *ret);

/**
 * Check that @table is a well-formed table of format @fmt for a code object
 * of @code_bytes bytes (2.7-3.10: len(co_code); 3.11+: 2 * the number of code
 * units).  Returns TP_ERR_FORMAT for a table CPython cannot have produced: odd
 * length of a pair format, line starts past the end of the code (lnotab),
 * coverage different from @code_bytes (3.10+), a truncated or malformed
 * entry (3.11+); TP_ERR_LIMIT when @len > TP_LINETABLE_MAX_BYTES;
 * TP_ERR_INVALID for an unknown @fmt.  Lookups work on any table; this only
 * tells whether their answers can be trusted.
 */
struct tp_error *tp_linetable_validate(enum tp_linetable_format fmt,
				       const uint8_t *table, size_t len,
				       uint64_t code_bytes);

#endif /* TRIPOD_PYTHON_LINETABLE_H */
