/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/fdio.h"
#include "snap/capture.h"

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)     /* a file page (or shared anonymous) */
/* pagemap entries read at a time */
#define PM_CHUNK 4096

/*
 * The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7) returns the
 * ranges of pages in given states, skipping empty page tables wholesale;
 * reading pagemap costs 8 bytes for every page, so a sparse reservation of
 * terabytes (AddressSanitizer's shadow, a Go or JVM heap) would take
 * minutes.  The UAPI, for headers older than the kernel:
 */
#ifndef PAGEMAP_SCAN
#include <linux/ioctl.h>
#include <linux/types.h>
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#endif
#define SCAN_REGIONS 256

enum tp_dump_kind tp_capture_classify(const struct tp_mapping *m)
{
	const char *p = m->path;
	if (p && (strcmp(p, "[vvar]") == 0 || strcmp(p, "[vvar_vclock]") == 0 ||
		  strcmp(p, "[vsyscall]") == 0))
		return TP_DUMP_SKIP;
	if (!m->read)
		return TP_DUMP_NONE;
	if (p && strcmp(p, "[vdso]") == 0)
		return TP_DUMP_ALL;
	if (tp_mapping_is_file(m)) {
		/*
		 * A deleted file cannot be read at analysis time: copy it all.
		 * This also covers shared anonymous memory, which the kernel
		 * shows as "/dev/zero (deleted)", and memfd and SysV segments.
		 */
		if (m->deleted || m->write)
			return TP_DUMP_ALL;
		/*
		 * Read-only now is not unchanged: the dynamic loader writes
		 * relocations into RELRO pages (.dynamic with DT_DEBUG, the
		 * GOT, .data.rel.ro) and then makes them read-only.  Without
		 * them a debugger cannot find the shared libraries.
		 */
		if (!m->shared)
			return TP_DUMP_CHANGED;
		return m->offset == 0 ? TP_DUMP_HEAD : TP_DUMP_NONE;
	}
	/*
	 * Anonymous.  A shared page missing from our page table may still
	 * hold data (in the shared memory object), so pagemap says nothing
	 * about a shared mapping's contents; a private page that is neither
	 * present nor swapped has never been written and reads as zero.
	 */
	return m->shared ? TP_DUMP_ALL : TP_DUMP_PRESENT;
}

struct copier {
	struct tp_capture *c;
	pid_t pid;
	uint64_t page;
	const struct tp_mapping *m;
	bool may_merge;   /* the last segment belongs to m */
	bool no_scan;     /* PAGEMAP_SCAN unwanted or unsupported */
	bool defer;       /* TP_CAPTURE_DEFER: pull segments, no copy */
};

static struct tp_error *add_buf(struct tp_capture *c, void *buf)
{
	if (c->nbufs == c->bufcap) {
		size_t ncap = c->bufcap ? 2 * c->bufcap : 64;
		void **nv = realloc(c->bufs, ncap * sizeof(*nv));
		if (!nv)
			return &tp_error_nomem;
		c->bufs = nv;
		c->bufcap = ncap;
	}
	c->bufs[c->nbufs++] = buf;
	return NULL;
}

/*
 * Add [vaddr, vaddr+len) to the segments, with @data (len bytes) or without
 * (NULL: not copied; @unreadable: because it could not be read).  Extends
 * the last segment of the same mapping when the two join: a hole always
 * can (filesz < memsz) unless one of the two is unreadable and the other
 * not, data only when the last segment has no hole yet and its data
 * continues in the same buffer.
 */
static struct tp_error *emit_as(struct copier *cp, uint64_t vaddr,
				uint64_t len, const unsigned char *data,
				bool unreadable)
{
	struct tp_capture *c = cp->c;
	if (cp->may_merge && c->nsegs) {
		struct tp_core_segment *s = &c->segs[c->nsegs - 1];
		if (s->vaddr + s->memsz == vaddr &&
		    s->unreadable == unreadable && !s->pull) {
			if (!data) {
				s->memsz += len;
				return NULL;
			}
			if (s->filesz == s->memsz && s->data &&
			    (const unsigned char *)s->data + s->filesz == data) {
				s->memsz += len;
				s->filesz += len;
				return NULL;
			}
		}
	}
	if (c->nsegs == c->segcap) {
		size_t ncap = c->segcap ? 2 * c->segcap : 64;
		struct tp_core_segment *nv = realloc(c->segs, ncap * sizeof(*nv));
		if (!nv)
			return &tp_error_nomem;
		c->segs = nv;
		c->segcap = ncap;
	}
	c->segs[c->nsegs++] = (struct tp_core_segment){
		.vaddr = vaddr,
		.memsz = len,
		.read = cp->m->read,
		.write = cp->m->write,
		.exec = cp->m->exec,
		.data = data,
		.filesz = data ? len : 0,
		.unreadable = unreadable,
	};
	cp->may_merge = true;
	return NULL;
}

