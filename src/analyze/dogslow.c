/* SPDX-License-Identifier: MIT */
/*
 * The Dogslow report (FORMAT.md section 1), reproducing dogslow's stack()
 * and formatvalue() for a decoded snapshot:
 *
 *   SAMPLE = HEADER SHORT "\n\n" "Full backtrace with local variables:"
 *            "\n\n" FULL "\n\n" "-"*80 "\n\n"
 *
 * SHORT and FULL are lists of lines joined with "\n"; in FULL a frame with
 * locals ends with an empty element, so frames with locals are separated by
 * a blank line and frames without are not.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/render.h"

#define ARG_MAX_CHARS 250

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* Decode UTF-8 to code points (invalid bytes become U+FFFD). */
static uint32_t *utf8_decode(struct tp_pyval_arena *arena, const char *s,
			     size_t *n)
{
	size_t len = strlen(s);
	uint32_t *cp = tp_pyval_arena_alloc(arena,
					    (len ? len : 1) * sizeof(uint32_t));
	if (!cp)
		return NULL;
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		uint32_t v;
		size_t k;
		if (c < 0x80) {
			v = c;
			k = 1;
		} else if ((c & 0xe0) == 0xc0) {
			v = c & 0x1f;
			k = 2;
		} else if ((c & 0xf0) == 0xe0) {
			v = c & 0x0f;
			k = 3;
		} else if ((c & 0xf8) == 0xf0) {
			v = c & 0x07;
			k = 4;
		} else {
			cp[o++] = 0xfffd;
			i++;
			continue;
		}
		if (i + k > len) {
			cp[o++] = 0xfffd;
			i++;
			continue;
		}
		bool ok = true;
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80) {
				ok = false;
				break;
			}
			v = (v << 6) | (p[i + j] & 0x3f);
		}
		if (!ok) {
			cp[o++] = 0xfffd;
			i++;
			continue;
		}
		cp[o++] = v;
		i += k;
	}
	*n = o;
	return cp;
}

/* "25-11-2026 17:33:05 UTC" from "2026-11-25T17:33:05.123Z". */
static void dogslow_time(const char *iso, char *out, size_t outlen)
{
	int y, mo, d, h, mi, s;
	if (!iso || sscanf(iso, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi,
			   &s) != 6) {
		snprintf(out, outlen, "unknown");
		return;
	}
	snprintf(out, outlen, "%02d-%02d-%04d %02d:%02d:%02d UTC", d, mo, y, h,
		 mi, s);
}

/*
 * dogslow's formatvalue(): the value pretty-printed at depth 1, newlines
 * removed; over 250 characters, object.__repr__ with "(really long repr)".
 */
static struct tp_error *format_value(const struct tp_pyval *v,
				     const struct tp_render_opts *opts,
				     struct tp_strbuf *out)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pprint_opts popts = { .indent = 1, .width = 76, .depth = 1 };
	struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
	struct tp_error *err = tp_pyval_pformat(v, &popts, &vopts, &sb);
	if (err) {
		tp_strbuf_deinit(&sb);
		return err;
	}
	size_t o = 0;
	for (size_t i = 0; i < sb.len; i++)
		if (sb.str[i] != '\n')
			sb.str[o++] = sb.str[i];
	tp_strbuf_truncate(&sb, o);
	tp_strbuf_putc(out, '=');
	if (utf8_chars(tp_strbuf_str(&sb), sb.len) > ARG_MAX_CHARS)
		tp_strbuf_printf(out, "<%s object at 0x%llx (really long repr)>",
				 tp_pyval_type_name(v),
				 (unsigned long long)v->addr);
	else
		tp_strbuf_append(out, tp_strbuf_str(&sb), sb.len);
	tp_strbuf_deinit(&sb);
	return NULL;
}

static const struct tp_rlocal *find_local(const struct tp_rframe *f,
					  const char *name)
{
	for (size_t i = 0; i < f->nlocals; i++)
		if (!strcmp(f->locals[i].name, name))
			return &f->locals[i];
	return NULL;
}

static struct tp_error *format_arg(const struct tp_rframe *f,
				   const char *prefix, const char *name,
				   const struct tp_render_opts *opts,
				   struct tp_strbuf *out)
{
	tp_strbuf_printf(out, "%s%s", prefix, name);
	const struct tp_rlocal *l = find_local(f, name);
	if (!l || !l->value) {
		tp_strbuf_puts(out, "=<deleted>");
		return NULL;
	}
	return format_value(l->value, opts, out);
}

