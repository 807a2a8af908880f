/* SPDX-License-Identifier: MIT */
/*
 * repr() of asyncio futures and tasks: the C implementation's
 * _asyncio.Future and _asyncio.Task, and the Python one's
 * asyncio.futures.Future and asyncio.tasks.Task (3.7+; 3.6's Python Task
 * derives from the C Future and is left out).
 *
 * Every version's repr is Python code over the object's state, whichever
 * class holds it: the C tp_repr calls self._repr_info() (3.6-3.10) or
 * base_futures._future_repr / base_tasks._task_repr (3.11+), and the
 * result is
 *
 *   "<" type(self).__name__ " " " ".join(info) ">"
 *
 * with info, in Lib/asyncio/base_futures.py's _future_repr_info() and
 * base_tasks.py's _task_repr_info():
 *   - the state, lower case; a task "cancelling" while a cancel request
 *     is pending (caps->aio_cancel_count);
 *   - name=%r of the task's name (3.8+; 3.13+ keeps an int N until the
 *     name is asked for: it is 'Task-N');
 *   - coro=<...> of coroutines._format_coroutine(): "QUALNAME() running
 *     at FILE:LINE" while it has a frame (f_lineno), else "QUALNAME()
 *     done, defined at FILE:FIRSTLINENO";
 *   - wait_for=%r of the future the task waits for;
 *   - result=reprlib.repr(result) or exception=%r;
 *   - cb=[...] of _format_callbacks(): one or two callbacks, or the first,
 *     "<N more>" and the last, each as format_helpers'
 *     _format_callback_source(cb, ()) writes it: its __qualname__ and
 *     "()", then " at FILE:FIRSTLINENO" for a plain function;
 *   - "created at FILE:LINE" in debug mode (_source_traceback), the
 *     last frame its creation recorded.
 *
 * Only what can be known exactly is printed; anything else (a callback
 * that is no function, method or builtin method, a result or waiter whose
 * repr tripod cannot re-do, a subclass that overrides what the repr
 * reads, a cycle) makes the repr unknown: TP_ERR_UNSUPPORTED,
 * and the object prints as object.__repr__ does.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/caps.h"
#include "python/pyrender.h"
#include "python/pytypes.h"

/* fut_state of _asynciomodule.c */
enum { FUT_PENDING, FUT_CANCELLED, FUT_FINISHED };

/* Callbacks read from one future. */
#define MAX_CALLBACKS 65536
/* Depth of a value tree checked for placeholders. */
#define MAX_EXACT_DEPTH 64
/* reprlib.Repr's limits (the same in 3.6-3.15) */
#define REPRLIB_MAXSTRING 30
#define REPRLIB_MAXLONG 40
#define REPRLIB_MAXOTHER 30
#define REPRLIB_MAXLEVEL 6
#define REPRLIB_MAXTUPLE 6
#define REPRLIB_MAXLIST 6
#define REPRLIB_MAXSET 6          /* maxset and maxfrozenset */
#define REPRLIB_MAXDICT 4
/* sys.get_int_max_str_digits() by default (3.11+): a longer int's repr
 * raises, and reprlib prints something else */
#define INT_MAX_STR_DIGITS 4300


/*
 * Names a subclass may not define for its repr to stay the base class's:
 * what the repr functions call or read on the object.
 */
static const char *const repr_reads[] = {
	"__repr__", "_repr_info", "__class__", "get_name", "cancelling",
	"done", "_state", "_result", "_exception", "_callbacks",
	"_source_traceback", "_coro", "_fut_waiter", "_must_cancel", "_name",
	"_num_cancels_requested",
};

/* What the repr shows, read from the fields (C) or attributes (Python). */
struct fut {
	bool task;
	int state;
	bool cancelling;
	uint64_t result, exception, source_tb;
	uint64_t coro, waiter, name;
	uint64_t *cbs;     /* the callbacks, in order */
	size_t ncbs;
};

/* 0 for None */
static uint64_t or_none(struct tp_python *py, uint64_t v)
{
	return py_is_none(py, v) ? 0 : v;
}

/*
 * The classes of @type's MRO before @base define none of repr_reads;
 * false when @base is not in the MRO either.
 */
