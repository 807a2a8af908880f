/* SPDX-License-Identifier: MIT */
/*
 * Whole-buffer reads and writes on file descriptors: loops over short
 * transfers and EINTR so that callers deal only with "done", "end of file"
 * or an errno.  Used by the gzip stream, the core writer and reader, and the
 * maps reader.
 */
#ifndef TRIPOD_CORE_FDIO_H
#define TRIPOD_CORE_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Write all @len bytes; 0 on success, else the errno of the failing write. */
int tp_fd_write_all(int fd, const void *data, size_t len);

/**
 * Read up to @len bytes, stopping early only at end of file; the count read
 * goes to *@ret.  0 on success (a short count means end of file), else errno.
 */
int tp_fd_read_full(int fd, void *buf, size_t len, size_t *ret);

/** As tp_fd_read_full(), at file offset @off (pread). */
int tp_fd_pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *ret);

/**
 * Read from @fd until end of file into a new NUL-terminated buffer (free()
 * it), its length (without the NUL) in *@ret_len.  More than @max bytes
 * gives EFBIG.  0 on success, else an errno (ENOMEM on allocation failure).
 */
int tp_fd_read_all(int fd, size_t max, char **ret, size_t *ret_len);

#endif /* TRIPOD_CORE_FDIO_H */