static struct tp_error *emit(struct copier *cp, uint64_t vaddr, uint64_t len,
			     const unsigned char *data)
{
	return emit_as(cp, vaddr, len, data, false);
}

/*
 * TP_CAPTURE_DEFER: [addr, addr+len) as a segment whose bytes the writer
 * pulls from the process later (joined to a pull segment just before it).
 */
static struct tp_error *emit_pull(struct copier *cp, uint64_t addr,
				  uint64_t len)
{
	struct tp_capture *c = cp->c;
	struct tp_core_segment *s = c->nsegs ? &c->segs[c->nsegs - 1] : NULL;
	if (cp->may_merge && s && s->pull && s->vaddr + s->memsz == addr) {
		s->memsz += len;
		c->pulled += len;
		return NULL;
	}
	/* a segment of its own: emit() would join it to a hole before it */
	cp->may_merge = false;
	struct tp_error *err = emit(cp, addr, len, NULL);
	if (err)
		return err;
	s = &c->segs[c->nsegs - 1];
	s->pull = true;
	c->pulled += len;
	return NULL;
}

/* Copy [addr, addr+len) (page aligned) of the target into the segments. */
static struct tp_error *copy_range(struct copier *cp, uint64_t addr,
				   uint64_t len)
{
	struct tp_capture *c = cp->c;
	if (len > TP_CAPTURE_MAX_BYTES - c->copied - c->pulled)
		return tp_error_create(TP_ERR_LIMIT,
				       "process %d has more than %llu bytes to copy",
				       (int)cp->pid,
				       (unsigned long long)TP_CAPTURE_MAX_BYTES);
	if (cp->defer)
		return emit_pull(cp, addr, len);
	unsigned char *buf = malloc(len);
	if (!buf)
		return &tp_error_nomem;
	struct tp_error *err = add_buf(c, buf);
	if (err) {
		free(buf);
		return err;
	}
	/*
	 * process_vm_readv() copies until it meets a page it cannot read and
	 * then returns what it copied so far: a short count, not an error.
	 * Only when the very first page of the request fails does it return
	 * -1 (EFAULT).  A page can fail for good reasons in a live process: an
	 * I/O mapping (VM_IO/VM_PFNMAP), a file page past the end of a
	 * truncated file (SIGBUS on access), a page the target just gave back
	 * with MADV_DONTNEED under a shared mapping... So a short read is a
	 * hole, not a failure: keep what was copied, record the next page as
	 * unreadable (a stored snapshot says so; in a single-file core it
	 * reads as zero), and go on from the
	 * page after it.  Each hole costs one extra call, and the loop always
	 * advances by at least one page, so it ends.  ESRCH alone means the
	 * process is gone.
	 */
	uint64_t off = 0;
	while (off < len) {
		struct iovec local = { buf + off, len - off };
		struct iovec remote = { (void *)(uintptr_t)(addr + off),
					len - off };
		ssize_t n = process_vm_readv(cp->pid, &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ESRCH)
			return tp_error_create(TP_ERR_EXITED,
					       "process %d exited",
					       (int)cp->pid);
		if (n < 0 && errno != EFAULT && errno != EIO)
			return tp_error_os(errno, NULL,
					   "cannot read memory of process %d at 0x%llx",
					   (int)cp->pid,
					   (unsigned long long)(addr + off));
		/* n may end inside a page; keep only whole pages */
		uint64_t got = n > 0 ? (uint64_t)n / cp->page * cp->page : 0;
		if (got) {
			if ((err = emit(cp, addr + off, got, buf + off)))
				return err;
			c->copied += got;
			off += got;
			continue;
		}
		if ((err = emit_as(cp, addr + off, cp->page, NULL, true)))
			return err;
		c->holes += cp->page;
		off += cp->page;
	}
	return NULL;
}

