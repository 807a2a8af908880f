/* SPDX-License-Identifier: MIT */
/*
 * Where the layout record comes from.  In order of trust:
 *
 *  1. the DWARF of the interpreter module (exact, complete);
 *  2. _Py_DebugOffsets in the snapshot (3.13+: exact, but partial), the
 *     rest from the built-in table of that minor version;
 *  3. the built-in table of the detected minor version (generated from a
 *     reference build's DWARF: right as long as this build lays out its
 *     structures like the reference, which CPython keeps within a minor
 *     version for the structures tripod reads).
 */
#ifndef TRIPOD_PYTHON_LAYOUT_SOURCE_H
#define TRIPOD_PYTHON_LAYOUT_SOURCE_H

#include <stdbool.h>

#include "common/error.h"
#include "python/layout.h"
#include "python/layout_debugoffsets.h"
#include "python/layout_table.h"
#include "python/target.h"

enum tp_layout_pref {
	TP_LAYOUT_AUTO = 0,      /* the order above */
	TP_LAYOUT_DWARF,         /* DWARF only */
	TP_LAYOUT_DEBUG_OFFSETS, /* _Py_DebugOffsets, the rest from DWARF if
				    there is any, else from the table */
	TP_LAYOUT_TABLE,         /* the built-in table only */
};

/** "auto", "dwarf", "debug-offsets", "table" → @ret; false if unknown. */
bool tp_layout_pref_parse(const char *s, enum tp_layout_pref *ret);

struct tp_layout_choice {
	/*
	 * "dwarf", "table", "debug-offsets+table", "debug-offsets+dwarf", or
	 * "debug-offsets" (nothing to fill the rest: the layout is partial).
	 */
	const char *source;
	const struct tp_layout_table *table;   /* the table used, or NULL */
	struct tp_debug_offsets_info debug_offsets; /* when they were used */
	/*
	 * Why the better sources were not used, one clause each ("no debug
	 * info for X (build-id Y), and no built-in layout for Python 3.13
	 * free-threaded builds"), "" when none was skipped.  For the message
	 * of a caller that finds the chosen layout incomplete.
	 */
	char skipped[1024];
};

/**
 * Fill @ret with the layout of Python @major.@minor in @target, following
 * @pref, and say in @choice where it came from.  When no source is
 * available the error (TP_ERR_NODEBUG) names the version and, for each
 * source, what is missing: "no debug info for /usr/bin/python3.11
 * (build-id ...), no _Py_DebugOffsets before 3.13, and no built-in layout
 * for Python 3.5: ...".  The caller still checks that the entries its
 * version needs are present.
 */
struct tp_error *tp_layout_choose(struct tp_target *target, unsigned major,
				  unsigned minor, enum tp_layout_pref pref,
				  struct tp_layout *ret,
				  struct tp_layout_choice *choice);

#endif /* TRIPOD_PYTHON_LAYOUT_SOURCE_H */