static struct tp_error *format_args(const struct tp_rframe *f,
				    const struct tp_render_opts *opts,
				    struct tp_strbuf *out)
{
	struct tp_error *err = NULL;
	bool first = true;
	tp_strbuf_printf(out, "%s(", f->function);
	for (size_t i = 0; i < f->nargs && !err; i++) {
		if (!first)
			tp_strbuf_puts(out, ", ");
		first = false;
		err = format_arg(f, "", f->argnames[i], opts, out);
	}
	if (f->varargs && !err) {
		if (!first)
			tp_strbuf_puts(out, ", ");
		first = false;
		err = format_arg(f, "*", f->varargs, opts, out);
	}
	if (f->varkw && !err) {
		if (!first)
			tp_strbuf_puts(out, ", ");
		err = format_arg(f, "**", f->varkw, opts, out);
	}
	tp_strbuf_putc(out, ')');
	return err;
}

/*
 * The frame's locals as the dict dogslow pretty-prints.  It is no object of
 * the target (TP_PV_SYNTHETIC, no address): --max-repr applies to each
 * local's value, never to the block as a whole (FORMAT.md).
 */
static struct tp_error *locals_dict(const struct tp_rframe *f,
				    const struct tp_render_opts *opts,
				    struct tp_pyval_arena *arena,
				    struct tp_pyval **ret)
{
	struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
	size_t n = 0;
	for (size_t i = 0; i < f->nlocals; i++)
		if (f->locals[i].value)
			n++;
	struct tp_pyval *d = tp_pyval_new(arena, TP_PV_DICT, 0, "dict");
	if (d)
		d->flags |= TP_PV_SYNTHETIC;
	struct tp_pyval **keys = tp_pyval_arena_alloc(arena,
						      (n ? n : 1) * sizeof(*keys));
	struct tp_pyval **vals = tp_pyval_arena_alloc(arena,
						      (n ? n : 1) * sizeof(*vals));
	if (!d || !keys || !vals)
		return &tp_error_nomem;
	size_t k = 0;
	for (size_t i = 0; i < f->nlocals; i++) {
		if (!f->locals[i].value)
			continue;
		struct tp_pyval *key = tp_pyval_new(arena, TP_PV_STR, 0, "str");
		if (!key)
			return &tp_error_nomem;
		key->flags = f->locals[i].value->flags &
			     (TP_PV_PY2 | TP_PV_UCD_MASK);
		if (key->flags & TP_PV_PY2)
			key->kind = TP_PV_BYTES; /* 2.7 names are str */
		if (key->kind == TP_PV_BYTES) {
			key->u.bytes.data = (uint8_t *)tp_pyval_arena_strdup(
				arena, f->locals[i].name);
			if (!key->u.bytes.data)
				return &tp_error_nomem;
			key->u.bytes.len = strlen(f->locals[i].name);
		} else {
			key->u.str.cp = utf8_decode(arena, f->locals[i].name,
						    &key->u.str.len);
			if (!key->u.str.cp)
				return &tp_error_nomem;
		}
		keys[k] = key;
		struct tp_error *err = tp_pyval_limited(
			arena, f->locals[i].value, &vopts, &vals[k]);
		if (err)
			return err;
		k++;
	}
	d->u.dict.keys = keys;
	d->u.dict.values = vals;
	d->u.dict.len = k;
	*ret = d;
	return NULL;
}

/*
 * A native frame (doc/native-stacks.md):
 *   "  <native> FUNCTION (MODULE+0xOFFSET[, inlined])[ at FILE:LINE]"
 * FUNCTION is "??" when no symbol names it; without a module, the pc
 * stands alone ("(0x7f...)").
 */
static void native_line(const struct tp_rframe *f, struct tp_strbuf *out)
{
	const struct tp_rnative *n = &f->native;
	tp_strbuf_printf(out, "  <native> %s (", n->function ? n->function : "??");
	if (n->module) {
		const char *base = strrchr(n->module, '/');
		tp_strbuf_printf(out, "%s+0x%llx", base ? base + 1 : n->module,
				 (unsigned long long)n->offset);
	} else {
		tp_strbuf_printf(out, "0x%llx", (unsigned long long)n->pc);
	}
	if (n->inlined)
		tp_strbuf_puts(out, ", inlined");
	tp_strbuf_putc(out, ')');
	if (n->file && n->line > 0)
		tp_strbuf_printf(out, " at %s:%d", n->file, n->line);
}

