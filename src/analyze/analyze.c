/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "core/coreread.h"
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

struct tp_error *tp_analyze_file(const char *path,
				 const struct tp_analyze_opts *opts,
				 struct tp_rsnapshot **ret)
{
	struct tp_core *core = NULL;
	struct tp_target *target = NULL;
	struct tp_python *py = NULL;
	struct tp_rsnapshot *s = calloc(1, sizeof(*s));
	struct tp_error *err;
	if (!s)
		return &tp_error_nomem;
	if ((err = tp_pyval_arena_create(&s->arena)))
		goto fail;
	s->path = arena_dup(s->arena, path);
	if ((err = tp_core_open(path, &core)))
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
	struct tp_target_opts topts = { .debuginfo_path = opts->debuginfo_path };
	if ((err = tp_target_open_core(tp_core_elf(core), tp_core_memsrc(core),
				       &topts, &target)))
		goto fail;
	if ((err = tp_python_open(target, &opts->python, &py)))
		goto fail;
	if ((err = tp_python_walk(py, s)))
		goto fail;
	/* the decoder's strings die with it: keep copies in the report */
	s->python_version = arena_dup(s->arena, s->python_version);
	s->layout_source = arena_dup(s->arena, s->layout_source);
	native_ids(core, s);
	qsort(s->threads, s->nthreads, sizeof(*s->threads), thread_order);
	tp_python_destroy(py);
	tp_target_destroy(target);
	tp_core_destroy(core);
	*ret = s;
	return NULL;
fail:
	tp_python_destroy(py);
	tp_target_destroy(target);
	tp_core_destroy(core);
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
