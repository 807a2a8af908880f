/* SPDX-License-Identifier: MIT */
/*
 * Reading ELF cores.
 *
 * Everything in a core is foreign bytes: a snapshot from another machine, a
 * file cut short by a full disk, or a fuzzer's output.  So every offset and
 * size is checked against the image before use, with 64-bit arithmetic that
 * cannot wrap (sizes are compared with what remains, never added to an
 * offset first), and structures are copied out with memcpy rather than
 * read through casted pointers (the image need not be aligned).
 *
 * What is fatal and what is not: the ELF header, the program headers and
 * the notes describe the process; without them there is nothing to report,
 * so damage there fails tp_core_open().  Segment data is bulk memory: when
 * the file ends inside it we keep what is there, mark the rest missing and
 * let the caller say "core truncated" next to whatever it could decode.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/coreread.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"

enum slot_state {
	SLOT_UNRESOLVED,
	SLOT_OPEN,          /* fd is valid */
	SLOT_UNAVAILABLE,   /* the resolver gave -1 */
};

/* One distinct NT_FILE path and what the resolver made of it. */
struct file_slot {
	const char *path;
	enum slot_state state;
	int fd;
};

struct file_entry {
	struct tp_core_file_info info;
	size_t slot;
};

struct kv {
	const char *key, *value;
};

struct tp_core {
	struct tp_memsrc memsrc;    /* first: the memsrc is the core */
	char *path;
	unsigned char *image;
	size_t size;
	bool mapped;                /* image is an mmap, else malloc */
	Elf *elf;

	struct tp_core_segment_info *segs;   /* sorted by vaddr */
	size_t nsegs;
	bool truncated;
	char *warning;

	struct tp_core_thread_info *threads;
	size_t nthreads, threads_cap;

	bool have_psinfo;
	pid_t pid, ppid;
	char fname[sizeof(((struct elf_prpsinfo *)0)->pr_fname) + 1];
	char psargs[sizeof(((struct elf_prpsinfo *)0)->pr_psargs) + 1];

	const void *auxv;
	size_t auxv_len;

	bool have_files;
	uint64_t file_page;         /* NT_FILE page size */
	struct file_entry *files;   /* note order */
	size_t nfiles;
	size_t *files_by_addr;      /* indexes into files, sorted by start */
	struct file_slot *slots;
	size_t nslots;
	tp_core_file_resolver *resolver;
	void *resolver_arg;

	bool snapshot;
	char *kv_buf;
	struct kv *kv;
	size_t nkv;
};

static const struct tp_memsrc_ops core_memsrc_ops;
static int default_resolver(void *arg, const char *path);

static struct tp_error *format_error(const struct tp_core *core,
				     const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct tp_error *format_error(const struct tp_core *core,
				     const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tp_error_create(TP_ERR_FORMAT, "%s: %s", core->path, msg);
}

/* ---- loading the image --------------------------------------------------- */

static struct tp_error *load_image(struct tp_core *core, int fd)
{
	unsigned char head[4];
	size_t got;
	int e = tp_fd_pread_full(fd, head, sizeof(head), 0, &got);
	if (e)
		return tp_error_os(e, core->path, "cannot read core");
	if (got == 0)
		return format_error(core, "empty file");

	if (tp_gz_is_gzip(head, got)) {
		void *buf;
		size_t len;
		struct tp_error *err = tp_gz_inflate_fd(fd, TP_CORE_MAX_SIZE,
							&buf, &len);
		if (err)
			return tp_error_wrap(err, "%s", core->path);
		core->image = buf;
		core->size = len;
		return NULL;
	}

	struct stat st;
	if (fstat(fd, &st) < 0)
		return tp_error_os(errno, core->path, "cannot stat core");
	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > SIZE_MAX)
			return format_error(core, "file too large");
		core->size = (size_t)st.st_size;
		void *p = mmap(NULL, core->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return tp_error_os(errno, core->path, "cannot map core");
		core->image = p;
		core->mapped = true;
		return NULL;
	}
	/* A pipe or a device: read it whole. */
	char *buf;
	size_t len;
	e = tp_fd_read_all(fd, (size_t)(TP_CORE_MAX_SIZE < SIZE_MAX - 1
					? TP_CORE_MAX_SIZE : SIZE_MAX - 1),
			   &buf, &len);
	if (e == ENOMEM)
		return &tp_error_nomem;
	if (e)
		return tp_error_os(e, core->path, "cannot read core");
	core->image = (unsigned char *)buf;
	core->size = len;
	return NULL;
}

