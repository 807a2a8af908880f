/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze --diff: consecutive snapshots of the same threads and
 * tasks compared.
 *
 *   === snapshot-000002.tripod (TIME) after snapshot-000001.tripod (TIME)
 *   Thread MainThread:
 *     left:     inner (/app/x.py:12)
 *     appeared: other (/app/x.py:30)
 *     moved:    outer (/app/x.py) line 8 -> 9
 *     changed:  outer (/app/x.py): n = 1 -> 2
 *     added:    outer (/app/x.py): m = 'x'
 *     removed:  outer (/app/x.py): k (was 3)
 *
 * A thread is the same thread in both snapshots when it has the same
 * label, process and ident; a task when it has the same address.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/views.h"

/* One thread or task to compare: its label and frames. */
struct stack {
	char label[512];
	const char *kind;            /* "Thread", "Task" */
	uint64_t key;                /* ident, or the task's address */
	const struct tp_rframe *frames;
	size_t n;
};

static size_t collect(const struct tp_rsnapshot *s,
		      const struct tp_views_opts *opts, struct stack *v)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nthreads; i++) {
		const struct tp_rthread *t = &s->threads[i];
		tp_views_thread_label(t, v[n].label, sizeof(v[n].label));
		if (!tp_views_selected(opts, v[n].label))
			continue;
		v[n].kind = "Thread";
		v[n].key = t->has_ident ? t->ident : (uint64_t)t->tid;
		v[n].frames = t->frames;
		v[n].n = t->nframes;
		n++;
	}
	for (size_t i = 0; i < s->ntasks; i++) {
		const struct tp_rtask *t = &s->tasks[i];
		if (t->name)
			snprintf(v[n].label, sizeof(v[n].label), "Task %s",
				 t->name);
		else
			snprintf(v[n].label, sizeof(v[n].label),
				 "Task at 0x%llx",
				 (unsigned long long)t->address);
		if (!tp_views_selected(opts, v[n].label))
			continue;
		v[n].kind = "Task";
		v[n].key = t->address;
		v[n].frames = t->frames;
		v[n].n = t->nframes;
		n++;
	}
	return n;
}

static bool same_function(const struct tp_rframe *a, const struct tp_rframe *b)
{
	const char *fa = a->qualname ? a->qualname : a->function;
	const char *fb = b->qualname ? b->qualname : b->function;
	return fa && fb && a->file && b->file && !strcmp(fa, fb) &&
	       !strcmp(a->file, b->file);
}

static void func(const struct tp_rframe *f, struct tp_strbuf *out)
{
	tp_strbuf_printf(out, "%s (%s)",
			 f->qualname ? f->qualname : f->function, f->file);
}

static const struct tp_rlocal *local_named(const struct tp_rframe *f,
					   const char *name)
{
	for (size_t i = 0; i < f->nlocals; i++)
		if (f->locals[i].value && !strcmp(f->locals[i].name, name))
			return &f->locals[i];
	return NULL;
}

static struct tp_error *repr(const struct tp_rlocal *l, struct tp_strbuf *out)
{
	struct tp_pyval_opts vopts = { .max_repr = 65536 };
	return tp_pyval_repr(l->value, &vopts, out);
}

/* Changes of the locals of one call seen in both snapshots. */
static struct tp_error *diff_locals(const struct tp_rframe *a,
				    const struct tp_rframe *b,
				    struct tp_strbuf *out, bool *any)
{
	struct tp_error *err = NULL;
	struct tp_strbuf ra = TP_STRBUF_INIT, rb = TP_STRBUF_INIT;
	for (size_t i = 0; i < b->nlocals && !err; i++) {
		const struct tp_rlocal *lb = &b->locals[i];
		if (!lb->value)
			continue;
		const struct tp_rlocal *la = local_named(a, lb->name);
		tp_strbuf_reset(&rb);
		if ((err = repr(lb, &rb)))
			break;
		if (!la) {
			tp_strbuf_puts(out, "  added:    ");
			func(b, out);
			tp_strbuf_printf(out, ": %s = %s\n", lb->name,
					 tp_strbuf_str(&rb));
			*any = true;
			continue;
		}
		tp_strbuf_reset(&ra);
		if ((err = repr(la, &ra)))
			break;
		if (strcmp(tp_strbuf_str(&ra), tp_strbuf_str(&rb))) {
			tp_strbuf_puts(out, "  changed:  ");
			func(b, out);
			tp_strbuf_printf(out, ": %s = %s -> %s\n", lb->name,
					 tp_strbuf_str(&ra), tp_strbuf_str(&rb));
			*any = true;
		}
	}
	for (size_t i = 0; i < a->nlocals && !err; i++) {
		const struct tp_rlocal *la = &a->locals[i];
		if (!la->value || local_named(b, la->name))
			continue;
		tp_strbuf_reset(&ra);
		if ((err = repr(la, &ra)))
			break;
		tp_strbuf_puts(out, "  removed:  ");
		func(a, out);
		tp_strbuf_printf(out, ": %s (was %s)\n", la->name,
				 tp_strbuf_str(&ra));
		*any = true;
	}
	if (!err)
		err = tp_strbuf_error(&ra);
	if (!err)
		err = tp_strbuf_error(&rb);
	tp_strbuf_deinit(&ra);
	tp_strbuf_deinit(&rb);
	return err;
}

