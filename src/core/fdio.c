/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/fdio.h"

int tp_fd_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)     /* not supposed to happen for len > 0 */
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int tp_fd_read_full(int fd, void *buf, size_t len, size_t *ret)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*ret = got;
			return errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret = got;
	return 0;
}

int tp_fd_pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *ret)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*ret = got;
			return errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*ret = got;
	return 0;
}

int tp_fd_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 16384, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return ENOMEM;
	for (;;) {
		if (cap - len < 4096) {
			if (cap > SIZE_MAX / 2) {
				free(buf);
				return EFBIG;
			}
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		/* Leave one byte for the NUL. */
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return EFBIG;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}