/* ---- headers ------------------------------------------------------------- */

static struct tp_error *read_phdrs(struct tp_core *core, Elf64_Phdr **ret,
				   size_t *ret_n)
{
	Elf64_Ehdr eh;
	if (core->size < SELFMAG || memcmp(core->image, ELFMAG, SELFMAG) != 0)
		return format_error(core, "not an ELF file");
	if (core->size < EI_NIDENT ||
	    core->image[EI_CLASS] != ELFCLASS64)
		return format_error(core,
				    "not a 64-bit ELF file (class %d); only x86-64 cores are supported",
				    core->size > EI_CLASS ? core->image[EI_CLASS]
							 : -1);
	if (core->image[EI_DATA] != ELFDATA2LSB)
		return format_error(core,
				    "not a little-endian ELF file; only x86-64 cores are supported");
	if (core->size < sizeof(eh))
		return format_error(core, "ELF header truncated");
	memcpy(&eh, core->image, sizeof(eh));
	if (eh.e_type != ET_CORE)
		return format_error(core,
				    "ELF file is not a core (e_type %u, %s)",
				    eh.e_type,
				    eh.e_type == ET_EXEC ? "an executable"
				    : eh.e_type == ET_DYN ? "a shared object or PIE"
				    : eh.e_type == ET_REL ? "an object file"
							  : "unknown");
	if (eh.e_machine != EM_X86_64)
		return format_error(core,
				    "core for machine %u; only x86-64 (%u) is supported",
				    eh.e_machine, EM_X86_64);

	uint64_t phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* Extended numbering: the count is in section 0's sh_info. */
		Elf64_Shdr sh0;
		if (eh.e_shoff > core->size ||
		    core->size - eh.e_shoff < sizeof(sh0))
			return format_error(core,
					    "section header 0 (extended e_phnum) beyond end of file");
		memcpy(&sh0, core->image + eh.e_shoff, sizeof(sh0));
		phnum = sh0.sh_info;
	}
	if (phnum == 0)
		return format_error(core, "no program headers");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return format_error(core, "e_phentsize is %u, expected %zu",
				    eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phoff > core->size ||
	    (core->size - eh.e_phoff) / sizeof(Elf64_Phdr) < phnum)
		return format_error(core,
				    "program headers (%" PRIu64 " at offset %" PRIu64 ") extend past end of file (%zu bytes): core truncated",
				    phnum, (uint64_t)eh.e_phoff, core->size);
	Elf64_Phdr *ph = malloc(phnum * sizeof(*ph));
	if (!ph)
		return &tp_error_nomem;
	memcpy(ph, core->image + eh.e_phoff, phnum * sizeof(*ph));
	*ret = ph;
	*ret_n = phnum;
	return NULL;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct tp_core_segment_info *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static struct tp_error *load_segments(struct tp_core *core,
				      const Elf64_Phdr *ph, size_t phnum)
{
	size_t n = 0, incomplete = 0;
	uint64_t missing = 0;
	for (size_t i = 0; i < phnum; i++)
		n += ph[i].p_type == PT_LOAD && ph[i].p_memsz;
	core->segs = calloc(n ? n : 1, sizeof(*core->segs));
	if (!core->segs)
		return &tp_error_nomem;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		struct tp_core_segment_info *s = &core->segs[core->nsegs++];
		s->vaddr = ph[i].p_vaddr;
		s->memsz = ph[i].p_memsz;
		/* Addresses past 2^64 do not exist; clip. */
		if (s->vaddr + s->memsz < s->vaddr)
			s->memsz = UINT64_MAX - s->vaddr + 1;
		s->offset = ph[i].p_offset;
		/* p_filesz > p_memsz makes no sense; only memsz is memory. */
		s->filesz = ph[i].p_filesz < s->memsz ? ph[i].p_filesz
						      : s->memsz;
		s->flags = ph[i].p_flags;
		uint64_t left = s->offset < core->size ? core->size - s->offset
							: 0;
		s->avail = s->filesz < left ? s->filesz : left;
		if (s->avail < s->filesz) {
			incomplete++;
			missing += s->filesz - s->avail;
		}
	}
	qsort(core->segs, core->nsegs, sizeof(*core->segs), seg_cmp);
	if (incomplete) {
		core->truncated = true;
		if (asprintf(&core->warning,
			     "core truncated: %zu of %zu segments incomplete, %" PRIu64 " bytes missing (they read as unavailable)",
			     incomplete, core->nsegs, missing) < 0) {
			core->warning = NULL;
			return &tp_error_nomem;
		}
	}
	return NULL;
}

