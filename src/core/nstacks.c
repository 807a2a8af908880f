/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/notebytes.h"
#include "core/nstacks.h"

#define MAGIC "TPNSTACK"
#define NOTE_VERSION 1u
#define F_TRUNCATED 1u
#define F_ACTIVATION 1u
/* pc, sp, offset, module, flags */
#define FRAME_BYTES 32

static size_t cap_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > TP_NSTACKS_MAX_STRING ? TP_NSTACKS_MAX_STRING : n;
}

void tp_nstacks_encode(const struct tp_nstacks *s, struct tp_strbuf *out)
{
	tp_strbuf_append(out, MAGIC, 8);
	note_put_u32(out, NOTE_VERSION);
	note_put_u32(out, (uint32_t)s->nmodules);
	note_put_u32(out, (uint32_t)s->nthreads);
	note_put_u32(out, 0);
	for (size_t i = 0; i < s->nmodules; i++) {
		const struct tp_nstack_module *m = &s->modules[i];
		size_t pl = cap_len(m->path), bl = cap_len(m->build_id);
		note_put_u64(out, m->bias);
		note_put_u32(out, (uint32_t)pl);
		note_put_u32(out, (uint32_t)bl);
		tp_strbuf_append(out, m->path, pl);
		tp_strbuf_append(out, m->build_id, bl);
		note_pad8(out);
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct tp_nstack_thread *t = &s->threads[i];
		size_t el = cap_len(t->error);
		note_put_u32(out, (uint32_t)t->tid);
		note_put_u32(out, (uint32_t)t->nframes);
		note_put_u32(out, t->truncated ? F_TRUNCATED : 0);
		note_put_u32(out, (uint32_t)el);
		tp_strbuf_append(out, t->error, el);
		note_pad8(out);
		for (size_t k = 0; k < t->nframes; k++) {
			const struct tp_nstack_frame *f = &t->frames[k];
			note_put_u64(out, f->pc);
			note_put_u64(out, f->sp);
			note_put_u64(out, f->offset);
			note_put_u32(out, f->module);
			note_put_u32(out, f->activation ? F_ACTIVATION : 0);
		}
	}
}

/* A string of @n bytes (no NUL inside) in a new allocation. */
static bool get_str(struct note_reader *r, uint32_t n, char **ret)
{
	if (n > TP_NSTACKS_MAX_STRING || r->len - r->off < n ||
	    memchr(r->p + r->off, '\0', n))
		return false;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return false;
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	*ret = s;
	return true;
}

static struct tp_error *bad(struct tp_nstacks *s, const char *what)
{
	tp_nstacks_deinit(s);
	return tp_error_create(TP_ERR_FORMAT, "damaged native stacks note: %s",
			       what);
}

struct tp_error *tp_nstacks_decode(const void *data, size_t len,
				   struct tp_nstacks *ret)
{
	struct tp_nstacks s = { 0 };
	struct note_reader r = { data, len, 0 };
	uint32_t version, nmod, nthr, zero;
	if (len < 8 || memcmp(data, MAGIC, 8) != 0)
		return bad(&s, "no magic");
	r.off = 8;
	if (!note_get_u32(&r, &version) || !note_get_u32(&r, &nmod) ||
	    !note_get_u32(&r, &nthr) || !note_get_u32(&r, &zero))
		return bad(&s, "short header");
	if (version != NOTE_VERSION)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "native stacks note of version %u (this tripod reads version %u)",
				       version, NOTE_VERSION);
	if (nmod > TP_NSTACKS_MAX_MODULES || nthr > TP_NSTACKS_MAX_THREADS)
		return bad(&s, "too many modules or threads");
	/* each module takes at least 16 bytes, each thread 16 */
	if ((uint64_t)nmod * 16 + (uint64_t)nthr * 16 > len - r.off)
		return bad(&s, "counts larger than the note");
	s.modules = calloc(nmod ? nmod : 1, sizeof(*s.modules));
	s.threads = calloc(nthr ? nthr : 1, sizeof(*s.threads));
	if (!s.modules || !s.threads) {
		tp_nstacks_deinit(&s);
		return &tp_error_nomem;
	}
	for (uint32_t i = 0; i < nmod; i++) {
		struct tp_nstack_module *m = &s.modules[i];
		uint32_t pl, bl;
		if (!note_get_u64(&r, &m->bias) || !note_get_u32(&r, &pl) ||
		    !note_get_u32(&r, &bl) || !get_str(&r, pl, &m->path) ||
		    !get_str(&r, bl, &m->build_id) || !note_skip_pad(&r)) {
			s.nmodules = i + 1;
			return bad(&s, "bad module entry");
		}
		s.nmodules = i + 1;
	}
	for (uint32_t i = 0; i < nthr; i++) {
		struct tp_nstack_thread *t = &s.threads[i];
		s.nthreads = i + 1;
		uint32_t tid, nf, flags, el;
		if (!note_get_u32(&r, &tid) || !note_get_u32(&r, &nf) ||
		    !note_get_u32(&r, &flags) || !note_get_u32(&r, &el))
			return bad(&s, "bad thread entry");
		if (nf > TP_NSTACKS_MAX_FRAMES)
			return bad(&s, "too many frames");
		if (el && !get_str(&r, el, &t->error))
			return bad(&s, "bad thread entry");
		if (!note_skip_pad(&r) || (uint64_t)nf * FRAME_BYTES > r.len - r.off)
			return bad(&s, "frames past the end");
		t->tid = (pid_t)tid;
		t->truncated = flags & F_TRUNCATED;
		t->frames = calloc(nf ? nf : 1, sizeof(*t->frames));
		if (!t->frames) {
			tp_nstacks_deinit(&s);
			return &tp_error_nomem;
		}
		for (uint32_t k = 0; k < nf; k++) {
			struct tp_nstack_frame *f = &t->frames[k];
			uint32_t ff = 0;
			note_get_u64(&r, &f->pc);
			note_get_u64(&r, &f->sp);
			note_get_u64(&r, &f->offset);
			note_get_u32(&r, &f->module);
			note_get_u32(&r, &ff);
			f->activation = ff & F_ACTIVATION;
			if (f->module != TP_NSTACKS_NO_MODULE &&
			    f->module >= nmod)
				return bad(&s, "frame of an unknown module");
		}
		t->nframes = nf;
	}
	*ret = s;
	return NULL;
}

void tp_nstacks_deinit(struct tp_nstacks *s)
{
	for (size_t i = 0; i < s->nmodules; i++) {
		free(s->modules[i].path);
		free(s->modules[i].build_id);
	}
	for (size_t i = 0; i < s->nthreads; i++) {
		free(s->threads[i].frames);
		free(s->threads[i].error);
	}
	free(s->modules);
	free(s->threads);
	memset(s, 0, sizeof(*s));
}
