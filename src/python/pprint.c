/* SPDX-License-Identifier: MIT */
/*
 * pprint.PrettyPrinter(indent, width, depth).pformat(), Python 3.8+ rules
 * (checked against 3.12's Lib/pprint.py), with sort_dicts=True and
 * compact=False, for the kinds of tp_pyval.
 *
 * The functions mirror pprint's methods: pp_format (_format), pp_repr
 * (_repr), safe_repr (_safe_repr), pprint_dict/list/tuple/set/str/bytes/
 * bytearray (the _dispatch table), format_items (_format_items),
 * format_dict_items (_format_dict_items), wrap_bytes (_wrap_bytes_repr).
 * Where pprint calls repr() itself (scalars, sets inside _safe_repr, empty
 * sets) the builtin repr engine of pyrepr.c is used.
 *
 * Widths and lengths are Python len() of text, i.e. code points.  Python's
 * "id in context" is node identity: the stack of containers pp_format is
 * splitting (ctx) plus the ones safe_repr is inside (sctx).
 *
 * tripod's max_repr applies where pprint computes a value's repr (_repr):
 * a value whose repr would pass it prints as its "(really long repr)" text
 * and is never split.  Nesting beyond TP_PYVAL_MAX_DEPTH (RecursionError in
 * CPython) prints the value as "<TYPE object at 0xADDR>"; if the layout
 * itself recurses that deep the whole result is that text.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyrender.h"
#include "python/pyval.h"
#include "python/unicode_tables.h"

struct pp {
	long indent_per_level;
	long width;
	int maxlevels;                  /* 0: no depth limit */
	size_t max_repr;
	struct tp_strbuf *sb;
	struct tp_render_out out;       /* sb, no limit */
	struct tp_node_stack ctx;       /* being split by pp_format */
	struct tp_node_stack sctx;      /* being printed by safe_repr */
	unsigned fdepth;                /* pp_format nesting */
	bool too_deep;
	struct tp_error *err;
};

struct range {
	size_t start;
	size_t end;
};

struct range_vec {
	struct range *v;
	size_t len;
	size_t cap;
};

static bool range_push(struct range_vec *rv, size_t start, size_t end)
{
	if (rv->len == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 16;
		struct range *v = realloc(rv->v, cap * sizeof(*v));
		if (!v)
			return false;
		rv->v = v;
		rv->cap = cap;
	}
	rv->v[rv->len].start = start;
	rv->v[rv->len].end = end;
	rv->len++;
	return true;
}

static void pp_fail(struct pp *p, struct tp_error *err)
{
	if (!p->err)
		p->err = err;
	else
		tp_error_destroy(err);
}

static bool pp_stopped(const struct pp *p)
{
	return p->err || p->too_deep;
}

/* len > max, where max may be negative. */
static bool exceeds(size_t len, long max)
{
	return max < 0 || len > (size_t)max;
}

static void put(struct pp *p, const char *s)
{
	tp_render_puts(&p->out, s);
}

static void newline_indent(struct pp *p, long indent)
{
	put(p, "\n");
	if (indent > 0)
		tp_render_spaces(&p->out, (size_t)indent);
}

static void put_recursion(struct tp_render_out *o, const struct tp_pyval *v)
{
	char buf[64];
	tp_render_puts(o, "<Recursion on ");
	const char *name = tp_pyval_short_type_name(v);
	size_t len = strlen(name);
	tp_render_put(o, name, len, tp_utf8_count(name, len));
	snprintf(buf, sizeof(buf), " with id=%" PRIu64 ">", v->addr);
	tp_render_puts(o, buf);
}

/* ---- _safe_repr --------------------------------------------------------- */

static bool in_context(const struct pp *p, const struct tp_pyval *v)
{
	return tp_node_stack_contains(&p->ctx, v) ||
	       tp_node_stack_contains(&p->sctx, v);
}

/*
 * Sort @items (of container @v) as pprint does; on failure record it and
 * free @items.
 */
static struct tp_sort_item *sort_or_fail(struct pp *p,
					 const struct tp_pyval *v,
					 struct tp_sort_item *items, size_t n)
{
	struct tp_error *err = tp_py_sort(
		items, n,
		(v->flags & TP_PV_SORT313) ? TP_SORT_RUNS_313 : TP_SORT_RUNS_312);
	if (err) {
		pp_fail(p, err);
		free(items);
		return NULL;
	}
	return items;
}