/* ---- notes --------------------------------------------------------------- */

struct note {
	size_t index;           /* 1-based, across all PT_NOTE segments */
	const char *name;       /* namesz bytes, not necessarily terminated */
	uint32_t namesz, type;
	const unsigned char *desc;
	uint32_t descsz;
};

static bool note_is(const struct note *n, const char *name)
{
	size_t len = strlen(name) + 1;
	return n->namesz == len && memcmp(n->name, name, len) == 0;
}

static struct tp_error *note_prstatus(struct tp_core *core,
				      const struct note *n)
{
	struct elf_prstatus pr;
	if (n->descsz < offsetof(struct elf_prstatus, pr_fpvalid))
		return format_error(core,
				    "note %zu: NT_PRSTATUS of %u bytes, expected %zu",
				    n->index, n->descsz, sizeof(pr));
	memset(&pr, 0, sizeof(pr));
	memcpy(&pr, n->desc, n->descsz < sizeof(pr) ? n->descsz : sizeof(pr));
	if (core->nthreads == core->threads_cap) {
		size_t cap = core->threads_cap ? core->threads_cap * 2 : 8;
		void *p = realloc(core->threads, cap * sizeof(*core->threads));
		if (!p)
			return &tp_error_nomem;
		core->threads = p;
		core->threads_cap = cap;
	}
	struct tp_core_thread_info *t = &core->threads[core->nthreads++];
	t->tid = pr.pr_pid;
	memcpy(t->regs, pr.pr_reg, sizeof(t->regs));
	t->signo = pr.pr_cursig;
	return NULL;
}

static struct tp_error *note_prpsinfo(struct tp_core *core,
				      const struct note *n)
{
	struct elf_prpsinfo ps;
	if (core->have_psinfo)
		return NULL;
	if (n->descsz < sizeof(ps))
		return format_error(core,
				    "note %zu: NT_PRPSINFO of %u bytes, expected %zu",
				    n->index, n->descsz, sizeof(ps));
	memcpy(&ps, n->desc, sizeof(ps));
	core->have_psinfo = true;
	core->pid = ps.pr_pid;
	core->ppid = ps.pr_ppid;
	memcpy(core->fname, ps.pr_fname, sizeof(ps.pr_fname));
	core->fname[sizeof(ps.pr_fname)] = '\0';
	memcpy(core->psargs, ps.pr_psargs, sizeof(ps.pr_psargs));
	core->psargs[sizeof(ps.pr_psargs)] = '\0';
	return NULL;
}

static int file_start_cmp(const void *a, const void *b, void *arg)
{
	const struct file_entry *files = arg;
	uint64_t x = files[*(const size_t *)a].info.start;
	uint64_t y = files[*(const size_t *)b].info.start;
	return x < y ? -1 : x > y;
}

static int file_path_cmp(const void *a, const void *b, void *arg)
{
	const struct file_entry *files = arg;
	return strcmp(files[*(const size_t *)a].info.path,
		      files[*(const size_t *)b].info.path);
}

/* Index the entries by address (for reads) and by path (one resolver slot
 * per distinct path, however many mappings the file has). */
