/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/maps.h"
#include "python/target.h"

#define PAGE 4096u
#define MAX_MAPS 65536

static const char *const symbol_names[TP_NSYMBOLS] = {
#define TP_SYMBOL_NAME(name) #name,
	TP_SYMBOLS(TP_SYMBOL_NAME)
#undef TP_SYMBOL_NAME
};

static char *default_debuginfo_path;

static struct tp_error *target_new(const struct tp_target_opts *opts,
				   bool live, struct tp_target **ret)
{
	struct tp_target *t = calloc(1, sizeof(*t));
	if (!t)
		return &tp_error_nomem;
	const char *path = opts ? opts->debuginfo_path : NULL;
	if (path) {
		t->debuginfo_path = strdup(path);
		if (!t->debuginfo_path) {
			free(t);
			return &tp_error_nomem;
		}
	}
	t->callbacks.find_elf = live ? dwfl_linux_proc_find_elf
				     : dwfl_build_id_find_elf;
	t->callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
	t->callbacks.debuginfo_path = path ? &t->debuginfo_path
					   : &default_debuginfo_path;
	t->dwfl = dwfl_begin(&t->callbacks);
	if (!t->dwfl) {
		free(t->debuginfo_path);
		free(t);
		return tp_error_create(TP_ERR_OTHER, "libdwfl: %s",
				       dwfl_errmsg(-1));
	}
	*ret = t;
	return NULL;
}

/* Does @mod define @name?  Returns its address as libdwfl gives it, or 0. */
static uint64_t module_symbol(Dwfl_Module *mod, const char *name)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *s = dwfl_module_getsym_info(mod, i, &sym, &addr,
							&shndx, NULL, NULL);
		if (s && sym.st_shndx != SHN_UNDEF && !strcmp(s, name))
			return addr;
	}
	return 0;
}

/* ---- where the interpreter module really is ----------------------------- */

static bool add_map(struct tp_target *t, size_t *cap, uint64_t start,
		    uint64_t end, uint64_t offset, const char *path)
{
	if (t->nmaps == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct tp_target_map *v = realloc(t->maps, c * sizeof(*v));
		if (!v)
			return false;
		t->maps = v;
		*cap = c;
	}
	char *p = strdup(path);
	if (!p)
		return false;
	t->maps[t->nmaps++] = (struct tp_target_map){ start, end, offset, p };
	return true;
}

/*
 * The file mappings of a core, from its NT_FILE note: a count, the page
 * size, count (start, end, offset in pages) triples, then count names.
 * A core without the note (or a short one) leaves the list empty.
 */
static struct tp_error *maps_from_core(struct tp_target *t, Elf *core)
{
	size_t nph, cap = 0;
	if (elf_getphdrnum(core, &nph) != 0)
		return NULL;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(core, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(core, (int64_t)ph.p_offset,
						   ph.p_filesz, ELF_T_NHDR);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off,
						&desc_off)) > 0) {
			if (nh.n_type != NT_FILE || nh.n_namesz != 5 ||
			    memcmp((char *)d->d_buf + name_off, "CORE", 5))
				continue;
			const unsigned char *p = (const unsigned char *)d->d_buf +
						 desc_off;
			size_t len = nh.n_descsz;
			uint64_t count, page;
			if (len < 16)
				continue;
			memcpy(&count, p, 8);
			memcpy(&page, p + 8, 8);
			if (count > MAX_MAPS || 16 + count * 24 > len)
				continue;
			const char *name = (const char *)p + 16 + count * 24;
			const char *end = (const char *)p + len;
			for (uint64_t k = 0; k < count && name < end; k++) {
				uint64_t e[3];
				memcpy(e, p + 16 + k * 24, 24);
				const char *nul = memchr(name, 0,
							 (size_t)(end - name));
				if (!nul)
					break;
				if (!add_map(t, &cap, e[0], e[1], e[2] * page,
					     name))
					return &tp_error_nomem;
				name = nul + 1;
			}
		}
	}
	return NULL;
}

