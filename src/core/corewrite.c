/* SPDX-License-Identifier: MIT */
/*
 * The ELF core layout, as fs/binfmt_elf.c writes it:
 *
 *   Elf64_Ehdr
 *   Elf64_Phdr[1 + nsegments]    PT_NOTE, then PT_LOAD in address order
 *   notes                        4-byte aligned names and descriptors
 *   (zeros up to a page boundary)
 *   segment data                 each segment's file part starts on a page
 *                                boundary, like the kernel's
 *
 * Page-aligned file offsets are not required by readers (libdwfl, gdb and
 * drgn use p_offset as given) but they keep each segment's bytes at the
 * same offset modulo the page size as in memory, which lets a future reader
 * mmap segments straight from an uncompressed core, and costs at most a
 * page of zeros per segment before compression (nothing after it).
 *
 * Notes are built in memory first (they are small: a few hundred bytes per
 * thread plus NT_FILE's paths), so every offset is known before the first
 * byte goes to the sink, and the sink can be a stream that cannot seek.
 */
#include "config.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static struct tp_error *invalid(const char *what, size_t i)
{
	return tp_error_create(TP_ERR_INVALID, "core description: %s (#%zu)",
			       what, i);
}

/* The parts of @d the notes are made of. */
static struct tp_error *validate_notes(const struct tp_core_desc *d,
				       uint64_t page)
{
	if ((d->nthreads && !d->threads) || (d->nfiles && !d->files) ||
	    (d->nkv && !d->kv) || (d->auxv_len && !d->auxv))
		return invalid("count without an array", 0);
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct tp_core_file *f = &d->files[i];
		if (!f->path || f->end < f->start)
			return invalid("bad NT_FILE entry", i);
		if (f->offset % page)
			return invalid("NT_FILE offset not page aligned", i);
	}
	for (size_t i = 0; i < d->nkv; i++) {
		const char *k = d->kv[i].key;
		if (!k || !*k || strchr(k, '=') || !d->kv[i].value)
			return invalid("bad tripod note key", i);
	}
	return NULL;
}

static struct tp_error *validate_segments(const struct tp_core_desc *d)
{
	if (d->nsegments && !d->segments)
		return invalid("count without an array", 0);
	/* One PT_NOTE plus the segments must fit e_phnum without the
	 * PN_XNUM extension (the kernel caps mappings at vm.max_map_count,
	 * 65530 by default, so this only trips on a hand-made description). */
	if (d->nsegments >= PN_XNUM - 1)
		return tp_error_create(TP_ERR_LIMIT,
				       "%zu segments: an ELF core holds at most %d",
				       d->nsegments, PN_XNUM - 2);
	for (size_t i = 0; i < d->nsegments; i++) {
		const struct tp_core_segment *s = &d->segments[i];
		if (s->filesz > s->memsz)
			return invalid("segment filesz > memsz", i);
		if (s->filesz && !s->data)
			return invalid("segment without data", i);
		if (s->vaddr + s->memsz < s->vaddr)
			return invalid("segment wraps around", i);
		if (i && s->vaddr < d->segments[i - 1].vaddr +
					    d->segments[i - 1].memsz)
			return invalid("segments not sorted or overlapping", i);
	}
	return NULL;
}

static void note_add(struct tp_strbuf *sb, const char *name, uint32_t type,
		     const void *desc, size_t descsz)
{
	static const char zeros[4];
	Elf64_Nhdr nh = {
		.n_namesz = (Elf64_Word)(strlen(name) + 1),
		.n_descsz = (Elf64_Word)descsz,
		.n_type = type,
	};
	tp_strbuf_append(sb, &nh, sizeof(nh));
	tp_strbuf_append(sb, name, nh.n_namesz);
	tp_strbuf_append(sb, zeros, align_up(nh.n_namesz, 4) - nh.n_namesz);
	tp_strbuf_append(sb, desc, descsz);
	tp_strbuf_append(sb, zeros, align_up(descsz, 4) - descsz);
}