static struct tp_error *index_files(struct tp_core *core)
{
	size_t n = core->nfiles;
	size_t *by_path = malloc((n ? n : 1) * sizeof(size_t));
	core->files_by_addr = malloc((n ? n : 1) * sizeof(size_t));
	core->slots = calloc(n ? n : 1, sizeof(*core->slots));
	if (!by_path || !core->files_by_addr || !core->slots) {
		free(by_path);
		return &tp_error_nomem;
	}
	for (size_t i = 0; i < n; i++)
		core->files_by_addr[i] = by_path[i] = i;
	qsort_r(core->files_by_addr, n, sizeof(size_t), file_start_cmp,
		core->files);
	qsort_r(by_path, n, sizeof(size_t), file_path_cmp, core->files);
	for (size_t i = 0; i < n; i++) {
		struct file_entry *f = &core->files[by_path[i]];
		if (i == 0 || strcmp(core->files[by_path[i - 1]].info.path,
				     f->info.path) != 0) {
			struct file_slot *s = &core->slots[core->nslots++];
			s->path = f->info.path;
			s->fd = -1;
		}
		f->slot = core->nslots - 1;
	}
	free(by_path);
	return NULL;
}

static struct tp_error *note_file(struct tp_core *core, const struct note *n)
{
	if (core->have_files)
		return NULL;
	uint64_t head[2];
	if (n->descsz < sizeof(head))
		return format_error(core, "note %zu: NT_FILE too short",
				    n->index);
	memcpy(head, n->desc, sizeof(head));
	uint64_t count = head[0], page = head[1];
	size_t room = n->descsz - sizeof(head);
	if (count > room / (3 * sizeof(uint64_t)))
		return format_error(core,
				    "note %zu: NT_FILE claims %" PRIu64 " entries in %u bytes",
				    n->index, count, n->descsz);
	if (page == 0 || (page & (page - 1)))
		return format_error(core,
				    "note %zu: NT_FILE page size %" PRIu64 " is not a power of two",
				    n->index, page);
	core->files = calloc(count ? count : 1, sizeof(*core->files));
	if (!core->files)
		return &tp_error_nomem;
	const unsigned char *p = n->desc + sizeof(head);
	const char *str = (const char *)p + count * 3 * sizeof(uint64_t);
	const char *end = (const char *)n->desc + n->descsz;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, p + i * sizeof(e), sizeof(e));
		const char *nul = memchr(str, '\0', (size_t)(end - str));
		if (!nul)
			return format_error(core,
					    "note %zu: NT_FILE path %" PRIu64 " not terminated",
					    n->index, i);
		if (e[2] > UINT64_MAX / page || e[1] < e[0])
			return format_error(core,
					    "note %zu: NT_FILE entry %" PRIu64 " is invalid",
					    n->index, i);
		struct tp_core_file_info *f = &core->files[i].info;
		f->start = e[0];
		f->end = e[1];
		f->offset = e[2] * page;
		f->path = str;
		str = nul + 1;
	}
	core->nfiles = (size_t)count;
	core->file_page = page;
	core->have_files = true;
	return index_files(core);
}

static struct tp_error *note_tripod(struct tp_core *core, const struct note *n)
{
	if (core->snapshot)
		return NULL;
	if (n->descsz && n->desc[n->descsz - 1] != '\0')
		return format_error(core,
				    "note %zu: tripod note not NUL-terminated",
				    n->index);
	size_t count = 0;
	for (uint32_t i = 0; i < n->descsz; i++)
		count += n->desc[i] == '\0';
	core->kv_buf = malloc(n->descsz ? n->descsz : 1);
	core->kv = calloc(count ? count : 1, sizeof(*core->kv));
	if (!core->kv_buf || !core->kv)
		return &tp_error_nomem;
	memcpy(core->kv_buf, n->desc, n->descsz);
	char *s = core->kv_buf, *end = core->kv_buf + n->descsz;
	while (s < end) {
		char *eq = strchr(s, '=');
		if (!eq || eq == s)
			return format_error(core,
					    "note %zu: tripod note entry %zu is not key=value",
					    n->index, core->nkv + 1);
		*eq = '\0';
		core->kv[core->nkv].key = s;
		core->kv[core->nkv].value = eq + 1;
		core->nkv++;
		s = eq + 1 + strlen(eq + 1) + 1;
	}
	core->snapshot = true;
	return NULL;
}

