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

#include <zlib.h>

#include "common/strbuf.h"
#include "core/blockcache.h"
#include "core/coreread.h"
#include "core/nstacks.h"
#include "core/sockets.h"
#include "core/corewrite.h"
#include "core/fdio.h"
#include "core/gz.h"
#include "core/store.h"

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

/*
 * Where the bytes of the core file come from.  The reader sees one byte
 * range, [0, size), the core file as it is (or, for a stored snapshot, as
 * tripod-analyze --export-core writes it), and gets pieces of it through
 * chunk():
 *   IMAGE  the whole file in memory: a plain core (mmap), or a gzip'd core
 *          that is not BGZF (inflated whole at open);
 *   BGZF   a BGZF core (every tripod .core.gz): each member is inflated
 *          when first read, into the block cache;
 *   STORE  a snapshot index: the ELF header, program headers and notes
 *          are made in memory at open, segment data comes from the blocks
 *          of the store, each decompressed when first read.
 */
enum backing { BACK_IMAGE, BACK_BGZF, BACK_STORE };

struct bgzf_member {
	uint64_t coff;              /* offset in the file */
	uint32_t clen;              /* the whole member's size */
	uint32_t hlen;              /* its header's size */
	uint64_t uoff;              /* offset of its contents in the core */
	uint32_t ulen;              /* size of its contents */
};

struct tp_core {
	struct tp_memsrc memsrc;    /* first: the memsrc is the core */
	char *path;
	enum backing backing;
	unsigned char *image;       /* IMAGE: the file; STORE: the head */
	size_t image_len;
	size_t size;                /* size of the core file */
	bool mapped;                /* image is an mmap, else malloc */
	Elf *elf;
	unsigned char *elf_image;   /* BGZF, STORE: what libdwfl sees */
	size_t elf_image_len;
	unsigned char *full;        /* BGZF, STORE: tp_core_image() */
	unsigned char **note_bufs;  /* copies of the PT_NOTE segments */
	uint64_t *note_lens;
	size_t nnote_bufs;

	struct tp_blockcache *cache;
	bool own_cache;
	/* last chunk served, for the next read nearby */
	uint64_t last_off, last_len;
	const unsigned char *last_ptr;
	uint64_t last_gen;

	int fd;                     /* BGZF: the file */
	uint64_t dev, ino;
	struct bgzf_member *members;
	size_t nmembers;

	struct tp_index *ix;        /* STORE */
	int store_fd;
	uint64_t *ix_off;           /* file offset of each index segment */

	struct tp_core_segment_info *segs;   /* sorted by vaddr */
	size_t nsegs;
	bool truncated;
	char *warning;

	struct tp_core_thread_info *threads;
	size_t nthreads, threads_cap;

	bool have_psinfo;
	pid_t pid, ppid;
	long long uid, gid;         /* pr_uid, pr_gid */
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
	const void *nstacks;        /* native stacks note (nstacks.h) */
	size_t nstacks_len;
	const void *sockets;        /* sockets note (sockets.h) */
	size_t sockets_len;
	char *kv_buf;
	struct kv *kv;
	size_t nkv;
};

static const struct tp_memsrc_ops core_memsrc_ops;
static int default_resolver(void *arg, const char *path);
static struct tp_error *chunk(struct tp_core *core, uint64_t off,
			      const unsigned char **ret, uint64_t *ret_len);
static const struct tp_core_segment_info *find_seg(const struct tp_core *core,
						   uint64_t addr);
static const struct file_entry *find_file(const struct tp_core *core,
					  uint64_t addr, uint64_t *next);

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

/* ---- loading ------------------------------------------------------------- */

#define BGZF_MAX_MEMBER 65536
/* Notes hold registers, NT_FILE paths and a few strings: megabytes at most. */
#define TP_CORE_MAX_NOTES (256ULL << 20)
#define GZ_FEXTRA 4
/* gzip header flags other than FEXTRA: a member with any is not BGZF. */
#define GZ_OTHER_FLAGS 0xfbu

/*
 * Index the members of a BGZF file without inflating them: each header
 * gives the member's size (the 'BC' subfield), each trailer its contents'
 * size (ISIZE).  Returns false, having done nothing, when a member is not
 * BGZF (the caller inflates the whole stream as any gzip file); errors are
 * for what any reader would refuse: a stream cut short, garbage after it.
 */
