/* SPDX-License-Identifier: MIT */
/*
 * The report model: what the decoder found in one snapshot, independent of
 * how it is printed.  snapshot → threads → frames → locals.  Strings are
 * UTF-8, owned by the snapshot's arena; values are tp_pyval graphs.
 */
#ifndef TRIPOD_PYTHON_REPORT_H
#define TRIPOD_PYTHON_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/pyval.h"

struct tp_rlocal {
	const char *name;
	struct tp_pyval *value;     /* NULL: unbound (deleted, not yet set) */
	/*
	 * With tp_python_opts.local_attributes: the attributes of the value
	 * when it is an instance with a __dict__ or __slots__, as a DICT
	 * node (TP_PV_SYNTHETIC: str names, each value limited on its own);
	 * else NULL.
	 */
	struct tp_pyval *attrs;
};

/** What a frame of a thread's stack is. */
enum tp_rframe_kind {
	TP_RFRAME_PYTHON,           /* a Python frame (the default) */
	TP_RFRAME_NATIVE,           /* a C frame (tripod-analyze --native) */
};

/**
 * A native frame (doc/native-stacks.md).  One machine frame shows as one
 * tp_rframe, plus one more in front of it (innermost first) for each call
 * the compiler inlined at its pc, as gdb shows them.
 */
struct tp_rnative {
	uint64_t pc;                /* the return address (the pc where the
				       thread stopped, innermost) */
	const char *function;       /* demangled; NULL when no symbol says */
	const char *module;         /* path of the mapped file, or NULL */
	const char *build_id;       /* the module's GNU build-id, hex, or NULL */
	uint64_t offset;            /* pc in the module's own ELF addresses
				       (pc minus its load bias), as
				       addr2line -e MODULE takes it */
	const char *file;           /* source file (debug info), or NULL */
	int line;                   /* its line, 0 if unknown */
	bool inlined;               /* a call inlined into the frame after it */
};

struct tp_rframe {
	enum tp_rframe_kind kind;
	/* TP_RFRAME_NATIVE: the frame; the Python fields below are empty */
	struct tp_rnative native;
	/*
	 * Which call of the interpreter's evaluation loop runs this Python
	 * frame, counting from the innermost (0): 3.11+ groups frames by
	 * the eval loop's entry frames, earlier versions run one frame per
	 * call.  tripod-analyze --native puts the frames of call N in place
	 * of the Nth evaluation-loop C frame.
	 */
	unsigned eval_call;
	const char *file;           /* co_filename */
	/*
	 * Where linecache reads this frame's source when not from `file`,
	 * or NULL: 3.14+ reads a frozen module's ("<frozen X>") from the
	 * module's __file__.
	 */
	const char *source_file;
	const char *function;       /* co_name */
	const char *qualname;       /* co_qualname (3.11+), else NULL */
	int line;                   /* -1 when unknown */
	bool is_module;             /* non-optimised code: locals = a dict */
	/*
	 * The parameters, as inspect.getargvalues() sees them: argnames[0..
	 * nargs) are the positional and keyword-only names; varargs/varkw are
	 * the *args / **kw names or NULL.
	 */
	const char **argnames;
	size_t nargs;
	const char *varargs, *varkw;
	/* f_locals in CPython's order (unbound names left out) */
	struct tp_rlocal *locals;
	size_t nlocals;
	const char *error;          /* why locals are incomplete, or NULL */
};

/** What a thread was doing, read from its native stack (--native). */
enum tp_rthread_state {
	TP_RSTATE_UNKNOWN,          /* no native stack (no --native) */
	TP_RSTATE_RUNNING,          /* on a CPU or ready to run, in user space */
	TP_RSTATE_GIL,              /* waiting for the GIL (take_gil) */
	TP_RSTATE_SYSCALL,          /* blocked in system call `syscall` */
	TP_RSTATE_IDLE,             /* no Python frames, blocked in a system
				       call (a pool worker waiting for work) */
};

