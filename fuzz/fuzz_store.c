/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the block store (src/core/store.c) under the core reader.
 * A real snapshot directory (fixtures/fuzz/store/snaps: an index and its
 * blocks) is copied to scratch once.  An input that starts like a block
 * ("TRIPODBK") replaces the block the index names first; any other input
 * is an index in that directory.  The snapshot is then opened and read as
 * tripod-analyze reads it.  Seeds: fixtures/fuzz/store/seeds/, the index
 * and blocks of that snapshot.
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

#ifndef FIXTURES_DIR
#error FIXTURES_DIR
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], index_path[300], first_block[1600];
static uint8_t *index_bytes;
static size_t index_size;

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		abort();
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		abort();
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/snaps", fuzz_scratch());
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp -r '%s/fuzz/store/snaps' '%s'",
		 FIXTURES_DIR, dir);
	if (system(cmd) != 0)
		abort();
	snprintf(index_path, sizeof(index_path), "%s/snapshot-000001.tripod",
		 dir);
	index_bytes = slurp(index_path, &index_size);
	/* the block the first segment's data starts with: the first block
	 * file found is as good as any for a target that replaces it */
	snprintf(cmd, sizeof(cmd), "%s/blocks", dir);
	DIR *d = opendir(cmd);
	struct dirent *de;
	while (d && (de = readdir(d)) && !first_block[0]) {
		if (de->d_name[0] == '.')
			continue;
		char sub[1300];
		snprintf(sub, sizeof(sub), "%s/%s", cmd, de->d_name);
		DIR *s = opendir(sub);
		struct dirent *be;
		while (s && (be = readdir(s)))
			if (be->d_name[0] != '.') {
				snprintf(first_block, sizeof(first_block),
					 "%s/%s", sub, be->d_name);
				break;
			}
		if (s)
			closedir(s);
	}
	if (d)
		closedir(d);
	if (!first_block[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		setup();
	bool block = size >= 8 && !memcmp(data, "TRIPODBK", 8);
	size_t saved_len = 0;
	uint8_t *saved = NULL;
	if (block) {
		saved = slurp(first_block, &saved_len);
		fuzz_write_file(first_block, data, size);
		fuzz_write_file(index_path, index_bytes, index_size);
	} else {
		fuzz_write_file(index_path, data, size);
	}
	struct tp_core *core;
	struct tp_error *err = tp_core_open(index_path, &core);
	if (!err) {
		fuzz_exercise_core(core);
		tp_core_destroy(core);
	}
	tp_error_destroy(err);
	if (block) {
		fuzz_write_file(first_block, saved, saved_len);
		free(saved);
	}
	return 0;
}
