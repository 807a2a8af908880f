/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "core/blockcache.h"
#include "core/corewrite.h"
#include "core/coreread.h"
#include "core/gz.h"
#include "core/sockets.h"
#include "python/target.h"

static const char *arena_dup(struct tp_pyval_arena *a, const char *s)
{
	return s ? tp_pyval_arena_strdup(a, s) : NULL;
}

static int thread_order(const void *pa, const void *pb)
{
	const struct tp_rthread *a = pa, *b = pb;
	if (a->is_main != b->is_main)
		return a->is_main ? -1 : 1;
	/* unknown native ids last */
	unsigned long ta = a->tid ? (unsigned long)a->tid : ~0UL;
	unsigned long tb = b->tid ? (unsigned long)b->tid : ~0UL;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->ident != b->ident)
		return a->ident < b->ident ? -1 : 1;
	return 0;
}

/* Process facts from the tripod note, else from NT_PRPSINFO. */
static struct tp_error *snapshot_facts(struct tp_core *core,
				       struct tp_rsnapshot *s)
{
	struct tp_pyval_arena *a = s->arena;
	s->time = arena_dup(a, tp_core_note_get(core, "time"));
	s->start_time = arena_dup(a, tp_core_note_get(core, "start_time"));
	s->hostname = arena_dup(a, tp_core_note_get(core, "hostname"));
	s->cwd = arena_dup(a, tp_core_note_get(core, "cwd"));
	const char *pid = tp_core_note_get(core, "pid");
	s->pid = pid ? (pid_t)atoi(pid) : tp_core_pid(core);
	const char *ppid = tp_core_note_get(core, "ppid");
	s->ppid = ppid ? (pid_t)atoi(ppid) : tp_core_ppid(core);
	s->uid = tp_core_uid(core);
	s->gid = tp_core_gid(core);
	const char *freeze = tp_core_note_get(core, "freeze_us");
	s->freeze_us = freeze ? strtoll(freeze, NULL, 10) : -1;

	const char **argv = NULL;
	size_t argc = 0;
	struct tp_error *err = tp_core_note_all(core, "argv", &argv, &argc);
	if (err)
		return err;
	if (argc) {
		s->argv = tp_pyval_arena_alloc(a, argc * sizeof(*s->argv));
		if (!s->argv) {
			free(argv);
			return &tp_error_nomem;
		}
		for (size_t i = 0; i < argc; i++)
			s->argv[i] = arena_dup(a, argv[i]);
		s->argc = argc;
	} else if (tp_core_psargs(core)) {
		/* a foreign core: the kernel's psargs (80 bytes at most) */
		s->argv = tp_pyval_arena_alloc(a, sizeof(*s->argv));
		if (!s->argv) {
			free(argv);
			return &tp_error_nomem;
		}
		s->argv[0] = arena_dup(a, tp_core_psargs(core));
		s->argc = 1;
	}
	free(argv);
	return NULL;
}

static bool core_has_thread(struct tp_core *core, pid_t tid)
{
	for (size_t k = 0; k < tp_core_nthreads(core); k++)
		if (tp_core_thread(core, k)->tid == tid)
			return true;
	return false;
}

/*
 * Before 3.11 thread states do not record the native thread id.  On x86-64
 * with glibc, pthread_self() -- the thread's Python ident -- is the address
 * of its thread control block, which is the fs_base register of that thread
 * in the core.  The main thread is the one whose id is the process id.
 */
