/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "core/corewrite.h"
#include "core/gz.h"
#include "snap/native.h"
#include "snap/sockets.h"
#include "snap/snapshot.h"

#define SNAP_PREFIX TP_STORE_INDEX_PREFIX
#define SNAP_SUFFIX TP_STORE_CORE_GZ_SUFFIX
/* Six digits in the name. */
#define MAX_SEQ 999999UL

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The highest NNNNNN of snapshot-NNNNNN.tripod or .core.gz in @dir, or 0. */
static struct tp_error *last_seq(const char *dir, unsigned long *ret)
{
	DIR *d = opendir(dir);
	if (!d)
		return tp_error_os(errno, dir, "cannot read output directory");
	unsigned long max = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		unsigned long n;
		int end = 0;
		if (sscanf(de->d_name, SNAP_PREFIX "%6lu%n", &n, &end) == 1 &&
		    end == (int)strlen(SNAP_PREFIX) + 6 &&
		    (strcmp(de->d_name + end, SNAP_SUFFIX) == 0 ||
		     strcmp(de->d_name + end, TP_STORE_INDEX_SUFFIX) == 0) &&
		    n > max)
			max = n;
	}
	closedir(d);
	*ret = max;
	return NULL;
}

struct tp_error *tp_snap_session_init(struct tp_snap_session *s, pid_t pid,
				      const char *dir, const char *subdir,
				      const struct tp_snap_session *shared,
				      double interval)
{
	memset(s, 0, sizeof(*s));
	s->interval = interval;
	const char *delay = getenv(TP_SNAP_TEST_DELAY_ENV);
	if (delay)
		s->test_delay_ms = (unsigned)strtoul(delay, NULL, 10);
	if ((delay = getenv(TP_SNAP_TEST_CLONE_DELAY_ENV)))
		s->test_clone_delay_ms = (unsigned)strtoul(delay, NULL, 10);
	char *series = NULL;
	if (subdir && asprintf(&series, "%s/%s", dir, subdir) < 0)
		return &tp_error_nomem;
	struct tp_error *err = last_seq(series ? series : dir, &s->seq);
	free(series);
	if (err)
		return err;
	if (!(s->dir = strdup(dir)) || (subdir && !(s->subdir = strdup(subdir)))) {
		tp_snap_session_deinit(s);
		return &tp_error_nomem;
	}
	if (shared) {
		s->store = shared->store;
	} else if (!(err = tp_store_open(dir, &s->store))) {
		s->own_store = true;
	}
	if (!err)
		err = tp_snap_target_open(pid, &s->target);
	if (err)
		tp_snap_session_deinit(s);
	return err;
}

void tp_snap_session_deinit(struct tp_snap_session *s)
{
	/* the last clone's zombie is the target's to reap: do it for it */
	if (s->target.pid)
		tp_cow_finish(&s->cow, s->target.pid);
	if (s->own_store)
		tp_store_close(s->store);
	s->store = NULL;
	tp_snap_target_close(&s->target);
	tp_buildid_cache_deinit(&s->buildids);
	/* still seized: the kernel lets them go when tripod-snap exits */
	free(s->stuck.tids);
	s->stuck = (struct tp_freeze_stuck){ 0 };
	free(s->dir);
	free(s->subdir);
	s->dir = s->subdir = NULL;
}

static struct tp_error *open_pagemap(pid_t pid, int *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	/* Optional: without it every anonymous page is copied. */
	*ret = open(path, O_RDONLY | O_CLOEXEC);
	return NULL;
}

/*
 * Inside the freeze, the copy-on-write way: the target's maps, the
 * mappings a clone lacks copied from the target itself, then the clone.
 * Sets snap->child (0 when the clone could not be made: snap->why_copy
 * says why, and the caller copies as before).
 */
static struct tp_error *clone_in_freeze(struct tp_snap_session *s,
					struct tp_snap *snap, int pagemap_fd,
					struct tp_maps *maps,
					const struct tp_maps *nofork_maps,
					const bool *nofork, bool **which,
					struct tp_capture *pre)
{
	pid_t pid = s->target.pid;
	struct tp_error *err = tp_maps_read(pid, maps);
	if (err)
		return err;
	/* the flags were read before the freeze: match them by range */
	if (nofork) {
		*which = calloc(maps->n ? maps->n : 1, sizeof(**which));
		if (!*which)
			return &tp_error_nomem;
		bool any = false;
		for (size_t i = 0; i < nofork_maps->n; i++) {
			if (!nofork[i])
				continue;
			const struct tp_mapping *m = tp_maps_find(
				maps, nofork_maps->v[i].start);
			if (m && m->start == nofork_maps->v[i].start &&
			    m->end == nofork_maps->v[i].end)
				any = (*which)[m - maps->v] = true;
		}
		if (any && (err = tp_capture_mappings(pid, pagemap_fd, maps,
						      *which, pre)))
			return err;
	}
	return tp_cow_clone(&s->cow, &s->target, &snap->freeze, &snap->child,
			    &snap->child_nspid, snap->why_copy,
			    sizeof(snap->why_copy));
}

