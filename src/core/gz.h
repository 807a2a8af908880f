/* SPDX-License-Identifier: MIT */
/*
 * The snapshot's gzip stream.
 *
 * Written as a series of independent gzip members ("blocks"), each holding
 * at most TP_GZ_BLOCK_SIZE bytes of uncompressed data, in the BGZF manner:
 * every member's header carries an extra subfield 'B','C' (SLEN 2) with the
 * member's total compressed size minus one, so a reader can hop from block
 * to block without inflating.  The stream ends with an empty member.  The
 * result is one ordinary gzip file: `gunzip` and zlib's gzread read it.
 *
 * The reader accepts any gzip stream (one member or many, BGZF or not, as
 * made by gzip(1) or pigz), and checks every member's CRC-32 and length.
 */
#ifndef TRIPOD_CORE_GZ_H
#define TRIPOD_CORE_GZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TP_GZ_BLOCK_SIZE 65280  /* uncompressed bytes per block */

struct tp_gzwriter;

/**
 * Start a stream written to file descriptor @fd (not closed by the writer).
 * @level is a zlib level (1 fast .. 9 small; 0 means the default, 1).
 */
struct tp_error *tp_gzwriter_create(int fd, int level,
				    struct tp_gzwriter **ret);
/** Append @len bytes of uncompressed data. */
struct tp_error *tp_gzwriter_write(struct tp_gzwriter *w, const void *data,
				   size_t len);
/** Flush the last block and the end-of-stream marker. */
struct tp_error *tp_gzwriter_finish(struct tp_gzwriter *w);
/** Free the writer (accepts NULL); does not finish the stream. */
void tp_gzwriter_destroy(struct tp_gzwriter *w);
/** Total uncompressed and compressed bytes written so far. */
uint64_t tp_gzwriter_in_bytes(const struct tp_gzwriter *w);
uint64_t tp_gzwriter_out_bytes(const struct tp_gzwriter *w);

/** True if the first bytes @head (at least 2) are the gzip magic. */
bool tp_gz_is_gzip(const void *head, size_t len);

/**
 * Inflate the whole gzip stream read from @fd (from its current position)
 * into a new buffer of *@ret_len bytes, stored in *@ret (free() it).  A
 * stream that would inflate past @max_len bytes, a CRC or length mismatch,
 * trailing garbage, or a truncated stream give a TP_ERR_FORMAT error.
 */
struct tp_error *tp_gz_inflate_fd(int fd, uint64_t max_len, void **ret,
				  size_t *ret_len);

/**
 * Told what has been inflated so far (@out, @len bytes, growing from one
 * call to the next), a check may refuse it (return an error, which ends
 * the inflation: a gzip bomb of zeros is refused at its first megabyte,
 * not at its last) or set *@want, the number of bytes the content
 * declares it holds (0: not known yet): inflation stops there.
 */
typedef struct tp_error *tp_gz_check_fn(void *arg, const void *out,
					size_t len, uint64_t *want);

/**
 * tp_gz_inflate_fd() with a check called after each step of output.  When
 * the check set *want, the result is the first *want bytes (what follows
 * them is not read: no CRC of the last member then), or fewer when the
 * stream ends first.
 */
struct tp_error *tp_gz_inflate_fd_checked(int fd, uint64_t max_len,
					  tp_gz_check_fn *check, void *arg,
					  void **ret, size_t *ret_len);

#endif /* TRIPOD_CORE_GZ_H */