static void native_ids(struct tp_core *core, struct tp_rsnapshot *s)
{
	bool have_main = false;
	for (size_t i = 0; i < s->nthreads; i++) {
		struct tp_rthread *t = &s->threads[i];
		have_main |= t->is_main;
		/*
		 * A native id that no thread of the process has is stale: a
		 * child of os.fork() keeps the parent's in the forking
		 * thread's state (3.11+).  Its ident is still right.
		 */
		if (t->tid && !core_has_thread(core, t->tid))
			t->tid = 0;
		if (t->tid || !t->has_ident)
			continue;
#if defined(__x86_64__)
		for (size_t k = 0; k < tp_core_nthreads(core); k++) {
			const struct tp_core_thread_info *ct =
				tp_core_thread(core, k);
			/* user_regs_struct: fs_base is the 22nd register */
			if ((uint64_t)ct->regs[21] == t->ident) {
				t->tid = ct->tid;
				break;
			}
		}
#endif
	}
	/*
	 * A thread state is not always run by the thread that created it:
	 * a subinterpreter's first thread state keeps the ids of its creator
	 * while run_string() uses it from another thread (3.8-3.12; CPython's
	 * own sys._current_frames() is misled the same way).  The thread whose
	 * stack holds the eval loop's locals is the one running it: the
	 * closest stack pointer below that address.
	 */
#if defined(__x86_64__)
	for (size_t i = 0; i < s->nthreads; i++) {
		struct tp_rthread *t = &s->threads[i];
		if (!t->stack_hint)
			continue;
		const struct tp_core_thread_info *best = NULL;
		uint64_t best_dist = 8ULL << 20;
		for (size_t k = 0; k < tp_core_nthreads(core); k++) {
			const struct tp_core_thread_info *ct = tp_core_thread(core, k);
			uint64_t sp = (uint64_t)ct->regs[19]; /* rsp */
			if (sp <= t->stack_hint && t->stack_hint - sp < best_dist) {
				best = ct;
				best_dist = t->stack_hint - sp;
			}
		}
		if (best && best->tid != t->tid) {
			t->tid = best->tid;
			t->ident = (uint64_t)best->regs[21]; /* pthread_self */
			t->has_ident = true;
			t->name = NULL;
			for (size_t k = 0; k < s->nthreads; k++)
				if (k != i && s->threads[k].has_ident &&
				    s->threads[k].ident == t->ident &&
				    s->threads[k].name)
					t->name = s->threads[k].name;
		}
	}
#endif
	if (!have_main && s->pid > 0)
		for (size_t i = 0; i < s->nthreads; i++)
			if (s->threads[i].tid == s->pid)
				s->threads[i].is_main = true;
}

/* One interpreter build and what was made for its first snapshot. */
struct build_entry {
	char *interp, *build_id;
	uint64_t start;          /* the interpreter's lowest mapping there */
	struct tp_core *core;    /* that snapshot: its libdwfl session */
	struct tp_target *target;
	struct tp_python *py;
	uint64_t used;           /* for eviction: the oldest use goes */
};

struct tp_analyze_cache {
	struct tp_blockcache *blocks;
	struct build_entry v[TP_ANALYZE_CACHE_BUILDS];
	size_t n;
	uint64_t clock;
};

struct tp_error *tp_analyze_cache_create(struct tp_analyze_cache **ret)
{
	struct tp_analyze_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return &tp_error_nomem;
	struct tp_error *err = tp_blockcache_create(0, &c->blocks);
	if (err) {
		free(c);
		return err;
	}
	*ret = c;
	return NULL;
}

static void entry_free(struct build_entry *e)
{
	tp_python_destroy(e->py);
	tp_target_destroy(e->target);
	tp_core_destroy(e->core);
	free(e->interp);
	free(e->build_id);
	memset(e, 0, sizeof(*e));
}

void tp_analyze_cache_destroy(struct tp_analyze_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(&c->v[i]);
	tp_blockcache_destroy(c->blocks);
	free(c);
}

/* The lowest address at which @core maps the file @path, or 0. */
static uint64_t mapped_at(const struct tp_core *core, const char *path)
{
	uint64_t lo = 0;
	for (size_t i = 0; i < tp_core_nfiles(core); i++) {
		const struct tp_core_file_info *f = tp_core_file(core, i);
		if (strcmp(f->path, path) == 0 && (!lo || f->start < lo))
			lo = f->start;
	}
	return lo;
}

static struct build_entry *cache_find(struct tp_analyze_cache *c,
				      const char *interp, const char *build_id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].interp, interp) &&
		    !strcmp(c->v[i].build_id, build_id)) {
			c->v[i].used = ++c->clock;
			return &c->v[i];
		}
	return NULL;
}