/* What the thread was doing, from its native stack; NULL if unknown. */
static const char *state_text(const struct tp_rthread *t, char *buf,
			      size_t len)
{
	switch (t->run_state) {
	case TP_RSTATE_RUNNING:
		return "running";
	case TP_RSTATE_GIL:
		return "waiting for the GIL";
	case TP_RSTATE_SYSCALL:
		snprintf(buf, len, "blocked in %s", t->syscall);
		return buf;
	case TP_RSTATE_IDLE:
		snprintf(buf, len, "idle in %s", t->syscall);
		return buf;
	case TP_RSTATE_UNKNOWN:
		break;
	}
	return NULL;
}

static void file_line(const struct tp_rframe *f, struct tp_strbuf *out)
{
	if (f->kind == TP_RFRAME_NATIVE) {
		native_line(f, out);
		return;
	}
	if (f->line >= 0)
		tp_strbuf_printf(out, "  File \"%s\", line %d, in %s", f->file,
				 f->line, f->function);
	else
		tp_strbuf_printf(out, "  File \"%s\", line ?, in %s", f->file,
				 f->function);
}

/*
 * Line @lineno of the code given to `python -c`, which 3.13's linecache
 * knows as the file "<string>" (earlier versions print no line, and 3.14
 * keeps it apart, keyed by code object, where linecache.getline() does not
 * look); NULL if the command line has no -c or the line is blank.
 * Stripped like tp_sources_line().
 */
static const char *dash_c_line(const struct tp_rsnapshot *snap, int lineno,
			       char *buf, size_t size)
{
	const char *v = snap->python_version;
	int major = 0, minor = 0;
	if (!v || sscanf(v, "%d.%d", &major, &minor) != 2 ||
	    major * 100 + minor != 313 || lineno < 1)
		return NULL;
	const char *code = NULL;
	for (size_t i = 1; i + 1 < snap->argc && !code; i++)
		if (!strcmp(snap->argv[i], "-c"))
			code = snap->argv[i + 1];
	for (int n = 1; code && n < lineno; n++) {
		code = strchr(code, '\n');
		if (code)
			code++;
	}
	if (!code)
		return NULL;
	while (*code == ' ' || *code == '\t' || *code == '\f')
		code++;
	size_t len = strcspn(code, "\n");
	while (len && strchr(" \t\r\f\v", code[len - 1]))
		len--;
	if (!len)
		return NULL;
	if (len >= size)
		len = size - 1;
	memcpy(buf, code, len);
	buf[len] = '\0';
	return buf;
}

static void source_line(const struct tp_rframe *f,
			const struct tp_rsnapshot *snap,
			struct tp_sources *sources, struct tp_strbuf *out)
{
	char buf[4096];
	const char *src = NULL;
	const char *file = f->source_file ? f->source_file : f->file;
	if (file && !strcmp(file, "<string>"))
		src = dash_c_line(snap, f->line, buf, sizeof(buf));
	else if (sources) {
		bool hidden;
		src = tp_sources_line_as(sources, file, snap->cwd, f->line,
					 snap->uid, snap->gid, &hidden);
		if (hidden) {
			tp_strbuf_printf(out, "\n    (source not shown: not readable by uid %lld)",
					 snap->uid);
			return;
		}
	}
	if (src)
		tp_strbuf_printf(out, "\n    %s", src);
}

static void header(const struct tp_rsnapshot *snap,
		   const struct tp_rthread *t, struct tp_strbuf *out)
{
	char when[64], started[64];
	dogslow_time(snap->time, when, sizeof(when));
	dogslow_time(snap->start_time, started, sizeof(started));
	tp_strbuf_printf(out, "Undead process sampled at: %s\n\n", when);
	for (size_t i = 0; i < snap->argc; i++)
		tp_strbuf_printf(out, "%s%s", i ? " " : "", snap->argv[i]);
	tp_strbuf_printf(out, "\nHostname:   %s\n",
			 snap->hostname ? snap->hostname : "unknown");
	tp_strbuf_puts(out, "Thread ID:  ");
	if (t->has_ident)
		tp_strbuf_printf(out, "%llu", (unsigned long long)t->ident);
	else
		tp_strbuf_puts(out, "unknown");
	/* "(native 4301, MainThread, holds the GIL)": what is known */
	const char *sep = " (";
	if (t->tid) {
		tp_strbuf_printf(out, "%snative %d", sep, (int)t->tid);
		sep = ", ";
	}
	if (t->name) {
		tp_strbuf_printf(out, "%s%s", sep, t->name);
		sep = ", ";
	}
	if (t->holds_gil == 1) {
		tp_strbuf_printf(out, "%sholds the GIL", sep);
		sep = ", ";
	}
	if (t->interp_id > 0) {
		tp_strbuf_printf(out, "%sinterpreter %lld", sep,
				 (long long)t->interp_id);
		sep = ", ";
	}
	char sbuf[128];
	const char *state = state_text(t, sbuf, sizeof(sbuf));
	if (state) {
		tp_strbuf_printf(out, "%s%s", sep, state);
		sep = ", ";
	}
	if (sep[0] == ',')
		tp_strbuf_putc(out, ')');
	tp_strbuf_printf(out, "\nProcess ID: %d\n", (int)snap->pid);
	if (snap->ppid > 0)
		tp_strbuf_printf(out, "Parent ID:  %d\n", (int)snap->ppid);
	tp_strbuf_printf(out, "Started:    %s\n", started);
	/* what the snapshot cost the target: how long it was stopped */
	if (snap->freeze_us >= 0)
		tp_strbuf_printf(out, "Frozen for: %.3f ms\n",
				 (double)snap->freeze_us / 1000.0);
	tp_strbuf_putc(out, '\n');
}