static struct tp_error *keeps_repr(struct tp_python *py, uint64_t type,
				   uint64_t base, bool *ret)
{
	uint64_t *items;
	size_t n;
	struct tp_error *err;
	*ret = false;
	if (type == base) {
		*ret = true;
		return NULL;
	}
	if (!LHAS(py, TP_MRO))
		return NULL;
	if ((err = py_type_mro(py, type, &items, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
		if (items[i] == base) {
			*ret = true;
			return NULL;
		}
		uint64_t dict;
		if ((err = py_read_ptr(py, items[i] + LOFF(py, TP_DICT),
				       &dict)))
			return err;
		for (size_t k = 0; dict && k < sizeof(repr_reads) /
						     sizeof(repr_reads[0]);
		     k++) {
			uint64_t v = 0;
			if ((err = py_dict_get_str(py, dict, repr_reads[k],
						   &v)))
				return err;
			if (v)
				return NULL;
		}
	}
	return NULL;
}

/* The address of the type named @name among @type's MRO, 0 if none. */
static struct tp_error *mro_find(struct tp_python *py, uint64_t type,
				 const char *name, uint64_t *ret)
{
	uint64_t *items;
	size_t n;
	struct tp_error *err;
	*ret = 0;
	if (!LHAS(py, TP_MRO))
		return NULL;
	if ((err = py_type_mro(py, type, &items, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(py_type_name(py, items[i]), name)) {
			*ret = items[i];
			return NULL;
		}
	}
	return NULL;
}

/* ---- reading the state -------------------------------------------------- */

static bool push_cb(struct tp_python *py, struct fut *f, uint64_t cb)
{
	if (f->ncbs % 16 == 0) {
		uint64_t *v = tp_pyval_arena_calloc(py->arena, f->ncbs + 16,
						    sizeof(*v));
		if (!v)
			return false;
		if (f->ncbs)
			memcpy(v, f->cbs, f->ncbs * sizeof(*v));
		f->cbs = v;
	}
	f->cbs[f->ncbs++] = cb;
	return true;
}

/* The callbacks of list @list: (callback, context) pairs or callables. */
static struct tp_error *list_callbacks(struct tp_python *py, uint64_t list,
				       struct fut *f)
{
	uint64_t *items, type;
	size_t n;
	struct tp_error *err;
	if (!list)
		return NULL;
	if ((err = py_type_of(py, list, &type)))
		return err;
	if (type != py->target->sym[TP_SYM_PyList_Type])
		return py_unsupported("callbacks not in a list");
	if ((err = py_seq_ptrs(py, list, TP_PV_LIST, &items, &n)))
		return err;
	if (n > MAX_CALLBACKS)
		return py_unsupported("too many callbacks");
	for (size_t i = 0; i < n; i++) {
		uint64_t cb = items[i];
		if (py->caps->aio_callback_pairs) {
			uint64_t *pair;
			size_t np;
			if ((err = py_type_of(py, cb, &type)))
				return err;
			if (type != py->target->sym[TP_SYM_PyTuple_Type])
				return py_unsupported("callback not in a pair");
			if ((err = py_seq_ptrs(py, cb, TP_PV_TUPLE, &pair,
					       &np)))
				return err;
			if (np < 1)
				return py_unsupported("empty callback pair");
			cb = pair[0];
		}
		if (!push_cb(py, f, cb))
			return &tp_error_nomem;
	}
	return NULL;
}

static struct tp_error *read_c(struct tp_python *py, uint64_t obj,
			       struct fut *f)
{
	int32_t state;
	uint64_t cb0 = 0, list;
	struct tp_error *err;
	if (!LHAS(py, TASK_STATE) || !LHAS(py, TASK_RESULT) ||
	    !LHAS(py, TASK_SOURCE_TB) || !LHAS(py, TASK_CALLBACKS))
		return py_unsupported("no layout of _asyncio.Future");
	if ((err = py_read_i32(py, obj + LOFF(py, TASK_STATE), &state)) ||
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_RESULT), &f->result)) ||
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_EXCEPTION),
			       &f->exception)) ||
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_SOURCE_TB),
			       &f->source_tb)) ||
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_CALLBACKS), &list)))
		return err;
	f->state = state;
	/* 3.7+ keeps the first callback apart, and its context */
	if (LHAS(py, TASK_CALLBACK0) &&
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_CALLBACK0), &cb0)))
		return err;
	if (cb0 && !push_cb(py, f, cb0))
		return &tp_error_nomem;
	if (!py->caps->aio_callback_pairs || LHAS(py, TASK_CALLBACK0)) {
		if ((err = list_callbacks(py, list, f)))
			return err;
	} else {
		return py_unsupported("no layout of the first callback");
	}
	if (!f->task)
		return NULL;
	if (!LHAS(py, TASK_CORO) || !LHAS(py, TASK_FUT_WAITER))
		return py_unsupported("no layout of _asyncio.Task");
	if ((err = py_read_ptr(py, obj + LOFF(py, TASK_CORO), &f->coro)) ||
	    (err = py_read_ptr(py, obj + LOFF(py, TASK_FUT_WAITER),
			       &f->waiter)))
		return err;
	if (py->caps->aio_task_name) {
		if (!LHAS(py, TASK_NAME))
			return py_unsupported("no layout of a task's name");
		if ((err = py_read_ptr(py, obj + LOFF(py, TASK_NAME),
				       &f->name)))
			return err;
	}
	int32_t n;
	if (py->caps->aio_cancel_count) {
		if (!LHAS(py, TASK_NUM_CANCELS))
			return py_unsupported("no layout of cancel requests");
		if ((err = py_read_i32(py, obj + LOFF(py, TASK_NUM_CANCELS),
				       &n)))
			return err;
		f->cancelling = n > 0 && state == FUT_PENDING;
	} else {
		if (!LHAS(py, TASK_MUST_CANCEL))
			return py_unsupported("no layout of _must_cancel");
		if ((err = py_read_i32(py, obj + LOFF(py, TASK_MUST_CANCEL),
				       &n)))
			return err;
		f->cancelling = n != 0;
	}
	return NULL;
}

/* An attribute as Python finds a plain data attribute: the instance's,
 * else its class's (Future._state is a class attribute until set). */
static struct tp_error *attr(struct tp_python *py, uint64_t obj,
			     uint64_t type, const char *name, uint64_t *ret)
{
	struct tp_error *err = py_object_attr(py, obj, name, ret);
	if (!err && !*ret)
		err = py_class_attr(py, type, name, ret);
	return err;
}

static struct tp_error *attr_bool(struct tp_python *py, uint64_t obj,
				  uint64_t type, const char *name, bool *ret)
{
	uint64_t v;
	struct tp_error *err = attr(py, obj, type, name, &v);
	if (err)
		return err;
	if (v == py->target->sym[TP_SYM__Py_TrueStruct])
		*ret = true;
	else if (v == py->target->sym[TP_SYM__Py_FalseStruct])
		*ret = false;
	else
		return py_unsupported("not a bool");
	return NULL;
}

