/* SPDX-License-Identifier: MIT */
/*
 * Internal to libpython's value renderers (pyrepr.c, pycompare.c,
 * pprint.c): output with a code point budget, the pieces of repr() that
 * pprint reuses, and Python's comparison and list.sort() semantics.
 */
#ifndef TRIPOD_PYTHON_PYRENDER_H
#define TRIPOD_PYTHON_PYRENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/pyval.h"

/*
 * Text appended to a strbuf, counted in code points.  Once more than
 * @limit code points went through (limit 0 = no limit) @over is set and
 * the producers stop early: the caller then throws the text away.
 */
struct tp_render_out {
	struct tp_strbuf *sb;
	size_t cps;
	size_t limit;
	bool over;
};

static inline void tp_render_out_init(struct tp_render_out *o,
				      struct tp_strbuf *sb, size_t limit)
{
	o->sb = sb;
	o->cps = 0;
	o->limit = limit;
	o->over = false;
}

/** Append @len bytes of text holding @cps code points. */
void tp_render_put(struct tp_render_out *o, const char *s, size_t len,
		   size_t cps);
/** Append ASCII text. */
void tp_render_puts(struct tp_render_out *o, const char *s);
/** Append @n spaces. */
void tp_render_spaces(struct tp_render_out *o, size_t n);
/** Number of code points in the UTF-8 text @s of @len bytes. */
size_t tp_utf8_count(const char *s, size_t len);

/*
 * len(repr(s)) for the str made of @n code points; @flags are the str
 * node's: TP_PV_PY2 (2.7 unicode) and the TP_PV_UCD table.
 */
size_t tp_str_repr_len(const uint32_t *cp, size_t n, unsigned flags);
/** Append repr() of that str. */
void tp_str_repr(struct tp_render_out *o, const uint32_t *cp, size_t n,
		 unsigned flags);
/** How bytes are quoted. */
enum tp_bytes_style {
	TP_BYTES_3,         /* 3.x bytes: b'...' */
	TP_BYTES_STR2,      /* 2.7 str: '...' */
	/*
	 * The b'...' inside bytearray(...): bytearray_repr() (2.7 and 3.x)
	 * escapes a single quote even inside double quotes: b"it\'s".
	 */
	TP_BYTES_BYTEARRAY,
};

/** len(repr(b)) of bytes printed in @style. */
size_t tp_bytes_repr_len(const uint8_t *d, size_t n,
			 enum tp_bytes_style style);
/** Append repr() of those bytes. */
void tp_bytes_repr(struct tp_render_out *o, const uint8_t *d, size_t n,
		   enum tp_bytes_style style);

/** "<TYPE object at 0xADDR>" for @v. */
void tp_render_object_text(struct tp_render_out *o, const struct tp_pyval *v);
/** "<TYPE object at 0xADDR (really long repr)>" for @v. */
void tp_render_toolong_text(struct tp_render_out *o,
			    const struct tp_pyval *v);
/** type(v).__name__: the text after the last '.' of the type name. */
const char *tp_pyval_short_type_name(const struct tp_pyval *v);

/** Whether @a and @b are the same Python object (node, or same address). */
bool tp_pyval_same(const struct tp_pyval *a, const struct tp_pyval *b);

/* Whether a kind is one of the containers. */
static inline bool tp_pyval_is_container(enum tp_pyval_kind k)
{
	return k == TP_PV_TUPLE || k == TP_PV_LIST || k == TP_PV_DICT ||
	       k == TP_PV_SET || k == TP_PV_FROZENSET;
}

/** A stack of nodes (repr's "in progress" set, pprint's context). */
struct tp_node_stack {
	const struct tp_pyval **items;
	size_t len;
	size_t cap;
};

bool tp_node_stack_push(struct tp_node_stack *s, const struct tp_pyval *v);
static inline void tp_node_stack_pop(struct tp_node_stack *s)
{
	s->len--;
}
bool tp_node_stack_contains(const struct tp_node_stack *s,
			    const struct tp_pyval *v);
void tp_node_stack_deinit(struct tp_node_stack *s);

/*
 * The builtin repr() engine (CPython's object reprs, Py_ReprEnter for
 * cycles).  Errors are sticky in @err; @too_deep is set when nesting passes
 * TP_PYVAL_MAX_DEPTH.  Producers stop early on any of err, too_deep and
 * out->over.
 */
struct tp_repr_ctx {
	struct tp_render_out *out;
	struct tp_node_stack active;
	bool too_deep;
	struct tp_error *err;
};

static inline bool tp_repr_ctx_stopped(const struct tp_repr_ctx *c)
{
	return c->err || c->too_deep || c->out->over;
}

/** Append repr(@v); @depth is the nesting depth already used by callers. */
void tp_repr_node(struct tp_repr_ctx *c, const struct tp_pyval *v,
		  unsigned depth);
/** Error for a node that breaks the contract of pyval.h. */
struct tp_error *tp_pyval_invalid(const struct tp_pyval *v, const char *what);
/** NULL if @v's own data is usable, else the TP_ERR_INVALID error. */
struct tp_error *tp_pyval_check(const struct tp_pyval *v);

/* ---- Python comparisons (pycompare.c) ------------------------------- */

/*
 * _safe_key(a) < _safe_key(b) of Lib/pprint.py: Python's a < b where Python
 * allows it, else (str(type(a)), id(a)) < (str(type(b)), id(b)).
 */
bool tp_py_safe_key_lt(const struct tp_pyval *a, const struct tp_pyval *b);

/** One element of a sort: ordered by key; value travels with it. */
struct tp_sort_item {
	const struct tp_pyval *key;
	const struct tp_pyval *value;
};

/** How list.sort() finds its natural runs: it changed in 3.13. */
enum tp_sort_runs {
	/** Non-descending or strictly descending prefixes (up to 3.12). */
	TP_SORT_RUNS_312,
	/** Descending runs may hold equal elements, reversed in place, and
	 *  a reversed run extends with an ascending suffix (3.13+). */
	TP_SORT_RUNS_313,
};

/**
 * sorted(items, key=_safe_key) by CPython's list.sort() (timsort with the
 * run detection of @runs, binary insertion, galloping merges and powersort
 * merge policy), so that even orders that are not consistent -- mixed types,
 * NaN -- come out as CPython's.  Sorts @items in place.
 */
struct tp_error *tp_py_sort(struct tp_sort_item *items, size_t n,
			    enum tp_sort_runs runs);

#endif /* TRIPOD_PYTHON_PYRENDER_H */