/*
 * Where a report is partial it says so in one line, where it happened, as
 * eu-stack does: "(partial: WHAT: WHY)" with the indent of what is missing
 * (the outer frames of a stack that stopped early go before the first
 * frame shown; locals after the frame's arguments).  Newlines in WHY would
 * break the one line: they print as spaces.
 */
static void partial_line(struct tp_strbuf *out, const char *indent,
			 const char *what, const char *why)
{
	tp_strbuf_printf(out, "%s(partial: %s", indent, what);
	if (why) {
		tp_strbuf_puts(out, ": ");
		for (const char *p = why; *p; p++)
			tp_strbuf_putc(out, *p == '\n' || *p == '\r' ? ' ' : *p);
	}
	tp_strbuf_putc(out, ')');
}

/*
 * The stack's own partial lines, before its first frame (if any); for a
 * thread state that is not a running thread, what it is.
 */
static void stack_partial(const struct tp_rsnapshot *snap,
			  const struct tp_rthread *t, bool first_sample,
			  struct tp_strbuf *out)
{
	bool any = false;
	/* not a thread that ran: say what it is instead of an empty stack */
	if (t->state) {
		tp_strbuf_printf(out, "  (%s)", t->state);
		any = true;
	}
	if (first_sample && snap->error) {
		if (any)
			tp_strbuf_putc(out, '\n');
		partial_line(out, "  ", "snapshot incomplete", snap->error);
		any = true;
	}
	if (t->error) {
		if (any)
			tp_strbuf_putc(out, '\n');
		partial_line(out, "  ", "older frames not read", t->error);
		any = true;
	}
	if (t->truncated) {
		if (any)
			tp_strbuf_putc(out, '\n');
		partial_line(out, "  ", "older frames not shown",
			     "frame limit reached (--max-frames)");
		any = true;
	}
	if (any && t->nframes)
		tp_strbuf_putc(out, '\n');
}

/*
 * SHORT, FULL and the dashes of one stack: a thread's (@t, its partial
 * lines too) or a task's (@t NULL).
 */
