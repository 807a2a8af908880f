/* SPDX-License-Identifier: MIT */
/*
 * Views over many snapshots: the stacks of every thread and task of every
 * snapshot folded into one tree (a trie of frame labels, counting how many
 * samples ended at each node), which gives the collapsed stacks and the
 * flame graph; the innermost frames counted per thread for --summary.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/views.h"
#include "analyze/views_internal.h"

/* ---- labels ---------------------------------------------------------- */

void tp_views_thread_label(const struct tp_rthread *t, char *buf, size_t size)
{
	if (t->name)
		snprintf(buf, size, "%s", t->name);
	else if (t->tid)
		snprintf(buf, size, "thread %d", (int)t->tid);
	else if (t->has_ident)
		snprintf(buf, size, "thread ident %llu",
			 (unsigned long long)t->ident);
	else
		snprintf(buf, size, "thread ?");
}

static void task_label(const struct tp_rtask *t, char *buf, size_t size)
{
	if (t->name)
		snprintf(buf, size, "Task %s", t->name);
	else
		snprintf(buf, size, "Task at 0x%llx",
			 (unsigned long long)t->address);
}

bool tp_views_selected(const struct tp_views_opts *opts, const char *label)
{
	if (!opts->nthreads)
		return true;
	for (size_t i = 0; i < opts->nthreads; i++)
		if (!strcmp(opts->threads[i], label))
			return true;
	return false;
}

/* Flame graph tools split on ';' and on the last space: keep ';' and
 * line breaks out of a frame. */
static void put_clean(struct tp_strbuf *out, const char *s)
{
	for (; *s; s++)
		tp_strbuf_putc(out, *s == ';' ? ':'
				    : (*s == '\n' || *s == '\r') ? ' ' : *s);
}

void tp_views_frame_label(const struct tp_rframe *f, struct tp_strbuf *out)
{
	const char *fn = f->qualname ? f->qualname : f->function;
	put_clean(out, fn ? fn : "?");
	tp_strbuf_puts(out, " (");
	put_clean(out, f->file ? f->file : "?");
	if (f->line >= 0)
		tp_strbuf_printf(out, ":%d)", f->line);
	else
		tp_strbuf_puts(out, ":?)");
}

/* "QUALNAME (FILE)": the function, whatever line it is at. */
static void function_label(const struct tp_rframe *f, struct tp_strbuf *out)
{
	const char *fn = f->qualname ? f->qualname : f->function;
	put_clean(out, fn ? fn : "?");
	tp_strbuf_puts(out, " (");
	put_clean(out, f->file ? f->file : "?");
	tp_strbuf_putc(out, ')');
}

/* ---- counting strings ------------------------------------------------ */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void tp_counter_deinit(struct tp_counter *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].key);
	free(c->v);
	free(c->index);
	memset(c, 0, sizeof(*c));
}

static bool counter_rehash(struct tp_counter *c, size_t cap)
{
	size_t *index = malloc(cap * sizeof(*index));
	if (!index)
		return false;
	for (size_t i = 0; i < cap; i++)
		index[i] = SIZE_MAX;
	for (size_t i = 0; i < c->n; i++) {
		size_t h = (size_t)str_hash(c->v[i].key) & (cap - 1);
		while (index[h] != SIZE_MAX)
			h = (h + 1) & (cap - 1);
		index[h] = i;
	}
	free(c->index);
	c->index = index;
	c->index_cap = cap;
	return true;
}

bool tp_counter_add(struct tp_counter *c, const char *key, uint64_t n)
{
	if ((c->n + 1) * 2 > c->index_cap &&
	    !counter_rehash(c, c->index_cap ? c->index_cap * 2 : 64))
		return false;
	size_t h = (size_t)str_hash(key) & (c->index_cap - 1);
	while (c->index[h] != SIZE_MAX) {
		struct tp_count *e = &c->v[c->index[h]];
		if (!strcmp(e->key, key)) {
			e->count += n;
			return true;
		}
		h = (h + 1) & (c->index_cap - 1);
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct tp_count *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return false;
		c->v = v;
		c->cap = cap;
	}
	char *k = strdup(key);
	if (!k)
		return false;
	c->v[c->n] = (struct tp_count){ k, n };
	c->index[h] = c->n++;
	return true;
}