static struct tp_error *handle_note(struct tp_core *core, const struct note *n)
{
	if (note_is(n, "CORE")) {
		switch (n->type) {
		case NT_PRSTATUS:
			return note_prstatus(core, n);
		case NT_PRPSINFO:
			return note_prpsinfo(core, n);
		case NT_AUXV:
			if (!core->auxv) {
				core->auxv = n->desc;
				core->auxv_len = n->descsz;
			}
			return NULL;
		case NT_FILE:
			return note_file(core, n);
		default:
			return NULL;
		}
	}
	if (note_is(n, TP_NOTE_NAME) && n->type == TP_NOTE_TYPE)
		return note_tripod(core, n);
	return NULL;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~(uint64_t)3;
}

static struct tp_error *parse_notes(struct tp_core *core,
				    const Elf64_Phdr *ph, size_t *index)
{
	if (ph->p_offset > core->size ||
	    core->size - ph->p_offset < ph->p_filesz)
		return format_error(core,
				    "notes truncated: PT_NOTE [%" PRIu64 ", +%" PRIu64 ") extends past end of file (%zu bytes)",
				    (uint64_t)ph->p_offset,
				    (uint64_t)ph->p_filesz, core->size);
	const unsigned char *base = core->image + ph->p_offset;
	uint64_t size = ph->p_filesz, pos = 0;
	while (pos < size) {
		uint64_t left = size - pos;
		struct note n = { .index = ++*index };
		Elf64_Nhdr nh;
		if (left < sizeof(nh)) {
			/* Zero padding after the last note is harmless. */
			while (left && base[pos] == 0)
				pos++, left--;
			if (!left)
				break;
			return format_error(core,
					    "note %zu truncated (%" PRIu64 " bytes left for a 12-byte header)",
					    n.index, left);
		}
		memcpy(&nh, base + pos, sizeof(nh));
		left -= sizeof(nh);
		uint64_t name_al = align4(nh.n_namesz);
		if (name_al > left || nh.n_descsz > left - name_al)
			return format_error(core,
					    "note %zu truncated (namesz %u, descsz %u, %" PRIu64 " bytes left in PT_NOTE)",
					    n.index, nh.n_namesz, nh.n_descsz,
					    left);
		n.name = (const char *)base + pos + sizeof(nh);
		n.namesz = nh.n_namesz;
		n.type = nh.n_type;
		n.desc = base + pos + sizeof(nh) + name_al;
		n.descsz = nh.n_descsz;
		struct tp_error *err = handle_note(core, &n);
		if (err)
			return err;
		/* The last descriptor's padding may be missing. */
		uint64_t step = sizeof(nh) + name_al + align4(nh.n_descsz);
		pos = step < size - pos ? pos + step : size;
	}
	return NULL;
}

/* ---- open / close -------------------------------------------------------- */

static pthread_once_t elf_once = PTHREAD_ONCE_INIT;

static void elf_init(void)
{
	elf_version(EV_CURRENT);
}

static struct tp_error *core_parse(struct tp_core *core)
{
	Elf64_Phdr *ph = NULL;
	size_t phnum = 0, index = 0;
	struct tp_error *err = read_phdrs(core, &ph, &phnum);
	if (err)
		return err;
	for (size_t i = 0; i < phnum && !err; i++)
		if (ph[i].p_type == PT_NOTE)
			err = parse_notes(core, &ph[i], &index);
	if (!err)
		err = load_segments(core, ph, phnum);
	free(ph);
	return err;
}

struct tp_error *tp_core_open(const char *path, struct tp_core **ret)
{
	struct tp_core *core = calloc(1, sizeof(*core));
	if (!core)
		return &tp_error_nomem;
	core->memsrc.ops = &core_memsrc_ops;
	core->resolver = default_resolver;
	core->resolver_arg = core;
	core->path = strdup(path);
	if (!core->path) {
		free(core);
		return &tp_error_nomem;
	}
	struct tp_error *err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = tp_error_os(errno, path, "cannot open core");
		goto fail;
	}
	err = load_image(core, fd);
	close(fd);
	if (err)
		goto fail;
	if ((err = core_parse(core)))
		goto fail;
	*ret = core;
	return NULL;