static struct tp_error *render_frames(const struct tp_rsnapshot *snap,
				      const struct tp_rframe *frames,
				      size_t nframes,
				      const struct tp_rthread *t,
				      bool first_sample,
				      const struct tp_render_opts *opts,
				      struct tp_sources *sources,
				      struct tp_strbuf *out)
{
	struct tp_error *err = NULL;
	if (t)
		stack_partial(snap, t, first_sample, out);
	for (size_t i = 0; i < nframes; i++) {
		if (i)
			tp_strbuf_putc(out, '\n');
		file_line(&frames[i], out);
		if (frames[i].kind == TP_RFRAME_PYTHON)
			source_line(&frames[i], snap, sources, out);
	}
	tp_strbuf_puts(out, "\n\nFull backtrace with local variables:\n\n");
	if (t)
		stack_partial(snap, t, first_sample, out);
	for (size_t i = 0; i < nframes && !err; i++) {
		const struct tp_rframe *f = &frames[i];
		if (i)
			tp_strbuf_putc(out, '\n');
		file_line(f, out);
		if (f->kind == TP_RFRAME_NATIVE)
			continue;
		source_line(f, snap, sources, out);
		if (!opts->locals) {
			if (f->error) {
				tp_strbuf_putc(out, '\n');
				partial_line(out, "      ", "names not read",
					     f->error);
			}
			continue;
		}
		tp_strbuf_puts(out, "\n\n      Arguments: ");
		if ((err = format_args(f, opts, out)))
			break;
		if (f->error) {
			tp_strbuf_putc(out, '\n');
			partial_line(out, "      ", "locals incomplete", f->error);
		}
		bool any = false;
		for (size_t k = 0; k < f->nlocals; k++)
			any |= f->locals[k].value != NULL;
		if (!any)
			continue;
		tp_strbuf_puts(out, "\n      Local variables:\n\n");
		struct tp_pyval *d;
		if ((err = locals_dict(f, opts, snap->arena, &d)))
			break;
		struct tp_strbuf pp = TP_STRBUF_INIT;
		struct tp_pprint_opts popts = { .indent = 1, .width = 76 };
		struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
		err = tp_pyval_pformat(d, &popts, &vopts, &pp);
		if (!err) {
			const char *p = tp_strbuf_str(&pp);
			for (;;) {
				const char *nl = strchr(p, '\n');
				tp_strbuf_puts(out, "      ");
				tp_strbuf_append(out, p, nl ? (size_t)(nl - p)
							    : strlen(p));
				tp_strbuf_putc(out, '\n');
				if (!nl)
					break;
				p = nl + 1;
			}
		}
		tp_strbuf_deinit(&pp);
	}
	tp_strbuf_puts(out, "\n\n");
	tp_strbuf_repeat(out, '-', 80);
	tp_strbuf_puts(out, "\n\n");
	return err ? err : tp_strbuf_error(out);
}

static struct tp_error *render_thread(const struct tp_rsnapshot *snap,
				      bool first_sample,
				      const struct tp_rthread *t,
				      const struct tp_render_opts *opts,
				      struct tp_sources *sources,
				      struct tp_strbuf *out)
{
	if (opts->header)
		header(snap, t, out);
	return render_frames(snap, t->frames, t->nframes, t, first_sample,
			     opts, sources, out);
}

static const struct tp_rtask *task_at(const struct tp_rsnapshot *snap,
				      uint64_t addr)
{
	for (size_t i = 0; i < snap->ntasks; i++)
		if (snap->tasks[i].address == addr)
			return &snap->tasks[i];
	return NULL;
}

/* 'name', or "Task at 0x..." for a task without one (3.7). */
static void task_name(const struct tp_rtask *t, struct tp_strbuf *out)
{
	if (t->name)
		tp_strbuf_printf(out, "'%s'", t->name);
	else
		tp_strbuf_printf(out, "at 0x%llx",
				 (unsigned long long)t->address);
}

/* "Task 'name' (pending, awaited by 'parent', in an await cycle)" */
static void task_line(const struct tp_rsnapshot *snap,
		      const struct tp_rtask *t, struct tp_strbuf *out)
{
	tp_strbuf_puts(out, "Task ");
	task_name(t, out);
	tp_strbuf_printf(out, " (%s", t->state ? t->state : "state unknown");
	for (size_t k = 0; k < t->nawaited_by; k++) {
		const struct tp_rtask *p = task_at(snap, t->awaited_by[k]);
		tp_strbuf_puts(out, k ? ", " : ", awaited by ");
		if (p)
			task_name(p, out);
		else
			tp_strbuf_printf(out, "0x%llx", (unsigned long long)
							       t->awaited_by[k]);
	}
	if (t->in_cycle)
		tp_strbuf_puts(out, ", in an await cycle");
	tp_strbuf_putc(out, ')');
}

/*
 * A task's block: its Task line (always, --no-header or not: it says
 * whose frames follow), what the innermost frame awaits when that is no
 * future or task, then its frames as a thread's.
 */
static struct tp_error *render_task(const struct tp_rsnapshot *snap,
				    const struct tp_rtask *t,
				    const struct tp_render_opts *opts,
				    struct tp_sources *sources,
				    struct tp_strbuf *out)
{
	task_line(snap, t, out);
	tp_strbuf_putc(out, '\n');
	if (t->awaiting) {
		struct tp_pyval_opts vopts = { .max_repr = opts->max_repr };
		tp_strbuf_puts(out, "Awaiting: ");
		struct tp_error *err = tp_pyval_repr(t->awaiting, &vopts, out);
		if (err)
			return err;
		tp_strbuf_putc(out, '\n');
	}
	if (t->error)
		tp_strbuf_printf(out, "Error: %s\n", t->error);
	tp_strbuf_putc(out, '\n');
	return render_frames(snap, t->frames, t->nframes, NULL, false, opts,
			     sources, out);
}

