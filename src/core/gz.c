/* SPDX-License-Identifier: MIT */
/*
 * BGZF-style gzip writer and a general gzip reader.
 *
 * Writer.  Each block of at most TP_GZ_BLOCK_SIZE input bytes becomes one
 * complete gzip member:
 *
 *   1f 8b 08 04  mtime(4)=0  xfl=0  os=ff  xlen=6(2)
 *   'B' 'C' slen=2(2) bsize(2)      total member size - 1
 *   raw deflate data
 *   crc32(4) isize(4)
 *
 * 65280 input bytes deflate to at most deflateBound() = 65305 bytes even
 * when incompressible (zlib falls back to stored blocks), so a member never
 * exceeds the 64 KiB that the 16-bit BSIZE can describe; the assertion in
 * block_flush() keeps that promise honest.  The stream ends with the
 * canonical empty BGZF member, which also tells a BGZF reader that the file
 * was not truncated.
 *
 * Once a write fails the writer is dead: later calls return an error again
 * instead of writing a stream with a hole in it.
 *
 * Reader.  zlib's inflate with windowBits 15+16 decodes one gzip member,
 * header flags and all, and checks its CRC-32 and ISIZE.  We loop over
 * members ourselves: after a member ends, the next bytes must be another
 * gzip magic or the end of the file.  Anything else is trailing garbage
 * (gzip(1) warns and ignores it; a snapshot with garbage after it is
 * damaged, so we refuse it).  End of file inside a member is truncation.
 *
 * A plain multi-member gzip stream cut exactly between two members is
 * indistinguishable from a shorter valid stream.  A BGZF stream is not:
 * when the first member carries the 'BC' subfield we require the stream to
 * end with an empty member, the end-of-stream marker our writer (and
 * every BGZF writer) puts last, and report its absence as truncation.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/fdio.h"
#include "core/gz.h"

#define BGZF_HEADER_SIZE 18
#define BGZF_TRAILER_SIZE 8
#define BGZF_MAX_MEMBER 65536

static const unsigned char bgzf_eof[28] = {
	0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
	0x06, 0x00, 0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

struct tp_gzwriter {
	int fd;
	bool dead;              /* a write failed */
	bool finished;
	z_stream zs;
	uint64_t in_bytes, out_bytes;
	size_t buf_len;
	unsigned char buf[TP_GZ_BLOCK_SIZE];
	unsigned char out[BGZF_MAX_MEMBER];
};

static void put_le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

struct tp_error *tp_gzwriter_create(int fd, int level,
				    struct tp_gzwriter **ret)
{
	if (level == 0)
		level = 1;
	if (level < 1 || level > 9)
		return tp_error_create(TP_ERR_INVALID,
				       "invalid gzip level %d (1..9)", level);
	struct tp_gzwriter *w = calloc(1, sizeof(*w));
	if (!w)
		return &tp_error_nomem;
	w->fd = fd;
	/* Raw deflate (negative window bits): we write the gzip framing. */
	int r = deflateInit2(&w->zs, level, Z_DEFLATED, -15, 8,
			     Z_DEFAULT_STRATEGY);
	if (r != Z_OK) {
		free(w);
		return r == Z_MEM_ERROR ? &tp_error_nomem
			: tp_error_create(TP_ERR_OTHER,
					  "deflateInit2 failed (%d)", r);
	}
	*ret = w;
	return NULL;
}

static struct tp_error *out_write(struct tp_gzwriter *w, const void *data,
				  size_t len)
{
	int e = tp_fd_write_all(w->fd, data, len);
	if (e) {
		w->dead = true;
		return tp_error_os(e, NULL, "cannot write gzip stream");
	}
	w->out_bytes += len;
	return NULL;
}

static struct tp_error *block_flush(struct tp_gzwriter *w)
{
	unsigned char *out = w->out;
	size_t room = sizeof(w->out) - BGZF_HEADER_SIZE - BGZF_TRAILER_SIZE;