struct tp_error *tp_snap_capture(struct tp_snap_session *s,
				 struct tp_snap *ret, int *leader_status)
{
	struct tp_snap *snap = ret;
	pid_t pid = s->target.pid;
	memset(snap, 0, sizeof(*snap));
	snap->cow = &s->cow;
	*leader_status = -1;
	struct tp_maps maps = { 0 }, pre_maps = { 0 };
	struct tp_capture pre = { 0 };
	bool *nofork = NULL, *which = NULL;
	int pagemap_fd = -1;
	struct tp_socket_scan sockets = { .pidfd = -1 };

	/* Before the freeze: what the target's clock need not pay for. */
	struct tp_error *err = tp_proc_stat_read(pid, &snap->stat);
	if (!err)
		err = tp_proc_readlink(pid, "cwd", &snap->cwd);
	if (err)
		goto out;
	bool clone = !s->stop_and_copy;
	if (s->stop_and_copy) {
		snprintf(snap->why_copy, sizeof(snap->why_copy),
			 "--capture=copy");
	} else {
		const char *refusal = tp_cow_refusal(pid);
		if (refusal) {
			snprintf(snap->why_copy, sizeof(snap->why_copy), "%s",
				 refusal);
			clone = false;
		}
	}
	/* which mappings a clone would lack (MADV_DONTFORK, WIPEONFORK) */
	size_t nnofork = 0;
	if (clone && !(err = tp_maps_read(pid, &pre_maps)))
		err = tp_capture_nofork(pid, &pre_maps, &nofork, &nnofork);
	if (err)
		goto out;
	if (!nnofork) {
		free(nofork);
		nofork = NULL;
	}
	/* which descriptors are sockets: only their addresses in the freeze */
	if ((err = tp_socket_scan_begin(pid, &sockets)))
		goto out;

	clock_gettime(CLOCK_REALTIME, &snap->time);
	uint64_t t0 = mono_us();
	struct tp_freeze_opts fo = { .stuck = &s->stuck };
	err = tp_freeze_with(pid, &fo, &snap->freeze);
	if (!err && s->test_delay_ms) {
		struct timespec d = { s->test_delay_ms / 1000,
				      (long)(s->test_delay_ms % 1000) * 1000000L };
		while (nanosleep(&d, &d) < 0 && errno == EINTR)
			;
	}
	/*
	 * The target may have run execve() since the last snapshot: its
	 * command line, executable and auxv are then another program's, and
	 * a pagemap opened before the exec describes an address space that
	 * no longer exists (reads of it fail with ESRCH).  Both are checked
	 * here, while nothing can exec, so that they match the memory copied.
	 */
	if (!err)
		err = tp_snap_target_refresh(&s->target, NULL);
	if (!err)
		err = open_pagemap(pid, &pagemap_fd);
	if (!err && clone)
		err = clone_in_freeze(s, snap, pagemap_fd, &maps, &pre_maps,
				      nofork, &which, &pre);
	if (!err && !snap->child)
		err = tp_capture_memory(pid, pagemap_fd, 0, &snap->mem);
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	pagemap_fd = -1;
	if (!err && sockets.pidfd >= 0) {
		err = tp_socket_scan_read(&sockets, &snap->sockets);
		snap->have_sockets = !err;
	}
	tp_thaw(&snap->freeze);
	snap->freeze_us = mono_us() - t0;
	if (snap->child)
		tp_cow_name(&s->cow, snap->child);
	/*
	 * Killed during the freeze: the copy may have found no memory at all
	 * (a dying process drops its address space while still listed).
	 */
	if (!err && (snap->freeze.killed || snap->freeze.leader_reaped))
		err = tp_error_create(TP_ERR_EXITED, "process %d exited",
				      (int)pid);
	if (snap->freeze.leader_reaped)
		*leader_status = snap->freeze.leader_status;

