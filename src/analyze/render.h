/* SPDX-License-Identifier: MIT */
/* Printing a report: the Dogslow text and JSON Lines (FORMAT.md 1, 2). */
#ifndef TRIPOD_ANALYZE_RENDER_H
#define TRIPOD_ANALYZE_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "analyze/source.h"
#include "common/strbuf.h"
#include "python/report.h"

/* How the Dogslow report shows asyncio tasks (--tasks). */
enum tp_tasks_view {
	TP_TASKS_FULL,        /* a block per task, after the threads */
	TP_TASKS_TREE,        /* the awaited-by tree, one line per task/frame */
	TP_TASKS_HIDE,        /* none */
};

struct tp_render_opts {
	bool header;          /* the Dogslow request header */
	bool locals;          /* arguments and locals */
	size_t max_repr;      /* --max-repr */
	enum tp_tasks_view tasks;
};

/** Append the Dogslow samples of every thread of @snap to @out. */
struct tp_error *tp_render_dogslow(const struct tp_rsnapshot *snap,
				   const struct tp_render_opts *opts,
				   struct tp_sources *sources,
				   struct tp_strbuf *out);

/**
 * Append the awaited-by tree of @snap's asyncio tasks (--tasks tree): a
 * task that no other awaits is a root, the tasks it awaits hang under it,
 * each task on one line and each of its frames (outermost first) on one
 * line; the tasks of await cycles follow, each cycle from its first task.
 */
struct tp_error *tp_render_task_tree(const struct tp_rsnapshot *snap,
				     struct tp_strbuf *out);

/** Append one JSON line for @snap to @out. */
struct tp_error *tp_render_json(const struct tp_rsnapshot *snap,
				const struct tp_render_opts *opts,
				struct tp_strbuf *out);

/** Append @s as a JSON string literal (invalid UTF-8 becomes U+FFFD). */
void tp_json_string(struct tp_strbuf *out, const char *s);

#endif /* TRIPOD_ANALYZE_RENDER_H */