fail:
	tp_core_destroy(core);
	return err;
}

static void drop_slots(struct tp_core *core)
{
	for (size_t i = 0; i < core->nslots; i++) {
		if (core->slots[i].state == SLOT_OPEN)
			close(core->slots[i].fd);
		core->slots[i].state = SLOT_UNRESOLVED;
		core->slots[i].fd = -1;
	}
}

void tp_core_destroy(struct tp_core *core)
{
	if (!core)
		return;
	if (core->elf)
		elf_end(core->elf);
	if (core->slots)
		drop_slots(core);
	if (core->mapped)
		munmap(core->image, core->size);
	else
		free(core->image);
	free(core->path);
	free(core->segs);
	free(core->warning);
	free(core->threads);
	free(core->files);
	free(core->files_by_addr);
	free(core->slots);
	free(core->kv_buf);
	free(core->kv);
	free(core);
}

/* ---- accessors ----------------------------------------------------------- */

Elf *tp_core_elf(struct tp_core *core)
{
	if (!core->elf) {
		pthread_once(&elf_once, elf_init);
		/* elf_memory() takes a non-const pointer but opens the
		 * image with ELF_C_READ: libelf never writes to it, so a
		 * read-only mapping is fine. */
		core->elf = elf_memory((char *)core->image, core->size);
	}
	return core->elf;
}

const void *tp_core_image(const struct tp_core *core, size_t *len)
{
	*len = core->size;
	return core->image;
}

struct tp_memsrc *tp_core_memsrc(struct tp_core *core)
{
	return &core->memsrc;
}

bool tp_core_is_snapshot(const struct tp_core *core)
{
	return core->snapshot;
}

bool tp_core_is_truncated(const struct tp_core *core)
{
	return core->truncated;
}

const char *tp_core_warning(const struct tp_core *core)
{
	return core->warning;
}

size_t tp_core_nsegments(const struct tp_core *core)
{
	return core->nsegs;
}

const struct tp_core_segment_info *tp_core_segment(const struct tp_core *core,
						   size_t i)
{
	return i < core->nsegs ? &core->segs[i] : NULL;
}

size_t tp_core_nthreads(const struct tp_core *core)
{
	return core->nthreads;
}

const struct tp_core_thread_info *tp_core_thread(const struct tp_core *core,
						 size_t i)
{
	return i < core->nthreads ? &core->threads[i] : NULL;
}

pid_t tp_core_pid(const struct tp_core *core)
{
	return core->have_psinfo ? core->pid : 0;
}

pid_t tp_core_ppid(const struct tp_core *core)
{
	return core->have_psinfo ? core->ppid : 0;
}

const char *tp_core_fname(const struct tp_core *core)
{
	return core->have_psinfo ? core->fname : NULL;
}

const char *tp_core_psargs(const struct tp_core *core)
{
	return core->have_psinfo ? core->psargs : NULL;
}

size_t tp_core_nfiles(const struct tp_core *core)
{
	return core->nfiles;
}

const struct tp_core_file_info *tp_core_file(const struct tp_core *core,
					     size_t i)
{
	return i < core->nfiles ? &core->files[i].info : NULL;
}

const void *tp_core_auxv(const struct tp_core *core, size_t *len)
{
	*len = core->auxv_len;
	return core->auxv;
}

const char *tp_core_note_get(const struct tp_core *core, const char *key)
{
	for (size_t i = 0; i < core->nkv; i++)
		if (strcmp(core->kv[i].key, key) == 0)
			return core->kv[i].value;
	return NULL;
}

