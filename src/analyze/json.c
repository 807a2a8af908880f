/* SPDX-License-Identifier: MIT */
/* JSON Lines output (FORMAT.md section 2): one object per snapshot. */
#include "config.h"

#include <string.h>

#include "analyze/render.h"

void tp_json_string(struct tp_strbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	tp_strbuf_putc(out, '"');
	while (*p) {
		unsigned c = *p;
		if (c == '"' || c == '\\') {
			tp_strbuf_putc(out, '\\');
			tp_strbuf_putc(out, (char)c);
			p++;
		} else if (c == '\n') {
			tp_strbuf_puts(out, "\\n");
			p++;
		} else if (c == '\t') {
			tp_strbuf_puts(out, "\\t");
			p++;
		} else if (c == '\r') {
			tp_strbuf_puts(out, "\\r");
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			tp_strbuf_printf(out, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			tp_strbuf_putc(out, (char)c);
			p++;
		} else {
			/* copy a valid UTF-8 sequence, else U+FFFD */
			size_t k = (c & 0xe0) == 0xc0 ? 2
				   : (c & 0xf0) == 0xe0 ? 3
				   : (c & 0xf8) == 0xf0 ? 4 : 0;
			bool ok = k != 0;
			for (size_t j = 1; ok && j < k; j++)
				ok = (p[j] & 0xc0) == 0x80;
			if (ok) {
				tp_strbuf_append(out, p, k);
				p += k;
			} else {
				tp_strbuf_puts(out, "\\ufffd");
				p++;
			}
		}
	}
	tp_strbuf_putc(out, '"');
}

static void json_str_or_null(struct tp_strbuf *out, const char *s)
{
	if (s)
		tp_json_string(out, s);
	else
		tp_strbuf_puts(out, "null");
}

/*
 * A local's attributes (tp_rlocal.attrs): [{"name", "type", "repr"}...],
 * null when its value is not an instance of a class defined in Python.
 * A name that is not a str shows its repr.
 */
static struct tp_error *json_attributes(const struct tp_pyval *attrs,
					const struct tp_pyval_opts *vopts,
					struct tp_strbuf *out)
{
	if (!attrs) {
		tp_strbuf_puts(out, "null");
		return NULL;
	}
	tp_strbuf_putc(out, '[');
	for (size_t i = 0; i < attrs->u.dict.len; i++) {
		const struct tp_pyval *k = attrs->u.dict.keys[i];
		const struct tp_pyval *v = attrs->u.dict.values[i];
		struct tp_strbuf r = TP_STRBUF_INIT;
		struct tp_error *err = NULL;
		if (i)
			tp_strbuf_puts(out, ", ");
		tp_strbuf_puts(out, "{\"name\": ");
		if (k->kind == TP_PV_STR) {
			for (size_t j = 0; j < k->u.str.len; j++)
				tp_strbuf_put_utf8(&r, k->u.str.cp[j]);
		} else if (k->kind == TP_PV_BYTES) {
			tp_strbuf_append(&r, k->u.bytes.data, k->u.bytes.len);
		} else {
			err = tp_pyval_repr(k, vopts, &r);
		}
		if (!err)
			err = tp_strbuf_error(&r);
		if (err) {
			tp_strbuf_deinit(&r);
			return err;
		}
		tp_json_string(out, tp_strbuf_str(&r));
		tp_strbuf_truncate(&r, 0);
		tp_strbuf_puts(out, ", \"type\": ");
		tp_json_string(out, tp_pyval_type_name(v));
		tp_strbuf_puts(out, ", \"repr\": ");
		if ((err = tp_pyval_repr(v, vopts, &r))) {
			tp_strbuf_deinit(&r);
			return err;
		}
		tp_json_string(out, tp_strbuf_str(&r));
		tp_strbuf_deinit(&r);
		tp_strbuf_putc(out, '}');
	}
	tp_strbuf_putc(out, ']');
	return NULL;
}

static void json_u64(struct tp_strbuf *out, uint64_t v)
{
	tp_strbuf_printf(out, "%llu", (unsigned long long)v);
}

/* A native frame (doc/native-stacks.md). */
static void json_native_frame(const struct tp_rframe *f, struct tp_strbuf *out)
{
	const struct tp_rnative *n = &f->native;
	tp_strbuf_puts(out, "{\"kind\": \"native\", \"function\": ");
	json_str_or_null(out, n->function);
	tp_strbuf_puts(out, ", \"module\": ");
	json_str_or_null(out, n->module);
	tp_strbuf_puts(out, ", \"build_id\": ");
	json_str_or_null(out, n->build_id);
	tp_strbuf_puts(out, ", \"offset\": ");
	if (n->module)
		json_u64(out, n->offset);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_puts(out, ", \"pc\": ");
	json_u64(out, n->pc);
	tp_strbuf_puts(out, ", \"file\": ");
	json_str_or_null(out, n->file && n->line > 0 ? n->file : NULL);
	tp_strbuf_puts(out, ", \"line\": ");
	if (n->file && n->line > 0)
		tp_strbuf_printf(out, "%d", n->line);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_printf(out, ", \"inlined\": %s}", n->inlined ? "true" : "false");
}

static const char *const state_names[] = {
	[TP_RSTATE_UNKNOWN] = NULL,
	[TP_RSTATE_RUNNING] = "running",
	[TP_RSTATE_GIL] = "gil",
	[TP_RSTATE_SYSCALL] = "syscall",
	[TP_RSTATE_IDLE] = "idle",
};

static struct tp_error *json_frame(const struct tp_rframe *f,
				   const struct tp_render_opts *opts,
				   struct tp_strbuf *out)
{
	if (f->kind == TP_RFRAME_NATIVE) {
		json_native_frame(f, out);
		return NULL;
	}
	tp_strbuf_puts(out, "{\"kind\": \"python\", \"file\": ");
	json_str_or_null(out, f->file);
	tp_strbuf_puts(out, ", \"line\": ");
	if (f->line >= 0)
		tp_strbuf_printf(out, "%d", f->line);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_puts(out, ", \"function\": ");
	json_str_or_null(out, f->function);
	tp_strbuf_puts(out, ", \"qualname\": ");
	json_str_or_null(out, f->qualname);
	tp_strbuf_puts(out, ", \"locals\": ");
	if (!opts->locals) {
		tp_strbuf_puts(out, "null");
	} else {
		tp_strbuf_putc(out, '[');
		bool first = true;
		struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
		for (size_t i = 0; i < f->nlocals; i++) {
			const struct tp_rlocal *l = &f->locals[i];
			if (!l->value)
				continue;
			if (!first)
				tp_strbuf_puts(out, ", ");
			first = false;
			tp_strbuf_puts(out, "{\"name\": ");
			tp_json_string(out, l->name);
			tp_strbuf_puts(out, ", \"type\": ");
			tp_json_string(out, tp_pyval_type_name(l->value));
			tp_strbuf_puts(out, ", \"repr\": ");
			struct tp_strbuf r = TP_STRBUF_INIT;
			struct tp_error *err = tp_pyval_repr(l->value, &vopts, &r);
			if (err) {
				tp_strbuf_deinit(&r);
				return err;
			}
			tp_json_string(out, tp_strbuf_str(&r));
			tp_strbuf_deinit(&r);
			tp_strbuf_puts(out, ", \"attributes\": ");
			if ((err = json_attributes(l->attrs, &vopts, out)))
				return err;
			tp_strbuf_putc(out, '}');
		}
		tp_strbuf_putc(out, ']');
	}
	if (f->error) {
		tp_strbuf_puts(out, ", \"error\": ");
		tp_json_string(out, f->error);
	}
	tp_strbuf_putc(out, '}');
	return NULL;
}

/* ", "frames": [...]" of a thread or a task, and "truncated" if it was. */
static struct tp_error *json_frames(const struct tp_rframe *frames,
				    size_t n, bool truncated,
				    const struct tp_render_opts *opts,
				    struct tp_strbuf *out)
{
	tp_strbuf_puts(out, ", \"frames\": [");
	for (size_t k = 0; k < n; k++) {
		if (k)
			tp_strbuf_puts(out, ", ");
		struct tp_error *err = json_frame(&frames[k], opts, out);
		if (err)
			return err;
	}
	tp_strbuf_putc(out, ']');
	if (truncated)
		tp_strbuf_puts(out, ", \"truncated\": true");
	return NULL;
}

/*
 * "tasks": the asyncio tasks (doc/json-tasks.md), addresses as "0x..."
 * strings (they are ids, and JSON numbers lose bits past 2^53).
 */
static struct tp_error *json_tasks(const struct tp_rsnapshot *snap,
				   const struct tp_render_opts *opts,
				   struct tp_strbuf *out)
{
	tp_strbuf_puts(out, ", \"tasks\": [");
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct tp_rtask *t = &snap->tasks[i];
		if (i)
			tp_strbuf_puts(out, ", ");
		tp_strbuf_printf(out, "{\"address\": \"0x%llx\", \"name\": ",
				 (unsigned long long)t->address);
		json_str_or_null(out, t->name);
		tp_strbuf_puts(out, ", \"state\": ");
		json_str_or_null(out, t->state);
		tp_strbuf_puts(out, ", \"loop\": ");
		if (t->loop)
			tp_strbuf_printf(out, "\"0x%llx\"",
					 (unsigned long long)t->loop);
		else
			tp_strbuf_puts(out, "null");
		tp_strbuf_puts(out, ", \"awaited_by\": [");
		for (size_t k = 0; k < t->nawaited_by; k++)
			tp_strbuf_printf(out, "%s\"0x%llx\"", k ? ", " : "",
					 (unsigned long long)t->awaited_by[k]);
		tp_strbuf_printf(out, "], \"in_cycle\": %s, \"awaiting\": ",
				 t->in_cycle ? "true" : "false");
		if (t->awaiting) {
			struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
			struct tp_strbuf r = TP_STRBUF_INIT;
			struct tp_error *err = tp_pyval_repr(t->awaiting, &vopts,
							     &r);
			if (err) {
				tp_strbuf_deinit(&r);
				return err;
			}
			tp_json_string(out, tp_strbuf_str(&r));
			tp_strbuf_deinit(&r);
		} else {
			tp_strbuf_puts(out, "null");
		}
		struct tp_error *err = json_frames(t->frames, t->nframes,
						   t->truncated, opts, out);
		if (err)
			return err;
		if (t->error) {
			tp_strbuf_puts(out, ", \"error\": ");
			tp_json_string(out, t->error);
		}
		tp_strbuf_putc(out, '}');
	}
	tp_strbuf_putc(out, ']');
	if (snap->tasks_error) {
		tp_strbuf_puts(out, ", \"tasks_error\": ");
		tp_json_string(out, snap->tasks_error);
	}
	return NULL;
}