/* Keep @core, @target, @py for later snapshots of the build. */
static bool cache_add(struct tp_analyze_cache *c, const char *interp,
		      const char *build_id, uint64_t start,
		      struct tp_core *core, struct tp_target *target,
		      struct tp_python *py)
{
	char *i = strdup(interp), *b = strdup(build_id);
	if (!i || !b) {
		free(i);
		free(b);
		return false;
	}
	struct build_entry *e = &c->v[c->n];
	if (c->n == TP_ANALYZE_CACHE_BUILDS) {
		e = &c->v[0];
		for (size_t k = 1; k < c->n; k++)
			if (c->v[k].used < e->used)
				e = &c->v[k];
		entry_free(e);
	} else {
		c->n++;
	}
	*e = (struct build_entry){ i, b, start, core, target, py, ++c->clock };
	return true;
}

struct tp_error *tp_analyze_file(const char *path,
				 const struct tp_analyze_opts *opts,
				 struct tp_rsnapshot **ret)
{
	struct tp_core *core = NULL;
	struct tp_target *target = NULL;
	struct tp_python *py = NULL;
	struct tp_analyze_cache *cache = opts->cache;
	struct tp_rsnapshot *s = calloc(1, sizeof(*s));
	struct tp_error *err;
	bool cached = false;     /* core, target, py belong to the cache */
	if (!s)
		return &tp_error_nomem;
	if ((err = tp_pyval_arena_create(&s->arena)))
		goto fail;
	s->path = arena_dup(s->arena, path);
	struct tp_core_open_opts copts = { .cache = cache ? cache->blocks : NULL };
	if ((err = tp_core_open_with(path, &copts, &core)))
		goto fail;
	if ((err = snapshot_facts(core, s)))
		goto fail;
	/*
	 * tripod-snap follows its target through execve(): before the exec
	 * of the interpreter (a launcher such as env, a shell, a shim) the
	 * process runs no Python, and the snapshot's note says so.
	 */
	const char *python = tp_core_note_get(core, "python");
	if (python && !strcmp(python, "no")) {
		const char *exe = tp_core_note_get(core, "exe");
		err = tp_error_create(TP_ERR_NOTPYTHON,
				      "not a Python process at this time (running %s)",
				      exe && exe[0] ? exe : "an unknown program");
		goto fail;
	}
	/* The same build as an earlier snapshot: no libdwfl, no DWARF. */
	const char *interp = tp_core_note_get(core, "interpreter");
	const char *build_id = tp_core_note_get(core, "interpreter_build_id");
	uint64_t start = interp ? mapped_at(core, interp) : 0;
	bool cacheable = cache && interp && build_id && *build_id && start;
	struct build_entry *e = cacheable ? cache_find(cache, interp, build_id)
					  : NULL;
	if (e) {
		err = tp_target_rebind(e->target, tp_core_memsrc(core),
				       start - e->start, &target);
		if (!err)
			err = tp_python_rebind(e->py, target, &py);
		if (err == &tp_error_nomem)
			goto fail;
		if (err) {
			/* not as the first snapshot said: decode it afresh */
			tp_error_destroy(err);
			tp_target_destroy(target);
			target = NULL;
			e = NULL;
			cacheable = false;
		}
	}
	if (!e) {
		struct tp_target_opts topts = {
			.debuginfo_path = opts->debuginfo_path
		};
		if ((err = tp_target_open_core(tp_core_elf(core),
					       tp_core_memsrc(core), &topts,
					       &target)))
			goto fail;
		if ((err = tp_python_open(target, &opts->python, &py)))
			goto fail;
		cached = cacheable && cache_add(cache, interp, build_id, start,
						core, target, py);
	}
	/* the sockets' addresses (a damaged note: as if there were none) */
	struct tp_sockets sockets = { 0 };
	size_t slen;
	const void *snote = tp_core_sockets(core, &slen);
	struct tp_error *serr = snote ? tp_sockets_decode(snote, slen,
							  &sockets)
				      : NULL;
	if (serr == &tp_error_nomem) {
		err = serr;
		goto fail;
	}
	tp_error_destroy(serr);
	tp_python_set_sockets(py, snote && !serr ? &sockets : NULL);
	err = tp_python_walk(py, s);
	tp_python_set_sockets(py, NULL);
	tp_sockets_deinit(&sockets);
	if (err)
		goto fail;
	/* the decoder's strings die with it: keep copies in the report */
	s->python_version = arena_dup(s->arena, s->python_version);
	s->layout_source = arena_dup(s->arena, s->layout_source);
	if (tp_core_is_truncated(core)) {
		/* what could be decoded is shown; the report says the rest */
		const char *w = tp_core_warning(core);
		char *joined = NULL;
		if (s->error && asprintf(&joined, "%s; %s", w, s->error) < 0)
			joined = NULL;
		s->error = arena_dup(s->arena, joined ? joined : w);
		free(joined);
	}
	native_ids(core, s);
	if (opts->native) {
		struct tp_native_opts nopts = opts->native_opts;
		if (!nopts.debuginfo_path)
			nopts.debuginfo_path = opts->debuginfo_path;
		if ((err = tp_native_add(core, &nopts, s)))
			goto fail;
	}
	qsort(s->threads, s->nthreads, sizeof(*s->threads), thread_order);
	if (!cached) {
		tp_python_destroy(py);
		tp_target_destroy(target);
		tp_core_destroy(core);
	}
	*ret = s;
	return NULL;
fail:
	if (!cached) {
		tp_python_destroy(py);
		tp_target_destroy(target);
		tp_core_destroy(core);
	}
	tp_analyze_free(s);
	return err;
}