/* --tasks tree: one task's line and frames, then the tasks awaiting it.
 * Tasks already printed on this path (a cycle) are named, not followed. */
static void tree_task(const struct tp_rsnapshot *snap, size_t i,
		      struct tp_strbuf *prefix, bool last, bool root,
		      uint64_t *path, size_t depth, struct tp_strbuf *out)
{
	const struct tp_rtask *t = &snap->tasks[i];
	size_t plen = prefix->len;
	tp_strbuf_puts(out, tp_strbuf_str(prefix));
	if (!root)
		tp_strbuf_puts(out, last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ");
	task_line(snap, t, out);
	tp_strbuf_putc(out, '\n');
	if (!root)
		tp_strbuf_puts(prefix, last ? "    " : "\u2502   ");
	bool again = false;
	for (size_t k = 0; k < depth; k++)
		again |= path[k] == t->address;
	/* the tasks this one awaits, i.e. that name it in awaited_by */
	size_t nkids = 0;
	for (size_t k = 0; !again && k < snap->ntasks; k++)
		for (size_t j = 0; j < snap->tasks[k].nawaited_by; j++)
			nkids += snap->tasks[k].awaited_by[j] == t->address;
	for (size_t f = 0; f < t->nframes; f++) {
		const struct tp_rframe *fr = &t->frames[f];
		tp_strbuf_printf(out, "%s%s  %s %s:%d\n", tp_strbuf_str(prefix),
				 nkids ? "\u2502" : " ",
				 fr->qualname ? fr->qualname : fr->function,
				 fr->file, fr->line);
	}
	if (again) {
		tp_strbuf_printf(out, "%s    (awaits the tasks shown above: a cycle)\n",
				 tp_strbuf_str(prefix));
	} else {
		path[depth] = t->address;
		size_t seen = 0;
		for (size_t k = 0; k < snap->ntasks; k++)
			for (size_t j = 0; j < snap->tasks[k].nawaited_by; j++)
				if (snap->tasks[k].awaited_by[j] == t->address) {
					seen++;
					tree_task(snap, k, prefix, seen == nkids,
						  false, path, depth + 1, out);
				}
	}
	tp_strbuf_truncate(prefix, plen);
}

struct tp_error *tp_render_task_tree(const struct tp_rsnapshot *snap,
				     struct tp_strbuf *out)
{
	if (!snap->ntasks)
		return NULL;
	uint64_t *path = malloc((snap->ntasks + 1) * sizeof(*path));
	if (!path)
		return &tp_error_nomem;
	struct tp_strbuf prefix = TP_STRBUF_INIT;
	tp_strbuf_printf(out, "asyncio tasks of process %d at %s:\n\n",
			 (int)snap->pid, snap->time ? snap->time : "an unknown time");
	/* roots: awaited by nobody; then cycles, from their first task */
	bool *shown = calloc(snap->ntasks, sizeof(*shown));
	if (!shown) {
		free(path);
		return &tp_error_nomem;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < snap->ntasks; i++) {
			const struct tp_rtask *t = &snap->tasks[i];
			if (pass == 0 && t->nawaited_by)
				continue;
			if (pass == 1 && (!t->in_cycle || shown[i]))
				continue;
			tree_task(snap, i, &prefix, true, true, path, 0, out);
			tp_strbuf_putc(out, '\n');
			shown[i] = true;
			if (pass == 1)
				for (size_t k = 0; k < snap->ntasks; k++)
					if (snap->tasks[k].in_cycle)
						shown[k] = true;
		}
	}
	free(shown);
	free(path);
	tp_strbuf_deinit(&prefix);
	return tp_strbuf_error(out);
}

struct tp_error *tp_render_dogslow(const struct tp_rsnapshot *snap,
				   const struct tp_render_opts *opts,
				   struct tp_sources *sources,
				   struct tp_strbuf *out)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct tp_error *err = render_thread(snap, i == 0,
						     &snap->threads[i], opts,
						     sources, out);
		if (err)
			return err;
	}
	if (opts->tasks == TP_TASKS_TREE)
		return tp_render_task_tree(snap, out);
	for (size_t i = 0; opts->tasks == TP_TASKS_FULL && i < snap->ntasks;
	     i++) {
		struct tp_error *err = render_task(snap, &snap->tasks[i], opts,
						   sources, out);
		if (err)
			return err;
	}
	return NULL;
}