static struct tp_error *maps_from_pid(struct tp_target *t, pid_t pid)
{
	struct tp_maps maps;
	size_t cap = 0;
	struct tp_error *err = tp_maps_read(pid, &maps);
	if (err) {
		/* libdwfl read the maps already: its bias stands */
		tp_error_destroy(err);
		return NULL;
	}
	for (size_t i = 0; !err && i < maps.n; i++) {
		const struct tp_mapping *m = &maps.v[i];
		if (m->path && m->path[0] == '/' &&
		    !add_map(t, &cap, m->start, m->end, m->offset, m->path))
			err = &tp_error_nomem;
	}
	tp_maps_deinit(&maps);
	return err;
}

/*
 * The interpreter module's load bias, from the file's program headers and
 * the process's mappings of that file.
 *
 * libdwfl takes a module's bias from its first PT_LOAD, and the bias of a
 * separate debug file from the end of the first PT_LOAD of each file.  A
 * binary rewritten by patchelf (Nix and other tool chains do that) has an
 * extra PT_LOAD before the original first one -- the debug file has not --
 * so libdwfl puts the debug file's symbols at the wrong addresses (off by
 * the size of the original first segment), and an ET_DYN file's own bias
 * may be off too.  The kernel, though, maps each PT_LOAD at bias + p_vaddr
 * from file offset p_offset: a mapping of this file at the page of some
 * PT_LOAD's p_offset gives the bias, whatever the order of the headers.
 * The executable segment is preferred (patchelf adds only data).
 */
static void find_bias(struct tp_target *t)
{
	GElf_Addr dwfl_bias;
	Elf *elf = dwfl_module_getelf(t->pymod, &dwfl_bias);
	size_t nph;
	if (!elf || elf_getphdrnum(elf, &nph) != 0)
		return;
	for (int pass = 0; pass < 2 && !t->pymod_bias_known; pass++) {
		for (size_t i = 0; i < nph && !t->pymod_bias_known; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) ||
			    ph.p_type != PT_LOAD || !ph.p_filesz ||
			    (pass == 0 && !(ph.p_flags & PF_X)))
				continue;
			uint64_t off = ph.p_offset & ~(uint64_t)(PAGE - 1);
			uint64_t vaddr = ph.p_vaddr & ~(uint64_t)(PAGE - 1);
			for (size_t k = 0; k < t->nmaps; k++) {
				const struct tp_target_map *m = &t->maps[k];
				if (m->offset != off ||
				    strcmp(m->path, t->pymod_name))
					continue;
				t->pymod_bias = m->start - vaddr;
				t->pymod_bias_known = true;
				break;
			}
		}
	}
}

/* sh_addr of the allocated section @name of @elf, or false. */
static bool section_addr(Elf *elf, const char *name, uint64_t *ret)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*ret = sh.sh_addr;
			return true;
		}
	}
	return false;
}

/*
 * The address of symbol @sym of the interpreter module, read from @elf
 * (the main file or its debug file); @dwfl_addr is libdwfl's answer.  A
 * debug file is synchronised with the main file by a section both have
 * (prelink and patchelf both keep section names, not segment order).
 */
static uint64_t sym_address(struct tp_target *t, const GElf_Sym *sym,
			    GElf_Word shndx, Elf *elf, GElf_Addr dwfl_addr)
{
	if (!t->pymod_bias_known || shndx == SHN_ABS || shndx == SHN_UNDEF ||
	    (int)shndx == -1 || !elf)
		return dwfl_addr;
	GElf_Addr b;
	Elf *main_elf = dwfl_module_getelf(t->pymod, &b);
	if (elf == main_elf)
		return sym->st_value + t->pymod_bias;
	if (elf != t->debug_elf) {
		static const char *const sync[] = { ".text", ".rodata",
						    ".data" };
		t->debug_elf = elf;
		t->debug_delta_known = false;
		for (size_t i = 0; i < sizeof(sync) / sizeof(sync[0]); i++) {
			uint64_t a, d;
			if (main_elf && section_addr(main_elf, sync[i], &a) &&
			    section_addr(elf, sync[i], &d)) {
				t->debug_delta = (int64_t)(a - d);
				t->debug_delta_known = true;
				break;
			}
		}
	}
	if (!t->debug_delta_known)
		return dwfl_addr;
	return sym->st_value + (uint64_t)t->debug_delta + t->pymod_bias;
}

