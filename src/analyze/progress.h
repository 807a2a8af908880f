/* SPDX-License-Identifier: MIT */
/*
 * Progress of a long analysis on a terminal: "[12/100] 8.3 snapshots/s,
 * ETA 11 s" on one line of standard error, rewritten in place at most
 * every TP_PROGRESS_PERIOD_MS and cleared at the end.  Shown only when the
 * stream is a terminal and there are at least TP_PROGRESS_MIN snapshots;
 * otherwise every call does nothing.
 */
#ifndef TRIPOD_ANALYZE_PROGRESS_H
#define TRIPOD_ANALYZE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TP_PROGRESS_MIN 5
#define TP_PROGRESS_PERIOD_MS 200

struct tp_progress {
	FILE *out;
	bool on;
	size_t total, done;
	double start, last;       /* monotonic seconds */
	bool shown;               /* a line is on the screen */
};

void tp_progress_start(struct tp_progress *p, FILE *out, size_t total);
/** One more snapshot done. */
void tp_progress_step(struct tp_progress *p);
/** Clear the line (before printing anything else on the stream). */
void tp_progress_clear(struct tp_progress *p);
void tp_progress_end(struct tp_progress *p);

#endif /* TRIPOD_ANALYZE_PROGRESS_H */
