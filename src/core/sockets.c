/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/notebytes.h"
#include "core/sockets.h"

#define MAGIC "TPSOCKET"
#define NOTE_VERSION 1u
#define F_TRUNCATED 1u

/* the errno, as a u32, and the bytes of one call's address */
static void put_addr_head(struct tp_strbuf *out, const struct tp_socket_addr *a)
{
	note_put_u32(out, (uint32_t)a->err);
	note_put_u32(out, a->err ? 0 : a->len);
}

void tp_sockets_encode(const struct tp_sockets *s, struct tp_strbuf *out)
{
	tp_strbuf_append(out, MAGIC, 8);
	note_put_u32(out, NOTE_VERSION);
	note_put_u32(out, (uint32_t)s->n);
	note_put_u32(out, s->truncated ? F_TRUNCATED : 0);
	note_put_u32(out, 0);
	for (size_t i = 0; i < s->n; i++) {
		const struct tp_socket *k = &s->v[i];
		note_put_u32(out, (uint32_t)k->fd);
		note_put_u32(out, 0);
		put_addr_head(out, &k->name);
		put_addr_head(out, &k->peer);
		if (!k->name.err)
			tp_strbuf_append(out, k->name.addr, k->name.len);
		if (!k->peer.err)
			tp_strbuf_append(out, k->peer.addr, k->peer.len);
		note_pad8(out);
	}
}

static struct tp_error *bad(struct tp_sockets *s, const char *what)
{
	tp_sockets_deinit(s);
	return tp_error_create(TP_ERR_FORMAT, "damaged sockets note: %s", what);
}

static bool get_addr_head(struct note_reader *r, struct tp_socket_addr *a)
{
	uint32_t err;
	if (!note_get_u32(r, &err) || !note_get_u32(r, &a->len) ||
	    err > 4095 || a->len > TP_SOCKETS_MAX_ADDR || (err && a->len))
		return false;
	a->err = (int)err;
	return true;
}

static bool get_bytes(struct note_reader *r, struct tp_socket_addr *a)
{
	if (r->len - r->off < a->len)
		return false;
	memcpy(a->addr, r->p + r->off, a->len);
	r->off += a->len;
	return true;
}

struct tp_error *tp_sockets_decode(const void *data, size_t len,
				   struct tp_sockets *ret)
{
	struct tp_sockets s = { 0 };
	struct note_reader r = { data, len, 0 };
	uint32_t version, n, flags, zero;
	if (len < 8 || memcmp(data, MAGIC, 8) != 0)
		return bad(&s, "no magic");
	r.off = 8;
	if (!note_get_u32(&r, &version) || !note_get_u32(&r, &n) ||
	    !note_get_u32(&r, &flags) || !note_get_u32(&r, &zero))
		return bad(&s, "short header");
	if (version != NOTE_VERSION)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "sockets note of version %u (this tripod reads version %u)",
				       version, NOTE_VERSION);
	/* each entry takes at least 24 bytes */
	if (n > TP_SOCKETS_MAX || (uint64_t)n * 24 > len - r.off)
		return bad(&s, "count larger than the note");
	s.v = calloc(n ? n : 1, sizeof(*s.v));
	if (!s.v)
		return &tp_error_nomem;
	s.truncated = flags & F_TRUNCATED;
	for (uint32_t i = 0; i < n; i++) {
		struct tp_socket *k = &s.v[i];
		uint32_t fd, pad;
		if (!note_get_u32(&r, &fd) || !note_get_u32(&r, &pad) ||
		    !get_addr_head(&r, &k->name) ||
		    !get_addr_head(&r, &k->peer) || !get_bytes(&r, &k->name) ||
		    !get_bytes(&r, &k->peer) || !note_skip_pad(&r))
			return bad(&s, "bad entry");
		if (fd > INT32_MAX || (i && (int)fd <= s.v[i - 1].fd))
			return bad(&s, "descriptors out of order");
		k->fd = (int)fd;
		s.n = i + 1;
	}
	*ret = s;
	return NULL;
}

const struct tp_socket *tp_sockets_find(const struct tp_sockets *s, int fd)
{
	size_t lo = 0, hi = s ? s->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid].fd == fd)
			return &s->v[mid];
		if (s->v[mid].fd < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void tp_sockets_deinit(struct tp_sockets *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->truncated = false;
}