struct find_ctx {
	Dwfl_Module *found;
	bool names_only;
};

static int find_python_module(Dwfl_Module *mod, void **userdata,
			      const char *name, Dwarf_Addr start, void *arg)
{
	struct find_ctx *ctx = arg;
	if (ctx->names_only) {
		const char *base = name ? strrchr(name, '/') : NULL;
		base = base ? base + 1 : name;
		if (!base || !strstr(base, "python"))
			return DWARF_CB_OK;
	}
	if (module_symbol(mod, "Py_InitializeEx") ||
	    module_symbol(mod, "Py_Initialize")) {
		ctx->found = mod;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

static void hex_build_id(Dwfl_Module *mod, char *out, size_t outlen);

/* A module named like Python whose ELF file libdwfl could not find. */
static int missing_python_module(Dwfl_Module *mod, void **userdata,
				 const char *name, Dwarf_Addr start, void *arg)
{
	struct tp_error **ret = arg;
	const char *base = name ? strrchr(name, '/') : NULL;
	base = base ? base + 1 : name;
	GElf_Addr bias;
	if (!base || !strstr(base, "python") || dwfl_module_getelf(mod, &bias))
		return DWARF_CB_OK;
	char id[81];
	hex_build_id(mod, id, sizeof(id));
	*ret = tp_error_create(TP_ERR_NODEBUG,
			       "the interpreter's file %s (build-id %s) is not on this machine, or is another build: install the same build at that path, or set DEBUGINFOD_URLS (debuginfod serves executables and libraries by build-id too)",
			       name, id[0] ? id : "unknown");
	return DWARF_CB_ABORT;
}

static void hex_build_id(Dwfl_Module *mod, char *out, size_t outlen)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	out[0] = '\0';
	if (len <= 0)
		return;
	size_t o = 0;
	for (int i = 0; i < len && o + 3 <= outlen; i++) {
		static const char hex[] = "0123456789abcdef";
		out[o++] = hex[bits[i] >> 4];
		out[o++] = hex[bits[i] & 15];
	}
	out[o] = '\0';
}

static struct tp_error *target_finish(struct tp_target *t)
{
	struct find_ctx ctx = { .names_only = true };
	dwfl_getmodules(t->dwfl, find_python_module, &ctx, 0);
	if (!ctx.found) {
		ctx.names_only = false;
		dwfl_getmodules(t->dwfl, find_python_module, &ctx, 0);
	}
	if (!ctx.found) {
		/*
		 * A module named like Python whose file is not here is the
		 * likeliest reason when the snapshot is read on another
		 * machine: name it, with its build-id, and how to get it.
		 */
		struct tp_error *missing = NULL;
		dwfl_getmodules(t->dwfl, missing_python_module, &missing, 0);
		if (missing)
			return missing;
		return tp_error_create(TP_ERR_NOTPYTHON,
				       "not a Python process: no module defines the CPython interpreter (Py_InitializeEx)");
	}
	t->pymod = ctx.found;
	t->pymod_name = dwfl_module_info(t->pymod, NULL, &t->pymod_start, NULL,
					 NULL, NULL, NULL, NULL);
	if (!t->pymod_name)
		t->pymod_name = "?";
	hex_build_id(t->pymod, t->pymod_build_id, sizeof(t->pymod_build_id));

	find_bias(t);
	int n = dwfl_module_getsymtab(t->pymod);
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf;
		const char *s = dwfl_module_getsym_info(t->pymod, i, &sym,
							&addr, &shndx, &elf,
							NULL);
		if (!s || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) == STT_FILE)
			continue;
		for (int k = 0; k < TP_NSYMBOLS; k++) {
			if (!t->sym[k] && !strcmp(s, symbol_names[k])) {
				t->sym[k] = sym_address(t, &sym, shndx, elf,
							addr);
				break;
			}
		}
	}
	return NULL;
}