static void note_prstatus(struct tp_strbuf *sb, const struct tp_core_desc *d,
			  const struct tp_core_thread *t)
{
	struct elf_prstatus pr;
	memset(&pr, 0, sizeof(pr));
	pr.pr_info.si_signo = t->signo;
	pr.pr_cursig = (short)t->signo;
	pr.pr_pid = t->tid;
	pr.pr_ppid = d->ppid;
	pr.pr_pgrp = d->pgrp;
	pr.pr_sid = d->sid;
	memcpy(pr.pr_reg, t->regs, sizeof(pr.pr_reg));
	pr.pr_fpvalid = t->have_fpregs;
	note_add(sb, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
	if (t->have_fpregs)
		note_add(sb, "CORE", NT_FPREGSET, &t->fpregs,
			 sizeof(t->fpregs));
}

static void note_prpsinfo(struct tp_strbuf *sb, const struct tp_core_desc *d)
{
	/* pr_state is the index of the state letter in the kernel's
	 * "RSDTZW" (task_state_array order); other letters count as 0. */
	static const char states[] = "RSDTZW";
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	const char *st = d->state ? strchr(states, d->state) : NULL;
	ps.pr_state = st ? (char)(st - states) : 0;
	ps.pr_sname = d->state ? d->state : 'R';
	ps.pr_zomb = d->state == 'Z';
	ps.pr_uid = d->uid;
	ps.pr_gid = d->gid;
	ps.pr_pid = d->pid;
	ps.pr_ppid = d->ppid;
	ps.pr_pgrp = d->pgrp;
	ps.pr_sid = d->sid;
	if (d->fname)
		strncpy(ps.pr_fname, d->fname, sizeof(ps.pr_fname) - 1);
	if (d->psargs)
		strncpy(ps.pr_psargs, d->psargs, sizeof(ps.pr_psargs) - 1);
	note_add(sb, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
}

/* NT_FILE: count, page size, (start, end, file offset in pages) per entry,
 * then the paths, each NUL-terminated, in the same order. */
static struct tp_error *note_file(struct tp_strbuf *sb,
				  const struct tp_core_desc *d, uint64_t page)
{
	struct tp_strbuf desc = TP_STRBUF_INIT;
	uint64_t head[2] = { d->nfiles, page };
	tp_strbuf_append(&desc, head, sizeof(head));
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct tp_core_file *f = &d->files[i];
		uint64_t e[3] = { f->start, f->end, f->offset / page };
		tp_strbuf_append(&desc, e, sizeof(e));
	}
	for (size_t i = 0; i < d->nfiles; i++)
		tp_strbuf_append(&desc, d->files[i].path,
				 strlen(d->files[i].path) + 1);
	struct tp_error *err = tp_strbuf_error(&desc);
	if (!err && desc.len > UINT32_MAX)
		err = tp_error_create(TP_ERR_LIMIT,
				      "NT_FILE note too large (%zu bytes)",
				      desc.len);
	if (!err)
		note_add(sb, "CORE", NT_FILE, desc.str, desc.len);
	tp_strbuf_deinit(&desc);
	return err;
}

static struct tp_error *note_tripod(struct tp_strbuf *sb,
				    const struct tp_core_desc *d)
{
	struct tp_strbuf desc = TP_STRBUF_INIT;
	for (size_t i = 0; i < d->nkv; i++) {
		tp_strbuf_puts(&desc, d->kv[i].key);
		tp_strbuf_putc(&desc, '=');
		tp_strbuf_append(&desc, d->kv[i].value,
				 strlen(d->kv[i].value) + 1);
	}
	struct tp_error *err = tp_strbuf_error(&desc);
	if (!err && desc.len > UINT32_MAX)
		err = tp_error_create(TP_ERR_LIMIT,
				      "tripod note too large (%zu bytes)",
				      desc.len);
	if (!err)
		note_add(sb, TP_NOTE_NAME, TP_NOTE_TYPE, desc.str, desc.len);
	tp_strbuf_deinit(&desc);
	return err;
}

struct tp_error *tp_core_build_notes(const struct tp_core_desc *d,
				     uint64_t page, struct tp_strbuf *sb)
{
	struct tp_error *err = validate_notes(d, page);
	if (err)
		return err;
	for (size_t i = 0; i < d->nthreads; i++)
		note_prstatus(sb, d, &d->threads[i]);
	note_prpsinfo(sb, d);
	if (d->auxv_len) {
		if (d->auxv_len > UINT32_MAX)
			return tp_error_create(TP_ERR_LIMIT,
					       "auxv too large (%zu bytes)",
					       d->auxv_len);
		note_add(sb, "CORE", NT_AUXV, d->auxv, d->auxv_len);
	}
	if ((err = note_file(sb, d, page)))
		return err;
	if (d->kv && (err = note_tripod(sb, d)))
		return err;
	for (size_t i = 0; i < d->nextra; i++) {
		if (d->extra[i].len > UINT32_MAX)
			return tp_error_create(TP_ERR_LIMIT,
					       "tripod note too large (%zu bytes)",
					       d->extra[i].len);
		note_add(sb, TP_NOTE_NAME, d->extra[i].type, d->extra[i].data,
			 d->extra[i].len);
	}
	return tp_strbuf_error(sb);
}

struct tp_error *tp_core_build_head(const struct tp_core_load *loads,
				    size_t n, const void *notes,
				    size_t notes_len, uint64_t page,
				    struct tp_strbuf *out, uint64_t *offsets,
				    uint64_t *ret_size)
{
	if (n >= PN_XNUM - 1)
		return tp_error_create(TP_ERR_LIMIT,
				       "%zu segments: an ELF core holds at most %d",
				       n, PN_XNUM - 2);
	size_t phnum = 1 + n;
	uint64_t notes_off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			     ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE },
		.e_type = ET_CORE,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (Elf64_Half)phnum,
	};
	tp_strbuf_append(out, &eh, sizeof(eh));
	Elf64_Phdr ph = {
		.p_type = PT_NOTE,
		.p_offset = notes_off,
		.p_filesz = notes_len,
		.p_align = 4,
	};
	tp_strbuf_append(out, &ph, sizeof(ph));
	uint64_t off = align_up(notes_off + notes_len, page), end = off;
	for (size_t i = 0; i < n; i++) {
		const struct tp_core_load *l = &loads[i];
		ph = (Elf64_Phdr){
			.p_type = PT_LOAD,
			.p_flags = l->flags,
			.p_offset = off,
			.p_vaddr = l->vaddr,
			.p_filesz = l->filesz,
			.p_memsz = l->memsz,
			.p_align = page,
		};
		tp_strbuf_append(out, &ph, sizeof(ph));
		if (offsets)
			offsets[i] = off;
		end = off + l->filesz;
		off = align_up(off + l->filesz, page);
	}
	tp_strbuf_append(out, notes, notes_len);
	if (ret_size)
		*ret_size = n ? end : notes_off + notes_len;
	return tp_strbuf_error(out);
}