	assert(deflateBound(&w->zs, TP_GZ_BLOCK_SIZE) <= room);
	int r = deflateReset(&w->zs);
	if (r != Z_OK)
		return tp_error_create(TP_ERR_OTHER, "deflateReset failed (%d)",
				       r);
	w->zs.next_in = w->buf;
	w->zs.avail_in = (uInt)w->buf_len;
	w->zs.next_out = out + BGZF_HEADER_SIZE;
	w->zs.avail_out = (uInt)room;
	r = deflate(&w->zs, Z_FINISH);
	if (r != Z_STREAM_END)
		return tp_error_create(TP_ERR_OTHER,
				       "deflate did not finish a block (%d)", r);
	size_t clen = room - w->zs.avail_out;
	size_t total = BGZF_HEADER_SIZE + clen + BGZF_TRAILER_SIZE;

	memcpy(out, bgzf_eof, 16);    /* magic, flags, mtime, xfl, os, 'BC' */
	put_le16(out + 16, (unsigned)(total - 1));
	uint32_t crc = (uint32_t)crc32(0L, w->buf, (uInt)w->buf_len);
	put_le32(out + BGZF_HEADER_SIZE + clen, crc);
	put_le32(out + BGZF_HEADER_SIZE + clen + 4, (uint32_t)w->buf_len);

	struct tp_error *err = out_write(w, out, total);
	if (err)
		return err;
	w->buf_len = 0;
	return NULL;
}

static struct tp_error *check_alive(const struct tp_gzwriter *w)
{
	if (w->dead)
		return tp_error_create(TP_ERR_INVALID,
				       "gzip stream is unusable after an earlier write error");
	if (w->finished)
		return tp_error_create(TP_ERR_INVALID,
				       "gzip stream already finished");
	return NULL;
}

struct tp_error *tp_gzwriter_write(struct tp_gzwriter *w, const void *data,
				   size_t len)
{
	struct tp_error *err = check_alive(w);
	if (err)
		return err;
	const unsigned char *p = data;
	while (len) {
		size_t n = sizeof(w->buf) - w->buf_len;
		if (n > len)
			n = len;
		memcpy(w->buf + w->buf_len, p, n);
		w->buf_len += n;
		w->in_bytes += n;
		p += n;
		len -= n;
		if (w->buf_len == sizeof(w->buf)) {
			err = block_flush(w);
			if (err)
				return err;
		}
	}
	return NULL;
}

struct tp_error *tp_gzwriter_finish(struct tp_gzwriter *w)
{
	struct tp_error *err = check_alive(w);
	if (err)
		return err;
	if (w->buf_len) {
		err = block_flush(w);
		if (err)
			return err;
	}
	err = out_write(w, bgzf_eof, sizeof(bgzf_eof));
	if (err)
		return err;
	w->finished = true;
	return NULL;
}

void tp_gzwriter_destroy(struct tp_gzwriter *w)
{
	if (!w)
		return;
	deflateEnd(&w->zs);
	free(w);
}

uint64_t tp_gzwriter_in_bytes(const struct tp_gzwriter *w)
{
	return w->in_bytes;
}

uint64_t tp_gzwriter_out_bytes(const struct tp_gzwriter *w)
{
	return w->out_bytes;
}

