/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <libunwind-ptrace.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reg.h>
#include <sys/uio.h>

#include "snap/native.h"

#define PAGE 4096u
/* Pages kept by one unwinding: a stack walk touches a few stack pages and
 * the call frame information of a few modules. */
#define PAGE_CACHE 64

bool tp_native_read_pid(void *arg, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = *(const pid_t *)arg;
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

bool tp_native_read_capture(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct tp_native_capture_src *src = arg;
	const struct tp_capture *mem = src->mem;
	size_t lo = 0, hi = mem->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tp_core_segment *s = &mem->segs[mid];
		if (addr < s->vaddr) {
			hi = mid;
		} else if (addr - s->vaddr >= s->memsz) {
			lo = mid + 1;
		} else {
			uint64_t off = addr - s->vaddr;
			if (len > s->memsz - off)
				break;  /* across segments: ask the process */
			if (s->data && off + len <= s->filesz) {
				memcpy(buf, (const char *)s->data + off, len);
				return true;
			}
			/*
			 * Not copied: pages the snapshot writer reads from the
			 * clone later (pull), untouched anonymous pages (zeros,
			 * as the snapshot says) or read-only file data, which
			 * the process still maps unchanged.
			 */
			if (!s->pull && s->write && !s->unreadable &&
			    off >= s->filesz) {
				memset(buf, 0, len);
				return true;
			}
			break;
		}
	}
	return tp_native_read_pid((void *)&src->pid, addr, buf, len);
}

/* ---- libunwind's remote accessors ---------------------------------------- */

struct page {
	uint64_t addr;          /* page address, or 1: empty slot */
	bool ok;                /* the whole page could be read */
	unsigned char data[PAGE];
};

struct ctx {
	const elf_greg_t *regs;
	tp_native_read_fn *read;
	void *arg;
	void *upt;              /* libunwind-ptrace's state: maps, ELF images */
	struct page *pages;     /* PAGE_CACHE of them */
	unsigned next;          /* the slot to reuse next */
};

/*
 * The context of the unwinding under way in this thread.  libunwind calls
 * the memory accessor from inside _UPT_find_proc_info() with *its* state
 * as the argument, not ours, so the accessors find the context here; it
 * is set only while tp_native_unwind() runs.
 */
static __thread struct ctx *current;

static const struct page *get_page(struct ctx *c, uint64_t addr)
{
	uint64_t base = addr & ~(uint64_t)(PAGE - 1);
	for (unsigned i = 0; i < PAGE_CACHE; i++)
		if (c->pages[i].addr == base)
			return &c->pages[i];
	struct page *p = &c->pages[c->next];
	c->next = (c->next + 1) % PAGE_CACHE;
	p->addr = base;
	p->ok = c->read(c->arg, base, p->data, PAGE);
	return p;
}

static bool read_word(struct ctx *c, uint64_t addr, unw_word_t *val)
{
	uint64_t off = addr & (PAGE - 1);
	if (off + sizeof(*val) <= PAGE) {
		const struct page *p = get_page(c, addr);
		if (p->ok) {
			memcpy(val, p->data + off, sizeof(*val));
			return true;
		}
	}
	/* across two pages, or in a page not readable whole */
	return c->read(c->arg, addr, val, sizeof(*val));
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			      unw_proc_info_t *pi, int need, void *arg)
{
	return _UPT_find_proc_info(as, ip, pi, need, current->upt);
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
				void *arg)
{
	_UPT_put_unwind_info(as, pi, current->upt);
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dil,
				      void *arg)
{
	return -UNW_ENOINFO;    /* no dynamically registered unwind info */
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr,
			  unw_word_t *val, int write, void *arg)
{
	if (write)
		return -UNW_EINVAL;  /* the target is never written */
	return read_word(current, addr, val) ? 0 : -UNW_EINVAL;
}