/* Does the pagemap entry @e call for a copy of its page? */
static bool page_wanted(enum tp_dump_kind kind, uint64_t e)
{
	if (kind == TP_DUMP_CHANGED)
		return (e & PM_SWAPPED) ||
		       ((e & PM_PRESENT) && !(e & PM_FILE));
	return e & (PM_PRESENT | PM_SWAPPED);
}

/*
 * copy_present() with PAGEMAP_SCAN.  Returns false (having done nothing)
 * when the kernel lacks the ioctl.
 */
static bool copy_scanned(struct copier *cp, int pagemap_fd,
			 enum tp_dump_kind kind, struct tp_error **ret)
{
	const struct tp_mapping *m = cp->m;
	struct page_region rv[SCAN_REGIONS];
	/*
	 * Wanted pages as categories: present or swapped, and for a file
	 * mapping not the file's own page (a swapped page never is).
	 */
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.vec = (uintptr_t)rv,
		.vec_len = SCAN_REGIONS,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};
	if (kind == TP_DUMP_CHANGED) {
		arg.category_inverted = PAGE_IS_FILE;
		arg.category_mask = PAGE_IS_FILE;
	}
	uint64_t at = m->start;  /* everything before it is emitted */
	bool head = kind == TP_DUMP_CHANGED && m->offset == 0;
	*ret = NULL;
	for (bool first = true; at < m->end; first = false) {
		arg.start = head ? at + cp->page : at;
		arg.end = m->end;
		long n = arg.start < arg.end
				 ? ioctl(pagemap_fd, PAGEMAP_SCAN, &arg)
				 : 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && first && (errno == ENOTTY || errno == EINVAL))
			return false;
		if (n < 0) {
			*ret = errno == ESRCH
				? tp_error_create(TP_ERR_EXITED,
						  "process %d exited",
						  (int)cp->pid)
				: tp_error_os(errno, NULL,
					      "cannot scan the pages of process %d",
					      (int)cp->pid);
			return true;
		}
		if (head) {
			/* the ELF header page, whatever its state */
			if ((*ret = copy_range(cp, at, cp->page)))
				return true;
			at += cp->page;
			head = false;
			if (n == 0 && arg.start >= arg.end)
				break;
		}
		for (long i = 0; i < n && !*ret; i++) {
			uint64_t a = rv[i].start < at ? at : rv[i].start;
			if (a > at)
				*ret = emit(cp, at, a - at, NULL);
			if (!*ret && rv[i].end > a)
				*ret = copy_range(cp, a, rv[i].end - a);
			if (rv[i].end > at)
				at = rv[i].end;
		}
		if (*ret)
			return true;
		/* the walk stopped at walk_end: nothing wanted before it */
		uint64_t end = arg.walk_end > m->end ? m->end : arg.walk_end;
		if (end > at) {
			if ((*ret = emit(cp, at, end - at, NULL)))
				return true;
			at = end;
		}
		if (n == 0 && end <= arg.start)
			break;  /* no progress: leave the rest as a hole */
	}
	if (at < m->end)
		*ret = emit(cp, at, m->end - at, NULL);
	return true;
}

/*
 * The pagemap-filtered copy (TP_DUMP_PRESENT, TP_DUMP_CHANGED): runs of
 * wanted pages are copied, the others are holes.  Without a pagemap every
 * page is wanted.
 */
static struct tp_error *copy_present(struct copier *cp, int pagemap_fd,
				     enum tp_dump_kind kind)
{
	const struct tp_mapping *m = cp->m;
	if (pagemap_fd < 0)
		return copy_range(cp, m->start, m->end - m->start);
	struct tp_error *scan_err;
	if (!cp->no_scan && copy_scanned(cp, pagemap_fd, kind, &scan_err))
		return scan_err;
	cp->no_scan = true;
	uint64_t *pm = malloc(PM_CHUNK * sizeof(*pm));
	if (!pm)
		return &tp_error_nomem;
	struct tp_error *err = NULL;
	uint64_t run = m->start;
	bool run_want = false;
	for (uint64_t a = m->start; a < m->end && !err;) {
		uint64_t n = (m->end - a) / cp->page;
		if (n > PM_CHUNK)
			n = PM_CHUNK;
		ssize_t r = pread(pagemap_fd, pm, n * sizeof(*pm),
				  (off_t)(a / cp->page * sizeof(*pm)));
		/* Unknown is treated as wanted: the copy then decides. */
		size_t known = r > 0 ? (size_t)r / sizeof(*pm) : 0;
		for (uint64_t i = 0; i < n; i++, a += cp->page) {
			bool want = i >= known || page_wanted(kind, pm[i]) ||
				    (kind == TP_DUMP_CHANGED &&
				     a == m->start && m->offset == 0);
			if (a == m->start) {
				run_want = want;
			} else if (want != run_want) {
				err = run_want ? copy_range(cp, run, a - run)
					       : emit(cp, run, a - run, NULL);
				if (err)
					break;
				run = a;
				run_want = want;
			}
		}
	}
	free(pm);
	if (err)
		return err;
	return run_want ? copy_range(cp, run, m->end - run)
			: emit(cp, run, m->end - run, NULL);
}