static struct tp_error *read_py(struct tp_python *py, uint64_t obj,
				uint64_t type, struct fut *f)
{
	uint64_t state, list;
	const char *s;
	struct tp_error *err;
	if ((err = attr(py, obj, type, "_state", &state)) ||
	    (err = attr(py, obj, type, "_result", &f->result)) ||
	    (err = attr(py, obj, type, "_exception", &f->exception)) ||
	    (err = attr(py, obj, type, "_source_traceback", &f->source_tb)) ||
	    (err = attr(py, obj, type, "_callbacks", &list)))
		return err;
	if (!state || !list)
		return py_unsupported("future not initialised");
	if ((err = py_str_text(py, state, 16, &s)))
		return err;
	if (!strcmp(s, "PENDING"))
		f->state = FUT_PENDING;
	else if (!strcmp(s, "CANCELLED"))
		f->state = FUT_CANCELLED;
	else if (!strcmp(s, "FINISHED"))
		f->state = FUT_FINISHED;
	else
		return py_unsupported("unknown future state");
	f->result = or_none(py, f->result);
	f->exception = or_none(py, f->exception);
	f->source_tb = or_none(py, f->source_tb);
	if ((err = list_callbacks(py, list, f)))
		return err;
	if (!f->task)
		return NULL;
	if ((err = attr(py, obj, type, "_coro", &f->coro)) ||
	    (err = attr(py, obj, type, "_fut_waiter", &f->waiter)))
		return err;
	if (py->caps->aio_task_name &&
	    (err = attr(py, obj, type, "_name", &f->name)))
		return err;
	if (py->caps->aio_cancel_count) {
		uint64_t n;
		int64_t count;
		if ((err = attr(py, obj, type, "_num_cancels_requested", &n)))
			return err;
		if (!n)
			return py_unsupported("no _num_cancels_requested");
		if ((err = py_int64(py, n, &count)))
			return err;
		f->cancelling = count > 0 && f->state == FUT_PENDING;
		return NULL;
	}
	return attr_bool(py, obj, type, "_must_cancel", &f->cancelling);
}

/* ---- the parts ---------------------------------------------------------- */

/* No placeholder anywhere in @v: its repr is the target's. */
static bool exact(const struct tp_pyval *v, int depth)
{
	if (!v || depth > MAX_EXACT_DEPTH || tp_pyval_is_placeholder(v) ||
	    v->kind == TP_PV_OBJECT)
		return false;
	switch (v->kind) {
	case TP_PV_TUPLE:
	case TP_PV_LIST:
	case TP_PV_SET:
	case TP_PV_FROZENSET:
		for (size_t i = 0; i < v->u.seq.len; i++)
			if (!exact(v->u.seq.items[i], depth + 1))
				return false;
		return true;
	case TP_PV_DICT:
		for (size_t i = 0; i < v->u.dict.len; i++)
			if (!exact(v->u.dict.keys[i], depth + 1) ||
			    !exact(v->u.dict.values[i], depth + 1))
				return false;
		return true;
	case TP_PV_COMPOSITE:
		for (size_t i = 0; i < v->u.comp.len; i++)
			if (v->u.comp.parts[i].value &&
			    !exact(v->u.comp.parts[i].value, depth + 1))
				return false;
		return true;
	default:
		return true;
	}
}

/*
 * repr() of the object at @addr when tripod prints it exactly: *@ret the
 * node (NULL: the value overflowed), *@text its repr.
 */
static struct tp_error *child_repr(struct tp_python *py, struct dstate *st,
				   uint64_t addr, int depth,
				   struct tp_pyval **ret, const char **text)
{
	struct tp_error *err = py_decode_child(py, st, addr, depth, ret);
	if (err)
		return err;
	if (!*ret)
		return py_unsupported("overflow");
	if (!exact(*ret, 0))
		return py_unsupported("a part without its exact repr");
	return py_repr_text(py, *ret, text);
}

/*
 * s[:i] + "..." + s[len(s)-j:] in code points; callers have len(s) > j,
 * so that the tail is a plain slice from the end.
 */
static void cut_at(struct tp_strbuf *sb, const char *s, size_t i, size_t j)
{
	size_t n = py_utf8_cps(s), k = 0, head = 0, tail = 0;
	size_t from = n > j ? n - j : 0;
	for (size_t b = 0;; b++) {
		bool lead = (s[b] & 0xc0) != 0x80 || !s[b];
		if (lead) {
			if (k == i)
				head = b;
			if (k == from)
				tail = b;
			if (!s[b])
				break;
			k++;
		}
	}
	if (i >= n)
		head = strlen(s);
	tp_strbuf_append(sb, s, head);
	tp_strbuf_puts(sb, "...");
	tp_strbuf_puts(sb, s + tail);
}

/* reprlib's cut of a repr longer than @max code points. */
static void cut(struct tp_strbuf *sb, const char *s, size_t max)
{
	if (py_utf8_cps(s) <= max)
		tp_strbuf_puts(sb, s);
	else
		cut_at(sb, s, (max - 3) / 2, max - 3 - (max - 3) / 2);
}

/* A str node of code points [@from, @to) of @v, then [@from2, @to2). */
static struct tp_pyval *str_slice(struct tp_python *py,
				  const struct tp_pyval *v, size_t from,
				  size_t to, size_t from2, size_t to2)
{
	struct tp_pyval *s = py_new_node(py, TP_PV_STR, 0, "str");
	size_t n = (to - from) + (to2 - from2);
	if (!s || !(s->u.str.cp = tp_pyval_arena_calloc(py->arena,
							 n ? n : 1, 4)))
		return NULL;
	memcpy(s->u.str.cp, v->u.str.cp + from, (to - from) * 4);
	memcpy(s->u.str.cp + (to - from), v->u.str.cp + from2,
	       (to2 - from2) * 4);
	s->u.str.len = n;
	return s;
}

/* What sorted() can order among themselves: it raises between kinds. */
enum sort_kind { SK_NUMBER, SK_STR, SK_BYTES, SK_OTHER };