/* libunwind's x86-64 register numbers (DWARF's) in NT_PRSTATUS order. */
static const int reg_index[] = {
	[UNW_X86_64_RAX] = RAX, [UNW_X86_64_RDX] = RDX,
	[UNW_X86_64_RCX] = RCX, [UNW_X86_64_RBX] = RBX,
	[UNW_X86_64_RSI] = RSI, [UNW_X86_64_RDI] = RDI,
	[UNW_X86_64_RBP] = RBP, [UNW_X86_64_RSP] = RSP,
	[UNW_X86_64_R8] = R8,   [UNW_X86_64_R9] = R9,
	[UNW_X86_64_R10] = R10, [UNW_X86_64_R11] = R11,
	[UNW_X86_64_R12] = R12, [UNW_X86_64_R13] = R13,
	[UNW_X86_64_R14] = R14, [UNW_X86_64_R15] = R15,
	[UNW_X86_64_RIP] = RIP,
};

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg,
			  unw_word_t *val, int write, void *arg)
{
	if (write || reg < 0 ||
	    (size_t)reg >= sizeof(reg_index) / sizeof(reg_index[0]))
		return -UNW_EBADREG;
	*val = current->regs[reg_index[reg]];
	return 0;
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			    unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *cursor, void *arg)
{
	return -UNW_EINVAL;
}

static int acc_get_proc_name(unw_addr_space_t as, unw_word_t addr,
			     char *buf, size_t len, unw_word_t *off,
			     void *arg)
{
	return -UNW_ENOINFO;    /* symbols are tripod-analyze's business */
}

static unw_accessors_t accessors = {
	.find_proc_info = acc_find_proc_info,
	.put_unwind_info = acc_put_unwind_info,
	.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
	.access_mem = acc_access_mem,
	.access_reg = acc_access_reg,
	.access_fpreg = acc_access_fpreg,
	.resume = acc_resume,
	.get_proc_name = acc_get_proc_name,
};

static bool push(struct tp_nstack_thread *t, size_t *cap, uint64_t pc,
		 uint64_t sp, bool activation)
{
	if (t->nframes == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct tp_nstack_frame *v = realloc(t->frames, n * sizeof(*v));
		if (!v)
			return false;
		t->frames = v;
		*cap = n;
	}
	t->frames[t->nframes++] = (struct tp_nstack_frame){
		.pc = pc, .sp = sp, .activation = activation,
		.module = TP_NSTACKS_NO_MODULE,
	};
	return true;
}

static struct tp_error *unwind_with(unw_addr_space_t as, void *upt,
				    const elf_gregset_t regs,
				    tp_native_read_fn *read, void *arg,
				    struct tp_nstack_thread *ret)
{
	struct page *pages = calloc(PAGE_CACHE, sizeof(*pages));
	if (!pages)
		return &tp_error_nomem;
	for (unsigned i = 0; i < PAGE_CACHE; i++)
		pages[i].addr = 1;
	struct ctx c = { regs, read, arg, upt, pages, 0 };
	struct tp_error *err = NULL;
	size_t cap = 0;
	current = &c;
	unw_cursor_t cursor;
	int r = unw_init_remote(&cursor, as, &c);
	if (r < 0) {
		ret->error = strdup(unw_strerror(r));
		goto out;
	}
	bool activation = true;     /* the pc where the thread stopped */
	for (;;) {
		unw_word_t pc = 0, sp = 0;
		if (unw_get_reg(&cursor, UNW_REG_IP, &pc) < 0 || !pc)
			break;
		unw_get_reg(&cursor, UNW_REG_SP, &sp);
		if (ret->nframes >= TP_SNAP_NATIVE_MAX_FRAMES) {
			ret->truncated = true;
			break;
		}
		if (!push(ret, &cap, pc, sp, activation)) {
			err = &tp_error_nomem;
			break;
		}
		/* after a signal frame, the pc is where the signal struck */
		activation = unw_is_signal_frame(&cursor) > 0;
		r = unw_step(&cursor);
		if (r == 0)
			break;
		if (r < 0) {
			ret->error = strdup(unw_strerror(r));
			break;
		}
	}
out:
	current = NULL;
	free(pages);
	return err;
}

struct tp_error *tp_native_unwind(pid_t maps_pid, const elf_gregset_t regs,
				  tp_native_read_fn *read, void *arg,
				  struct tp_nstack_thread *ret)
{
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
	void *upt = _UPT_create(maps_pid);
	struct tp_error *err;
	if (!as || !upt)
		err = tp_error_create(TP_ERR_OTHER,
				      "libunwind: cannot create an address space");
	else
		err = unwind_with(as, upt, regs, read, arg, ret);
	if (upt)
		_UPT_destroy(upt);
	if (as)
		unw_destroy_addr_space(as);
	return err;
}

/* ---- modules --------------------------------------------------------------- */

