/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the gzip reader (src/core/gz.c), the whole-stream inflater
 * with and without the check that bounds it by what its content declares.
 * Seeds: fixtures/fuzz/gz/, gzip and BGZF streams of real snapshots.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gz.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Declares the first 8 bytes of the output, little-endian, as its size. */
static struct tp_error *check(void *arg, const void *out, size_t len,
			      uint64_t *want)
{
	(void)arg;
	if (len >= 1 && ((const uint8_t *)out)[0] == 0xff)
		return tp_error_create(TP_ERR_FORMAT, "refused");
	if (len >= 8) {
		uint64_t w;
		memcpy(&w, out, 8);
		*want = w % (1u << 22);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/input.gz", fuzz_scratch());
	fuzz_write_file(path, data, size);
	for (int checked = 0; checked < 2; checked++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			abort();
		void *out = NULL;
		size_t len = 0;
		struct tp_error *err =
			checked ? tp_gz_inflate_fd_checked(fd, 1u << 24, check,
							   NULL, &out, &len)
				: tp_gz_inflate_fd(fd, 1u << 24, &out, &len);
		close(fd);
		tp_error_destroy(err);
		if (!err) {
			volatile uint8_t x = 0;
			for (size_t i = 0; i < len; i += 4096)
				x ^= ((uint8_t *)out)[i];
			(void)x;
		}
		free(out);
	}
	(void)tp_gz_is_gzip(data, size);
	return 0;
}