void tp_analyze_free(struct tp_rsnapshot *snap)
{
	if (!snap)
		return;
	tp_pyval_arena_destroy(snap->arena);
	free(snap);
}

static struct tp_error *export_to(struct tp_core *core, int fd, bool gz,
				  uint64_t *ret_unread)
{
	if (!gz) {
		struct tp_sink_fd sink;
		tp_sink_fd_init(&sink, fd);
		return tp_core_export(core, &sink.sink, ret_unread);
	}
	struct tp_gzwriter *w;
	struct tp_error *err = tp_gzwriter_create(fd, 0, &w);
	if (err)
		return err;
	struct tp_sink_gz sink;
	tp_sink_gz_init(&sink, w);
	err = tp_core_export(core, &sink.sink, ret_unread);
	if (!err)
		err = tp_gzwriter_finish(w);
	tp_gzwriter_destroy(w);
	return err;
}

struct tp_error *tp_analyze_export(const char *path, const char *out,
				   uint64_t *ret_unread)
{
	struct tp_core *core;
	*ret_unread = 0;
	struct tp_error *err = tp_core_open(path, &core);
	if (err)
		return err;
	size_t n = strlen(out);
	bool gz = n > 3 && strcmp(out + n - 3, ".gz") == 0;
	if (strcmp(out, "-") == 0) {
		err = export_to(core, STDOUT_FILENO, false, ret_unread);
		tp_core_destroy(core);
		return err;
	}
	/* Beside the target, so that the rename stays in one file system. */
	char *tmp;
	const char *slash = strrchr(out, '/');
	int len = slash ? (int)(slash - out) : 0;
	if (asprintf(&tmp, "%.*s%s.tripod-export-XXXXXX", len, out,
		     slash ? "/" : "") < 0) {
		tp_core_destroy(core);
		return &tp_error_nomem;
	}
	int fd = mkostemp(tmp, O_CLOEXEC);     /* mode 0600 */
	if (fd < 0) {
		err = tp_error_os(errno, out, "cannot create");
	} else {
		err = export_to(core, fd, gz, ret_unread);
		if (close(fd) < 0 && !err)
			err = tp_error_os(errno, out, "cannot write");
		if (!err && rename(tmp, out) < 0)
			err = tp_error_os(errno, out, "cannot create");
		if (err)
			unlink(tmp);
	}
	free(tmp);
	tp_core_destroy(core);
	return err;
}
