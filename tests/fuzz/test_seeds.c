/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets of fuzz/ replayed on their seed corpora, in every build
 * (no clang, no libFuzzer needed): each input of fixtures/fuzz/SEEDS/ --
 * snapshots of real processes, line tables of real code objects, and any
 * input that once made a target fail, kept there once fixed -- is handed
 * to the target's LLVMFuzzerTestOneInput once.  Built once per target
 * (FUZZ_TARGET, FUZZ_NAME, FUZZ_SEEDS); under ASan+UBSan (the CI's second pass) a
 * memory error, undefined behaviour or a leak aborts the test, so what a
 * fuzz run found stays fixed.  A crash or a hang (the suite's timeout) is
 * a failure; so is a seed directory that holds nothing.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_TARGET
#error FUZZ_TARGET: the name of the target
#endif
#ifndef FUZZ_NAME
#error FUZZ_NAME: the name of the test, an identifier
#endif
#ifndef FUZZ_SEEDS
#error FUZZ_SEEDS: its seed directory under fixtures/fuzz
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are not seeds (fuzz/run.sh: -max_len). */
#define MAX_SEED (1u << 20)

TestSuite(fuzz_seeds, .timeout = 300);

/* one more level, so that FUZZ_NAME is expanded before Test() pastes it */
#define SEEDS_TEST(suite, name) Test(suite, name)

SEEDS_TEST(fuzz_seeds, FUZZ_NAME)
{
	char dirpath[512];
	snprintf(dirpath, sizeof(dirpath), "%s/fuzz/%s", FIXTURES_DIR,
		 FUZZ_SEEDS);
	DIR *dir = opendir(dirpath);
	cr_assert_not_null(dir, "%s", dirpath);
	unsigned replayed = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		char path[1024];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dirpath, de->d_name);
		if (de->d_name[0] == '.' || stat(path, &st) ||
		    !S_ISREG(st.st_mode))
			continue;
		cr_assert_leq(st.st_size, MAX_SEED, "%s: not a seed", path);
		FILE *f = fopen(path, "rb");
		cr_assert_not_null(f, "%s", path);
		uint8_t *buf = malloc((size_t)st.st_size + 1);
		cr_assert_not_null(buf);
		cr_assert_eq(fread(buf, 1, (size_t)st.st_size, f),
			     (size_t)st.st_size, "%s", path);
		fclose(f);
		cr_log_info("%s: %s", FUZZ_TARGET, de->d_name);
		cr_assert_eq(LLVMFuzzerTestOneInput(buf, (size_t)st.st_size),
			     0, "%s", path);
		free(buf);
		replayed++;
	}
	closedir(dir);
	cr_assert_gt(replayed, 0, "no seeds in %s", dirpath);
}