/* ---- the stack tree -------------------------------------------------- */

static void node_free(struct tp_fnode *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->label);
}

static struct tp_fnode *node_child(struct tp_fnode *n, const char *label)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (!strcmp(n->kids[i]->label, label))
			return n->kids[i];
	if (n->nkids == n->capkids) {
		size_t cap = n->capkids ? n->capkids * 2 : 4;
		struct tp_fnode **k = realloc(n->kids, cap * sizeof(*k));
		if (!k)
			return NULL;
		n->kids = k;
		n->capkids = cap;
	}
	struct tp_fnode *c = calloc(1, sizeof(*c));
	if (!c || !(c->label = strdup(label))) {
		free(c);
		return NULL;
	}
	n->kids[n->nkids++] = c;
	return c;
}

struct tp_views {
	struct tp_views_opts opts;
	size_t nsnapshots;
	struct tp_fnode root;       /* label "all" */
	size_t max_depth;
	struct tp_counter leaf_frames, leaf_funcs;
	struct tp_tsum *tsums;      /* per thread and task label */
	size_t ntsums, captsums;
	char *first_time, *last_time;
	struct tp_strbuf records;   /* JSON Lines, when keep_records */
};

struct tp_error *tp_views_create(const struct tp_views_opts *opts,
				 struct tp_views **ret)
{
	struct tp_views *v = calloc(1, sizeof(*v));
	if (!v)
		return &tp_error_nomem;
	v->opts = *opts;
	v->root.label = strdup("all");
	if (!v->root.label) {
		free(v);
		return &tp_error_nomem;
	}
	*ret = v;
	return NULL;
}

void tp_views_destroy(struct tp_views *v)
{
	if (!v)
		return;
	node_free(&v->root);
	tp_counter_deinit(&v->leaf_frames);
	tp_counter_deinit(&v->leaf_funcs);
	for (size_t i = 0; i < v->ntsums; i++) {
		free(v->tsums[i].label);
		tp_counter_deinit(&v->tsums[i].frames);
		tp_counter_deinit(&v->tsums[i].funcs);
	}
	free(v->tsums);
	free(v->first_time);
	free(v->last_time);
	tp_strbuf_deinit(&v->records);
	free(v);
}

size_t tp_views_count(const struct tp_views *v)
{
	return v->nsnapshots;
}

static struct tp_tsum *tsum_get(struct tp_views *v, const char *label)
{
	for (size_t i = 0; i < v->ntsums; i++)
		if (!strcmp(v->tsums[i].label, label))
			return &v->tsums[i];
	if (v->ntsums == v->captsums) {
		size_t cap = v->captsums ? v->captsums * 2 : 8;
		struct tp_tsum *t = realloc(v->tsums, cap * sizeof(*t));
		if (!t)
			return NULL;
		v->tsums = t;
		v->captsums = cap;
	}
	struct tp_tsum *t = &v->tsums[v->ntsums];
	memset(t, 0, sizeof(*t));
	if (!(t->label = strdup(label)))
		return NULL;
	v->ntsums++;
	return t;
}

