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
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "core/corewrite.h"
#include "core/gz.h"
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
				      const char *dir, double interval)
{
	memset(s, 0, sizeof(*s));
	s->target.pagemap_fd = -1;  /* safe to deinit from here on */
	s->interval = interval;
	const char *delay = getenv(TP_SNAP_TEST_DELAY_ENV);
	if (delay)
		s->test_delay_ms = (unsigned)strtoul(delay, NULL, 10);
	struct tp_error *err = last_seq(dir, &s->seq);
	if (err)
		return err;
	if (!(s->dir = strdup(dir)))
		return &tp_error_nomem;
	err = tp_store_open(dir, &s->store);
	if (!err) {
		s->own_store = true;
		err = tp_snap_target_open(pid, &s->target);
	}
	if (err) {
		if (s->own_store)
			tp_store_close(s->store);
		s->store = NULL;
		free(s->dir);
		s->dir = NULL;
	}
	return err;
}

void tp_snap_session_deinit(struct tp_snap_session *s)
{
	if (s->own_store)
		tp_store_close(s->store);
	s->store = NULL;
	tp_snap_target_close(&s->target);
	tp_buildid_cache_deinit(&s->buildids);
	free(s->dir);
	s->dir = NULL;
}

struct tp_error *tp_snap_capture(struct tp_snap_session *s,
				 struct tp_snap *ret, int *leader_status)
{
	struct tp_snap *snap = ret;
	pid_t pid = s->target.pid;
	memset(snap, 0, sizeof(*snap));
	*leader_status = -1;

	/* Before the freeze: what the target's clock need not pay for. */
	struct tp_error *err = tp_proc_stat_read(pid, &snap->stat);
	if (!err)
		err = tp_proc_readlink(pid, "cwd", &snap->cwd);
	if (err)
		goto out;

	clock_gettime(CLOCK_REALTIME, &snap->time);
	uint64_t t0 = mono_us();
	err = tp_freeze(pid, &snap->freeze);
	if (!err && s->test_delay_ms) {
		struct timespec d = { s->test_delay_ms / 1000,
				      (long)(s->test_delay_ms % 1000) * 1000000L };
		while (nanosleep(&d, &d) < 0 && errno == EINTR)
			;
	}
	if (!err)
		err = tp_capture_memory(pid, s->target.pagemap_fd, 0, &snap->mem);
	tp_thaw(&snap->freeze);
	snap->freeze_us = mono_us() - t0;
	/*
	 * Killed during the freeze: the copy may have found no memory at all
	 * (a dying process drops its address space while still listed).
	 */
	if (!err && (snap->freeze.killed || snap->freeze.leader_reaped))
		err = tp_error_create(TP_ERR_EXITED, "process %d exited",
				      (int)pid);

	if (snap->freeze.leader_reaped)
		*leader_status = snap->freeze.leader_status;
out:
	if (err)
		tp_snap_deinit(snap);
	return err;
}

void tp_snap_deinit(struct tp_snap *snap)
{
	tp_freeze_deinit(&snap->freeze);
	tp_capture_deinit(&snap->mem);
	free(snap->cwd);
	snap->cwd = NULL;
}

/* Values of the tripod note that have to be formatted. */
struct note_values {
	char time[32], start_time[32], interval[32], pid[16], seq[24],
		freeze_us[24];
};

/*
 * The tripod note, key=value pairs (DESIGN.md): a new array in *@ret of
 * *@ret_n pairs pointing into @s, @snap, @v and @interp_build_id.
 */
static struct tp_error *make_note(const struct tp_snap_session *s,
				  const struct tp_snap *snap,
				  unsigned long seq, const char *interp,
				  const char *interp_build_id,
				  struct note_values *v,
				  struct tp_core_kv **ret, size_t *ret_n)
{
	const struct tp_snap_target *t = &s->target;
	tp_format_time(&snap->time, v->time);
	tp_format_time(&t->start, v->start_time);
	snprintf(v->interval, sizeof(v->interval), "%f", s->interval);
	snprintf(v->pid, sizeof(v->pid), "%d", (int)t->pid);
	snprintf(v->seq, sizeof(v->seq), "%lu", seq);
	snprintf(v->freeze_us, sizeof(v->freeze_us), "%llu",
		 (unsigned long long)snap->freeze_us);

	struct tp_core_kv *kv = calloc(12 + t->argc, sizeof(*kv));
	if (!kv)
		return &tp_error_nomem;
	size_t n = 0;
	kv[n++] = (struct tp_core_kv){ "format", "1" };
	kv[n++] = (struct tp_core_kv){ "time", v->time };
	kv[n++] = (struct tp_core_kv){ "interval", v->interval };
	kv[n++] = (struct tp_core_kv){ "pid", v->pid };
	for (size_t i = 0; i < t->argc; i++)
		kv[n++] = (struct tp_core_kv){ "argv", t->argv[i] };
	kv[n++] = (struct tp_core_kv){ "exe", t->exe };
	kv[n++] = (struct tp_core_kv){ "cwd", snap->cwd };
	kv[n++] = (struct tp_core_kv){ "hostname", t->hostname };
	kv[n++] = (struct tp_core_kv){ "start_time", v->start_time };
	kv[n++] = (struct tp_core_kv){ "interpreter", interp };
	kv[n++] = (struct tp_core_kv){ "interpreter_build_id",
				       interp_build_id };
	kv[n++] = (struct tp_core_kv){ "seq", v->seq };
	kv[n++] = (struct tp_core_kv){ "freeze_us", v->freeze_us };
	*ret = kv;
	*ret_n = n;
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
	if (s->subdir)
		return tp_error_create(TP_ERR_INVALID,
				       "single-file snapshots go directly in the output directory");
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

/* The stored form: the captured segments into the block store. */
static struct tp_error *write_stored(struct tp_snap_session *s,
				     const char *name,
				     const struct tp_core_desc *desc,
				     const struct tp_capture *mem)
{
	struct tp_snapwriter *w;
	struct tp_error *err = tp_snapwriter_create(s->store, s->subdir, name,
						    &w);
	if (err)
		return err;
	for (size_t i = 0; i < mem->nsegs && !err; i++) {
		const struct tp_core_segment *seg = &mem->segs[i];
		err = tp_snapwriter_segment(w, seg->vaddr, seg->memsz,
					    seg_flags(seg));
		if (!err && seg->filesz)
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

	const struct tp_mapping *im = tp_capture_interpreter(&snap->mem,
							     t->exe);
	const char *interp = im ? im->path : t->exe, *build_id = "";
	struct tp_error *err = NULL;
	if (im)
		err = tp_buildid_get(&s->buildids, t->pid, im, &build_id);
	struct note_values v;
	struct tp_core_kv *kv = NULL;
	size_t nkv = 0;
	char *psargs = NULL, *path = NULL, *tmp = NULL;
	if (!err)
		err = make_note(s, snap, seq, interp, build_id, &v, &kv, &nkv);
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
	};

	if (s->standalone)
		err = write_standalone(s, path, tmp, &desc);
	else
		err = write_stored(s, name, &desc, &snap->mem);
	if (err) {
		err = tp_error_wrap(err, "snapshot %s not written", path);
		goto out;
	}
	s->seq = seq;
	if (ret_path) {
		*ret_path = path;
		path = NULL;
	}
out:
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