/* Sorted (key, value) pairs of a dict; NULL with p->err set on failure. */
static struct tp_sort_item *sorted_dict_items(struct pp *p,
					      const struct tp_pyval *d)
{
	size_t n = d->u.dict.len;
	struct tp_sort_item *items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		pp_fail(p, &tp_error_nomem);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].key = d->u.dict.keys[i];
		items[i].value = d->u.dict.values[i];
		if (!items[i].key || !items[i].value) {
			pp_fail(p, tp_pyval_invalid(d, "NULL item"));
			free(items);
			return NULL;
		}
	}
	return sort_or_fail(p, d, items, n);
}

/* Sorted items of a set (values unused). */
static struct tp_sort_item *sorted_set_items(struct pp *p,
					     const struct tp_pyval *s)
{
	size_t n = s->u.seq.len;
	struct tp_sort_item *items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		pp_fail(p, &tp_error_nomem);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].key = s->u.seq.items[i];
		if (!items[i].key) {
			pp_fail(p, tp_pyval_invalid(s, "NULL item"));
			free(items);
			return NULL;
		}
	}
	return sort_or_fail(p, s, items, n);
}

static bool check_items(struct pp *p, const struct tp_pyval *v);
static void format_items(struct pp *p, const struct tp_pyval *const *items,
			 const struct tp_sort_item *sorted, size_t n,
			 long indent, long allowance, int level);

/*
 * A 3.15+ dict view (TP_PV_DICTVIEW): its name ("dict_keys") and its items
 * sorted as that pprint sorts them: by _safe_key of the key (dict_items:
 * _safe_tuple, whose _safe_key wrappers are never equal, so the key alone
 * decides) or of the value (dict_values).  The item to print travels in
 * .value.  NULL with p->err set on failure.
 */
static struct tp_sort_item *sorted_view_items(struct pp *p,
					      const struct tp_pyval *v,
					      size_t *ret_n, size_t *ret_namelen)
{
	const struct tp_pyval_part *part = v->u.comp.len == 2 ?
					   &v->u.comp.parts[0] : NULL;
	const struct tp_pyval *l = part ? part->value : NULL;
	if (!part || !part->text || !l || l->kind != TP_PV_LIST ||
	    !check_items(p, l)) {
		if (!p->err)
			pp_fail(p, tp_pyval_invalid(v, "not a dict view"));
		return NULL;
	}
	bool items_view = !strcmp(part->text, "dict_items(");
	size_t n = l->u.seq.len;
	struct tp_sort_item *items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		pp_fail(p, &tp_error_nomem);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tp_pyval *e = l->u.seq.items[i];
		items[i].value = e;
		items[i].key = e;
		if (items_view) {
			if (e->kind != TP_PV_TUPLE || e->u.seq.len != 2 ||
			    !e->u.seq.items[0]) {
				free(items);
				pp_fail(p, tp_pyval_invalid(v, "bad item"));
				return NULL;
			}
			items[i].key = e->u.seq.items[0];
		}
	}
	*ret_n = n;
	*ret_namelen = strlen(part->text) - 1;
	return sort_or_fail(p, v, items, n);
}

static void safe_repr(struct pp *p, struct tp_repr_ctx *c,
		      const struct tp_pyval *v, int level, unsigned depth);

/* _safe_repr() of a dict view, 3.15+: "dict_keys([...])", sorted. */
static void safe_repr_view(struct pp *p, struct tp_repr_ctx *c,
			   const struct tp_pyval *v, int level, unsigned depth)
{
	struct tp_render_out *o = c->out;
	if (p->maxlevels && level >= p->maxlevels) {
		tp_render_puts(o, "{...}");
		return;
	}
	if (in_context(p, v)) {
		put_recursion(o, v);
		return;
	}
	if (depth >= TP_PYVAL_MAX_DEPTH) {
		c->too_deep = true;
		return;
	}
	size_t n, namelen;
	struct tp_sort_item *items = sorted_view_items(p, v, &n, &namelen);
	if (!items)
		return;
	if (!tp_node_stack_push(&p->sctx, v)) {
		free(items);
		pp_fail(p, &tp_error_nomem);
		return;
	}
	tp_render_put(o, v->u.comp.parts[0].text, namelen, namelen);
	tp_render_puts(o, "([");
	for (size_t i = 0; i < n && !tp_repr_ctx_stopped(c) && !p->err; i++) {
		if (i)
			tp_render_puts(o, ", ");
		safe_repr(p, c, items[i].value, level + 1, depth + 1);
	}
	tp_render_puts(o, "])");
	tp_node_stack_pop(&p->sctx);
	free(items);
}