static bool bgzf_scan(struct tp_core *core, int fd, uint64_t fsize,
		      struct tp_error **ret)
{
	size_t cap = 0, n = 0;
	struct bgzf_member *v = NULL;
	uint64_t coff = 0, uoff = 0;
	*ret = NULL;
	while (coff < fsize) {
		unsigned char h[12 + 64];
		size_t got;
		int e = tp_fd_pread_full(fd, h, sizeof(h), coff, &got);
		if (e) {
			*ret = tp_error_os(e, core->path, "cannot read core");
			goto out;
		}
		if (got < 2 || h[0] != 0x1f || h[1] != 0x8b) {
			*ret = format_error(core,
					    "trailing garbage after gzip member %zu at offset %" PRIu64,
					    n, coff);
			goto out;
		}
		if (got < 12 || h[2] != 8 || !(h[3] & GZ_FEXTRA) ||
		    (h[3] & GZ_OTHER_FLAGS))
			goto not_bgzf;
		size_t xlen = (size_t)h[10] | (size_t)h[11] << 8;
		if (xlen > sizeof(h) - 12 || 12 + xlen > got)
			goto not_bgzf;
		uint32_t bsize = 0;
		bool found = false;
		for (size_t x = 12; x + 4 <= 12 + xlen;) {
			size_t slen = (size_t)h[x + 2] | (size_t)h[x + 3] << 8;
			if (h[x] == 'B' && h[x + 1] == 'C' && slen == 2 &&
			    x + 6 <= 12 + xlen) {
				bsize = (uint32_t)h[x + 4] | (uint32_t)h[x + 5] << 8;
				found = true;
			}
			x += 4 + slen;
		}
		uint32_t clen = bsize + 1;
		if (!found || clen < 12 + xlen + 8)
			goto not_bgzf;
		if (clen > fsize - coff) {
			/*
			 * Cut short (a full disk, a copy interrupted): the
			 * members before this one are whole and checked by
			 * their CRC when read; the core they make ends here,
			 * and load_segments() says what is missing.
			 */
			if (n)
				break;
			*ret = format_error(core,
					    "truncated gzip stream: member %zu starting at offset %" PRIu64 " ends early at offset %" PRIu64,
					    n + 1, coff, fsize);
			goto out;
		}
		unsigned char isz[4];
		e = tp_fd_pread_full(fd, isz, 4, coff + clen - 4, &got);
		if (e || got != 4) {
			*ret = tp_error_os(e ? e : EIO, core->path,
					   "cannot read core");
			goto out;
		}
		uint32_t ulen = (uint32_t)isz[0] | (uint32_t)isz[1] << 8 |
				(uint32_t)isz[2] << 16 | (uint32_t)isz[3] << 24;
		if (ulen > BGZF_MAX_MEMBER)
			goto not_bgzf;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct bgzf_member *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				*ret = &tp_error_nomem;
				goto out;
			}
			v = nv;
		}
		v[n++] = (struct bgzf_member){ coff, clen, (uint32_t)(12 + xlen),
					       uoff, ulen };
		coff += clen;
		uoff += ulen;
		if (uoff > TP_CORE_MAX_SIZE) {
			*ret = format_error(core,
					    "gzip stream inflates to more than %llu bytes",
					    (unsigned long long)TP_CORE_MAX_SIZE);
			goto out;
		}
	}
	if (!n) {
		*ret = format_error(core,
				    "truncated gzip stream: BGZF end-of-stream marker missing after member %zu (offset %" PRIu64 ")",
				    n, coff);
		goto out;
	}
	/* no end-of-stream marker: cut short after a whole member (above) */
	core->members = v;
	core->nmembers = n;
	core->size = uoff;
	core->backing = BACK_BGZF;
	return true;
out:
	free(v);
	return true;
not_bgzf:
	free(v);
	return false;
}

/* Inflate member @m into a new buffer, checking its CRC-32 and size. */
static struct tp_error *bgzf_inflate(struct tp_core *core,
				     const struct bgzf_member *m,
				     unsigned char **ret)
{
	unsigned char *in = malloc(m->clen), *out = malloc(m->ulen ? m->ulen : 1);
	struct tp_error *err = NULL;
	size_t got;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	if (!in || !out) {
		err = &tp_error_nomem;
		goto out;
	}
	int e = tp_fd_pread_full(core->fd, in, m->clen, m->coff, &got);
	if (e || got != m->clen) {
		err = tp_error_os(e ? e : EIO, core->path, "cannot read core");
		goto out;
	}
	if (inflateInit2(&zs, -15) != Z_OK) {
		err = &tp_error_nomem;
		goto out;
	}
	zs.next_in = in + m->hlen;
	zs.avail_in = m->clen - m->hlen - 8;
	zs.next_out = out;
	zs.avail_out = m->ulen;
	int r = inflate(&zs, Z_FINISH);
	size_t produced = m->ulen - zs.avail_out;
	inflateEnd(&zs);
	const unsigned char *t = in + m->clen - 8;
	uint32_t crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
		       (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	const char *why = NULL;
	if (r != Z_STREAM_END)
		why = zs.msg ? zs.msg : "invalid data";
	else if (produced != m->ulen)
		why = "length (ISIZE) mismatch";
	else if ((uint32_t)crc32(0L, out, m->ulen) != crc)
		why = "CRC-32 mismatch";
	if (why)
		err = format_error(core,
				   "corrupt gzip stream: member at offset %" PRIu64 ": %s",
				   m->coff, why);
out:
	free(in);
	if (err) {
		free(out);
		return err;
	}
	*ret = out;
	return NULL;
}

static uint64_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (uint64_t)p : 4096;
}

