/* SPDX-License-Identifier: MIT */
/*
 * Test helper: the test process describes itself as a core (its own maps,
 * copies of some of its own memory, its auxv), as tripod-snap will describe
 * a target.  Everything is real data read from /proc/self; only the
 * registers are made up.
 */
#ifndef TRIPOD_TESTS_CORE_SELFCORE_H
#define TRIPOD_TESTS_CORE_SELFCORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/corewrite.h"
#include "core/maps.h"

#define SELFCORE_NTHREADS 3

/* A global of this binary: its mapping (.data) is copied whole. */
extern unsigned char selfcore_data[3 * 4096 + 123];

struct selfcore {
	struct tp_maps maps;
	char exe[PATH_MAX];
	uint64_t page;
	/*
	 * 4 read-write pages between PROT_NONE guards, all non-zero.  The
	 * core keeps pages 0-2 (as two adjacent segments: [0, 2) and [2, 4)
	 * with only page 2 saved), so page 3 reads as zeros.
	 */
	unsigned char *anon;
	struct tp_core_segment *segs;
	size_t nsegs;
	struct tp_core_file *files;
	size_t nfiles;
	struct tp_core_thread threads[SELFCORE_NTHREADS];
	char *auxv;
	size_t auxv_len;
	struct tp_core_kv kv[8];
	struct tp_core_desc desc;
};

void selfcore_init(struct selfcore *sc);
void selfcore_deinit(struct selfcore *sc);

/** Write @d as a plain core / a gzip'd core to @path (asserts success);
 * the plain writer returns the file size. */
uint64_t selfcore_write_plain(const struct tp_core_desc *d, const char *path);
void selfcore_write_gz(const struct tp_core_desc *d, const char *path);

/** Read our own memory through /proc/self/mem (no ASan redzone trouble). */
void self_mem_read(uint64_t addr, void *buf, size_t len);

/** The segment of @sc that contains @addr (asserts there is one). */
const struct tp_core_segment *selfcore_segment(const struct selfcore *sc,
					       uint64_t addr);

/** Make a fresh temporary directory; remove it (and its files). */
char *selfcore_tmpdir(void);
void selfcore_rmdir(char *dir);
/** "@dir/@name", malloc'd. */
char *selfcore_path(const char *dir, const char *name);

#endif