bool tp_gz_is_gzip(const void *head, size_t len)
{
	const unsigned char *p = head;
	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* ---- reader ------------------------------------------------------------ */

#define INFLATE_CHUNK (256u << 10)

struct inflater {
	int fd;
	z_stream zs;
	unsigned char *in;
	bool eof;
	uint64_t in_pos;        /* compressed bytes read from fd so far */
	unsigned char *out;
	size_t out_len, out_cap, limit;
	gz_header head;         /* header of the current member */
	unsigned char extra[64];
	tp_gz_check_fn *check;  /* NULL: none */
	void *check_arg;
	uint64_t want;          /* declared size from the check, 0 unknown */
};

/* True if the member header just parsed has a 'B','C' subfield. */
static bool head_is_bgzf(const struct inflater *z)
{
	const unsigned char *p = z->extra;
	size_t len = z->head.extra_len < sizeof(z->extra) ? z->head.extra_len
							  : sizeof(z->extra);
	if (!z->head.extra)
		return false;
	while (len >= 4) {
		size_t slen = (size_t)p[2] | (size_t)p[3] << 8;
		if (p[0] == 'B' && p[1] == 'C' && slen == 2)
			return true;
		if (slen > len - 4)
			break;
		p += 4 + slen;
		len -= 4 + slen;
	}
	return false;
}

/* Compressed offset of the next unconsumed byte. */
static uint64_t in_offset(const struct inflater *z)
{
	return z->in_pos - z->zs.avail_in;
}

/* Move the unconsumed input to the front and read more after it. */
static struct tp_error *fill(struct inflater *z)
{
	size_t keep = z->zs.avail_in;
	if (keep && z->zs.next_in != z->in)
		memmove(z->in, z->zs.next_in, keep);
	size_t got;
	int e = tp_fd_read_full(z->fd, z->in + keep, INFLATE_CHUNK - keep,
				&got);
	if (e)
		return tp_error_os(e, NULL, "cannot read gzip stream");
	if (got == 0)
		z->eof = true;
	z->in_pos += got;
	z->zs.next_in = z->in;
	z->zs.avail_in = (uInt)(keep + got);
	return NULL;
}

static struct tp_error *too_big(const struct inflater *z)
{
	return tp_error_create(TP_ERR_FORMAT,
			       "gzip stream inflates to more than %zu bytes",
			       z->limit);
}

/* The output buffer is full: double it, up to limit + 1 bytes (one byte
 * past the limit is how we notice that the stream is too big). */
static struct tp_error *grow(struct inflater *z)
{
	size_t hard = z->limit + 1;
	if (z->out_cap >= hard)
		return too_big(z);
	size_t cap = z->out_cap ? z->out_cap : (1u << 20);
	if (z->out_cap)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (cap > hard)
		cap = hard;
	unsigned char *p = realloc(z->out, cap);
	if (!p)
		return &tp_error_nomem;
	z->out = p;
	z->out_cap = cap;
	return NULL;
}

static struct tp_error *inflate_loop(struct inflater *z)
{
	unsigned member = 0;        /* members completed */
	uint64_t member_start = 0;
	size_t member_out = 0;      /* out_len when the member started */
	bool in_member = false;
	bool bgzf = false, last_empty = false;
	struct tp_error *err;

	for (;;) {
		if (!in_member) {
			if (z->zs.avail_in < 2 && !z->eof) {
				if ((err = fill(z)))
					return err;
				continue;
			}
			if (z->zs.avail_in == 0) {
				if (member == 0)
					return tp_error_create(TP_ERR_FORMAT,
							       "not a gzip stream: empty input");
				if (bgzf && !last_empty)
					return tp_error_create(TP_ERR_FORMAT,
							       "truncated gzip stream: BGZF end-of-stream marker missing after member %u (offset %" PRIu64 ")",
							       member, in_offset(z));
				return NULL;
			}
			if (!tp_gz_is_gzip(z->zs.next_in, z->zs.avail_in)) {
				if (member == 0)
					return tp_error_create(TP_ERR_FORMAT,
							       "not a gzip stream (bad magic)");
				return tp_error_create(TP_ERR_FORMAT,
						       "trailing garbage after gzip member %u at offset %" PRIu64,
						       member, in_offset(z));
			}
			int r = inflateReset(&z->zs);
			if (r == Z_OK) {
				memset(&z->head, 0, sizeof(z->head));
				z->head.extra = z->extra;
				z->head.extra_max = sizeof(z->extra);
				r = inflateGetHeader(&z->zs, &z->head);
			}
			if (r != Z_OK)
				return tp_error_create(TP_ERR_OTHER,
						       "inflateReset failed (%d)", r);
			member_start = in_offset(z);
			member_out = z->out_len;
			in_member = true;
		}
		if (z->zs.avail_in == 0) {
			if (z->eof)
				return tp_error_create(TP_ERR_FORMAT,
						       "truncated gzip stream: member %u starting at offset %" PRIu64 " ends early at offset %" PRIu64,
						       member + 1, member_start,
						       in_offset(z));
			if ((err = fill(z)))
				return err;
			continue;
		}
		if (z->out_len == z->out_cap && (err = grow(z)))
			return err;
		size_t room = z->out_cap - z->out_len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		z->zs.next_out = z->out + z->out_len;
		z->zs.avail_out = (uInt)room;
		int r = inflate(&z->zs, Z_NO_FLUSH);
		z->out_len += room - z->zs.avail_out;
		if (z->check && room != z->zs.avail_out) {
			if ((err = z->check(z->check_arg, z->out, z->out_len,
					    &z->want)))
				return err;
			/* the buffer grows no further than that */
			if (z->want && z->want < z->limit)
				z->limit = (size_t)z->want;
			if (z->want && z->out_len >= z->want) {
				/* all the content declares it holds */
				if (z->want < z->out_len)
					z->out_len = (size_t)z->want;
				return NULL;
			}
		}
		if (z->out_len > z->limit)
			return too_big(z);
		switch (r) {
		case Z_STREAM_END:
			if (member == 0)
				bgzf = head_is_bgzf(z);
			last_empty = z->out_len == member_out;
			in_member = false;
			member++;
			break;
		case Z_OK:
			break;
		case Z_BUF_ERROR:
			/* No progress: input or output ran out, and the top
			 * of the loop refills or grows.  Neither ran out
			 * cannot happen; refuse rather than spin. */
			if (z->zs.avail_in && z->zs.avail_out)
				return tp_error_create(TP_ERR_OTHER,
						       "inflate made no progress");
			break;
		case Z_MEM_ERROR:
			return &tp_error_nomem;
		case Z_DATA_ERROR:
		case Z_NEED_DICT:
		default: {
			const char *why = z->zs.msg ? z->zs.msg : "invalid data";
			if (strcmp(why, "incorrect data check") == 0)
				why = "CRC-32 mismatch";
			else if (strcmp(why, "incorrect length check") == 0)
				why = "length (ISIZE) mismatch";
			return tp_error_create(TP_ERR_FORMAT,
					       "corrupt gzip stream: member %u at offset %" PRIu64 ": %s",
					       member + 1, member_start, why);
		}
		}
	}
}

struct tp_error *tp_gz_inflate_fd(int fd, uint64_t max_len, void **ret,
				  size_t *ret_len)
{
	return tp_gz_inflate_fd_checked(fd, max_len, NULL, NULL, ret, ret_len);
}

struct tp_error *tp_gz_inflate_fd_checked(int fd, uint64_t max_len,
					  tp_gz_check_fn *check, void *arg,
					  void **ret, size_t *ret_len)
{
	struct inflater z = { .fd = fd, .check = check, .check_arg = arg };
	z.limit = max_len < SIZE_MAX - 1 ? (size_t)max_len : SIZE_MAX - 1;
	z.in = malloc(INFLATE_CHUNK);
	if (!z.in)
		return &tp_error_nomem;
	int r = inflateInit2(&z.zs, 15 + 16);
	if (r != Z_OK) {
		free(z.in);
		return r == Z_MEM_ERROR ? &tp_error_nomem
			: tp_error_create(TP_ERR_OTHER,
					  "inflateInit2 failed (%d)", r);
	}
	struct tp_error *err = inflate_loop(&z);
	inflateEnd(&z.zs);
	free(z.in);
	if (err) {
		free(z.out);
		return err;
	}
	if (!z.out) {           /* empty content: still hand back a buffer */
		z.out = malloc(1);
		if (!z.out)
			return &tp_error_nomem;
	}
	*ret = z.out;
	*ret_len = z.out_len;
	return NULL;
}