	/*
	 * The target runs again: the clone holds the memory as it was.  A
	 * stored snapshot reads it block by block while writing (bounded
	 * memory); a single-file one needs it all first.
	 */
	snap->method = snap->child ? "clone" : "stop-and-copy";
	if (!err && snap->child && s->test_clone_delay_ms) {
		struct timespec d = {
			s->test_clone_delay_ms / 1000,
			(long)(s->test_clone_delay_ms % 1000) * 1000000L
		};
		while (nanosleep(&d, &d) < 0 && errno == EINTR)
			;
	}
	if (!err && snap->child) {
		err = open_pagemap(snap->child, &pagemap_fd);
		if (!err)
			err = tp_capture_clone(&maps, snap->child, pagemap_fd,
					       s->standalone ? 0 : TP_CAPTURE_DEFER,
					       which, &pre, &snap->mem);
		if (pagemap_fd >= 0)
			close(pagemap_fd);
		/* the clone exited: it was killed, and so was the target */
		if (err && err->code == TP_ERR_EXITED) {
			tp_error_destroy(err);
			err = tp_error_create(TP_ERR_EXITED,
					      "process %d exited", (int)pid);
		}
	}
	/*
	 * Native stacks (--native), unwound while the target runs: from the
	 * clone, which holds the memory as it was in the freeze, or from
	 * the copy.
	 */
	if (!err && s->native) {
		uint64_t n0 = mono_us();
		err = tp_native_record(pid, snap->child ? snap->child : pid,
				       snap->freeze.threads,
				       snap->freeze.nthreads, &snap->mem,
				       &s->buildids, &snap->native);
		snap->have_native = !err;
		snap->native_us = mono_us() - n0;
		if (err && err != &tp_error_nomem) {
			/* a snapshot without them rather than none */
			tp_error_destroy(err);
			err = NULL;
		}
	}
out:
	tp_socket_scan_deinit(&sockets);
	tp_maps_deinit(&maps);
	tp_maps_deinit(&pre_maps);
	tp_capture_deinit(&pre);
	free(nofork);
	free(which);
	if (err)
		tp_snap_deinit(snap);
	return err;
}

void tp_snap_deinit(struct tp_snap *snap)
{
	if (snap->child && snap->cow)
		tp_cow_release(snap->cow, snap->child, snap->child_nspid);
	snap->child = 0;
	tp_freeze_deinit(&snap->freeze);
	tp_capture_deinit(&snap->mem);
	tp_nstacks_deinit(&snap->native);
	snap->have_native = false;
	tp_sockets_deinit(&snap->sockets);
	snap->have_sockets = false;
	free(snap->cwd);
	snap->cwd = NULL;
}

/* Values of the tripod note that have to be formatted. */
struct note_values {
	char time[32], start_time[32], interval[32], pid[16], ppid[16],
		seq[24], freeze_us[24], execs[24], capture[200], native_us[24];
};

/*
 * The tripod note, key=value pairs (DESIGN.md): a new array in *@ret of
 * *@ret_n pairs pointing into @s, @snap, @v and @interp_build_id.
 */
static struct tp_error *make_note(const struct tp_snap_session *s,
				  const struct tp_snap *snap,
				  unsigned long seq, const char *interp,
				  const char *interp_build_id, bool python,
				  struct note_values *v,
				  struct tp_core_kv **ret, size_t *ret_n)
{
	const struct tp_snap_target *t = &s->target;
	tp_format_time(&snap->time, v->time);
	tp_format_time(&t->start, v->start_time);
	snprintf(v->interval, sizeof(v->interval), "%f", s->interval);
	snprintf(v->pid, sizeof(v->pid), "%d", (int)t->pid);
	snprintf(v->ppid, sizeof(v->ppid), "%d", (int)snap->stat.ppid);
	snprintf(v->execs, sizeof(v->execs), "%lu", t->execs);
	snprintf(v->seq, sizeof(v->seq), "%lu", seq);
	snprintf(v->freeze_us, sizeof(v->freeze_us), "%llu",
		 (unsigned long long)snap->freeze_us);