static struct tp_error *capture_mapping(struct copier *cp, int pagemap_fd)
{
	const struct tp_mapping *m = cp->m;
	uint64_t len = m->end - m->start;
	cp->may_merge = false;
	enum tp_dump_kind kind = tp_capture_classify(m);
	if ((kind == TP_DUMP_PRESENT || kind == TP_DUMP_CHANGED) &&
	    cp->c->nsegs >= TP_CAPTURE_SPLIT_SEGMENTS)
		kind = TP_DUMP_ALL;
	switch (kind) {
	case TP_DUMP_SKIP:
		return NULL;
	case TP_DUMP_NONE:
		return emit(cp, m->start, len, NULL);
	case TP_DUMP_HEAD: {
		uint64_t head = len < cp->page ? len : cp->page;
		struct tp_error *err = copy_range(cp, m->start, head);
		if (err || head == len)
			return err;
		return emit(cp, m->start + head, len - head, NULL);
	}
	case TP_DUMP_ALL:
		return copy_range(cp, m->start, len);
	case TP_DUMP_PRESENT:
	case TP_DUMP_CHANGED:
		return copy_present(cp, pagemap_fd, kind);
	}
	return NULL;
}

/* Take the segments and buffers of @from, in address order, into @c. */
static struct tp_error *take_segments(struct tp_capture *c,
				      struct tp_capture *from, size_t *next,
				      uint64_t start, uint64_t end)
{
	for (; *next < from->nsegs && from->segs[*next].vaddr < end;
	     (*next)++) {
		const struct tp_core_segment *s = &from->segs[*next];
		if (s->vaddr < start)
			continue;
		if (c->nsegs == c->segcap) {
			size_t ncap = c->segcap ? 2 * c->segcap : 64;
			struct tp_core_segment *nv =
				realloc(c->segs, ncap * sizeof(*nv));
			if (!nv)
				return &tp_error_nomem;
			c->segs = nv;
			c->segcap = ncap;
		}
		c->segs[c->nsegs++] = *s;
	}
	return NULL;
}

/*
 * Capture the mappings c->maps (already read): their segments, with the
 * bytes read from process @pid; the mappings that @pre covers (given by
 * @pre_map, indices into c->maps) get @pre's segments, whose buffers
 * become @c's.
 */
static struct tp_error *capture_maps(struct tp_capture *c, pid_t pid,
				     int pagemap_fd, unsigned flags,
				     const bool *pre_map,
				     struct tp_capture *pre)
{
	struct copier cp = {
		.c = c,
		.pid = pid,
		.page = (uint64_t)sysconf(_SC_PAGESIZE),
		.no_scan = flags & TP_CAPTURE_NO_SCAN,
		.defer = flags & TP_CAPTURE_DEFER,
	};
	size_t nfile = 0, next_pre = 0;
	for (size_t i = 0; i < c->maps.n; i++)
		nfile += tp_mapping_is_file(&c->maps.v[i]);
	c->files = calloc(nfile ? nfile : 1, sizeof(*c->files));
	if (!c->files)
		return &tp_error_nomem;
	struct tp_error *err = NULL;
	for (size_t i = 0; i < c->maps.n && !err; i++) {
		const struct tp_mapping *m = &c->maps.v[i];
		if (tp_mapping_is_file(m))
			c->files[c->nfiles++] = (struct tp_core_file){
				.start = m->start,
				.end = m->end,
				.offset = m->offset,
				.path = m->path,
			};
		if (pre_map && pre_map[i]) {
			err = take_segments(c, pre, &next_pre, m->start,
					    m->end);
			continue;
		}
		cp.m = m;
		err = capture_mapping(&cp, pagemap_fd);
	}
	if (!err && pre) {
		/* the buffers follow their segments */
		for (size_t i = 0; i < pre->nbufs && !err; i++) {
			err = add_buf(c, pre->bufs[i]);
			if (!err)
				pre->bufs[i] = NULL;
		}
		c->copied += pre->copied;
		c->holes += pre->holes;
	}
	return err;
}

