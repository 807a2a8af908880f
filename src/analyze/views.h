/* SPDX-License-Identifier: MIT */
/*
 * Views over many snapshots (tripod-analyze --format collapsed, svg, html,
 * --summary): each snapshot is folded into the views as it is decoded,
 * then freed, so memory grows with the number of distinct stacks, not with
 * the number of snapshots (the HTML page, which shows every snapshot's
 * stacks and locals, keeps each snapshot's JSON record).
 *
 * The views see only the report model (threads, tasks, their frames):
 * any kind of frame the model holds shows up in them.
 */
#ifndef TRIPOD_ANALYZE_VIEWS_H
#define TRIPOD_ANALYZE_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "analyze/render.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "python/report.h"

/* The flame graph's geometry (flamegraph.pl's defaults). */
#define TP_FLAME_WIDTH 1200
#define TP_FLAME_FRAME_HEIGHT 16
/* Frames narrower than this many pixels are left out of the SVG. */
#define TP_FLAME_MIN_WIDTH 0.1
/* Entries listed per table of --summary. */
#define TP_SUMMARY_TOP 10

struct tp_views_opts {
	/* collapsed and svg: the thread (or task) is the root frame */
	bool by_thread;
	/* only the threads and tasks with these labels; none: all */
	const char *const *threads;
	size_t nthreads;
	/* keep each snapshot's JSON record, for tp_views_html() */
	bool keep_records;
	struct tp_render_opts render;
};

struct tp_views;

struct tp_error *tp_views_create(const struct tp_views_opts *opts,
				 struct tp_views **ret);
void tp_views_destroy(struct tp_views *v);

/** Fold the threads and tasks of @snap into the views. */
struct tp_error *tp_views_add(struct tp_views *v,
			      const struct tp_rsnapshot *snap);

/** How many snapshots were added. */
size_t tp_views_count(const struct tp_views *v);

/**
 * Brendan Gregg's folded stacks: one line per distinct stack,
 * "root;...;leaf COUNT", lines sorted.  A frame is
 * "QUALNAME (FILE:LINE)" (';' in it becomes ':').
 */
struct tp_error *tp_views_collapsed(const struct tp_views *v,
				    struct tp_strbuf *out);

/**
 * The most frequent innermost frames and functions, over all threads and
 * per thread (and task), with counts and shares.
 */
struct tp_error *tp_views_summary(const struct tp_views *v,
				  struct tp_strbuf *out);

/** A self-contained, searchable, click-to-zoom SVG flame graph. */
struct tp_error *tp_views_svg(const struct tp_views *v, const char *title,
			      struct tp_strbuf *out);

/**
 * One self-contained HTML page: the timeline of the snapshots (a row per
 * thread and task), the flame graph of all of them, each snapshot's
 * stacks with their locals, a search box.  Needs opts.keep_records.
 */
struct tp_error *tp_views_html(const struct tp_views *v, const char *title,
			       struct tp_strbuf *out);

/**
 * The label of a thread in every view: its threading name, else
 * "thread TID", else "thread ident IDENT"; tasks: "Task NAME".
 */
void tp_views_thread_label(const struct tp_rthread *t, char *buf,
			   size_t size);

/** Is the thread or task labelled @label one the options select? */
bool tp_views_selected(const struct tp_views_opts *opts, const char *label);

/** The label of a frame in every view: "QUALNAME (FILE:LINE)". */
void tp_views_frame_label(const struct tp_rframe *f, struct tp_strbuf *out);

/**
 * --diff: what changed in each thread and task (the ones @opts selects)
 * from snapshot @prev to @cur: the frames that left and appeared (the
 * stacks compared from the outermost frame: frames of the same function
 * at the same depth are the same call, until the first that differs),
 * lines that moved, locals added, removed or changed value (by repr), and
 * threads and tasks that began or ended.
 */
struct tp_error *tp_views_diff(const struct tp_rsnapshot *prev,
			       const struct tp_rsnapshot *cur,
			       const struct tp_views_opts *opts,
			       struct tp_strbuf *out);

#endif /* TRIPOD_ANALYZE_VIEWS_H */