static struct tp_error *diff_stack(const struct stack *a, const struct stack *b,
				   struct tp_strbuf *out)
{
	struct tp_strbuf body = TP_STRBUF_INIT;
	struct tp_error *err = NULL;
	bool any = false;
	size_t common = 0;
	while (common < a->n && common < b->n &&
	       same_function(&a->frames[common], &b->frames[common]))
		common++;
	/* innermost first, as they left */
	for (size_t i = a->n; i > common; i--) {
		tp_strbuf_puts(&body, "  left:     ");
		tp_views_frame_label(&a->frames[i - 1], &body);
		tp_strbuf_putc(&body, '\n');
		any = true;
	}
	for (size_t i = common; i < b->n; i++) {
		tp_strbuf_puts(&body, "  appeared: ");
		tp_views_frame_label(&b->frames[i], &body);
		tp_strbuf_putc(&body, '\n');
		any = true;
	}
	for (size_t i = 0; i < common && !err; i++) {
		const struct tp_rframe *fa = &a->frames[i], *fb = &b->frames[i];
		if (fa->line != fb->line) {
			tp_strbuf_puts(&body, "  moved:    ");
			func(fb, &body);
			tp_strbuf_printf(&body, " line %d -> %d\n", fa->line,
					 fb->line);
			any = true;
		}
		err = diff_locals(fa, fb, &body, &any);
	}
	if (!err && any) {
		tp_strbuf_printf(out, "%s %s:\n", b->kind, b->label);
		tp_strbuf_append(out, tp_strbuf_str(&body), body.len);
	}
	if (!err)
		err = tp_strbuf_error(&body);
	tp_strbuf_deinit(&body);
	return err;
}

static void whole_stack(const char *what, const struct stack *s,
			struct tp_strbuf *out)
{
	tp_strbuf_printf(out, "%s %s: %s\n", s->kind, s->label, what);
	for (size_t i = 0; i < s->n; i++) {
		tp_strbuf_puts(out, "    ");
		tp_views_frame_label(&s->frames[i], out);
		tp_strbuf_putc(out, '\n');
	}
}

struct tp_error *tp_views_diff(const struct tp_rsnapshot *prev,
			       const struct tp_rsnapshot *cur,
			       const struct tp_views_opts *opts,
			       struct tp_strbuf *out)
{
	struct stack *a = calloc(prev->nthreads + prev->ntasks + 1, sizeof(*a));
	struct stack *b = calloc(cur->nthreads + cur->ntasks + 1, sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return &tp_error_nomem;
	}
	size_t na = collect(prev, opts, a), nb = collect(cur, opts, b);
	tp_strbuf_printf(out, "=== %s (%s) after %s (%s)\n", cur->path,
			 cur->time ? cur->time : "time unknown", prev->path,
			 prev->time ? prev->time : "time unknown");
	bool same_process = prev->pid == cur->pid;
	struct tp_error *err = NULL;
	bool any = false;
	for (size_t j = 0; j < nb && !err; j++) {
		const struct stack *sa = NULL;
		for (size_t i = 0; same_process && i < na && !sa; i++)
			if (a[i].key == b[j].key && a[i].kind == b[j].kind &&
			    !strcmp(a[i].label, b[j].label))
				sa = &a[i];
		size_t before = out->len;
		if (!sa)
			whole_stack("began", &b[j], out);
		else
			err = diff_stack(sa, &b[j], out);
		any |= out->len != before;
	}
	for (size_t i = 0; i < na && !err; i++) {
		bool found = false;
		for (size_t j = 0; same_process && j < nb && !found; j++)
			found = a[i].key == b[j].key &&
				a[i].kind == b[j].kind &&
				!strcmp(a[i].label, b[j].label);
		if (!found) {
			whole_stack("ended", &a[i], out);
			any = true;
		}
	}
	if (!err && !any)
		tp_strbuf_puts(out, "no change\n");
	if (!err)
		tp_strbuf_putc(out, '\n');
	free(a);
	free(b);
	return err ? err : tp_strbuf_error(out);
}