struct tp_rthread {
	pid_t tid;                  /* native id, 0 if unknown */
	uint64_t ident;             /* threading.get_ident() */
	bool has_ident;
	const char *name;           /* threading name, NULL if unknown */
	int holds_gil;              /* 1, 0, or -1 unknown */
	bool is_main;
	int64_t interp_id;          /* interpreter id, -1 unknown */
	/*
	 * An address on the C stack of the thread running this thread
	 * state's Python code (3.11+), 0 if unknown; see analyze.c.
	 */
	uint64_t stack_hint;
	struct tp_rframe *frames;   /* outermost first */
	size_t nframes;
	bool truncated;             /* frame cap reached */
	const char *error;          /* walk stopped early because of this */
	/*
	 * 3.12+: for each call of the eval loop (tp_rframe.eval_call), the
	 * address of its entry frame, a local variable of that call's C
	 * frame (0: unknown).  --native finds the eval loop's C frames by
	 * it where no symbol names them.
	 */
	uint64_t *eval_entries;
	size_t neval_entries;
	/* --native: frames holds the merged stack (Python and native) */
	bool native;
	bool python;                /* has a Python thread state (false: a
				       thread that never ran Python) */
	enum tp_rthread_state run_state; /* --native */
	const char *syscall;        /* TP_RSTATE_SYSCALL/IDLE: its name */
	const char *native_error;   /* why the native stack may be short */
	/*
	 * NULL for a thread that runs (or ran) Python code; else what this
	 * thread state is instead: "starting: ..." for one that a thread
	 * made for a new thread that has not run yet (it has no frames, and
	 * its ids are its creator's or none: tid 0, no ident, no name).
	 */
	const char *state;
};

/*
 * An asyncio task (or a coroutine chain a task waits on): its coroutine
 * stack as frames, outermost (the task's own coroutine) first, the
 * innermost being the one suspended deepest in the cr_await chain.
 */
struct tp_rtask {
	uint64_t address;           /* the Task object */
	const char *name;           /* get_name(), NULL before 3.8 */
	/* "pending", "running" (its thread runs it now); NULL unknown.
	 * Tasks that are done are left out, as asyncio.all_tasks() does. */
	const char *state;
	uint64_t loop;              /* its event loop, 0 if unknown */
	/* the tasks awaiting this one (directly, or through gather or the
	 * TaskGroup that made it), by address */
	uint64_t *awaited_by;
	size_t nawaited_by;
	/* what the innermost frame awaits when it is no coroutine, future
	 * or task, or NULL */
	struct tp_pyval *awaiting;
	bool in_cycle;              /* awaited-by edges lead back to it */
	struct tp_rframe *frames;   /* outermost first */
	size_t nframes;
	bool truncated;
	const char *error;          /* decoding stopped early because of this */
};

struct tp_rsnapshot {
	const char *path;
	const char *time;           /* ISO 8601 UTC, or NULL */
	const char *start_time;     /* process start, ISO 8601, or NULL */
	const char *hostname;
	const char *cwd;
	pid_t pid;
	pid_t ppid;                 /* parent process id, 0 if unknown */
	long long uid, gid;         /* the process's user and group, -1 if
				       unknown (which source files it could
				       read: source.h) */
	int64_t freeze_us;          /* how long the target was stopped, -1 if
				       unknown (not a tripod snapshot) */
	const char **argv;
	size_t argc;
	const char *python_version; /* "3.12.1" */
	const char *layout_source;  /* "dwarf" */
	/*
	 * The interpreter's evaluation-loop function (the C frames that
	 * --native replaces by Python frames), NULL if unknown.
	 */
	const char *eval_loop;
	/* --native: "recorded" (by tripod-snap --native), "core" (unwound
	   from the snapshot by tripod-analyze), or NULL */
	const char *native_source;
	struct tp_rthread *threads; /* main thread first, then by tid */
	size_t nthreads;
	/* asyncio tasks of every event loop, by loop then as found */
	struct tp_rtask *tasks;
	size_t ntasks;
	const char *tasks_error;    /* why tasks may be missing, or NULL */
	/*
	 * Why the report is incomplete beyond its threads' own errors (a
	 * thread list that loops or ends unreadable, a snapshot cut short),
	 * one line, or NULL.
	 */
	const char *error;
	struct tp_pyval_arena *arena;
};

#endif /* TRIPOD_PYTHON_REPORT_H */
