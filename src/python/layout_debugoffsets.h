/* SPDX-License-Identifier: MIT */
/*
 * The layout from _Py_DebugOffsets (CPython 3.13-3.15): the first member of
 * _PyRuntime, a block of uint64_t offsets that CPython keeps for
 * out-of-process debuggers.  It covers part of the layout record (the
 * runtime, interpreter and thread lists, interpreter frames, the code object
 * and a few object types); the caller fills the rest from DWARF or a
 * built-in table.
 */
#ifndef TRIPOD_PYTHON_LAYOUT_DEBUGOFFSETS_H
#define TRIPOD_PYTHON_LAYOUT_DEBUGOFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "core/memsrc.h"
#include "python/layout.h"

struct tp_debug_offsets_info {
	uint64_t version;       /* PY_VERSION_HEX of the build that wrote it */
	bool free_threaded;
	unsigned covered;       /* entries of the layout record it gave */
};

/** How many bytes tp_layout_from_debug_offsets() wants at most (from
 *  &_PyRuntime): the size of the largest block it knows. */
size_t tp_debug_offsets_size(void);

/** sizeof(_Py_DebugOffsets) of CPython @major.@minor, 0 if unknown. */
size_t tp_debug_offsets_block_size(unsigned major, unsigned minor);

/**
 * Decode the _Py_DebugOffsets block at the start of @buf (@len bytes, in the
 * target's byte order) into @ret: every entry it covers is set, every other
 * entry is absent.  Only blocks of the minor versions defined in
 * layout_debugoffsets.c are understood (the block's own layout changes with
 * each minor version).  Errors: TP_ERR_FORMAT (no "xdebugpy" cookie, too
 * short, an offset outside its structure), TP_ERR_UNSUPPORTED (a version
 * whose block tripod does not know).
 */
struct tp_error *
tp_layout_from_debug_offsets(const void *buf, size_t len,
			     struct tp_debug_offsets_info *info,
			     struct tp_layout *ret);

/** Read the block at @runtime (= &_PyRuntime) through @mem and decode it. */
struct tp_error *
tp_layout_read_debug_offsets(struct tp_memsrc *mem, uint64_t runtime,
			     struct tp_debug_offsets_info *info,
			     struct tp_layout *ret);

#endif /* TRIPOD_PYTHON_LAYOUT_DEBUGOFFSETS_H */