	struct tp_core_kv *kv = calloc(18 + t->argc, sizeof(*kv));
	if (!kv)
		return &tp_error_nomem;
	size_t n = 0;
	kv[n++] = (struct tp_core_kv){ "format", "1" };
	kv[n++] = (struct tp_core_kv){ "time", v->time };
	kv[n++] = (struct tp_core_kv){ "interval", v->interval };
	kv[n++] = (struct tp_core_kv){ "pid", v->pid };
	kv[n++] = (struct tp_core_kv){ "ppid", v->ppid };
	for (size_t i = 0; i < t->argc; i++)
		kv[n++] = (struct tp_core_kv){ "argv", t->argv[i] };
	kv[n++] = (struct tp_core_kv){ "exe", t->exe };
	kv[n++] = (struct tp_core_kv){ "cwd", snap->cwd };
	kv[n++] = (struct tp_core_kv){ "hostname", t->hostname };
	kv[n++] = (struct tp_core_kv){ "start_time", v->start_time };
	kv[n++] = (struct tp_core_kv){ "interpreter", interp };
	kv[n++] = (struct tp_core_kv){ "interpreter_build_id",
				       interp_build_id };
	kv[n++] = (struct tp_core_kv){ "python", python ? "yes" : "no" };
	kv[n++] = (struct tp_core_kv){ "execs", v->execs };
	kv[n++] = (struct tp_core_kv){ "seq", v->seq };
	kv[n++] = (struct tp_core_kv){ "freeze_us", v->freeze_us };
	/* how the memory was taken, and why not by a clone */
	if (snap->why_copy[0])
		snprintf(v->capture, sizeof(v->capture), "%s (%s)",
			 snap->method ? snap->method : "stop-and-copy",
			 snap->why_copy);
	else
		snprintf(v->capture, sizeof(v->capture), "%s",
			 snap->method ? snap->method : "stop-and-copy");
	kv[n++] = (struct tp_core_kv){ "capture", v->capture };
	if (snap->have_native) {
		snprintf(v->native_us, sizeof(v->native_us), "%llu",
			 (unsigned long long)snap->native_us);
		kv[n++] = (struct tp_core_kv){ "native_us", v->native_us };
	}
	*ret = kv;
	*ret_n = n;
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/*
 * The mapped file that holds the target's interpreter, and whether there is
 * one: the process may not be running Python at this time (a launcher such
 * as env or a shell before it execs the interpreter).  Candidates, in
 * order: a libpython, the executable, a file named python* (an interpreter
 * run through the dynamic loader, whose exe is the loader); the first that
 * exports the C API wins.  Without one, *@ret_python is false and *@ret
 * the first file named python* (an interpreter whose file cannot be read
 * now), else the executable's mapping, else NULL.
 */
static struct tp_error *find_interpreter(struct tp_snap_session *s,
					 const struct tp_snap *snap,
					 const struct tp_mapping **ret,
					 bool *ret_python)
{
	const struct tp_maps *maps = &snap->mem.maps;
	const char *exe = s->target.exe;
	const struct tp_mapping *exe_map = NULL, *named = NULL;
	*ret = NULL;
	*ret_python = false;
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < maps->n; i++) {
			const struct tp_mapping *m = &maps->v[i];
			if (!tp_mapping_is_file(m) || m->offset != 0)
				continue;
			const char *b = base_name(m->path);
			bool is_exe = exe && strcmp(m->path, exe) == 0;
			if (is_exe && !exe_map)
				exe_map = m;
			bool candidate =
				pass == 0 ? strncmp(b, "libpython", 9) == 0 :
				pass == 1 ? is_exe :
				strncmp(b, "python", 6) == 0;
			if (!candidate)
				continue;
			if (pass == 2 && !named)
				named = m;
			bool python;
			struct tp_error *err = tp_buildid_is_python(
				&s->buildids, s->target.pid, m, &python);
			if (err)
				return err;
			if (python) {
				*ret = m;
				*ret_python = true;
				return NULL;
			}
			if (pass == 1)
				break;  /* the executable is mapped once */
		}
	}
	*ret = named ? named : exe_map;
	return NULL;
}

/* argv joined by spaces, for NT_PRPSINFO's pr_psargs (the writer cuts it). */
static char *join_argv(const struct tp_snap_target *t)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (size_t i = 0; i < t->argc; i++) {
		if (i)
			tp_strbuf_putc(&sb, ' ');
		tp_strbuf_puts(&sb, t->argv[i]);
	}
	return tp_strbuf_steal(&sb);
}

/* Compress the core described by @desc into the open file @fd. */
static struct tp_error *write_core(int fd, const struct tp_core_desc *desc)
{
	struct tp_gzwriter *gz;
	struct tp_error *err = tp_gzwriter_create(fd, 0, &gz);
	if (err)
		return err;
	struct tp_sink_gz sink;
	tp_sink_gz_init(&sink, gz);
	err = tp_core_write(desc, &sink.sink);
	if (!err)
		err = tp_gzwriter_finish(gz);
	tp_gzwriter_destroy(gz);
	return err;
}