static void safe_repr_dict(struct pp *p, struct tp_repr_ctx *c,
			   const struct tp_pyval *v, int level,
			   unsigned depth)
{
	struct tp_render_out *o = c->out;
	size_t n = v->u.dict.len;
	if (n == 0) {
		tp_render_puts(o, "{}");
		return;
	}
	if (p->maxlevels && level >= p->maxlevels) {
		tp_render_puts(o, "{...}");
		return;
	}
	if (in_context(p, v)) {
		put_recursion(o, v);
		return;
	}
	if (depth >= TP_PYVAL_MAX_DEPTH) {
		c->too_deep = true;
		return;
	}
	/*
	 * "{k: v, ...}" is at least 6 code points an item: do not sort a
	 * dict whose text cannot fit anyway.
	 */
	if (o->limit && n > o->limit / 6) {
		o->over = true;
		return;
	}
	struct tp_sort_item *items = sorted_dict_items(p, v);
	if (!items)
		return;
	if (!tp_node_stack_push(&p->sctx, v)) {
		free(items);
		pp_fail(p, &tp_error_nomem);
		return;
	}
	tp_render_puts(o, "{");
	for (size_t i = 0; i < n && !tp_repr_ctx_stopped(c) && !p->err; i++) {
		if (i)
			tp_render_puts(o, ", ");
		safe_repr(p, c, items[i].key, level + 1, depth + 1);
		tp_render_puts(o, ": ");
		safe_repr(p, c, items[i].value, level + 1, depth + 1);
	}
	tp_render_puts(o, "}");
	tp_node_stack_pop(&p->sctx);
	free(items);
}

static void safe_repr_seq(struct pp *p, struct tp_repr_ctx *c,
			  const struct tp_pyval *v, int level, unsigned depth)
{
	struct tp_render_out *o = c->out;
	size_t n = v->u.seq.len;
	const char *open, *close;
	if (v->kind == TP_PV_LIST) {
		if (n == 0) {
			tp_render_puts(o, "[]");
			return;
		}
		open = "[";
		close = "]";
	} else if (n == 1) {
		open = "(";
		close = ",)";
	} else {
		if (n == 0) {
			tp_render_puts(o, "()");
			return;
		}
		open = "(";
		close = ")";
	}
	if (p->maxlevels && level >= p->maxlevels) {
		tp_render_puts(o, open);
		tp_render_puts(o, "...");
		tp_render_puts(o, close);
		return;
	}
	if (in_context(p, v)) {
		put_recursion(o, v);
		return;
	}
	if (depth >= TP_PYVAL_MAX_DEPTH) {
		c->too_deep = true;
		return;
	}
	if (!tp_node_stack_push(&p->sctx, v)) {
		pp_fail(p, &tp_error_nomem);
		return;
	}
	tp_render_puts(o, open);
	for (size_t i = 0; i < n && !tp_repr_ctx_stopped(c) && !p->err; i++) {
		if (i)
			tp_render_puts(o, ", ");
		safe_repr(p, c, v->u.seq.items[i], level + 1, depth + 1);
	}
	tp_render_puts(o, close);
	tp_node_stack_pop(&p->sctx);
}

static void safe_repr(struct pp *p, struct tp_repr_ctx *c,
		      const struct tp_pyval *v, int level, unsigned depth)
{
	if (tp_repr_ctx_stopped(c) || p->err)
		return;
	struct tp_error *err = tp_pyval_check(v);
	if (err) {
		pp_fail(p, err);
		return;
	}
	switch (v->kind) {
	case TP_PV_DICT:
		safe_repr_dict(p, c, v, level, depth);
		return;
	case TP_PV_LIST:
	case TP_PV_TUPLE:
		safe_repr_seq(p, c, v, level, depth);
		return;
	case TP_PV_COMPOSITE:
		if (v->flags & TP_PV_DICTVIEW) {
			safe_repr_view(p, c, v, level, depth);
			return;
		}
		/* fall through */
	default:
		/* Scalars, sets and the rest: plain repr(). */
		tp_repr_node(c, v, depth);
		if (c->err) {
			pp_fail(p, c->err);
			c->err = NULL;
		}
		return;
	}
}