struct tp_error *tp_core_note_all(const struct tp_core *core, const char *key,
				  const char ***ret, size_t *ret_n)
{
	size_t n = 0;
	for (size_t i = 0; i < core->nkv; i++)
		n += strcmp(core->kv[i].key, key) == 0;
	*ret = NULL;
	*ret_n = 0;
	if (!n)
		return NULL;
	const char **v = malloc(n * sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	n = 0;
	for (size_t i = 0; i < core->nkv; i++)
		if (strcmp(core->kv[i].key, key) == 0)
			v[n++] = core->kv[i].value;
	*ret = v;
	*ret_n = n;
	return NULL;
}

void tp_core_set_file_resolver(struct tp_core *core,
			       tp_core_file_resolver *fn, void *arg)
{
	drop_slots(core);
	core->resolver = fn ? fn : default_resolver;
	core->resolver_arg = fn ? arg : core;
}

/* ---- memory -------------------------------------------------------------- */

/* The segment containing @addr, or NULL. */
static const struct tp_core_segment_info *find_seg(const struct tp_core *core,
						   uint64_t addr)
{
	size_t lo = 0, hi = core->nsegs;
	while (lo < hi) {       /* first segment with vaddr > addr */
		size_t mid = lo + (hi - lo) / 2;
		if (core->segs[mid].vaddr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct tp_core_segment_info *s = &core->segs[lo - 1];
	return addr - s->vaddr < s->memsz ? s : NULL;
}

/*
 * The NT_FILE entry containing @addr, or NULL; *@next gets the start of the
 * first entry above @addr (UINT64_MAX if none), where a zero fill must stop.
 */
static const struct file_entry *find_file(const struct tp_core *core,
					  uint64_t addr, uint64_t *next)
{
	size_t lo = 0, hi = core->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (core->files[core->files_by_addr[mid]].info.start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	*next = lo < core->nfiles
			? core->files[core->files_by_addr[lo]].info.start
			: UINT64_MAX;
	if (lo == 0)
		return NULL;
	const struct file_entry *f = &core->files[core->files_by_addr[lo - 1]];
	return addr < f->info.end ? f : NULL;
}

/* The image bytes of [addr, addr + len) if one segment's file part holds
 * them all, else NULL. */
static const unsigned char *core_bytes(const struct tp_core *core,
				       uint64_t addr, uint64_t len)
{
	const struct tp_core_segment_info *s = find_seg(core, addr);
	if (!s || s->avail < len || addr - s->vaddr > s->avail - len)
		return NULL;
	return core->image + s->offset + (addr - s->vaddr);
}

/*
 * The default resolver.  A path from a core is untrusted: open it without
 * blocking (a FIFO would hang us), accept regular files only, and when the
 * core kept the file's first page (tripod snapshots keep every mapped
 * file's ELF header page) insist that the file starts with the same bytes:
 * a library upgraded since the snapshot must not lend us its code.
 */
static int default_resolver(void *arg, const char *path)
{
	struct tp_core *core = arg;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto reject;

	uint64_t page = core->file_page ? core->file_page : 4096;
	const unsigned char *copy = NULL;
	/*
	 * A writable first page (patchelf puts .dynamic there, and the
	 * dynamic loader writes DT_DEBUG into it) differs from the file by
	 * design: then only the ELF header must match.
	 */
	uint64_t cmp = page;
	for (size_t i = 0; i < core->nfiles && !copy; i++) {
		const struct tp_core_file_info *f = &core->files[i].info;
		if (f->offset == 0 && f->end - f->start >= page &&
		    strcmp(f->path, path) == 0) {
			copy = core_bytes(core, f->start, page);
			const struct tp_core_segment_info *seg =
				find_seg(core, f->start);
			if (seg && (seg->flags & PF_W))
				cmp = sizeof(Elf64_Ehdr);
		}
	}
	if (copy) {
		unsigned char *buf = malloc(page);
		size_t got = 0;
		bool same = buf && tp_fd_pread_full(fd, buf, cmp, 0, &got) == 0 &&
			    memcmp(buf, copy, got) == 0;
		/* Past the end of a short file a mapping reads zeros. */
		for (size_t i = got; same && i < cmp; i++)
			same = copy[i] == 0;
		free(buf);
		if (!same)
			goto reject;
	}
	return fd;
reject:
	close(fd);
	return -1;
}

static int slot_fd(struct tp_core *core, struct file_slot *s)
{
	if (s->state == SLOT_UNRESOLVED) {
		s->fd = core->resolver(core->resolver_arg, s->path);
		s->state = s->fd >= 0 ? SLOT_OPEN : SLOT_UNAVAILABLE;
	}
	return s->fd;
}

/* The read being served: faults are reported for all of it. */
struct read_req {
	uint64_t addr;
	size_t len;
};

static struct tp_error *read_fault(const struct read_req *req,
				   const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct tp_error *read_fault(const struct read_req *req,
				   const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return tp_error_fault(req->addr,
			      "cannot read %zu bytes at 0x%" PRIx64 ": %s",
			      req->len, req->addr, why);
}

/*
 * Read bytes of a segment past its file part: [addr, addr + len) lies in
 * [vaddr + filesz, vaddr + memsz).  Sets *@done to the bytes produced
 * (at least 1) or returns a fault.
 */
static struct tp_error *read_unsaved(struct tp_core *core,
				     const struct read_req *req, uint64_t addr,
				     unsigned char *out, uint64_t len,
				     uint64_t *done)
{
	uint64_t next;
	const struct file_entry *f = find_file(core, addr, &next);
	if (!f) {
		if (!core->snapshot)
			return read_fault(req, "0x%" PRIx64 " was not saved in the core",
					  addr);
		/* A snapshot leaves out pages the target never touched. */
		uint64_t n = next - addr < len ? next - addr : len;
		memset(out, 0, n);
		*done = n;
		return NULL;
	}
	struct file_slot *slot = &core->slots[f->slot];
	int fd = slot_fd(core, slot);
	if (fd < 0)
		return read_fault(req,
				  "0x%" PRIx64 " is in %s, which is not available or does not match the core",
				  addr, slot->path);
	uint64_t n = f->info.end - addr < len ? f->info.end - addr : len;
	uint64_t foff = f->info.offset + (addr - f->info.start);
	size_t got;
	int e = tp_fd_pread_full(fd, out, n, foff, &got);
	if (e)
		return read_fault(req, "%s: %s", slot->path, strerror(e));
	if (got < n) {
		/* The file ends here.  A mapping shows zeros up to the end
		 * of the page holding the file's last byte, then SIGBUS. */
		uint64_t page = core->file_page ? core->file_page : 4096;
		uint64_t eof = foff + got;
		uint64_t zero_end = (eof + page - 1) / page * page;
		uint64_t z = zero_end - eof < n - got ? zero_end - eof
						      : n - got;
		memset(out + got, 0, z);
		got += z;
		if (got == 0)
			return read_fault(req,
					  "0x%" PRIx64 " is past the end of %s",
					  addr, slot->path);
	}
	*done = got;
	return NULL;
}

static struct tp_error *core_read(struct tp_memsrc *src, uint64_t addr,
				  void *buf, size_t len)
{
	struct tp_core *core = (struct tp_core *)src;
	const struct read_req req = { addr, len };
	unsigned char *out = buf;
	uint64_t a = addr;
	size_t left = len;

	if (len && addr + (len - 1) < addr)
		return read_fault(&req, "wraps around");
	while (left) {
		const struct tp_core_segment_info *s = find_seg(core, a);
		if (!s) {
			/*
			 * gdb's gcore leaves read-only file mappings out
			 * altogether (no PT_LOAD), but lists them in NT_FILE:
			 * their bytes are in the file.
			 */
			uint64_t next, done = 0;
			if (!find_file(core, a, &next))
				return read_fault(&req,
						  "0x%" PRIx64 " is not in the core",
						  a);
			struct tp_error *err = read_unsaved(core, &req, a, out,
							    left, &done);
			if (err)
				return err;
			out += done;
			a += done;
			left -= done;
			continue;
		}
		uint64_t off = a - s->vaddr;
		uint64_t n = s->memsz - off < left ? s->memsz - off : left;
		uint64_t done = 0;
		if (off < s->avail) {
			done = s->avail - off < n ? s->avail - off : n;
			memcpy(out, core->image + s->offset + off, done);
		} else if (off < s->filesz) {
			return read_fault(&req,
					  "0x%" PRIx64 " is missing from the truncated core",
					  a);
		} else {
			struct tp_error *err = read_unsaved(core, &req, a, out,
							    n, &done);
			if (err)
				return err;
		}
		out += done;
		a += done;
		left -= done;
	}
	return NULL;
}

static const struct tp_memsrc_ops core_memsrc_ops = {
	.read = core_read,
};
