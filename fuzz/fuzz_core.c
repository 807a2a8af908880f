/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the snapshot/core reader (src/core/coreread.c) on bytes
 * named like a core: a plain ELF core, a BGZF .core.gz (read member by
 * member on demand), a gzip stream that is not BGZF (inflated as a checked
 * stream).  Seeds: fixtures/fuzz/core/, cores and snapshots of real
 * processes.
 */
#include "config.h"

#include <stdio.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/input.core", fuzz_scratch());
	fuzz_write_file(path, data, size);
	struct tp_core *core;
	struct tp_error *err = tp_core_open(path, &core);
	if (err) {
		tp_error_destroy(err);
		return 0;
	}
	fuzz_exercise_core(core);
	tp_core_destroy(core);
	return 0;
}