static enum sort_kind sort_kind(const struct tp_pyval *v)
{
	const char *tn = tp_pyval_type_name(v);
	if (strcmp(tn, "bool") && strcmp(tn, "int") && strcmp(tn, "float") &&
	    strcmp(tn, "str") && strcmp(tn, "bytes") && strcmp(tn, "bytearray"))
		return SK_OTHER;
	switch (v->kind) {
	case TP_PV_BOOL:
	case TP_PV_INT:
	case TP_PV_FLOAT:
		return SK_NUMBER;
	case TP_PV_STR:
		return SK_STR;
	case TP_PV_BYTES:
	case TP_PV_BYTEARRAY:
		return SK_BYTES;
	default:
		return SK_OTHER;
	}
}

/*
 * reprlib's _possibly_sorted() of the @n keys (with their values) in
 * @items: sorted() when the keys are all numbers, all str or all bytes
 * (then sorted() never raises, and tp_py_sort() orders as list.sort()
 * does), the iteration order when they mix those kinds (sorted() raises
 * TypeError at the first comparison across them); anything else, which
 * sorted() may order or refuse by rules not re-done here: unknown.
 */
static struct tp_error *possibly_sorted(const struct tp_pyval *container,
					struct tp_sort_item *items, size_t n)
{
	if (n < 2)
		return NULL;
	enum sort_kind k0 = sort_kind(items[0].key);
	bool mixed = false;
	for (size_t i = 0; i < n; i++) {
		enum sort_kind k = sort_kind(items[i].key);
		if (k == SK_OTHER)
			return py_unsupported("reprlib sort of other objects");
		mixed |= k != k0;
	}
	if (mixed)
		return NULL;
	return tp_py_sort(items, n,
			  (container->flags & TP_PV_SORT313) ? TP_SORT_RUNS_313
							     : TP_SORT_RUNS_312);
}

static struct tp_error *reprlib_node(struct tp_python *py,
				     const struct tp_pyval *v, int level,
				     struct tp_strbuf *sb);

/*
 * Repr._repr_iterable(): @left, the first @max items (each at level - 1),
 * ", ..." when there are more, @trail for a single item, @right; "..."
 * in place of the items past the depth limit.
 */
static struct tp_error *reprlib_items(struct tp_python *py,
				      const struct tp_sort_item *items,
				      size_t n, int level, const char *left,
				      const char *right, size_t max,
				      const char *trail, struct tp_strbuf *sb)
{
	struct tp_error *err;
	tp_strbuf_puts(sb, left);
	if (level <= 0 && n) {
		tp_strbuf_puts(sb, "...");
	} else {
		for (size_t i = 0; i < n && i < max; i++) {
			if (i)
				tp_strbuf_puts(sb, ", ");
			if ((err = reprlib_node(py, items[i].key, level - 1,
						sb)))
				return err;
		}
		if (n > max)
			tp_strbuf_puts(sb, ", ...");
		if (n == 1 && trail)
			tp_strbuf_puts(sb, trail);
	}
	tp_strbuf_puts(sb, right);
	return NULL;
}