/* The single-file form: a BGZF .core.gz through a temporary file. */
static struct tp_error *write_standalone(struct tp_snap_session *s,
					 const char *path, char *tmp,
					 const struct tp_core_desc *desc)
{
	/* mkostemp() creates the file with mode 0600. */
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return tp_error_os(errno, s->dir, "cannot create a file in");
	struct tp_error *err = write_core(fd, desc);
	int r = close(fd);
	if (!err && r < 0)
		err = tp_error_os(errno, tmp, "cannot write");
	if (!err && rename(tmp, path) < 0)
		err = tp_error_os(errno, NULL, "cannot rename %s", tmp);
	if (err)
		unlink(tmp);
	return err;
}

static uint32_t seg_flags(const struct tp_core_segment *seg)
{
	return (seg->read ? PF_R : 0u) | (seg->write ? PF_W : 0u) |
	       (seg->exec ? PF_X : 0u);
}

/* Where write_stored() pulls memory from: the clone. */
struct pull_source {
	pid_t pid;
	int mem;        /* /proc/PID/mem, or -1: process_vm_readv() */
};

/*
 * tp_snapwriter_read_fn over the clone's memory.  Through /proc/PID/mem
 * when it opens: process_vm_readv() pins the pages it reads (FOLL_PIN),
 * and the kernel first gives a pinned copy-on-write page its own copy, so
 * reading a clone that way would copy every page of it; /proc/PID/mem
 * only takes a reference.
 */
static struct tp_error *read_process(void *arg, uint64_t addr, void *buf,
				     size_t len, size_t *ret)
{
	const struct pull_source *src = arg;
	pid_t pid = src->pid;
	ssize_t n;
	if (src->mem >= 0) {
		while ((n = pread(src->mem, buf, len, (off_t)addr)) < 0 &&
		       errno == EINTR)
			;
		/* 0 bytes of a non-empty range: its memory is gone */
		if (n == 0 && len)
			n = -1, errno = ESRCH;
	} else {
		struct iovec local = { buf, len };
		struct iovec remote = { (void *)(uintptr_t)addr, len };
		while ((n = process_vm_readv(pid, &local, 1, &remote, 1, 0)) <
			       0 &&
		       errno == EINTR)
			;
	}
	if (n < 0 && errno == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "process %d exited",
				       (int)pid);
	/* EFAULT/EIO: the first page cannot be read, a hole */
	if (n < 0 && errno != EFAULT && errno != EIO)
		return tp_error_os(errno, NULL,
				   "cannot read memory of process %d at 0x%llx",
				   (int)pid, (unsigned long long)addr);
	*ret = n > 0 ? (size_t)n : 0;
	return NULL;
}

/* The stored form: the captured segments into the block store. */
static struct tp_error *write_stored(struct tp_snap_session *s,
				     const char *name,
				     const struct tp_core_desc *desc,
				     const struct tp_snap *snap)
{
	const struct tp_capture *mem = &snap->mem;
	struct tp_snapwriter *w;
	struct tp_error *err = tp_snapwriter_create(s->store, s->subdir, name,
						    &w);
	if (err)
		return err;
	struct pull_source from = { snap->child, -1 };
	if (snap->child) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)snap->child);
		from.mem = open(path, O_RDONLY | O_CLOEXEC);
	}
	for (size_t i = 0; i < mem->nsegs && !err; i++) {
		const struct tp_core_segment *seg = &mem->segs[i];
		err = tp_snapwriter_segment(w, seg->vaddr, seg->memsz,
					    seg_flags(seg));
		if (!err && seg->pull)
			err = tp_snapwriter_pull(w, seg->memsz, read_process,
						 &from);
		else if (!err && seg->filesz)
			err = tp_snapwriter_data(w, seg->data, seg->filesz);
		else if (!err && seg->unreadable)
			err = tp_snapwriter_hole(w, seg->memsz);
	}
	struct tp_core_desc rest = *desc;
	rest.segments = NULL;
	rest.nsegments = 0;
	if (!err)
		err = tp_snapwriter_finish(w, &rest);
	tp_snapwriter_destroy(w);
	if (from.mem >= 0)
		close(from.mem);
	return err;
}