struct tp_error *tp_capture_memory(pid_t pid, int pagemap_fd, unsigned flags,
				   struct tp_capture *ret)
{
	struct tp_capture *c = ret;
	memset(c, 0, sizeof(*c));
	struct tp_error *err = tp_maps_read(pid, &c->maps);
	if (!err)
		err = capture_maps(c, pid, pagemap_fd, flags, NULL, NULL);
	if (err)
		tp_capture_deinit(c);
	return err;
}

struct tp_error *tp_capture_mappings(pid_t pid, int pagemap_fd,
				     const struct tp_maps *maps,
				     const bool *which,
				     struct tp_capture *ret)
{
	struct tp_capture *c = ret;
	memset(c, 0, sizeof(*c));
	struct copier cp = {
		.c = c,
		.pid = pid,
		.page = (uint64_t)sysconf(_SC_PAGESIZE),
	};
	struct tp_error *err = NULL;
	for (size_t i = 0; i < maps->n && !err; i++) {
		if (!which[i])
			continue;
		cp.m = &maps->v[i];
		err = capture_mapping(&cp, pagemap_fd);
	}
	if (err)
		tp_capture_deinit(c);
	return err;
}

struct tp_error *tp_capture_clone(struct tp_maps *maps, pid_t child,
				  int pagemap_fd, unsigned flags,
				  const bool *which, struct tp_capture *pre,
				  struct tp_capture *ret)
{
	struct tp_capture *c = ret;
	memset(c, 0, sizeof(*c));
	c->maps = *maps;
	*maps = (struct tp_maps){ 0 };
	struct tp_error *err = capture_maps(c, child, pagemap_fd, flags,
					    which, pre);
	if (err)
		tp_capture_deinit(c);
	return err;
}

struct tp_error *tp_capture_nofork(pid_t pid, const struct tp_maps *maps,
				   bool **ret, size_t *ret_n)
{
	char *text;
	size_t len;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH
			? tp_error_create(TP_ERR_EXITED, "process %d exited",
					  (int)pid)
			: tp_error_os(errno, path, "cannot read");
	int e = tp_fd_read_all(fd, 256u << 20, &text, &len);
	close(fd);
	if (e == ENOMEM)
		return &tp_error_nomem;
	if (e)
		return tp_error_os(e, path, "cannot read");
	bool *which = calloc(maps->n ? maps->n : 1, sizeof(*which));
	if (!which) {
		free(text);
		return &tp_error_nomem;
	}
	/*
	 * smaps: a maps line per mapping ("start-end perms ..."), then
	 * "Key: value" lines, among them "VmFlags: rd wr mr ... dc ...":
	 * dc is MADV_DONTFORK, wf MADV_WIPEONFORK.
	 */
	size_t n = 0;
	unsigned long long start = 0, end = 0;
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		unsigned long long s, en;
		if (sscanf(line, "%llx-%llx ", &s, &en) == 2 &&
		    strchr(line, ' ')) {
			start = s;
			end = en;
			continue;
		}
		if (strncmp(line, "VmFlags:", 8) != 0)
			continue;
		bool nofork = strstr(line, " dc") || strstr(line, " wf");
		if (!nofork)
			continue;
		const struct tp_mapping *m = tp_maps_find(maps, start);
		if (m && m->start == start && m->end == end) {
			which[m - maps->v] = true;
			n++;
		}
	}
	free(text);
	*ret = which;
	*ret_n = n;
	return NULL;
}

void tp_capture_deinit(struct tp_capture *c)
{
	for (size_t i = 0; i < c->nbufs; i++)
		free(c->bufs[i]);
	free(c->bufs);
	free(c->segs);
	free(c->files);
	tp_maps_deinit(&c->maps);
	memset(c, 0, sizeof(*c));
}