/* Repr.repr_dict(): the first REPRLIB_MAXDICT keys of possibly_sorted() */
static struct tp_error *reprlib_dict(struct tp_python *py,
				     const struct tp_pyval *v,
				     struct tp_sort_item *items, int level,
				     struct tp_strbuf *sb)
{
	size_t n = v->u.dict.len;
	struct tp_error *err;
	if (!n) {
		tp_strbuf_puts(sb, "{}");
		return NULL;
	}
	if (level <= 0) {
		tp_strbuf_puts(sb, "{...}");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = (struct tp_sort_item){ v->u.dict.keys[i],
						  v->u.dict.values[i] };
	if ((err = possibly_sorted(v, items, n)))
		return err;
	tp_strbuf_putc(sb, '{');
	for (size_t i = 0; i < n && i < REPRLIB_MAXDICT; i++) {
		if (i)
			tp_strbuf_puts(sb, ", ");
		if ((err = reprlib_node(py, items[i].key, level - 1, sb)))
			return err;
		tp_strbuf_puts(sb, ": ");
		if ((err = reprlib_node(py, items[i].value, level - 1, sb)))
			return err;
	}
	if (n > REPRLIB_MAXDICT)
		tp_strbuf_puts(sb, ", ...");
	tp_strbuf_putc(sb, '}');
	return NULL;
}

/*
 * Repr.repr_tuple, repr_list, repr_set, repr_frozenset and repr_dict of
 * the builtin container @v; *@done false when @v is none of them.
 */
static struct tp_error *reprlib_container(struct tp_python *py,
					  const struct tp_pyval *v, int level,
					  struct tp_strbuf *sb, bool *done)
{
	const char *tn = tp_pyval_type_name(v);
	bool seq = v->kind == TP_PV_TUPLE || v->kind == TP_PV_LIST ||
		   v->kind == TP_PV_SET || v->kind == TP_PV_FROZENSET;
	*done = false;
	if ((v->kind == TP_PV_TUPLE && strcmp(tn, "tuple")) ||
	    (v->kind == TP_PV_LIST && strcmp(tn, "list")) ||
	    (v->kind == TP_PV_SET && strcmp(tn, "set")) ||
	    (v->kind == TP_PV_FROZENSET && strcmp(tn, "frozenset")) ||
	    (v->kind == TP_PV_DICT && strcmp(tn, "dict")) ||
	    (!seq && v->kind != TP_PV_DICT) ||
	    (v->flags & (TP_PV_SYNTHETIC | TP_PV_PY2)))
		return NULL;
	*done = true;
	size_t n = seq ? v->u.seq.len : v->u.dict.len;
	struct tp_sort_item *items = malloc((n ? n : 1) * sizeof(*items));
	struct tp_error *err = NULL;
	if (!items)
		return &tp_error_nomem;
	if (v->kind == TP_PV_DICT) {
		err = reprlib_dict(py, v, items, level, sb);
		free(items);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = (struct tp_sort_item){ v->u.seq.items[i], NULL };
	switch (v->kind) {
	case TP_PV_TUPLE:
		err = reprlib_items(py, items, n, level, "(", ")",
				    REPRLIB_MAXTUPLE, ",", sb);
		break;
	case TP_PV_LIST:
		err = reprlib_items(py, items, n, level, "[", "]",
				    REPRLIB_MAXLIST, NULL, sb);
		break;
	default: {
		bool set = v->kind == TP_PV_SET;
		if (!n) {
			tp_strbuf_puts(sb, set ? "set()" : "frozenset()");
			break;
		}
		if (!(err = possibly_sorted(v, items, n)))
			err = reprlib_items(py, items, n, level,
					    set ? "{" : "frozenset({",
					    set ? "}" : "})", REPRLIB_MAXSET,
					    NULL, sb);
		break;
	}
	}
	free(items);
	return err;
}

/*
 * Repr.repr1(@v, @level) (reprlib's dispatch on type(x).__name__): the
 * containers above, int and str cut their own way, anything else is
 * repr() cut to REPRLIB_MAXOTHER; array and deque (and classes named
 * like the builtins reprlib knows) are not re-done.
 */
static struct tp_error *reprlib_node(struct tp_python *py,
				     const struct tp_pyval *v, int level,
				     struct tp_strbuf *sb)
{
	static const char *const own[] = {
		"tuple", "list", "array", "set", "frozenset", "deque", "dict",
	};
	bool done;
	struct tp_error *err = reprlib_container(py, v, level, sb, &done);
	if (err || done)
		return err;
	const char *tn = tp_pyval_type_name(v);
	const char *name = strrchr(tn, '.') ? strrchr(tn, '.') + 1 : tn;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!strcmp(name, own[i]))
			return py_unsupported("reprlib container");
	const char *text;
	if ((err = py_repr_text(py, v, &text)))
		return err;
	if (!strcmp(name, "int")) {
		if (strcmp(tn, "int") || v->kind != TP_PV_INT)
			return py_unsupported("reprlib int of another type");
		if (strlen(v->u.digits) > INT_MAX_STR_DIGITS)
			return py_unsupported("int past the str digits limit");
		cut(sb, text, REPRLIB_MAXLONG);
		return NULL;
	}
	if (!strcmp(name, "str")) {
		if (strcmp(tn, "str") || v->kind != TP_PV_STR ||
		    (v->flags & TP_PV_PY2))
			return py_unsupported("reprlib str of another type");
		size_t n = v->u.str.len, m = REPRLIB_MAXSTRING;
		struct tp_pyval *head = str_slice(py, v, 0, n < m ? n : m, 0,
						  0);
		const char *s;
		if (!head)
			return &tp_error_nomem;
		if ((err = py_repr_text(py, head, &s)))
			return err;
		if (py_utf8_cps(s) <= m) {
			tp_strbuf_puts(sb, s);
			return NULL;
		}
		size_t i = (m - 3) / 2, j = m - 3 - i;
		struct tp_pyval *ends = str_slice(py, v, 0, i < n ? i : n,
						  n > j ? n - j : 0, n);
		if (!ends)
			return &tp_error_nomem;
		if ((err = py_repr_text(py, ends, &s)))
			return err;
		cut_at(sb, s, i, j);
		return NULL;
	}
	cut(sb, text, REPRLIB_MAXOTHER);
	return NULL;
}

/* reprlib.repr() of the object at @addr (Repr.repr1 at level 6). */
static struct tp_error *reprlib_repr(struct tp_python *py, struct dstate *st,
				     uint64_t addr, int depth,
				     struct tp_strbuf *sb)
{
	struct tp_pyval *v;
	const char *text;
	struct tp_error *err = child_repr(py, st, addr, depth, &v, &text);
	if (err || !v)
		return err ? err : py_unsupported("result too long");
	return reprlib_node(py, v, REPRLIB_MAXLEVEL, sb);
}

/* __qualname__ of a type: ht_qualname, or a static type's name. */
static struct tp_error *type_qualname(struct tp_python *py, uint64_t type,
				      const char **ret)
{
	uint64_t flags, q;
	struct tp_error *err;
	if ((err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags)))
		return err;
	if (!(flags & TPF_HEAPTYPE))
		return py_type_short_name(py, type, ret);
	if (!LHAS(py, HT_QUALNAME))
		return py_unsupported("no heap type layout");
	if ((err = py_read_ptr(py, type + LOFF(py, HT_QUALNAME), &q)))
		return err;
	return py_str_text(py, q, 4096, ret);
}

/* A function's __dict__ has no __wrapped__ (inspect.unwrap stops). */
static struct tp_error *not_wrapped(struct tp_python *py, uint64_t func)
{
	uint64_t dict = 0, w = 0;
	struct tp_error *err;
	if (!LHAS(py, FUNC_DICT))
		return py_unsupported("no function layout");
	if ((err = py_read_ptr(py, func + LOFF(py, FUNC_DICT), &dict)) ||
	    (dict && (err = py_dict_get_str(py, dict, "__wrapped__", &w))))
		return err;
	return w ? py_unsupported("wrapped function") : NULL;
}

/* No __wrapped__ in the instance dict of @obj (inspect.unwrap stops). */
static struct tp_error *not_wrapped_obj(struct tp_python *py, uint64_t obj)
{
	uint64_t w = 0;
	struct tp_error *err = py_object_attr(py, obj, "__wrapped__", &w);
	return err ? err : w ? py_unsupported("wrapped callable") : NULL;
}

