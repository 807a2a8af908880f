/* SPDX-License-Identifier: MIT */
/*
 * The CPython decoder: from a target model (modules, symbols, memory) to the
 * report model (threads, frames, locals).  It reads target memory only
 * through the memory source and structure layouts only through the layout
 * record.
 */
#ifndef TRIPOD_PYTHON_PYTHON_H
#define TRIPOD_PYTHON_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "python/layout.h"
#include "python/layout_source.h"
#include "python/report.h"
#include "python/target.h"

struct tp_python_opts {
	bool locals;            /* decode locals (default true) */
	size_t max_repr;        /* see FORMAT.md; default 65536 */
	size_t max_frames;      /* per thread; default 4096 */
	size_t max_threads;     /* per interpreter; default 4096 */
	enum tp_layout_pref layout_source; /* default TP_LAYOUT_AUTO */
	/*
	 * --attributes=DEPTH: an instance of a class with a __dict__ or
	 * __slots__ prints with its attributes, down to DEPTH nested
	 * instances ("<mod.C object at 0x... {'a': 1}>"); 0 = off (default).
	 */
	unsigned attributes;
	/*
	 * Give each local whose value is such an instance its attributes,
	 * one level deep (tp_rlocal.attrs), for the JSON output; default
	 * false.
	 */
	bool local_attributes;
};

void tp_python_opts_default(struct tp_python_opts *opts);

struct tp_python;

/**
 * Recognise the interpreter in @target (borrowed; it must outlive the
 * decoder): its version and the layout of its structures, from DWARF, else
 * _Py_DebugOffsets, else the built-in table of its version (opts
 * layout_source can force one).  Errors: TP_ERR_UNSUPPORTED "unsupported
 * Python X.Y", TP_ERR_NODEBUG (no source gives the layout: the message names
 * what each lacks), TP_ERR_NOTPYTHON.
 */
struct tp_error *tp_python_open(struct tp_target *target,
				const struct tp_python_opts *opts,
				struct tp_python **ret);
void tp_python_destroy(struct tp_python *py);

/**
 * A decoder for another snapshot of the interpreter build that @proto
 * decodes: the facts of the build (version, layout, capabilities) are
 * copied from @proto, never derived again (no DWARF); what depends on the
 * snapshot (the runtime's address, values of the interpreter's static
 * data) is read through @target, made from @proto's target with
 * tp_target_rebind().  This is what lets a directory of snapshots open
 * DWARF once.  @proto may be destroyed before the result.
 */
struct tp_error *tp_python_rebind(const struct tp_python *proto,
				  struct tp_target *target,
				  struct tp_python **ret);

struct tp_sockets;

/**
 * The sockets the snapshot recorded (core/sockets.h; borrowed until the
 * next call, NULL for none): what a socket's repr needs besides memory.
 */
void tp_python_set_sockets(struct tp_python *py,
			   const struct tp_sockets *sockets);

/** "3.12.1" */
const char *tp_python_version(const struct tp_python *py);
/**
 * Where the layout came from: "dwarf", "debug-offsets+dwarf",
 * "debug-offsets+table", "table" (see layout_source.h).
 */
const char *tp_python_layout_source(const struct tp_python *py);
const struct tp_layout *tp_python_layout(const struct tp_python *py);

/**
 * Walk every interpreter and thread state into @snap->threads, allocating in
 * @snap->arena.  Threads are in the runtime's order; the caller sorts.  A
 * problem inside one thread is recorded in that thread's `error` and the
 * walk goes on; an error is returned only when nothing could be walked.
 */
struct tp_error *tp_python_walk(struct tp_python *py,
				struct tp_rsnapshot *snap);

#endif /* TRIPOD_PYTHON_PYTHON_H */