/*
 * _repr(): append the repr of @v at this level to the output and return its
 * length.  *final is set when a placeholder was written instead (too long,
 * too deep): it must not be split.
 *
 * A TP_PV_SYNTHETIC container is never replaced by a placeholder: its
 * items carry max_repr on their own (see tp_pyval_pformat), and its
 * one-line text only matters up to @fit code points, the room pp_format
 * has for it: past that the text is dropped and the length returned is
 * fit + 1, so that the container is laid out over several lines.
 */
static size_t pp_repr(struct pp *p, const struct tp_pyval *v, int level,
		      bool *final, long fit)
{
	*final = false;
	if (pp_stopped(p))
		return 0;
	size_t start = p->sb->len;
	size_t limit = p->max_repr;
	bool synthetic = v && (v->flags & TP_PV_SYNTHETIC) &&
			 tp_pyval_is_container(v->kind);
	if (tp_pyval_is_placeholder(v))
		limit = 0;
	if (synthetic)
		limit = fit >= 0 ? (size_t)fit + 1 : 1;
	struct tp_render_out o;
	tp_render_out_init(&o, p->sb, limit);
	struct tp_repr_ctx c = { .out = &o };
	safe_repr(p, &c, v, level, p->fdepth);
	tp_node_stack_deinit(&c.active);
	p->sctx.len = 0;
	if (p->err)
		return 0;
	if (!c.too_deep && !o.over)
		return o.cps;
	tp_strbuf_truncate(p->sb, start);
	if (synthetic && !c.too_deep)
		return limit;
	tp_render_out_init(&o, p->sb, 0);
	if (c.too_deep)
		tp_render_object_text(&o, v);
	else
		tp_render_toolong_text(&o, v);
	*final = true;
	return o.cps;
}

/* ---- _format and the dispatch table ------------------------------------ */

static void pp_format(struct pp *p, const struct tp_pyval *v, long indent,
		      long allowance, int level);

static void format_items(struct pp *p, const struct tp_pyval *const *items,
			 const struct tp_sort_item *sorted, size_t n,
			 long indent, long allowance, int level)
{
	indent += p->indent_per_level;
	if (p->indent_per_level > 1)
		tp_render_spaces(&p->out, (size_t)(p->indent_per_level - 1));
	for (size_t i = 0; i < n && !pp_stopped(p); i++) {
		bool last = i == n - 1;
		if (i) {
			put(p, ",");
			newline_indent(p, indent);
		}
		const struct tp_pyval *item = sorted ? sorted[i].key : items[i];
		pp_format(p, item, indent, last ? allowance : 1, level);
	}
}

static void format_dict_items(struct pp *p, const struct tp_sort_item *items,
			      size_t n, long indent, long allowance,
			      int level)
{
	indent += p->indent_per_level;
	for (size_t i = 0; i < n && !pp_stopped(p); i++) {
		bool last = i == n - 1;
		bool final;
		size_t klen = pp_repr(p, items[i].key, level, &final, -1);
		put(p, ": ");
		pp_format(p, items[i].value, indent + (long)klen + 2,
			  last ? allowance : 1, level);
		if (!last) {
			put(p, ",");
			newline_indent(p, indent);
		}
	}
}

static void pprint_dict(struct pp *p, const struct tp_pyval *v, long indent,
			long allowance, int level)
{
	put(p, "{");
	if (p->indent_per_level > 1)
		tp_render_spaces(&p->out, (size_t)(p->indent_per_level - 1));
	size_t n = v->u.dict.len;
	if (n) {
		struct tp_sort_item *items = sorted_dict_items(p, v);
		if (!items)
			return;
		format_dict_items(p, items, n, indent, allowance + 1, level);
		free(items);
	}
	put(p, "}");
}

static bool check_items(struct pp *p, const struct tp_pyval *v)
{
	for (size_t i = 0; i < v->u.seq.len; i++) {
		if (!v->u.seq.items[i]) {
			pp_fail(p, tp_pyval_invalid(v, "NULL item"));
			return false;
		}
	}
	return true;
}