/*
 * format_helpers._format_args_and_kwargs(args, kwargs): "(" then
 * reprlib.repr() of each argument and "k=" reprlib.repr(v) of each keyword,
 * joined by ", ", then ")"; 3.13+ print "()" unless in debug mode.
 */
static struct tp_error *args_text(struct tp_python *py, struct dstate *st,
				  uint64_t args, uint64_t kw, int depth,
				  struct tp_strbuf *sb)
{
	uint64_t *items = NULL, *kv = NULL;
	size_t n = 0, nkw = 0;
	struct tp_error *err;
	tp_strbuf_putc(sb, '(');
	if (py->caps->aio_args_hidden) {
		tp_strbuf_putc(sb, ')');
		return NULL;
	}
	if ((args && (err = py_seq_ptrs(py, args, TP_PV_TUPLE, &items, &n))) ||
	    (kw && (err = py_dict_pairs(py, kw, &kv, &nkw))))
		return err;
	const char *sep = "";
	for (size_t i = 0; i < n; i++) {
		tp_strbuf_puts(sb, sep);
		if ((err = reprlib_repr(py, st, items[i], depth, sb)))
			return err;
		sep = ", ";
	}
	for (size_t i = 0; i < nkw; i++) {
		const char *k;
		if ((err = py_str_text(py, kv[2 * i], 4096, &k)))
			return err;
		tp_strbuf_printf(sb, "%s%s=", sep, k);
		if ((err = reprlib_repr(py, st, kv[2 * i + 1], depth, sb)))
			return err;
		sep = ", ";
	}
	tp_strbuf_putc(sb, ')');
	return NULL;
}

/*
 * format_helpers._format_callback_source(@cb, ()): _format_callback()
 * (a functools.partial adds its arguments before the suffix and goes on
 * with its function), then the function's source.
 */
static struct tp_error *callback_text(struct tp_python *py, struct dstate *st,
				      uint64_t cb, int depth,
				      struct tp_strbuf *sb)
{
	uint64_t type, flags, func = 0, fn = cb;
	const char *q;
	struct tp_error *err;
	struct tp_strbuf suffix = TP_STRBUF_INIT;
	uint64_t args = 0, kw = 0;
	int partials = 0;
	/* the source is the function's below any partials, its own: a
	 * bound method or builtin has none */
	bool source = false;
	for (;;) {
		if ((err = py_type_of(py, fn, &type)) ||
		    (err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags)))
			goto out;
		const char *tn = py_type_name(py, type);
		if (strcmp(tn, "functools.partial") || partials >= 8)
			break;
		/* suffix = _format_args_and_kwargs(args, kwargs) + suffix */
		struct tp_strbuf a = TP_STRBUF_INIT;
		if ((err = not_wrapped_obj(py, fn)) ||
		    (err = args_text(py, st, args, kw, depth, &a)) ||
		    !LHAS(py, PARTIAL_FN)) {
			tp_strbuf_deinit(&a);
			if (!err)
				err = py_unsupported("no partial layout");
			goto out;
		}
		tp_strbuf_puts(&a, tp_strbuf_str(&suffix));
		tp_strbuf_deinit(&suffix);
		suffix = a;
		if ((err = py_read_ptr(py, fn + LOFF(py, PARTIAL_FN), &func)) ||
		    (err = py_read_ptr(py, fn + LOFF(py, PARTIAL_ARGS),
				       &args)) ||
		    (err = py_read_ptr(py, fn + LOFF(py, PARTIAL_KW), &kw)))
			goto out;
		fn = func;
		partials++;
	}
	const char *tn = py_type_name(py, type);
	func = 0;
	if (type == py->target->sym[TP_SYM_PyFunction_Type]) {
		func = fn;
		source = true;
	} else if ((flags & TPF_HEAPTYPE)) {
		err = py_unsupported("callback of a class");
	} else if (!strcmp(tn, "method")) {
		/* a bound method: the function's __qualname__, no source */
		uint64_t ftype;
		if (!LHAS(py, METHOD_FUNC)) {
			err = py_unsupported("no method layout");
		} else if (!(err = py_read_ptr(py, fn + LOFF(py, METHOD_FUNC),
					       &func)) &&
			   !(err = py_type_of(py, func, &ftype)) &&
			   ftype != py->target->sym[TP_SYM_PyFunction_Type]) {
			err = py_unsupported("method of no function");
		}
	} else if (!strcmp(tn, "TaskWakeupMethWrapper") && !partials) {
		/* 3.6-3.9's C task wakeup: no name, its repr is
		 * object.__repr__'s */
		tp_strbuf_printf(sb, "<TaskWakeupMethWrapper object at 0x%" PRIx64
				 ">()", fn);
		goto out;
	} else if (!strcmp(tn, "builtin_function_or_method") ||
		   !strcmp(tn, "builtin_method")) {
		/* meth_get__qualname__: the name, after the qualified name
		 * of self's type (of self when it is a type) */
		uint64_t ml, self, name_p, stype = 0, sflags;
		const char *name;
		if (!LHAS(py, CFUNC_ML) || !LHAS(py, CFUNC_SELF) ||
		    !LHAS(py, METHODDEF_NAME)) {
			err = py_unsupported("no cfunction layout");
			goto out;
		}
		if ((err = py_read_ptr(py, fn + LOFF(py, CFUNC_ML), &ml)) ||
		    (err = py_read_ptr(py, fn + LOFF(py, CFUNC_SELF), &self)) ||
		    (err = py_read_ptr(py, ml + LOFF(py, METHODDEF_NAME),
				       &name_p)) ||
		    (err = py_read_cstr(py, name_p, 256, &name)) ||
		    (self && (err = py_type_of(py, self, &stype))))
			goto out;
		if (!*name) {
			err = py_unsupported("builtin without a name");
			goto out;
		}
		if (!self || !strcmp(py_type_name(py, stype), "module")) {
			tp_strbuf_puts(sb, name);
		} else {
			if ((err = py_read_ptr(py, stype + LOFF(py, TP_FLAGS),
					       &sflags)))
				goto out;
			if (sflags & TPF_TYPE_SUBCLASS)
				stype = self;
			if ((err = type_qualname(py, stype, &q)))
				goto out;
			tp_strbuf_printf(sb, "%s.%s", q, name);
		}
	} else {
		err = py_unsupported("callback of another kind");
	}
	if (err)
		goto out;
	if (func) {
		uint64_t qp;
		if (!LHAS(py, FUNC_QUALNAME)) {
			err = py_unsupported("no function layout");
			goto out;
		}
		if ((err = not_wrapped(py, func)) ||
		    (err = py_read_ptr(py, func + LOFF(py, FUNC_QUALNAME),
				       &qp)) ||
		    (err = py_str_text(py, qp, 4096, &q)))
			goto out;
		if (!*q) {
			err = py_unsupported("function without a qualified name");
			goto out;
		}
		tp_strbuf_puts(sb, q);
	}
	/* func_repr += _format_args_and_kwargs(args, kwargs) + suffix */
	if ((err = args_text(py, st, args, kw, depth, sb)))
		goto out;
	tp_strbuf_puts(sb, tp_strbuf_str(&suffix));
	if (source) {
		uint64_t code, fp;
		int32_t first;
		const char *file;
		if ((err = py_read_ptr(py, func + LOFF(py, FUNC_CODE), &code)) ||
		    (err = py_read_ptr(py, code + LOFF(py, CO_FILENAME), &fp)) ||
		    (err = py_read_i32(py, code + LOFF(py, CO_FIRSTLINENO),
				       &first)) ||
		    (err = py_str_text(py, fp, 65536, &file)))
			goto out;
		tp_strbuf_printf(sb, " at %s:%d", file, (int)first);
	}
