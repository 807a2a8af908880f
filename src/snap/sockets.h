/* SPDX-License-Identifier: MIT */
/*
 * The target's sockets, for the sockets note (core/sockets.h): which
 * descriptors are sockets is listed before the freeze (/proc/PID/fd); in
 * the freeze each is taken with pidfd_getfd(2), checked to be the same
 * socket (its inode), and asked getsockname() and getpeername().  A
 * descriptor that became a socket in between is missing from the note
 * (its repr is then unknown, never wrong).
 */
#ifndef TRIPOD_SNAP_SOCKETS_H
#define TRIPOD_SNAP_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/sockets.h"

/** Sockets asked in one freeze at most: each costs five system calls. */
#define TP_SOCKETS_SCAN_MAX 1024

struct tp_socket_listed {
	int fd;
	uint64_t inode;            /* of "socket:[INODE]" */
};

struct tp_socket_scan {
	int pidfd;                 /* -1: no pidfd_getfd() here */
	struct tp_socket_listed *listed;   /* by ascending fd */
	size_t n;
	bool truncated;            /* more sockets than TP_SOCKETS_SCAN_MAX */
};

/**
 * Before the freeze: list the socket descriptors of @pid (at most
 * TP_SOCKETS_SCAN_MAX; truncated when there were more).  A process
 * whose descriptors cannot be listed or taken has none listed: the note
 * is then left out.  Errors: nomem only.
 */
struct tp_error *tp_socket_scan_begin(pid_t pid, struct tp_socket_scan *s);

/**
 * In the freeze: the addresses of each listed socket, into @ret (the
 * sockets that are still the same socket); @ret->truncated when any was
 * left out.  Errors: nomem only.
 */
struct tp_error *tp_socket_scan_read(struct tp_socket_scan *s,
				     struct tp_sockets *ret);

void tp_socket_scan_deinit(struct tp_socket_scan *s);

#endif /* TRIPOD_SNAP_SOCKETS_H */