static void pprint_list(struct pp *p, const struct tp_pyval *v, long indent,
			long allowance, int level)
{
	if (!check_items(p, v))
		return;
	put(p, "[");
	format_items(p, (const struct tp_pyval *const *)v->u.seq.items, NULL,
		     v->u.seq.len, indent, allowance + 1, level);
	put(p, "]");
}

static void pprint_tuple(struct pp *p, const struct tp_pyval *v, long indent,
			 long allowance, int level)
{
	if (!check_items(p, v))
		return;
	const char *endchar = v->u.seq.len == 1 ? ",)" : ")";
	put(p, "(");
	format_items(p, (const struct tp_pyval *const *)v->u.seq.items, NULL,
		     v->u.seq.len, indent, allowance + (long)strlen(endchar),
		     level);
	put(p, endchar);
}

/* repr() of a whole value on the main output (no limit). */
static void put_builtin_repr(struct pp *p, const struct tp_pyval *v)
{
	struct tp_repr_ctx c = { .out = &p->out };
	tp_repr_node(&c, v, p->fdepth);
	tp_node_stack_deinit(&c.active);
	if (c.err)
		pp_fail(p, c.err);
	else if (c.too_deep)
		p->too_deep = true;
}

static void pprint_set(struct pp *p, const struct tp_pyval *v, long indent,
		       long allowance, int level)
{
	size_t n = v->u.seq.len;
	if (n == 0) {
		put_builtin_repr(p, v);
		return;
	}
	const char *endchar;
	if (v->kind == TP_PV_SET) {
		put(p, "{");
		endchar = "}";
	} else {
		put(p, "frozenset({");
		endchar = "})";
		indent += (long)strlen("frozenset") + 1;
	}
	struct tp_sort_item *items = sorted_set_items(p, v);
	if (!items)
		return;
	format_items(p, NULL, items, n, indent,
		     allowance + (long)strlen(endchar), level);
	free(items);
	put(p, endchar);
}

/* Append repr() of the code points [start, end) of @v. */
static void put_str_range(struct pp *p, const struct tp_pyval *v,
			  struct range r)
{
	tp_str_repr(&p->out, v->u.str.cp + r.start, r.end - r.start,
		    v->flags);
}

static size_t str_range_repr_len(const struct tp_pyval *v, size_t start,
				 size_t end)
{
	return tp_str_repr_len(v->u.str.cp + start, end - start, v->flags);
}

/*
 * Split one line that does not fit into fragments of re.findall(r'\S*\s*')
 * joined while they fit.
 */
static bool split_line(const struct tp_pyval *v, size_t ls, size_t le,
		       bool last_line, long max_width, long allowance,
		       struct range_vec *chunks)
{
	const uint32_t *cp = v->u.str.cp;
	long max_width2 = max_width;
	size_t cur_s = ls, cur_e = ls;  /* current = '' */
	size_t pos = ls;
	while (pos < le) {
		/* the part \S*\s* at pos: never empty before the line's end */
		size_t q = pos;
		while (q < le && !tp_unicode_isspace(cp[q]))
			q++;
		while (q < le && tp_unicode_isspace(cp[q]))
			q++;
		bool last_part = q == le;
		size_t cand_s = cur_s == cur_e ? pos : cur_s;
		if (last_part && last_line)
			max_width2 -= allowance;
		if (exceeds(str_range_repr_len(v, cand_s, q), max_width2)) {
			if (cur_s != cur_e && !range_push(chunks, cur_s, cur_e))
				return false;
			cur_s = pos;
			cur_e = q;
		} else {
			cur_s = cand_s;
			cur_e = q;
		}
		pos = q;
	}
	if (cur_s != cur_e && !range_push(chunks, cur_s, cur_e))
		return false;
	return true;
}