out:
	tp_strbuf_deinit(&suffix);
	return err;
}

/* coroutines._format_coroutine() of a coroutine or generator. */
static struct tp_error *coro_text(struct tp_python *py, uint64_t coro,
				  struct tp_strbuf *sb)
{
	uint64_t type, qp;
	const char *q, *file;
	bool frame;
	int line;
	struct tp_error *err;
	if ((err = py_type_of(py, coro, &type)))
		return err;
	enum tp_layout_id id;
	if (type == py->target->sym[TP_SYM_PyCoro_Type])
		id = TP_L_CORO_QUALNAME;
	else if (type == py->target->sym[TP_SYM_PyGen_Type])
		id = TP_L_GEN_QUALNAME;
	else
		return py_unsupported("task of another awaitable");
	if (!tp_layout_has(&py->L, id))
		return py_unsupported("no coroutine layout");
	if ((err = py_read_ptr(py, coro + (uint64_t)py->L.v[id], &qp)) ||
	    (err = py_str_text(py, qp, 4096, &q)) ||
	    (err = py_gen_where(py, coro, &frame, &file, &line)))
		return err;
	if (!*q)
		return py_unsupported("coroutine without a qualified name");
	if (!*file)
		file = "<empty co_filename>";
	tp_strbuf_printf(sb, frame ? "%s() running at %s:%d"
				   : "%s() done, defined at %s:%d",
			 q, file, line);
	return NULL;
}

/*
 * Debug mode: " created at %s:%s" % (frame[0], frame[1]) of the last
 * entry of the _source_traceback list (format_helpers.extract_stack(): a
 * traceback.StackSummary of FrameSummary objects, whose __getitem__ gives
 * their filename and lineno slots); nothing when the list is empty.
 */
static struct tp_error *created_at(struct tp_python *py, uint64_t tb,
				   struct tp_strbuf *sb)
{
	uint64_t type, *frames, file, line;
	size_t n;
	const char *tn, *text;
	struct tp_error *err;
	if ((err = py_type_of(py, tb, &type)))
		return err;
	tn = py_type_name(py, type);
	if (strcmp(tn, "list") && strcmp(tn, "traceback.StackSummary"))
		return py_unsupported("source traceback of another type");
	if ((err = py_seq_ptrs(py, tb, TP_PV_LIST, &frames, &n)) || !n)
		return err;
	if ((err = py_type_of(py, frames[n - 1], &type)))
		return err;
	if (strcmp(py_type_name(py, type), "traceback.FrameSummary"))
		return py_unsupported("source traceback entry of another type");
	if ((err = py_object_attr(py, frames[n - 1], "filename", &file)) ||
	    (err = py_object_attr(py, frames[n - 1], "lineno", &line)))
		return err;
	if (!file || !line)
		return py_unsupported("frame summary without its place");
	if ((err = py_str_text(py, file, 4096, &text)))
		return err;
	tp_strbuf_printf(sb, " created at %s:", text);
	if (py_is_none(py, line)) {
		tp_strbuf_puts(sb, "None");
	} else {
		int64_t l;
		if ((err = py_int64(py, line, &l)))
			return err;
		tp_strbuf_printf(sb, "%" PRId64, l);
	}
	return NULL;
}

/* ---- the repr ----------------------------------------------------------- */

