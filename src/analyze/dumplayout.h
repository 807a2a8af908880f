/* SPDX-License-Identifier: MIT */
#ifndef TRIPOD_ANALYZE_DUMPLAYOUT_H
#define TRIPOD_ANALYZE_DUMPLAYOUT_H

#include <stdio.h>

#include "common/error.h"

/** Print the layout record from the DWARF of @path to @out. */
struct tp_error *tp_dump_layout(const char *path, const char *debuginfo_path,
				FILE *out);

#endif