struct tp_error *tp_sink_zeros(struct tp_sink *sink, uint64_t n)
{
	static const char zeros[4096];
	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		struct tp_error *err = sink->write(sink, zeros, k);
		if (err)
			return err;
		n -= k;
	}
	return NULL;
}

struct tp_error *tp_core_write(const struct tp_core_desc *desc,
			       struct tp_sink *sink)
{
	long pagesz = sysconf(_SC_PAGESIZE);
	uint64_t page = pagesz > 0 ? (uint64_t)pagesz : 4096;
	struct tp_error *err = validate_segments(desc);
	if (err)
		return err;

	struct tp_strbuf notes = TP_STRBUF_INIT, head = TP_STRBUF_INIT;
	struct tp_core_load *loads = NULL;
	uint64_t *offsets = NULL;
	if ((err = tp_core_build_notes(desc, page, &notes)))
		goto out;
	size_t n = desc->nsegments;
	loads = calloc(n ? n : 1, sizeof(*loads));
	offsets = calloc(n ? n : 1, sizeof(*offsets));
	if (!loads || !offsets) {
		err = &tp_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tp_core_segment *s = &desc->segments[i];
		loads[i] = (struct tp_core_load){
			.vaddr = s->vaddr,
			.memsz = s->memsz,
			.filesz = s->filesz,
			.flags = (s->read ? PF_R : 0u) | (s->write ? PF_W : 0u) |
				 (s->exec ? PF_X : 0u),
		};
	}
	if ((err = tp_core_build_head(loads, n, notes.str, notes.len, page,
				      &head, offsets, NULL)) ||
	    (err = sink->write(sink, head.str, head.len)))
		goto out;
	uint64_t pos = head.len;
	for (size_t i = 0; i < n; i++) {
		const struct tp_core_segment *s = &desc->segments[i];
		if (!s->filesz)
			continue;
		if ((err = tp_sink_zeros(sink, offsets[i] - pos)) ||
		    (err = sink->write(sink, s->data, s->filesz)))
			goto out;
		pos = offsets[i] + s->filesz;
	}
out:
	free(loads);
	free(offsets);
	tp_strbuf_deinit(&notes);
	tp_strbuf_deinit(&head);
	return err;
}

/* ---- sinks --------------------------------------------------------------- */

static struct tp_error *sink_gz_write(struct tp_sink *sink, const void *data,
				      size_t len)
{
	struct tp_sink_gz *s = (struct tp_sink_gz *)sink;
	return tp_gzwriter_write(s->w, data, len);
}

void tp_sink_gz_init(struct tp_sink_gz *s, struct tp_gzwriter *w)
{
	s->sink.write = sink_gz_write;
	s->w = w;
}

static struct tp_error *sink_fd_write(struct tp_sink *sink, const void *data,
				      size_t len)
{
	struct tp_sink_fd *s = (struct tp_sink_fd *)sink;
	int e = tp_fd_write_all(s->fd, data, len);
	if (e)
		return tp_error_os(e, NULL, "cannot write core");
	s->written += len;
	return NULL;
}

void tp_sink_fd_init(struct tp_sink_fd *s, int fd)
{
	s->sink.write = sink_fd_write;
	s->fd = fd;
	s->written = 0;
}