struct tp_error *tp_render_json(const struct tp_rsnapshot *snap,
				const struct tp_render_opts *opts,
				struct tp_strbuf *out)
{
	tp_strbuf_puts(out, "{\"file\": ");
	json_str_or_null(out, snap->path);
	tp_strbuf_puts(out, ", \"time\": ");
	json_str_or_null(out, snap->time);
	tp_strbuf_puts(out, ", \"pid\": ");
	if (snap->pid > 0)
		tp_strbuf_printf(out, "%d", (int)snap->pid);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_puts(out, ", \"ppid\": ");
	if (snap->ppid > 0)
		tp_strbuf_printf(out, "%d", (int)snap->ppid);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_puts(out, ", \"freeze_us\": ");
	if (snap->freeze_us >= 0)
		tp_strbuf_printf(out, "%lld", (long long)snap->freeze_us);
	else
		tp_strbuf_puts(out, "null");
	tp_strbuf_puts(out, ", \"argv\": ");
	if (snap->argv) {
		tp_strbuf_putc(out, '[');
		for (size_t i = 0; i < snap->argc; i++) {
			if (i)
				tp_strbuf_puts(out, ", ");
			tp_json_string(out, snap->argv[i]);
		}
		tp_strbuf_putc(out, ']');
	} else {
		tp_strbuf_puts(out, "null");
	}
	tp_strbuf_puts(out, ", \"python_version\": ");
	json_str_or_null(out, snap->python_version);
	tp_strbuf_puts(out, ", \"layout_source\": ");
	json_str_or_null(out, snap->layout_source);
	if (snap->native_source) {
		tp_strbuf_puts(out, ", \"native_source\": ");
		tp_json_string(out, snap->native_source);
	}
	tp_strbuf_puts(out, ", \"threads\": [");
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct tp_rthread *t = &snap->threads[i];
		if (i)
			tp_strbuf_puts(out, ", ");
		tp_strbuf_puts(out, "{\"tid\": ");
		if (t->tid)
			tp_strbuf_printf(out, "%d", (int)t->tid);
		else
			tp_strbuf_puts(out, "null");
		tp_strbuf_puts(out, ", \"ident\": ");
		if (t->has_ident)
			tp_strbuf_printf(out, "%llu",
					 (unsigned long long)t->ident);
		else
			tp_strbuf_puts(out, "null");
		tp_strbuf_puts(out, ", \"name\": ");
		json_str_or_null(out, t->name);
		tp_strbuf_puts(out, ", \"holds_gil\": ");
		tp_strbuf_puts(out, t->holds_gil < 0 ? "null"
				    : t->holds_gil ? "true" : "false");
		tp_strbuf_printf(out, ", \"is_main\": %s",
				 t->is_main ? "true" : "false");
		tp_strbuf_puts(out, ", \"interpreter\": ");
		if (t->interp_id >= 0)
			tp_strbuf_printf(out, "%lld", (long long)t->interp_id);
		else
			tp_strbuf_puts(out, "null");
		struct tp_error *err = json_frames(t->frames, t->nframes,
						   t->truncated, opts, out);
		if (err)
			return err;
		if (t->native) {
			tp_strbuf_printf(out, ", \"python\": %s, \"state\": ",
					 t->python ? "true" : "false");
			json_str_or_null(out, state_names[t->run_state]);
			tp_strbuf_puts(out, ", \"syscall\": ");
			json_str_or_null(out, t->syscall);
			if (t->native_error) {
				tp_strbuf_puts(out, ", \"native_error\": ");
				tp_json_string(out, t->native_error);
			}
		}
		if (t->error) {
			tp_strbuf_puts(out, ", \"error\": ");
			tp_json_string(out, t->error);
		}
		/* never with t->native: python_thread() passes such states by */
		if (t->state && !t->native) {
			tp_strbuf_puts(out, ", \"state\": ");
			tp_json_string(out, t->state);
		}
		tp_strbuf_putc(out, '}');
	}
	tp_strbuf_putc(out, ']');
	struct tp_error *err = json_tasks(snap, opts, out);
	if (err)
		return err;
	if (snap->error) {
		tp_strbuf_puts(out, ", \"error\": ");
		tp_json_string(out, snap->error);
	}
	tp_strbuf_puts(out, "}\n");
	return tp_strbuf_error(out);
}
