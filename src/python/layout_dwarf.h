/* SPDX-License-Identifier: MIT */
/* Filling the layout record from DWARF (libdw). */
#ifndef TRIPOD_PYTHON_LAYOUT_DWARF_H
#define TRIPOD_PYTHON_LAYOUT_DWARF_H

#include <elfutils/libdw.h>

#include "common/error.h"
#include "python/layout.h"

/**
 * Fill @ret from the type information in @dw (and its alternate file, if
 * any).  Entries whose types or members do not exist in this build stay
 * TP_LAYOUT_ABSENT; it is the caller's business to decide which entries its
 * version needs.  Errors only for malformed DWARF or OOM.
 */
struct tp_error *tp_layout_from_dwarf(Dwarf *dw, struct tp_layout *ret);

#endif /* TRIPOD_PYTHON_LAYOUT_DWARF_H */