static struct tp_error *write_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   const struct fut *f, struct tp_strbuf *sb)
{
	static const char *const states[] = { "pending", "cancelled",
					      "finished" };
	const char *cls, *text;
	struct tp_pyval *v;
	struct tp_error *err;
	if (f->state < FUT_PENDING || f->state > FUT_FINISHED)
		return tp_error_fault(o->addr, "bad future state");
	if ((err = py_type_short_name(py, o->type, &cls)))
		return err;
	tp_strbuf_printf(sb, "<%s %s", cls,
			 f->task && f->cancelling ? "cancelling"
						  : states[f->state]);
	if (f->task && py->caps->aio_task_name) {
		uint64_t ntype;
		if (!f->name)
			return py_unsupported("task without a name");
		if ((err = py_type_of(py, f->name, &ntype)))
			return err;
		if (ntype == py->target->sym[TP_SYM_PyLong_Type]) {
			/* 3.13+: get_name() makes "Task-%S" of it */
			int64_t n;
			if ((err = py_int64(py, f->name, &n)))
				return err;
			tp_strbuf_printf(sb, " name='Task-%" PRId64 "'", n);
		} else {
			if ((err = child_repr(py, st, f->name, o->depth, &v,
					      &text)) || !v)
				return err ? err : py_unsupported("long name");
			tp_strbuf_printf(sb, " name=%s", text);
		}
	}
	if (f->task) {
		uint64_t coro = or_none(py, f->coro);
		if (coro) {
			tp_strbuf_puts(sb, " coro=<");
			if ((err = coro_text(py, coro, sb)))
				return err;
			tp_strbuf_putc(sb, '>');
		} else if (!py->caps->aio_coro_optional) {
			return py_unsupported("task without a coroutine");
		}
		uint64_t w = or_none(py, f->waiter);
		if (w) {
			if ((err = child_repr(py, st, w, o->depth, &v,
					      &text)) || !v)
				return err ? err : py_unsupported("long waiter");
			tp_strbuf_printf(sb, " wait_for=%s", text);
		}
	}
	if (f->state == FUT_FINISHED) {
		uint64_t e = or_none(py, f->exception);
		if (e) {
			if ((err = child_repr(py, st, e, o->depth, &v,
					      &text)) || !v)
				return err ? err : py_unsupported("long exception");
			tp_strbuf_printf(sb, " exception=%s", text);
		} else {
			tp_strbuf_puts(sb, " result=");
			if ((err = reprlib_repr(py, st, f->result
							      ? f->result
							      : py->target->sym[TP_SYM__Py_NoneStruct],
						o->depth, sb)))
				return err;
		}
	}
	if (f->ncbs) {
		tp_strbuf_puts(sb, " cb=[");
		if ((err = callback_text(py, st, f->cbs[0], o->depth, sb)))
			return err;
		if (f->ncbs > 2)
			tp_strbuf_printf(sb, ", <%zu more>", f->ncbs - 2);
		if (f->ncbs > 1) {
			tp_strbuf_puts(sb, ", ");
			if ((err = callback_text(py, st, f->cbs[f->ncbs - 1],
						 o->depth, sb)))
				return err;
		}
		tp_strbuf_putc(sb, ']');
	}
	if (f->source_tb && (err = created_at(py, f->source_tb, sb)))
		return err;
	tp_strbuf_putc(sb, '>');
	return NULL;
}

/*
 * Which implementation @o is: *@c for the C classes, *@task for tasks;
 * *@ok false when it is none of them or a subclass that changes what
 * the repr reads.
 */
static struct tp_error *classify(struct tp_python *py, const struct py_obj *o,
				 bool *c, bool *task, bool *ok)
{
	uint64_t base;
	struct tp_error *err;
	*ok = false;
	*c = o->base_name && (!strcmp(o->base_name, "_asyncio.Future") ||
			      !strcmp(o->base_name, "_asyncio.Task"));
	if (*c) {
		/* a Task prints with the Future's tp_repr up to 3.10 */
		if ((err = mro_find(py, o->type, "_asyncio.Task", &base)))
			return err;
		*task = base != 0;
		return keeps_repr(py, o->type, base ? base : o->base, ok);
	}
	if (o->base_name || !(o->flags & TPF_HEAPTYPE) ||
	    !py->caps->aio_callback_pairs)
		return NULL;
	/* the Python classes: asyncio.tasks.Task derives from
	 * asyncio.futures.Future (3.7+) */
	if ((err = mro_find(py, o->type, "asyncio.tasks.Task", &base)))
		return err;
	*task = base != 0;
	if (!base && (err = mro_find(py, o->type, "asyncio.futures.Future",
				     &base)))
		return err;
	if (!base)
		return NULL;
	return keeps_repr(py, o->type, base, ok);
}

struct tp_error *py_decode_asyncio(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled)
{
	bool c, task, ok;
	struct tp_error *err;
	if (py->caps->py2_objects)
		return NULL;
	if ((err = classify(py, o, &c, &task, &ok)))
		return err;
	if (!ok)
		return NULL;
	*handled = true;
	/*
	 * A placeholder first, remembered as this object's node: a cycle
	 * back to it (a task awaiting a task awaiting it) meets a
	 * placeholder, and the repr is unknown (3.6-3.11 recurse without
	 * end, 3.12+ print "...").
	 */
	struct tp_pyval *guard = py_new_node(py, TP_PV_OBJECT, o->addr,
					     o->tname);
	/* charged as the placeholder is (pyobj.c), should it stay */
	if (!guard || !py_remember(py, st, o->addr, guard,
				   strlen(o->tname) + 28))
		return &tp_error_nomem;
	struct fut f;
	memset(&f, 0, sizeof(f));
	f.task = task;
	if ((err = c ? read_c(py, o->addr, &f)
		     : read_py(py, o->addr, o->type, &f)))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	err = write_repr(py, st, o, &f, &sb);
	if (err && err != &tp_error_nomem && py_overflowed(st)) {
		/* past --max-repr: no node */
		tp_error_destroy(err);
		tp_strbuf_deinit(&sb);
		return NULL;
	}
	if (!err)
		err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	/* the repr met again costs its text, not the guard's */
	if (!err && *ret &&
	    !py_remember(py, st, o->addr, *ret,
			 py_utf8_cps(tp_strbuf_str(&sb))))
		err = &tp_error_nomem;
	tp_strbuf_deinit(&sb);
	return err;
}