/* The mapping of @m's file at offset 0 (its ELF header), or NULL. */
static const struct tp_mapping *file_head(const struct tp_maps *maps,
					  const struct tp_mapping *m)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct tp_mapping *h = &maps->v[i];
		if (h->offset == 0 && h->path && h->inode == m->inode &&
		    h->dev_major == m->dev_major &&
		    h->dev_minor == m->dev_minor && !strcmp(h->path, m->path) &&
		    h->start <= m->start)
			return h;
	}
	return NULL;
}

/*
 * The load bias of the ELF file mapped at @head: where it is mapped minus
 * the page of its first PT_LOAD's virtual address (the segment at file
 * offset 0).  @head->start when the headers cannot be read.
 */
static uint64_t load_bias(const struct tp_mapping *head,
			  tp_native_read_fn *read, void *arg)
{
	Elf64_Ehdr eh;
	if (!read(arg, head->start, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return head->start;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (!read(arg, head->start + eh.e_phoff + i * sizeof(ph), &ph,
			  sizeof(ph)))
			break;
		if (ph.p_type == PT_LOAD)
			return head->start - (ph.p_vaddr & ~(uint64_t)(PAGE - 1));
	}
	return head->start;
}

struct tp_error *tp_native_annotate(struct tp_nstacks *s,
				    const struct tp_maps *maps,
				    struct tp_buildid_cache *ids, pid_t pid,
				    tp_native_read_fn *read, void *arg)
{
	size_t cap = s->nmodules;
	/* which module each file head is, by its index in @maps */
	for (size_t t = 0; t < s->nthreads; t++) {
		struct tp_nstack_thread *th = &s->threads[t];
		for (size_t k = 0; k < th->nframes; k++) {
			struct tp_nstack_frame *f = &th->frames[k];
			uint64_t at = f->activation || !f->pc ? f->pc : f->pc - 1;
			const struct tp_mapping *m = tp_maps_find(maps, at);
			if (!m || !tp_mapping_is_file(m))
				continue;
			const struct tp_mapping *h = file_head(maps, m);
			if (!h)
				h = m;
			size_t i;
			for (i = 0; i < s->nmodules; i++)
				if (!strcmp(s->modules[i].path, h->path))
					break;
			if (i == s->nmodules) {
				if (s->nmodules == cap) {
					size_t n = cap ? cap * 2 : 16;
					struct tp_nstack_module *v = realloc(
						s->modules, n * sizeof(*v));
					if (!v)
						return &tp_error_nomem;
					s->modules = v;
					cap = n;
				}
				const char *id = "";
				struct tp_error *err = tp_buildid_get(ids, pid, h,
								      &id);
				if (err)
					return err;
				struct tp_nstack_module *mod = &s->modules[i];
				mod->path = strdup(h->path);
				mod->build_id = strdup(id);
				mod->bias = load_bias(h, read, arg);
				s->nmodules++;
				if (!mod->path || !mod->build_id)
					return &tp_error_nomem;
			}
			f->module = (uint32_t)i;
			f->offset = f->pc - s->modules[i].bias;
		}
	}
	return NULL;
}

struct tp_error *tp_native_record(pid_t pid, pid_t mem_pid,
				  const struct tp_core_thread *threads,
				  size_t n, const struct tp_capture *mem,
				  struct tp_buildid_cache *ids,
				  struct tp_nstacks *ret)
{
	memset(ret, 0, sizeof(*ret));
	struct tp_native_capture_src src = { mem, mem_pid };
	ret->threads = calloc(n ? n : 1, sizeof(*ret->threads));
	if (!ret->threads)
		return &tp_error_nomem;
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
	void *upt = _UPT_create(mem_pid);
	struct tp_error *err = NULL;
	if (!as || !upt)
		err = tp_error_create(TP_ERR_OTHER,
				      "libunwind: cannot create an address space");
	/* one address space for the snapshot: libunwind caches what it
	   learnt of each module across its threads */
	for (size_t i = 0; i < n && !err; i++) {
		ret->threads[i].tid = threads[i].tid;
		ret->nthreads = i + 1;
		err = unwind_with(as, upt, threads[i].regs,
				  tp_native_read_capture, &src,
				  &ret->threads[i]);
	}
	if (!err)
		err = tp_native_annotate(ret, &mem->maps, ids, pid,
					 tp_native_read_capture, &src);
	if (upt)
		_UPT_destroy(upt);
	if (as)
		unw_destroy_addr_space(as);
	if (err)
		tp_nstacks_deinit(ret);
	return err;
}
