/* SPDX-License-Identifier: MIT */
/*
 * Native stacks in the report (tripod-analyze --native): each thread's C
 * frames, symbolized, merged with its Python frames, and what the thread
 * was doing (doc/native-stacks.md).
 *
 * The stacks come from the snapshot when tripod-snap --native recorded
 * them (program counters unwound with libunwind in the live process), else
 * they are unwound from the snapshot's registers and memory with libdwfl
 * (dwfl_getthread_frames; call frame information from the module files,
 * their .debug files or debuginfod), which works for any core.  Either way
 * the frames are symbolized with libdwfl: function names (demangled for
 * C++), file:line and inlined calls where there is debug information,
 * module+0xoffset otherwise.
 */
#ifndef TRIPOD_ANALYZE_NATIVE_H
#define TRIPOD_ANALYZE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "core/coreread.h"
#include "python/report.h"

/** Machine frames unwound per thread (eu-stack's default is 256). */
#define TP_NATIVE_MAX_FRAMES 2048

/** Where the native stacks come from. */
enum tp_native_source {
	TP_NATIVE_AUTO,      /* recorded by tripod-snap --native, else core */
	TP_NATIVE_RECORDED,  /* only what tripod-snap recorded */
	TP_NATIVE_CORE,      /* unwound from the core by libdwfl */
};

struct tp_native_opts {
	enum tp_native_source source;
	const char *debuginfo_path;   /* as tp_target_opts; NULL: default */
	size_t max_frames;            /* 0: TP_NATIVE_MAX_FRAMES */
};

/**
 * Give every thread of @snap (decoded from @core, not yet sorted) its
 * native stack merged with its Python frames: each call of the evaluation
 * loop (@snap->eval_loop) is replaced by the Python frames it runs
 * (tp_rframe.eval_call), the C frames between them stay.  Threads of the
 * core that run no Python are added with their native stack alone.  Each
 * thread gets its state (running, waiting for the GIL, blocked in a
 * system call, idle).  A thread whose stack cannot be unwound keeps its
 * Python frames and says why in native_error.  Errors: TP_ERR_NOMEM;
 * TP_ERR_INVALID when @opts asks for recorded stacks that the snapshot
 * does not have; TP_ERR_UNSUPPORTED on an architecture other than x86-64.
 */
struct tp_error *tp_native_add(struct tp_core *core,
			       const struct tp_native_opts *opts,
			       struct tp_rsnapshot *snap);

/** The name of x86-64 Linux system call @nr, or NULL. */
const char *tp_native_syscall_name(long nr);

#endif /* TRIPOD_ANALYZE_NATIVE_H */
