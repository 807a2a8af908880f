/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fdio.h"

/* A temporary file holding @len bytes of a pattern, open for reading. */
static int temp_with(size_t len)
{
	char path[] = "/tmp/tp-fdio-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	cr_assert_geq(fd, 0);
	unlink(path);
	char *buf = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	cr_assert_eq(tp_fd_write_all(fd, buf, len), 0);
	free(buf);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

Test(fdio, read_all_limits)
{
	static const struct {
		size_t len, max;
		int want;
	} cases[] = {
		{ 0, 0, 0 },          { 15000, 16000, 0 }, { 16000, 16000, 0 },
		{ 16001, 16000, EFBIG }, { 100000, 100000, 0 },
		{ 100000, 99999, EFBIG }, { 50, 10, EFBIG },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = temp_with(cases[i].len);
		char *buf = NULL;
		size_t len = 0;
		int e = tp_fd_read_all(fd, cases[i].max, &buf, &len);
		cr_assert_eq(e, cases[i].want, "len %zu max %zu: %s",
			     cases[i].len, cases[i].max, strerror(e));
		if (!e) {
			cr_assert_eq(len, cases[i].len);
			cr_assert_eq(buf[len], '\0');
			if (len)
				cr_assert_eq(buf[len - 1],
					     (char)('a' + (len - 1) % 26));
			free(buf);
		}
		close(fd);
	}
}

Test(fdio, short_reads_at_eof)
{
	int fd = temp_with(1000);
	char buf[2000];
	size_t got;
	cr_assert_eq(tp_fd_pread_full(fd, buf, sizeof(buf), 990, &got), 0);
	cr_assert_eq(got, 10);
	cr_assert_eq(buf[0], (char)('a' + 990 % 26));
	cr_assert_eq(tp_fd_pread_full(fd, buf, 10, 5000, &got), 0);
	cr_assert_eq(got, 0);
	cr_assert_eq(tp_fd_read_full(fd, buf, sizeof(buf), &got), 0);
	cr_assert_eq(got, 1000);
	close(fd);
	cr_assert_eq(tp_fd_read_full(fd, buf, 10, &got), EBADF);
}

Test(fdio, write_errors)
{
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		cr_skip_test("/dev/full: %s", strerror(errno));
	cr_assert_eq(tp_fd_write_all(fd, "x", 1), ENOSPC);
	close(fd);
	cr_assert_eq(tp_fd_write_all(fd, "x", 1), EBADF);
}