struct tp_error *tp_snap_write(struct tp_snap_session *s,
			       const struct tp_snap *snap, char **ret_path)
{
	const struct tp_snap_target *t = &s->target;
	if (s->seq >= MAX_SEQ)
		return tp_error_create(TP_ERR_LIMIT,
				       "%s already holds snapshot %lu, the last number",
				       s->dir, MAX_SEQ);
	unsigned long seq = s->seq + 1;

	const struct tp_mapping *im;
	bool python;
	struct tp_error *err = find_interpreter(s, snap, &im, &python);
	const char *interp = im ? im->path : t->exe, *build_id = "";
	if (!err && im)
		err = tp_buildid_get(&s->buildids, t->pid, im, &build_id);
	struct note_values v;
	struct tp_core_kv *kv = NULL;
	size_t nkv = 0;
	char *psargs = NULL, *path = NULL, *tmp = NULL;
	struct tp_strbuf nstacks = TP_STRBUF_INIT;   /* the native stacks note */
	struct tp_strbuf sockets = TP_STRBUF_INIT;   /* the sockets note */
	struct tp_core_extra_note extra[2];
	size_t nextra = 0;
	if (!err)
		err = make_note(s, snap, seq, interp, build_id, python, &v, &kv,
				&nkv);
	if (err)
		goto out;
	psargs = join_argv(t);
	const char *suffix = s->standalone ? SNAP_SUFFIX : TP_STORE_INDEX_SUFFIX;
	char name[64];
	snprintf(name, sizeof(name), SNAP_PREFIX "%06lu%s", seq, suffix);
	if (asprintf(&path, "%s/%s%s%s", s->dir, s->subdir ? s->subdir : "",
		     s->subdir ? "/" : "", name) < 0)
		path = NULL;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", s->dir, name) < 0)
		tmp = NULL;
	if (!psargs || !path || !tmp) {
		err = &tp_error_nomem;
		goto out;
	}

	if (snap->have_native) {
		tp_nstacks_encode(&snap->native, &nstacks);
		if ((err = tp_strbuf_error(&nstacks)))
			goto out;
		extra[nextra++] = (struct tp_core_extra_note){
			TP_NOTE_NSTACKS_TYPE, nstacks.str, nstacks.len
		};
	}
	if (snap->have_sockets) {
		tp_sockets_encode(&snap->sockets, &sockets);
		if ((err = tp_strbuf_error(&sockets)))
			goto out;
		extra[nextra++] = (struct tp_core_extra_note){
			TP_NOTE_SOCKETS_TYPE, sockets.str, sockets.len
		};
	}
	struct tp_core_desc desc = {
		.pid = t->pid,
		.ppid = snap->stat.ppid,
		.pgrp = snap->stat.pgrp,
		.sid = snap->stat.sid,
		.uid = t->uid,
		.gid = t->gid,
		.state = snap->stat.state,
		.fname = snap->stat.comm,
		.psargs = psargs,
		.threads = snap->freeze.threads,
		.nthreads = snap->freeze.nthreads,
		.segments = snap->mem.segs,
		.nsegments = snap->mem.nsegs,
		.files = snap->mem.files,
		.nfiles = snap->mem.nfiles,
		.auxv = t->auxv,
		.auxv_len = t->auxv_len,
		.kv = kv,
		.nkv = nkv,
		.extra = nextra ? extra : NULL,
		.nextra = nextra,
	};

	if (s->standalone)
		err = write_standalone(s, path, tmp, &desc);
	else
		err = write_stored(s, name, &desc, snap);
	if (err) {
		err = tp_error_wrap(err, "snapshot %s not written", path);
		goto out;
	}
	s->seq = seq;
	s->python = python;
	if (ret_path) {
		*ret_path = path;
		path = NULL;
	}
out:
	tp_strbuf_deinit(&nstacks);
	tp_strbuf_deinit(&sockets);
	free(kv);
	free(psargs);
	free(path);
	free(tmp);
	return err;
}

struct tp_error *tp_snap_retain(struct tp_snap_session *s, unsigned long keep,
				uint64_t max_size, const char *newest,
				bool *over)
{
	*over = false;
	if (keep == TP_STORE_KEEP_ALL && !max_size)
		return NULL;
	struct tp_store_retain_opts o = {
		.keep = keep, .max_size = max_size, .protect = newest,
	};
	struct tp_store_retain_result r;
	struct tp_error *err = tp_store_retain(s->store, &o, &r);
	if (!err)
		*over = r.over;
	return err;
}
