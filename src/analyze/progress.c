/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <time.h>
#include <unistd.h>

#include "analyze/progress.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tp_progress_start(struct tp_progress *p, FILE *out, size_t total)
{
	*p = (struct tp_progress){ .out = out, .total = total };
	p->on = total >= TP_PROGRESS_MIN && isatty(fileno(out));
	p->start = p->last = now();
}

void tp_progress_clear(struct tp_progress *p)
{
	if (!p->on || !p->shown)
		return;
	/* carriage return, erase the line */
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->shown = false;
}

void tp_progress_step(struct tp_progress *p)
{
	p->done++;
	if (!p->on)
		return;
	double t = now();
	if (p->done < p->total &&
	    (t - p->last) * 1000.0 < TP_PROGRESS_PERIOD_MS)
		return;
	p->last = t;
	double elapsed = t - p->start;
	double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
	fprintf(p->out, "\r\033[K[%zu/%zu] %.1f snapshots/s", p->done,
		p->total, rate);
	if (rate > 0 && p->done < p->total)
		fprintf(p->out, ", ETA %.0f s",
			(double)(p->total - p->done) / rate);
	fflush(p->out);
	p->shown = true;
}

void tp_progress_end(struct tp_progress *p)
{
	tp_progress_clear(p);
}