/* One sample: the stack @frames (outermost first) of @label. */
static struct tp_error *add_stack(struct tp_views *v, const char *label,
				  const struct tp_rframe *frames, size_t n)
{
	struct tp_tsum *ts = tsum_get(v, label);
	if (!ts)
		return &tp_error_nomem;
	ts->samples++;
	if (!n) {
		/* a thread running no Python code: counted, no stack */
		ts->idle++;
		return NULL;
	}
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_fnode *node = &v->root;
	node->total++;
	size_t depth = 0;
	if (v->opts.by_thread) {
		if (!(node = node_child(node, label)))
			goto nomem;
		node->total++;
		depth++;
	}
	for (size_t i = 0; i < n; i++) {
		tp_strbuf_reset(&sb);
		tp_views_frame_label(&frames[i], &sb);
		if (sb.failed || !(node = node_child(node, tp_strbuf_str(&sb))))
			goto nomem;
		node->total++;
		depth++;
	}
	node->self++;
	if (depth > v->max_depth)
		v->max_depth = depth;
	/* the innermost frame, and its function */
	if (!tp_counter_add(&v->leaf_frames, tp_strbuf_str(&sb), 1) ||
	    !tp_counter_add(&ts->frames, tp_strbuf_str(&sb), 1))
		goto nomem;
	tp_strbuf_reset(&sb);
	function_label(&frames[n - 1], &sb);
	if (sb.failed || !tp_counter_add(&v->leaf_funcs, tp_strbuf_str(&sb), 1) ||
	    !tp_counter_add(&ts->funcs, tp_strbuf_str(&sb), 1))
		goto nomem;
	tp_strbuf_deinit(&sb);
	return NULL;
nomem:
	tp_strbuf_deinit(&sb);
	return &tp_error_nomem;
}

static bool set_time(char **slot, const char *t)
{
	free(*slot);
	*slot = t ? strdup(t) : NULL;
	return !t || *slot;
}

struct tp_error *tp_views_add(struct tp_views *v,
			      const struct tp_rsnapshot *snap)
{
	struct tp_error *err;
	char label[512];
	v->nsnapshots++;
	if ((v->nsnapshots == 1 && !set_time(&v->first_time, snap->time)) ||
	    !set_time(&v->last_time, snap->time))
		return &tp_error_nomem;
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct tp_rthread *t = &snap->threads[i];
		tp_views_thread_label(t, label, sizeof(label));
		if (!tp_views_selected(&v->opts, label))
			continue;
		if ((err = add_stack(v, label, t->frames, t->nframes)))
			return err;
	}
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct tp_rtask *t = &snap->tasks[i];
		task_label(t, label, sizeof(label));
		if (!tp_views_selected(&v->opts, label))
			continue;
		if ((err = add_stack(v, label, t->frames, t->nframes)))
			return err;
	}
	if (v->opts.keep_records &&
	    (err = tp_render_json(snap, &v->opts.render, &v->records)))
		return err;
	return NULL;
}

/* ---- collapsed ------------------------------------------------------- */

static int cmp_node(const void *pa, const void *pb)
{
	const struct tp_fnode *a = *(const struct tp_fnode *const *)pa;
	const struct tp_fnode *b = *(const struct tp_fnode *const *)pb;
	return strcmp(a->label, b->label);
}

void tp_fnode_sort(struct tp_fnode *n)
{
	if (n->nkids > 1)
		qsort(n->kids, n->nkids, sizeof(*n->kids), cmp_node);
	for (size_t i = 0; i < n->nkids; i++)
		tp_fnode_sort(n->kids[i]);
}

static void collapsed_walk(const struct tp_fnode *n, struct tp_strbuf *path,
			   struct tp_strbuf *out)
{
	size_t len = path->len;
	if (len)
		tp_strbuf_putc(path, ';');
	tp_strbuf_puts(path, n->label);
	if (n->self)
		tp_strbuf_printf(out, "%s %llu\n", tp_strbuf_str(path),
				 (unsigned long long)n->self);
	for (size_t i = 0; i < n->nkids; i++)
		collapsed_walk(n->kids[i], path, out);
	tp_strbuf_truncate(path, len);
}