/* A snapshot index: make the head of the core it stands for. */
static struct tp_error *load_store(struct tp_core *core)
{
	struct tp_error *err = tp_index_load(core->path, &core->ix);
	if (err)
		return err;
	const struct tp_index *ix = core->ix;
	if ((err = tp_index_open_store(ix, &core->store_fd)))
		return err;
	struct tp_core_load *loads = calloc(ix->nsegs ? ix->nsegs : 1,
					    sizeof(*loads));
	core->ix_off = calloc(ix->nsegs ? ix->nsegs : 1, sizeof(uint64_t));
	if (!loads || !core->ix_off) {
		free(loads);
		return &tp_error_nomem;
	}
	for (size_t i = 0; i < ix->nsegs; i++)
		loads[i] = (struct tp_core_load){
			.vaddr = ix->segs[i].vaddr,
			.memsz = ix->segs[i].memsz,
			.filesz = ix->segs[i].filesz,
			.flags = ix->segs[i].flags & (PF_R | PF_W | PF_X),
		};
	struct tp_strbuf head = TP_STRBUF_INIT;
	uint64_t size;
	err = tp_core_build_head(loads, ix->nsegs, ix->notes, ix->notes_len,
				 ix->page_size, &head, core->ix_off, &size);
	free(loads);
	if (err) {
		tp_strbuf_deinit(&head);
		return tp_error_wrap(err, "%s", core->path);
	}
	core->image_len = head.len;
	core->image = (unsigned char *)tp_strbuf_steal(&head);
	if (!core->image)
		return &tp_error_nomem;
	core->size = size;
	core->backing = BACK_STORE;
	return NULL;
}

/*
 * A core read as a stream (a gzip'd core that is not BGZF, a pipe, a
 * device) is checked as it comes: its ELF header on the first bytes (a
 * gzip bomb or /dev/zero is refused at its first megabyte), then, once its
 * program headers are in, the size they declare (the end of the furthest
 * segment, note or section header table) bounds what is read.  Only that
 * much memory is taken, never the fixed TP_CORE_MAX_SIZE.
 */
static struct tp_error *stream_check(void *arg, const void *out, size_t len,
				     uint64_t *want)
{
	const struct tp_core *core = arg;
	const unsigned char *p = out;
	Elf64_Ehdr eh;
	if (len >= SELFMAG && memcmp(p, ELFMAG, SELFMAG) != 0)
		return format_error(core, "not an ELF file");
	if (len < sizeof(eh))
		return NULL;
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_type != ET_CORE ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == PN_XNUM)
		return NULL;    /* read_phdrs() says what is wrong */
	uint64_t phend = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (eh.e_phoff > TP_CORE_MAX_SIZE || phend > len)
		return NULL;
	uint64_t end = phend;
	if (eh.e_shoff && eh.e_shoff < TP_CORE_MAX_SIZE && eh.e_shentsize)
		end = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize > end
			      ? eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize
			      : end;
	for (uint64_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset > TP_CORE_MAX_SIZE ||
		    ph.p_filesz > TP_CORE_MAX_SIZE)
			continue;       /* past any core: reads of it fault */
		if (ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	*want = end;
	return NULL;
}

