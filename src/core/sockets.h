/* SPDX-License-Identifier: MIT */
/*
 * The target's sockets as the kernel saw them in the freeze: the note
 * tripod-snap writes (name "TRIPOD", type TP_NOTE_SOCKETS_TYPE; its bytes
 * are laid out in doc/snapshot-format.md, "Sockets") and tripod-analyze
 * reads.  A socket object's repr prints its local and peer addresses
 * (socket.py: getsockname(), getpeername()), which are kernel state, not
 * memory: for each file descriptor that is a socket, the raw struct
 * sockaddr of both calls, or the errno each failed with.
 */
#ifndef TRIPOD_CORE_SOCKETS_H
#define TRIPOD_CORE_SOCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strbuf.h"

#define TP_NOTE_SOCKETS_TYPE 0x54500003u

/** Caps a reader enforces (and a writer keeps to). */
#define TP_SOCKETS_MAX 65536
#define TP_SOCKETS_MAX_ADDR 128        /* sizeof(struct sockaddr_storage) */

struct tp_socket_addr {
	int err;                   /* errno of the call, 0: it succeeded */
	uint32_t len;              /* bytes of addr the call returned */
	unsigned char addr[TP_SOCKETS_MAX_ADDR];
};

struct tp_socket {
	int fd;
	struct tp_socket_addr name;    /* getsockname() */
	struct tp_socket_addr peer;    /* getpeername() */
};

struct tp_sockets {
	struct tp_socket *v;       /* by ascending fd */
	size_t n;
	/* Sockets were left out (more than the scan's cap, or replaced
	 * while it ran).  A descriptor missing from v is unknown either
	 * way: it may have become a socket after the listing. */
	bool truncated;
};

/** Append the note's bytes for @s to @out. */
void tp_sockets_encode(const struct tp_sockets *s, struct tp_strbuf *out);

/**
 * Parse the note's bytes.  TP_ERR_FORMAT naming what is wrong when they do
 * not follow the format or pass a cap; TP_ERR_UNSUPPORTED for a newer
 * version.  On error @ret holds nothing to free.
 */
struct tp_error *tp_sockets_decode(const void *data, size_t len,
				   struct tp_sockets *ret);

/** The record of descriptor @fd, NULL when there is none. */
const struct tp_socket *tp_sockets_find(const struct tp_sockets *s, int fd);

void tp_sockets_deinit(struct tp_sockets *s);

#endif /* TRIPOD_CORE_SOCKETS_H */