struct tp_error *tp_views_collapsed(const struct tp_views *v,
				    struct tp_strbuf *out)
{
	/* children sorted by label: the same input gives the same lines */
	tp_fnode_sort((struct tp_fnode *)&v->root);
	struct tp_strbuf path = TP_STRBUF_INIT;
	for (size_t i = 0; i < v->root.nkids; i++)
		collapsed_walk(v->root.kids[i], &path, out);
	struct tp_error *err = tp_strbuf_error(&path);
	tp_strbuf_deinit(&path);
	return err ? err : tp_strbuf_error(out);
}

/* ---- summary --------------------------------------------------------- */

static int cmp_count(const void *pa, const void *pb)
{
	const struct tp_count *a = *(const struct tp_count *const *)pa;
	const struct tp_count *b = *(const struct tp_count *const *)pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->key, b->key);
}

static bool top_table(const char *title, const struct tp_counter *c,
		      uint64_t total, struct tp_strbuf *out)
{
	if (!c->n)
		return true;
	const struct tp_count **v = malloc(c->n * sizeof(*v));
	if (!v)
		return false;
	for (size_t i = 0; i < c->n; i++)
		v[i] = &c->v[i];
	qsort(v, c->n, sizeof(*v), cmp_count);
	tp_strbuf_printf(out, "  %s:\n", title);
	size_t n = c->n < TP_SUMMARY_TOP ? c->n : TP_SUMMARY_TOP;
	for (size_t i = 0; i < n; i++)
		tp_strbuf_printf(out, "    %8llu  %5.1f%%  %s\n",
				 (unsigned long long)v[i]->count,
				 total ? 100.0 * (double)v[i]->count /
						 (double)total
				       : 0.0,
				 v[i]->key);
	if (c->n > n)
		tp_strbuf_printf(out, "    (%zu more)\n", c->n - n);
	free(v);
	return true;
}

struct tp_error *tp_views_summary(const struct tp_views *v,
				  struct tp_strbuf *out)
{
	tp_strbuf_printf(out, "%zu snapshot%s", v->nsnapshots,
			 v->nsnapshots == 1 ? "" : "s");
	if (v->first_time && v->last_time)
		tp_strbuf_printf(out, ", %s to %s", v->first_time,
				 v->last_time);
	tp_strbuf_puts(out, "\n\n");
	uint64_t all = 0, idle = 0;
	for (size_t i = 0; i < v->ntsums; i++) {
		all += v->tsums[i].samples;
		idle += v->tsums[i].idle;
	}
	tp_strbuf_printf(out, "All threads and tasks: %llu samples",
			 (unsigned long long)all);
	if (idle)
		tp_strbuf_printf(out, " (%llu without Python frames)",
				 (unsigned long long)idle);
	tp_strbuf_putc(out, '\n');
	if (!top_table("Innermost frames", &v->leaf_frames, all, out) ||
	    !top_table("Innermost functions", &v->leaf_funcs, all, out))
		return &tp_error_nomem;
	for (size_t i = 0; i < v->ntsums; i++) {
		const struct tp_tsum *t = &v->tsums[i];
		tp_strbuf_printf(out, "\n%s: %llu sample%s", t->label,
				 (unsigned long long)t->samples,
				 t->samples == 1 ? "" : "s");
		if (t->idle)
			tp_strbuf_printf(out, " (%llu without Python frames)",
					 (unsigned long long)t->idle);
		tp_strbuf_putc(out, '\n');
		if (!top_table("Innermost frames", &t->frames, t->samples, out) ||
		    !top_table("Innermost functions", &t->funcs, t->samples,
			       out))
			return &tp_error_nomem;
	}
	return tp_strbuf_error(out);
}

/* ---- access for the SVG and HTML writers ----------------------------- */

const struct tp_fnode *tp_views_root(const struct tp_views *v,
				     size_t *max_depth)
{
	tp_fnode_sort((struct tp_fnode *)&v->root);
	*max_depth = v->max_depth;
	return &v->root;
}

const struct tp_strbuf *tp_views_records(const struct tp_views *v)
{
	return &v->records;
}

const struct tp_views_opts *tp_views_options(const struct tp_views *v)
{
	return &v->opts;
}