static void pprint_str(struct pp *p, const struct tp_pyval *v, long indent,
		       long allowance, int level)
{
	size_t n = v->u.str.len;
	const uint32_t *cp = v->u.str.cp;
	if (n == 0) {
		put_builtin_repr(p, v);
		return;
	}
	if (level == 1) {
		indent += 1;
		allowance += 1;
	}
	long max_width = p->width - indent;
	long max_width1 = max_width;
	struct range_vec chunks = { NULL, 0, 0 };
	struct range last_line = { 0, 0 };
	bool ok = true;
	size_t s = 0;
	while (s < n && ok) {
		/* str.splitlines(keepends=True) */
		size_t e = s;
		while (e < n && !tp_unicode_islinebreak(cp[e]))
			e++;
		if (e < n) {
			if (cp[e] == '\r' && e + 1 < n && cp[e + 1] == '\n')
				e += 2;
			else
				e += 1;
		}
		bool is_last = e == n;
		last_line.start = s;
		last_line.end = e;
		if (is_last)
			max_width1 -= allowance;
		if (!exceeds(str_range_repr_len(v, s, e), max_width1))
			ok = range_push(&chunks, s, e);
		else
			ok = split_line(v, s, e, is_last, max_width, allowance,
					&chunks);
		s = e;
	}
	if (!ok) {
		free(chunks.v);
		pp_fail(p, &tp_error_nomem);
		return;
	}
	if (chunks.len == 1) {
		put_str_range(p, v, last_line);
		free(chunks.v);
		return;
	}
	if (level == 1)
		put(p, "(");
	for (size_t i = 0; i < chunks.len; i++) {
		if (i > 0)
			newline_indent(p, indent);
		put_str_range(p, v, chunks.v[i]);
	}
	if (level == 1)
		put(p, ")");
	free(chunks.v);
}

/* _wrap_bytes_repr(object, width, allowance) written out with delimiters. */
static void wrap_bytes(struct pp *p, const uint8_t *d, size_t n,
		       enum tp_bytes_style style, long width, long allowance,
		       long indent)
{
	size_t cur_s = 0, cur_e = 0;
	size_t last = n / 4 * 4;
	bool first = true;
	for (size_t i = 0; i < n; i += 4) {
		size_t pe = i + 4 < n ? i + 4 : n;
		size_t cand_s = cur_s == cur_e ? i : cur_s;
		if (i == last)
			width -= allowance;
		if (exceeds(tp_bytes_repr_len(d + cand_s, pe - cand_s, style),
			    width)) {
			if (cur_s != cur_e) {
				if (!first)
					newline_indent(p, indent);
				tp_bytes_repr(&p->out, d + cur_s, cur_e - cur_s,
					      style);
				first = false;
			}
			cur_s = i;
			cur_e = pe;
		} else {
			cur_s = cand_s;
			cur_e = pe;
		}
	}
	if (cur_s != cur_e) {
		if (!first)
			newline_indent(p, indent);
		tp_bytes_repr(&p->out, d + cur_s, cur_e - cur_s, style);
	}
}

static void pprint_bytes(struct pp *p, const uint8_t *d, size_t n,
			 enum tp_bytes_style style, long indent,
			 long allowance, int level)
{
	if (n <= 4) {
		tp_bytes_repr(&p->out, d, n, style);
		return;
	}
	bool parens = level == 1;
	if (parens) {
		indent += 1;
		allowance += 1;
		put(p, "(");
	}
	wrap_bytes(p, d, n, style, p->width - indent, allowance, indent);
	if (parens)
		put(p, ")");
}

static void pprint_bytearray(struct pp *p, const struct tp_pyval *v,
			     long indent, long allowance, int level)
{
	put(p, "bytearray(");
	/* pprint hands bytes(object) on: plain bytes quoting */
	pprint_bytes(p, v->u.bytes.data, v->u.bytes.len, TP_BYTES_3,
		     indent + 10, allowance + 1, level + 1);
	put(p, ")");
}

/* _pprint_dict_view() (3.15+): "dict_keys([" sorted items "])". */
static void pprint_view(struct pp *p, const struct tp_pyval *v, long indent,
			long allowance, int level)
{
	size_t n, namelen;
	struct tp_sort_item *items = sorted_view_items(p, v, &n, &namelen);
	if (!items)
		return;
	tp_render_put(&p->out, v->u.comp.parts[0].text, namelen, namelen);
	put(p, "([");
	/* entries are printed, not their sort keys */
	for (size_t i = 0; i < n; i++)
		items[i].key = items[i].value;
	format_items(p, NULL, items, n, indent, allowance + 2, level);
	free(items);
	put(p, "])");
}