/* After the modules are reported: find the interpreter, or clean up. */
static struct tp_error *target_done(struct tp_target *t, struct tp_error *err,
				    struct tp_target **ret)
{
	if (!err)
		err = target_finish(t);
	if (err) {
		tp_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}

struct tp_error *tp_target_open_core(Elf *core_elf, struct tp_memsrc *mem,
				     const struct tp_target_opts *opts,
				     struct tp_target **ret)
{
	struct tp_target *t;
	struct tp_error *err = target_new(opts, false, &t);
	if (err)
		return err;
	t->mem = mem;
	if ((err = maps_from_core(t, core_elf))) {
		tp_target_destroy(t);
		return err;
	}
	/*
	 * libdwfl opens the files the core names (NT_FILE) itself, without
	 * O_NONBLOCK: a FIFO at one of those paths on this machine would
	 * hang it.  Refuse the core instead (a FIFO made after this check
	 * still would; nothing short of reporting the modules ourselves
	 * closes that window).
	 */
	for (size_t i = 0; i < t->nmaps; i++) {
		struct stat sb;
		if (stat(t->maps[i].path, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
			err = tp_error_create(TP_ERR_FORMAT,
					      "%s, a file the process mapped, is a FIFO on this machine: not opened (it would block)",
					      t->maps[i].path);
			tp_target_destroy(t);
			return err;
		}
	}
	dwfl_report_begin(t->dwfl);
	int n = dwfl_core_file_report(t->dwfl, core_elf, NULL);
	dwfl_report_end(t->dwfl, NULL, NULL);
	if (n < 0)
		err = tp_error_create(TP_ERR_FORMAT,
				      "cannot find the modules of the core: %s",
				      dwfl_errmsg(-1));
	return target_done(t, err, ret);
}

struct tp_error *tp_target_open_pid(pid_t pid, struct tp_memsrc *mem,
				    const struct tp_target_opts *opts,
				    struct tp_target **ret)
{
	struct tp_target *t;
	struct tp_error *err = target_new(opts, true, &t);
	if (err)
		return err;
	t->mem = mem;
	if ((err = maps_from_pid(t, pid))) {
		tp_target_destroy(t);
		return err;
	}
	dwfl_report_begin(t->dwfl);
	int r = dwfl_linux_proc_report(t->dwfl, pid);
	dwfl_report_end(t->dwfl, NULL, NULL);
	if (r != 0)
		err = r > 0 ? tp_error_os(r, NULL, "cannot read the maps of process %d",
					  (int)pid)
			    : tp_error_create(TP_ERR_OTHER, "libdwfl: %s",
					      dwfl_errmsg(-1));
	return target_done(t, err, ret);
}

struct tp_error *tp_target_rebind(const struct tp_target *proto,
				  struct tp_memsrc *mem, uint64_t delta,
				  struct tp_target **ret)
{
	struct tp_target *t = malloc(sizeof(*t));
	if (!t)
		return &tp_error_nomem;
	*t = *proto;
	t->mem = mem;
	t->borrowed = true;
	t->debuginfo_path = NULL;
	/* the first snapshot's mappings: read once, for the bias (moved by
	 * @delta like everything else), not owned by the copy */
	t->maps = NULL;
	t->nmaps = 0;
	t->delta = proto->delta + delta;
	t->pymod_start = proto->pymod_start + delta;
	for (int k = 0; k < TP_NSYMBOLS; k++)
		if (t->sym[k])
			t->sym[k] += delta;
	*ret = t;
	return NULL;
}

void tp_target_destroy(struct tp_target *target)
{
	if (!target)
		return;
	if (target->dwfl && !target->borrowed)
		dwfl_end(target->dwfl);
	for (size_t i = 0; i < target->nmaps; i++)
		free(target->maps[i].path);
	free(target->maps);
	free(target->debuginfo_path);
	free(target);
}

struct tp_error *tp_target_dwarf(struct tp_target *t, Dwarf **ret,
				 Dwarf_Addr *bias)
{
	Dwarf_Addr b = 0;
	Dwarf *dw = dwfl_module_getdwarf(t->pymod, &b);
	if (dw) {
		/* A .debug file without type units is useless: check for CUs. */
		Dwarf_Off next;
		size_t hsize;
		if (dwarf_nextcu(dw, 0, &next, &hsize, NULL, NULL, NULL) == 0) {
			*ret = dw;
			if (bias)
				*bias = b + t->delta;
			return NULL;
		}
	}
	return tp_error_create(TP_ERR_NODEBUG,
			       "no debug info for %s (build-id %s): install the distribution's debug symbols for this Python (e.g. python3.X-dbg or python3-debuginfo) or set DEBUGINFOD_URLS",
			       t->pymod_name,
			       t->pymod_build_id[0] ? t->pymod_build_id
						    : "unknown");
}

uint64_t tp_target_lookup(struct tp_target *target, const char *name)
{
	int n = dwfl_module_getsymtab(target->pymod);
	for (int i = 0; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Elf *elf;
		const char *s = dwfl_module_getsym_info(target->pymod, i, &sym,
							&addr, &shndx, &elf,
							NULL);
		if (s && sym.st_shndx != SHN_UNDEF && !strcmp(s, name)) {
			uint64_t a = sym_address(target, &sym, shndx, elf, addr);
			/* where libdwfl has the module, moved to this snapshot */
			return a ? a + target->delta : 0;
		}
	}
	return 0;
}

/*
 * The module's load bias in this snapshot: the one from its mappings,
 * else libdwfl's; plus the move of a rebound target (tp_target_rebind()).
 */
static uint64_t module_bias(struct tp_target *t, GElf_Addr dwfl_bias)
{
	return (t->pymod_bias_known ? t->pymod_bias : dwfl_bias) + t->delta;
}

uint64_t tp_target_section(struct tp_target *target, const char *name)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(target->pymod, &bias);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC))
			continue;
		const char *sname = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (sname && !strcmp(sname, name))
			return shdr.sh_addr + module_bias(target, bias);
	}
	return 0;
}

