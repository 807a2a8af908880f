/* SPDX-License-Identifier: MIT */
/* What the core-level fuzz targets share (fuzz/). */
#ifndef TRIPOD_FUZZ_COMMON_H
#define TRIPOD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "core/coreread.h"

/**
 * A private scratch directory for this fuzzer process (made once, removed
 * at exit).
 */
const char *fuzz_scratch(void);

/** Write @data to @path (replacing it); aborts when it cannot. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/**
 * Everything a reader of @core would ask: notes, threads, files,
 * segments, libelf's view, and reads of memory at the ends and middle of
 * every segment, then the export of the whole core to a sink that
 * discards it.  Errors are expected (the input is garbage); crashes,
 * leaks, hangs and sanitizer reports are the findings.
 */
void fuzz_exercise_core(struct tp_core *core);

#endif /* TRIPOD_FUZZ_COMMON_H */