static bool has_pprinter(const struct tp_pyval *v)
{
	switch (v->kind) {
	case TP_PV_COMPOSITE:
		return v->flags & TP_PV_DICTVIEW;
	case TP_PV_DICT:
	case TP_PV_LIST:
	case TP_PV_TUPLE:
	case TP_PV_SET:
	case TP_PV_FROZENSET:
	case TP_PV_STR:
	case TP_PV_BYTES:
	case TP_PV_BYTEARRAY:
		return true;
	default:
		return false;
	}
}

static void dispatch(struct pp *p, const struct tp_pyval *v, long indent,
		     long allowance, int level)
{
	switch (v->kind) {
	case TP_PV_DICT:
		pprint_dict(p, v, indent, allowance, level);
		break;
	case TP_PV_LIST:
		pprint_list(p, v, indent, allowance, level);
		break;
	case TP_PV_TUPLE:
		pprint_tuple(p, v, indent, allowance, level);
		break;
	case TP_PV_SET:
	case TP_PV_FROZENSET:
		pprint_set(p, v, indent, allowance, level);
		break;
	case TP_PV_STR:
		pprint_str(p, v, indent, allowance, level);
		break;
	case TP_PV_BYTES:
		pprint_bytes(p, v->u.bytes.data, v->u.bytes.len,
			     (v->flags & TP_PV_PY2) ? TP_BYTES_STR2 :
						      TP_BYTES_3,
			     indent, allowance, level);
		break;
	case TP_PV_BYTEARRAY:
		pprint_bytearray(p, v, indent, allowance, level);
		break;
	case TP_PV_COMPOSITE:
		pprint_view(p, v, indent, allowance, level);
		break;
	default:
		break;
	}
}

static void pp_format(struct pp *p, const struct tp_pyval *v, long indent,
		      long allowance, int level)
{
	if (pp_stopped(p))
		return;
	if (!v) {
		pp_fail(p, tp_pyval_invalid(v, "NULL"));
		return;
	}
	if (tp_node_stack_contains(&p->ctx, v)) {
		put_recursion(&p->out, v);
		return;
	}
	if (p->fdepth >= TP_PYVAL_MAX_DEPTH) {
		p->too_deep = true;
		return;
	}
	size_t start = p->sb->len;
	bool final;
	long max_width = p->width - indent - allowance;
	size_t len = pp_repr(p, v, level, &final, max_width);
	if (pp_stopped(p))
		return;
	if (!exceeds(len, max_width) || final || !has_pprinter(v))
		return;
	/* Too wide: take the repr back and lay the value out. */
	tp_strbuf_truncate(p->sb, start);
	if (!tp_node_stack_push(&p->ctx, v)) {
		pp_fail(p, &tp_error_nomem);
		return;
	}
	p->fdepth++;
	dispatch(p, v, indent, allowance, level + 1);
	p->fdepth--;
	tp_node_stack_pop(&p->ctx);
}

struct tp_error *tp_pyval_pformat(const struct tp_pyval *v,
				  const struct tp_pprint_opts *popts,
				  const struct tp_pyval_opts *opts,
				  struct tp_strbuf *sb)
{
	if (popts->indent < 0)
		return tp_error_create(TP_ERR_INVALID,
				       "pprint indent must be >= 0");
	if (popts->width == 0)
		return tp_error_create(TP_ERR_INVALID,
				       "pprint width must be != 0");
	if (popts->depth < 0)
		return tp_error_create(TP_ERR_INVALID,
				       "pprint depth must be > 0 (0: unlimited)");
	if (sb->failed)
		return &tp_error_nomem;
	struct pp p = {
		.indent_per_level = popts->indent,
		.width = popts->width,
		.maxlevels = popts->depth,
		.max_repr = opts ? opts->max_repr : 0,
		.sb = sb,
	};
	tp_render_out_init(&p.out, sb, 0);
	size_t start = sb->len;
	pp_format(&p, v, 0, 0, 0);
	tp_node_stack_deinit(&p.ctx);
	tp_node_stack_deinit(&p.sctx);
	if (p.err) {
		tp_strbuf_truncate(sb, start);
		return p.err;
	}
	if (p.too_deep) {
		tp_strbuf_truncate(sb, start);
		tp_render_out_init(&p.out, sb, 0);
		tp_render_object_text(&p.out, v);
	}
	return tp_strbuf_error(sb);
}