unsigned tp_target_machine(struct tp_target *target)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(target->pymod, &bias);
	GElf_Ehdr ehdr;
	if (!elf || !gelf_getehdr(elf, &ehdr))
		return 0;
	return ehdr.e_machine;
}

const char *tp_target_soname(struct tp_target *target)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(target->pymod, &bias);
	Elf_Scn *scn = NULL;
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNAMIC ||
		    !shdr.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = data ? data->d_size / shdr.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(data, (int)i, &dyn) ||
			    dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_SONAME)
				return elf_strptr(elf, shdr.sh_link, dyn.d_un.d_val);
		}
	}
	return NULL;
}

/*
 * 3.13+ puts _Py_DebugOffsets, which starts with the 8 bytes "xdebugpy",
 * at the very start of _PyRuntime.  With neither the symbol nor the
 * .PyRuntime section (a binary stripped of its section headers, a static
 * build that exports nothing), the cookie still finds the runtime: scan the
 * module's writable program headers' memory, _PyRuntime being at least
 * 8-byte aligned.
 */
uint64_t tp_target_find_cookie(struct tp_target *t, const char *cookie)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(t->pymod, &bias);
	size_t nphdr;
	if (!elf || elf_getphdrnum(elf, &nphdr) != 0)
		return 0;
	size_t clen = strlen(cookie);
	unsigned char buf[4096 + 64];
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD ||
		    !(ph.p_flags & PF_W))
			continue;
		uint64_t b = module_bias(t, bias);
		uint64_t start = (ph.p_vaddr + b) & ~7ULL;
		uint64_t end = ph.p_vaddr + b + ph.p_memsz;
		if (end - start > (256ULL << 20))
			end = start + (256ULL << 20);
		for (uint64_t a = start; a < end; a += 4096) {
			size_t n = end - a < 4096 ? (size_t)(end - a) : 4096;
			struct tp_error *err = tp_memsrc_read(t->mem, a, buf, n);
			if (err) {
				tp_error_destroy(err);
				continue;
			}
			for (size_t k = 0; k + clen <= n; k += 8)
				if (!memcmp(buf + k, cookie, clen))
					return a + k;
		}
	}
	return 0;
}
