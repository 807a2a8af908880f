/* SPDX-License-Identifier: MIT */
/*
 * Bytes of tripod's binary notes (native stacks, sockets): little-endian
 * words written to a strbuf, and a bounded reader that never reads past
 * the note's end.  Entries are padded to 8 bytes.
 */
#ifndef TRIPOD_CORE_NOTEBYTES_H
#define TRIPOD_CORE_NOTEBYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

static inline void note_put_u32(struct tp_strbuf *out, uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
			       v >> 24 };
	tp_strbuf_append(out, b, 4);
}

static inline void note_put_u64(struct tp_strbuf *out, uint64_t v)
{
	note_put_u32(out, (uint32_t)v);
	note_put_u32(out, (uint32_t)(v >> 32));
}

static inline void note_pad8(struct tp_strbuf *out)
{
	while (out->len % 8 && !out->failed)
		tp_strbuf_putc(out, '\0');
}

struct note_reader {
	const unsigned char *p;
	size_t len, off;
};

static inline bool note_get_u32(struct note_reader *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return false;
	const unsigned char *b = r->p + r->off;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	     (uint32_t)b[3] << 24;
	r->off += 4;
	return true;
}

static inline bool note_get_u64(struct note_reader *r, uint64_t *v)
{
	uint32_t lo, hi;
	if (r->len - r->off < 8 || !note_get_u32(r, &lo) ||
	    !note_get_u32(r, &hi))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

static inline bool note_skip_pad(struct note_reader *r)
{
	size_t pad = (8 - r->off % 8) % 8;
	if (r->len - r->off < pad)
		return false;
	r->off += pad;
	return true;
}

#endif /* TRIPOD_CORE_NOTEBYTES_H */