/* A pipe or a device, read until the core it holds ends (stream_check). */
static struct tp_error *read_stream(struct tp_core *core, int fd)
{
	size_t cap = 0, len = 0;
	unsigned char *buf = NULL;
	uint64_t want = 0;
	struct tp_error *err = NULL;
	for (;;) {
		if (want && len >= want)
			break;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : (1u << 20);
			if (want && ncap > want)
				ncap = (size_t)want;
			if (ncap <= cap || ncap > TP_CORE_MAX_SIZE) {
				err = format_error(core, "core larger than %llu bytes",
						   (unsigned long long)TP_CORE_MAX_SIZE);
				break;
			}
			unsigned char *nb = realloc(buf, ncap);
			if (!nb) {
				err = &tp_error_nomem;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		size_t room = cap - len;
		if (want && want - len < room)
			room = (size_t)(want - len);
		ssize_t r = read(fd, buf + len, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = tp_error_os(errno, core->path, "cannot read core");
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if ((err = stream_check(core, buf, len, &want)))
			break;
	}
	if (err) {
		free(buf);
		return err;
	}
	core->image = buf ? buf : malloc(1);
	if (!core->image)
		return &tp_error_nomem;
	core->size = core->image_len = len;
	return NULL;
}

static struct tp_error *load_image(struct tp_core *core, int fd)
{
	unsigned char head[8];
	size_t got;
	int e = tp_fd_pread_full(fd, head, sizeof(head), 0, &got);
	if (e)
		return tp_error_os(e, core->path, "cannot read core");
	if (got == 0)
		return format_error(core, "empty file");
	if (tp_index_is_index(head, got))
		return load_store(core);

	struct stat st;
	if (fstat(fd, &st) < 0)
		return tp_error_os(errno, core->path, "cannot stat core");
	if (tp_gz_is_gzip(head, got)) {
		struct tp_error *err;
		if (S_ISREG(st.st_mode) &&
		    bgzf_scan(core, fd, (uint64_t)st.st_size, &err)) {
			if (!err) {
				core->fd = dup(fd);
				core->dev = st.st_dev;
				core->ino = st.st_ino;
				if (core->fd < 0)
					err = tp_error_os(errno, core->path,
							  "cannot open core");
			}
			return err;
		}
		void *buf;
		size_t len;
		if (lseek(fd, 0, SEEK_SET) < 0)
			return tp_error_os(errno, core->path, "cannot read core");
		err = tp_gz_inflate_fd_checked(fd, TP_CORE_MAX_SIZE,
					       stream_check, core, &buf, &len);
		if (err)
			return tp_error_wrap(err, "%s", core->path);
		core->image = buf;
		core->size = core->image_len = len;
		return NULL;
	}

	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > SIZE_MAX)
			return format_error(core, "file too large");
		core->size = core->image_len = (size_t)st.st_size;
		void *p = mmap(NULL, core->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			return tp_error_os(errno, core->path, "cannot map core");
		core->image = p;
		core->mapped = true;
		return NULL;
	}
	/* A pipe or a device: as much as the core in it declares. */
	return read_stream(core, fd);
}

/* Copy [off, off + len) of the core file (all inside it) into @buf. */
static struct tp_error *read_bytes(struct tp_core *core, uint64_t off,
				   void *buf, uint64_t len)
{
	unsigned char *out = buf;
	while (len) {
		const unsigned char *p;
		uint64_t n;
		struct tp_error *err = chunk(core, off, &p, &n);
		if (err)
			return err;
		if (n > len)
			n = len;
		memcpy(out, p, n);
		out += n;
		off += n;
		len -= n;
	}
	return NULL;
}

/* ---- headers ------------------------------------------------------------- */

static struct tp_error *read_phdrs(struct tp_core *core, Elf64_Phdr **ret,
				   size_t *ret_n)
{
	Elf64_Ehdr eh;
	unsigned char ident[EI_NIDENT];
	size_t n = core->size < EI_NIDENT ? core->size : EI_NIDENT;
	struct tp_error *err = read_bytes(core, 0, ident, n);
	if (err)
		return err;
	if (n < SELFMAG || memcmp(ident, ELFMAG, SELFMAG) != 0)
		return format_error(core, "not an ELF file");
	if (n < EI_NIDENT || ident[EI_CLASS] != ELFCLASS64)
		return format_error(core,
				    "not a 64-bit ELF file (class %d); only x86-64 cores are supported",
				    n > EI_CLASS ? ident[EI_CLASS] : -1);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return format_error(core,
				    "not a little-endian ELF file; only x86-64 cores are supported");
	if (core->size < sizeof(eh))
		return format_error(core, "ELF header truncated");
	if ((err = read_bytes(core, 0, &eh, sizeof(eh))))
		return err;
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
		if ((err = read_bytes(core, eh.e_shoff, &sh0, sizeof(sh0))))
			return err;
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
	if ((err = read_bytes(core, eh.e_phoff, ph, phnum * sizeof(*ph)))) {
		free(ph);
		return err;
	}
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
	core->uid = ps.pr_uid;
	core->gid = ps.pr_gid;
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
	if (note_is(n, TP_NOTE_NAME) && n->type == TP_NOTE_NSTACKS_TYPE &&
	    !core->nstacks) {
		core->nstacks = n->desc;
		core->nstacks_len = n->descsz;
	}
	if (note_is(n, TP_NOTE_NAME) && n->type == TP_NOTE_SOCKETS_TYPE &&
	    !core->sockets) {
		core->sockets = n->desc;
		core->sockets_len = n->descsz;
	}
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
	/* Notes are kept for the core's life (auxv, NT_FILE paths and the
	 * tripod note point into them): a copy, whatever the backing. */
	if (ph->p_filesz > TP_CORE_MAX_NOTES)
		return format_error(core, "notes too large (%" PRIu64 " bytes)",
				    (uint64_t)ph->p_filesz);
	unsigned char **v = realloc(core->note_bufs,
				    (core->nnote_bufs + 1) * sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	core->note_bufs = v;
	uint64_t *lv = realloc(core->note_lens,
			       (core->nnote_bufs + 1) * sizeof(*lv));
	if (!lv)
		return &tp_error_nomem;
	core->note_lens = lv;
	lv[core->nnote_bufs] = ph->p_filesz;
	unsigned char *copy = malloc(ph->p_filesz ? ph->p_filesz : 1);
	if (!copy)
		return &tp_error_nomem;
	core->note_bufs[core->nnote_bufs++] = copy;
	struct tp_error *rerr = read_bytes(core, ph->p_offset, copy,
					   ph->p_filesz);
	if (rerr)
		return rerr;
	const unsigned char *base = copy;
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
	if (!err && core->ix) {
		/* Both in address order, none empty: one for one. */
		if (core->nsegs != core->ix->nsegs)
			return format_error(core, "segments do not match the index");
		for (size_t i = 0; i < core->nsegs; i++)
			core->segs[i].unreadable = core->ix->segs[i].flags &
						   TP_STORE_SEG_UNREADABLE;
	}
	return err;
}

struct tp_error *tp_core_open(const char *path, struct tp_core **ret)
{
	return tp_core_open_with(path, NULL, ret);
}

struct tp_error *tp_core_open_with(const char *path,
				   const struct tp_core_open_opts *opts,
				   struct tp_core **ret)
{
	struct tp_core *core = calloc(1, sizeof(*core));
	if (!core)
		return &tp_error_nomem;
	core->memsrc.ops = &core_memsrc_ops;
	core->resolver = default_resolver;
	core->resolver_arg = core;
	core->fd = core->store_fd = -1;
	core->path = strdup(path);
	if (!core->path) {
		free(core);
		return &tp_error_nomem;
	}
	struct tp_error *err;
	if (opts && opts->cache) {
		core->cache = opts->cache;
	} else {
		if ((err = tp_blockcache_create(0, &core->cache)))
			goto fail;
		core->own_cache = true;
	}
	/*
	 * O_NONBLOCK: opening a FIFO without a writer would wait forever.  A
	 * FIFO or a socket is refused; a device (a character device such as
	 * /dev/zero) is read as a stream, bounded by what the core in it
	 * declares (read_stream()), in blocking mode again.
	 */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err = tp_error_os(errno, path, "cannot open core");
		goto fail;
	}
	struct stat fst;
	if (fstat(fd, &fst) < 0) {
		err = tp_error_os(errno, path, "cannot stat core");
		close(fd);
		goto fail;
	}
	if (S_ISFIFO(fst.st_mode) || S_ISSOCK(fst.st_mode) ||
	    S_ISDIR(fst.st_mode)) {
		err = format_error(core, "not a regular file (%s)",
				   S_ISFIFO(fst.st_mode) ? "a FIFO"
				   : S_ISSOCK(fst.st_mode) ? "a socket"
							   : "a directory");
		close(fd);
		goto fail;
	}
	if (!S_ISREG(fst.st_mode)) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
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
		munmap(core->image, core->image_len);
	else
		free(core->image);
	free(core->elf_image);
	free(core->full);
	for (size_t i = 0; i < core->nnote_bufs; i++)
		free(core->note_bufs[i]);
	free(core->note_bufs);
	free(core->note_lens);
	if (core->own_cache)
		tp_blockcache_destroy(core->cache);
	if (core->fd >= 0)
		close(core->fd);
	free(core->members);
	if (core->store_fd >= 0)
		close(core->store_fd);
	tp_index_destroy(core->ix);
	free(core->ix_off);
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

/*
 * Copy [off, off + len) of the core file into @out; a piece that cannot be
 * read (a block missing from the store, a damaged member) becomes zeros,
 * counted in *@bad.  Fails only for lack of memory.
 */
static struct tp_error *copy_out(struct tp_core *core, uint64_t off,
				 uint64_t len, unsigned char *out,
				 uint64_t *bad)
{
	while (len) {
		const unsigned char *p;
		uint64_t n = 0;
		struct tp_error *err = chunk(core, off, &p, &n);
		if (err == &tp_error_nomem)
			return err;
		if (n > len || n == 0)
			n = len;
		if (err) {
			tp_error_destroy(err);
			memset(out, 0, n);
			*bad += n;
		} else {
			memcpy(out, p, n);
		}
		out += n;
		off += n;
		len -= n;
	}
	return NULL;
}

/* Does an NT_FILE entry of a file that still exists overlap @s? */
static bool seg_is_file(const struct tp_core *core,
			const struct tp_core_segment_info *s)
{
	uint64_t next;
	const struct file_entry *f = find_file(core, s->vaddr, &next);
	if (!f && next - s->vaddr >= s->memsz)
		return false;
	if (!f)
		f = find_file(core, next, &next);
	static const char deleted[] = " (deleted)";
	size_t n = f ? strlen(f->info.path) : 0;
	return f && !(n >= sizeof(deleted) - 1 &&
		      strcmp(f->info.path + n - (sizeof(deleted) - 1),
			     deleted) == 0);
}

/*
 * What libdwfl is shown of a BGZF or stored core.  dwfl_core_file_report()
 * finds the modules from the ELF headers of the mapped files, their
 * program headers, dynamic sections and build-id notes, and ld.so's
 * r_debug: all in memory that file mappings cover.  So the view holds the
 * core's head (ELF header, program headers, notes) and the data of the
 * segments that NT_FILE entries cover; the others (heap, stacks, arenas:
 * nearly all of a big snapshot) get p_filesz 0 and are never
 * decompressed.  The decoder reads memory through the memsrc, which sees
 * everything; this view only names the modules.
 */
static struct tp_error *build_elf_view(struct tp_core *core)
{
	Elf64_Ehdr eh;
	struct tp_error *err = read_bytes(core, 0, &eh, sizeof(eh));
	if (err)
		return err;
	Elf64_Phdr *ph;
	size_t phnum;
	if ((err = read_phdrs(core, &ph, &phnum)))
		return err;
	uint64_t head = eh.e_phoff + phnum * sizeof(Elf64_Phdr);
	if (eh.e_phnum == PN_XNUM && eh.e_shoff + sizeof(Elf64_Shdr) > head)
		head = eh.e_shoff + sizeof(Elf64_Shdr);
	for (size_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_NOTE &&
		    ph[i].p_offset + ph[i].p_filesz > head)
			head = ph[i].p_offset + ph[i].p_filesz;
	if (head > core->size)
		head = core->size;
	uint64_t total = (head + 7) & ~7ULL;
	for (size_t i = 0; i < phnum; i++) {
		const struct tp_core_segment_info *s =
			ph[i].p_type == PT_LOAD ? find_seg(core, ph[i].p_vaddr)
						: NULL;
		if (s && s->vaddr == ph[i].p_vaddr && s->avail &&
		    !s->unreadable && seg_is_file(core, s))
			total += (s->avail + 7) & ~7ULL;
	}
	unsigned char *v = total <= SIZE_MAX ? calloc(1, total) : NULL;
	if (!v) {
		free(ph);
		return &tp_error_nomem;
	}
	uint64_t bad = 0, at = (head + 7) & ~7ULL;
	err = copy_out(core, 0, head, v, &bad);
	for (size_t i = 0; i < phnum && !err; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		const struct tp_core_segment_info *s =
			find_seg(core, ph[i].p_vaddr);
		if (s && s->vaddr == ph[i].p_vaddr && s->avail &&
		    !s->unreadable && seg_is_file(core, s)) {
			err = copy_out(core, s->offset, s->avail, v + at, &bad);
			ph[i].p_offset = at;
			ph[i].p_filesz = s->avail;
			at += (s->avail + 7) & ~7ULL;
		} else {
			ph[i].p_filesz = 0;
		}
	}
	if (!err && eh.e_phoff + phnum * sizeof(Elf64_Phdr) <= head)
		memcpy(v + eh.e_phoff, ph, phnum * sizeof(Elf64_Phdr));
	free(ph);
	if (err) {
		free(v);
		return err;
	}
	core->elf_image = v;
	core->elf_image_len = total;
	return NULL;
}

Elf *tp_core_elf(struct tp_core *core)
{
	if (core->elf)
		return core->elf;
	pthread_once(&elf_once, elf_init);
	if (core->backing == BACK_IMAGE) {
		/* elf_memory() takes a non-const pointer but opens the
		 * image with ELF_C_READ: libelf never writes to it, so a
		 * read-only mapping is fine. */
		core->elf = elf_memory((char *)core->image, core->size);
		return core->elf;
	}
	if (!core->elf_image) {
		struct tp_error *err = build_elf_view(core);
		if (err) {
			tp_error_destroy(err);
			return NULL;
		}
	}
	core->elf = elf_memory((char *)core->elf_image, core->elf_image_len);
	return core->elf;
}

const void *tp_core_image(struct tp_core *core, size_t *len)
{
	*len = 0;
	if (core->backing == BACK_IMAGE) {
		*len = core->size;
		return core->image;
	}
	if (!core->full) {
		uint64_t bad = 0;
		unsigned char *v = core->size < SIZE_MAX
					   ? malloc(core->size ? core->size : 1)
					   : NULL;
		struct tp_error *err = v ? copy_out(core, 0, core->size, v, &bad)
					 : &tp_error_nomem;
		if (err) {
			tp_error_destroy(err);
			free(v);
			return NULL;
		}
		core->full = v;
	}
	*len = core->size;
	return core->full;
}

struct tp_memsrc *tp_core_memsrc(struct tp_core *core)
{
	return &core->memsrc;
}

bool tp_core_is_snapshot(const struct tp_core *core)
{
	return core->snapshot;
}

long long tp_core_uid(const struct tp_core *core)
{
	return core->have_psinfo ? core->uid : -1;
}

long long tp_core_gid(const struct tp_core *core)
{
	return core->have_psinfo ? core->gid : -1;
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

const void *tp_core_nstacks(const struct tp_core *core, size_t *len)
{
	*len = core->nstacks_len;
	return core->nstacks;
}

const void *tp_core_sockets(const struct tp_core *core, size_t *len)
{
	*len = core->sockets_len;
	return core->sockets;
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

/* ---- chunks of the core file ------------------------------------------- */

static const unsigned char zero_block[TP_STORE_BLOCK_SIZE];

/* The cached block for @key, or made by @fill and cached. */
static struct tp_error *cached(struct tp_core *core,
			       const struct tp_blockcache_key *key,
			       size_t len,
			       struct tp_error *(*fill)(struct tp_core *core,
							const void *arg,
							unsigned char *out),
			       const void *arg, const unsigned char **ret)
{
	size_t have;
	const unsigned char *p = tp_blockcache_get(core->cache, key, &have);
	if (p) {
		*ret = p;
		return NULL;
	}
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		return &tp_error_nomem;
	struct tp_error *err = fill(core, arg, buf);
	if (err) {
		free(buf);
		return err;
	}
	return tp_blockcache_put(core->cache, key, buf, len, ret);
}

static struct tp_error *fill_member(struct tp_core *core, const void *arg,
				    unsigned char *out)
{
	const struct bgzf_member *m = arg;
	unsigned char *buf;
	struct tp_error *err = bgzf_inflate(core, m, &buf);
	if (err)
		return err;
	memcpy(out, buf, m->ulen);
	free(buf);
	return NULL;
}

static struct tp_error *bgzf_chunk(struct tp_core *core, uint64_t off,
				   const unsigned char **ret, uint64_t *ret_len)
{
	size_t lo = 0, hi = core->nmembers;
	while (lo < hi) {       /* first member starting after off */
		size_t mid = lo + (hi - lo) / 2;
		if (core->members[mid].uoff <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Empty members share their offset with the next: step back to the
	 * one that holds @off. */
	while (lo > 0 && core->members[lo - 1].ulen == 0)
		lo--;
	if (lo == 0 || off - core->members[lo - 1].uoff >=
			       core->members[lo - 1].ulen)
		return format_error(core, "offset %" PRIu64 " is past the end",
				    off);
	const struct bgzf_member *m = &core->members[lo - 1];
	struct tp_blockcache_key key = { TP_BLOCKCACHE_BGZF, core->dev,
					 core->ino, m->coff };
	*ret_len = m->ulen - (off - m->uoff);
	const unsigned char *p;
	struct tp_error *err = cached(core, &key, m->ulen, fill_member, m, &p);
	if (err)
		return err;
	*ret = p + (off - m->uoff);
	return NULL;
}

struct store_piece {
	const struct tp_hash *h;
	size_t len;
};

static struct tp_error *fill_block(struct tp_core *core, const void *arg,
				   unsigned char *out)
{
	const struct store_piece *b = arg;
	struct tp_error *err = tp_store_read_block(core->store_fd, b->h, out,
						   b->len);
	return err ? tp_error_wrap(err, "%s", core->path) : NULL;
}

static struct tp_error *store_chunk(struct tp_core *core, uint64_t off,
				    const unsigned char **ret,
				    uint64_t *ret_len)
{
	if (off < core->image_len) {
		*ret = core->image + off;
		*ret_len = core->image_len - off;
		return NULL;
	}
	const struct tp_index *ix = core->ix;
	size_t lo = 0, hi = ix->nsegs;
	while (lo < hi) {       /* first segment whose data starts after off */
		size_t mid = lo + (hi - lo) / 2;
		if (core->ix_off[mid] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Segments without data share their offset with the next. */
	while (lo > 0 && ix->segs[lo - 1].filesz == 0)
		lo--;
	const struct tp_index_segment *s = lo ? &ix->segs[lo - 1] : NULL;
	if (!s || off - core->ix_off[lo - 1] >= s->filesz) {
		/* padding between two segments' data: zeros */
		uint64_t next = lo < ix->nsegs ? core->ix_off[lo] : core->size;
		for (size_t k = lo; k < ix->nsegs && !ix->segs[k].filesz; k++)
			next = k + 1 < ix->nsegs ? core->ix_off[k + 1] : core->size;
		if (off >= core->size)
			return format_error(core, "offset %" PRIu64 " is past the end",
					    off);
		*ret = zero_block;
		*ret_len = next - off < sizeof(zero_block) ? next - off
							   : sizeof(zero_block);
		return NULL;
	}
	const uint64_t bs = ix->block_size;
	uint64_t addr = s->vaddr + (off - core->ix_off[lo - 1]);
	uint64_t k = addr / bs - s->vaddr / bs;
	uint64_t bstart = addr / bs * bs, bend = bstart + bs;
	if (bstart < s->vaddr)
		bstart = s->vaddr;
	if (bend > s->vaddr + s->filesz)
		bend = s->vaddr + s->filesz;
	*ret_len = bend - addr;
	struct tp_hash h;
	memcpy(&h, &ix->refs[s->first_ref + k], sizeof(h));
	if (tp_hash_is_zero(&h)) {
		*ret = zero_block;
		return NULL;
	}
	if (bend - bstart > sizeof(zero_block))
		return format_error(core, "block larger than %zu bytes",
				    sizeof(zero_block));
	struct tp_blockcache_key key = { TP_BLOCKCACHE_STORE, 0, 0, 0 };
	memcpy(&key.a, h.b, 8);
	memcpy(&key.b, h.b + 8, 8);
	key.c = bend - bstart;
	struct store_piece piece = { &h, bend - bstart };
	const unsigned char *p;
	struct tp_error *err = cached(core, &key, piece.len, fill_block, &piece,
				      &p);
	if (err)
		return err;
	*ret = p + (addr - bstart);
	return NULL;
}

/*
 * A pointer to the bytes of the core file at @off (< size) and how many
 * follow contiguously (*@ret_len >= 1).  The pointer is valid until the
 * next call.  On error *@ret_len, when not 0, is how many bytes the piece
 * that failed spans (callers may skip them).
 */
static struct tp_error *chunk(struct tp_core *core, uint64_t off,
			      const unsigned char **ret, uint64_t *ret_len)
{
	*ret_len = 0;
	if (off >= core->size)
		return format_error(core, "offset %" PRIu64 " is past the end",
				    off);
	if (core->backing == BACK_IMAGE) {
		*ret = core->image + off;
		*ret_len = core->size - off;
		return NULL;
	}
	if (core->last_ptr && off - core->last_off < core->last_len &&
	    core->last_gen == tp_blockcache_generation(core->cache)) {
		*ret = core->last_ptr + (off - core->last_off);
		*ret_len = core->last_len - (off - core->last_off);
		return NULL;
	}
	struct tp_error *err = core->backing == BACK_BGZF
				       ? bgzf_chunk(core, off, ret, ret_len)
				       : store_chunk(core, off, ret, ret_len);
	if (err)
		return err;
	core->last_off = off;
	core->last_len = *ret_len;
	core->last_ptr = *ret;
	core->last_gen = tp_blockcache_generation(core->cache);
	return NULL;
}

/* Copy [addr, addr + len) from one segment's data into @out; false if it
 * is not all there. */
static bool core_bytes(struct tp_core *core, uint64_t addr, uint64_t len,
		       unsigned char *out)
{
	const struct tp_core_segment_info *s = find_seg(core, addr);
	if (!s || s->avail < len || addr - s->vaddr > s->avail - len)
		return false;
	struct tp_error *err = read_bytes(core, s->offset + (addr - s->vaddr),
					  out, len);
	tp_error_destroy(err);
	return !err;
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
	unsigned char *copy = malloc(page), *buf = malloc(page);
	bool have = false;
	/*
	 * A writable first page (patchelf puts .dynamic there, and the
	 * dynamic loader writes DT_DEBUG into it) differs from the file by
	 * design: then only the ELF header must match.
	 */
	uint64_t cmp = page;
	for (size_t i = 0; i < core->nfiles && copy && !have; i++) {
		const struct tp_core_file_info *f = &core->files[i].info;
		if (f->offset == 0 && f->end - f->start >= page &&
		    strcmp(f->path, path) == 0) {
			have = core_bytes(core, f->start, page, copy);
			const struct tp_core_segment_info *seg =
				find_seg(core, f->start);
			if (seg && (seg->flags & PF_W))
				cmp = sizeof(Elf64_Ehdr);
		}
	}
	bool same = copy && buf;
	if (same && have) {
		size_t got = 0;
		same = tp_fd_pread_full(fd, buf, cmp, 0, &got) == 0 &&
		       memcmp(buf, copy, got) == 0;
		/* Past the end of a short file a mapping reads zeros. */
		for (size_t i = got; same && i < cmp; i++)
			same = copy[i] == 0;
	}
	free(copy);
	free(buf);
	if (!same)
		goto reject;
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
		if (s->unreadable) {
			return read_fault(&req,
					  "0x%" PRIx64 " could not be read when the snapshot was taken",
					  a);
		} else if (off < s->avail) {
			done = s->avail - off < n ? s->avail - off : n;
			const unsigned char *p;
			uint64_t have;
			struct tp_error *err = chunk(core, s->offset + off, &p,
						     &have);
			if (err == &tp_error_nomem)
				return err;
			if (err) {
				struct tp_error *f = read_fault(
					&req, "0x%" PRIx64 ": %s", a,
					tp_error_message(err));
				tp_error_destroy(err);
				return f;
			}
			if (done > have)
				done = have;
			memcpy(out, p, done);
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

/* ---- export ----------------------------------------------------------------- */

struct tp_error *tp_core_export(struct tp_core *core, struct tp_sink *sink,
				uint64_t *ret_unread)
{
	struct tp_strbuf notes = TP_STRBUF_INIT, head = TP_STRBUF_INIT;
	size_t n = core->nsegs;
	struct tp_core_load *loads = calloc(n ? n : 1, sizeof(*loads));
	uint64_t *offsets = calloc(n ? n : 1, sizeof(*offsets));
	unsigned char *buf = malloc(TP_STORE_BLOCK_SIZE);
	uint64_t bad = 0;
	struct tp_error *err = NULL;
	if (!loads || !offsets || !buf) {
		err = &tp_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < core->nnote_bufs; i++)
		tp_strbuf_append(&notes, core->note_bufs[i], core->note_lens[i]);
	for (size_t i = 0; i < n; i++) {
		const struct tp_core_segment_info *s = &core->segs[i];
		loads[i] = (struct tp_core_load){
			.vaddr = s->vaddr,
			.memsz = s->memsz,
			.filesz = s->unreadable ? 0 : s->avail,
			.flags = s->flags,
		};
	}
	uint64_t page = core->ix ? core->ix->page_size : page_size();
	if ((err = tp_strbuf_error(&notes)) ||
	    (err = tp_core_build_head(loads, n, notes.str, notes.len, page,
				      &head, offsets, NULL)) ||
	    (err = sink->write(sink, head.str, head.len)))
		goto out;
	uint64_t pos = head.len;
	for (size_t i = 0; i < n && !err; i++) {
		if (!loads[i].filesz)
			continue;
		if ((err = tp_sink_zeros(sink, offsets[i] - pos)))
			break;
		uint64_t off = core->segs[i].offset, left = loads[i].filesz;
		while (left && !err) {
			uint64_t k = left < TP_STORE_BLOCK_SIZE ? left
								: TP_STORE_BLOCK_SIZE;
			err = copy_out(core, off, k, buf, &bad);
			if (!err)
				err = sink->write(sink, buf, k);
			off += k;
			left -= k;
		}
		pos = offsets[i] + loads[i].filesz;
	}
out:
	free(loads);
	free(offsets);
	free(buf);
	tp_strbuf_deinit(&notes);
	tp_strbuf_deinit(&head);
	if (ret_unread)
		*ret_unread = bad;
	return err;
}
