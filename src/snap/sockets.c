/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "snap/sockets.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_getfd(int pidfd, int fd)
{
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

static int by_fd(const void *a, const void *b)
{
	int x = ((const struct tp_socket_listed *)a)->fd;
	int y = ((const struct tp_socket_listed *)b)->fd;
	return (x > y) - (x < y);
}

/* The inode of "socket:[INODE]", 0 when @link names no socket. */
static uint64_t socket_inode(const char *link)
{
	unsigned long long ino;
	char end;
	if (sscanf(link, "socket:[%llu%c", &ino, &end) != 2 || end != ']')
		return 0;
	return ino;
}

struct tp_error *tp_socket_scan_begin(pid_t pid, struct tp_socket_scan *s)
{
	char path[64];
	memset(s, 0, sizeof(*s));
	s->pidfd = -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char link[64], *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end || end == e->d_name || fd < 0 || fd > INT32_MAX)
			continue;
		ssize_t n = readlinkat(dirfd(d), e->d_name, link,
				       sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		uint64_t ino = socket_inode(link);
		if (!ino)
			continue;
		if (s->n == TP_SOCKETS_SCAN_MAX) {
			s->truncated = true;
			break;
		}
		if (s->n == cap) {
			cap = cap ? 2 * cap : 16;
			struct tp_socket_listed *v = realloc(s->listed,
							     cap * sizeof(*v));
			if (!v) {
				closedir(d);
				tp_socket_scan_deinit(s);
				return &tp_error_nomem;
			}
			s->listed = v;
		}
		s->listed[s->n++] = (struct tp_socket_listed){ (int)fd, ino };
	}
	closedir(d);
	if (!s->n && !s->truncated)
		return NULL;
	if ((s->pidfd = pidfd_open(pid)) < 0) {
		/* no pidfds (before Linux 5.6): no note */
		tp_socket_scan_deinit(s);
		return NULL;
	}
	qsort(s->listed, s->n, sizeof(*s->listed), by_fd);
	return NULL;
}

/* One call's answer, as the kernel gave it. */
static void ask(int fd, int (*call)(int, struct sockaddr *, socklen_t *),
		struct tp_socket_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (call(fd, (struct sockaddr *)&ss, &len) < 0) {
		a->err = errno ? errno : EIO;
		a->len = 0;
		return;
	}
	a->err = 0;
	a->len = len < sizeof(a->addr) ? len : sizeof(a->addr);
	memcpy(a->addr, &ss, a->len);
}

struct tp_error *tp_socket_scan_read(struct tp_socket_scan *s,
				     struct tp_sockets *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (s->pidfd < 0)
		return NULL;
	ret->v = calloc(s->n ? s->n : 1, sizeof(*ret->v));
	if (!ret->v)
		return &tp_error_nomem;
	ret->truncated = s->truncated;
	for (size_t i = 0; i < s->n; i++) {
		int fd = pidfd_getfd(s->pidfd, s->listed[i].fd);
		struct stat st;
		if (fd < 0) {
			ret->truncated = true;
			continue;
		}
		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    (uint64_t)st.st_ino != s->listed[i].inode) {
			/* closed and opened again since the listing */
			ret->truncated = true;
			close(fd);
			continue;
		}
		struct tp_socket *k = &ret->v[ret->n++];
		k->fd = s->listed[i].fd;
		ask(fd, getsockname, &k->name);
		ask(fd, getpeername, &k->peer);
		close(fd);
	}
	return NULL;
}

void tp_socket_scan_deinit(struct tp_socket_scan *s)
{
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	free(s->listed);
	s->listed = NULL;
	s->n = 0;
}
