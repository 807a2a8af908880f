/* SPDX-License-Identifier: MIT */
/*
 * repr() of the collections that are not builtin containers: range
 * (2.7 xrange), slice, collections.deque, OrderedDict, defaultdict,
 * types.SimpleNamespace, types.MappingProxyType and the dict views, as the
 * C code of each version writes them (Objects/rangeobject.c,
 * sliceobject.c, odictobject.c, namespaceobject.c, descrobject.c,
 * dictobject.c, Modules/_collectionsmodule.c).
 *
 * Each object holds other objects: they are decoded as children (depth,
 * cycles and the budget stay the decoder's), and the repr is a COMPOSITE
 * node whose cycle text is what CPython prints when it meets the object
 * again inside its own repr (Py_ReprEnter).
 */
#include "config.h"

#include <string.h>

#include "python/pytypes.h"

/* ---- facts of the version -------------------------------------------- */

/* 3.7+: deque and defaultdict print a subclass's name (3.6: their own). */
static bool collections_print_subclass_name(const struct tp_python *py)
{
	return py->caps->collections_subclass_name;
}

/* 3.12+: OrderedDict({...}); before: OrderedDict([(k, v), ...]). */
static bool odict_repr_is_dict(const struct tp_python *py)
{
	return py->caps->odict_repr_is_dict;
}

/* 3.9+: SimpleNamespace in insertion order; before: keys sorted. */
static bool namespace_sorts_keys(const struct tp_python *py)
{
	return py->caps->namespace_sorted_keys;
}

/* ---- helpers ----------------------------------------------------------- */

/* The name a collection's repr starts with: the type's, or @own (3.6). */
static struct tp_error *repr_name(struct tp_python *py, const struct py_obj *o,
				  const char *own, const char **ret)
{
	if (!collections_print_subclass_name(py)) {
		*ret = own;
		return NULL;
	}
	return py_type_short_name(py, o->type, ret);
}

/* Decode @n object pointers into a synthetic list; NULL node: overflow. */
static struct tp_error *list_of(struct tp_python *py, struct dstate *st,
				const uint64_t *ptrs, size_t n, int depth,
				struct tp_pyval **ret)
{
	*ret = NULL;
	if (!py_charge(st, 2 + 3 * n))
		return NULL;
	struct tp_pyval *l = py_synthetic(py, TP_PV_LIST, n);
	if (!l)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		struct tp_error *err = py_decode_child(py, st, ptrs[i], depth,
						       &l->u.seq.items[i]);
		if (err || !l->u.seq.items[i])
			return err;
	}
	*ret = l;
	return NULL;
}

/* ---- range, slice ------------------------------------------------------ */

static bool is_int_one(const struct tp_pyval *v)
{
	return v->kind == TP_PV_INT && !strcmp(v->u.digits, "1");
}

static struct tp_error *range_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	if (LHAS(py, RANGE_LEN)) {
		/* 2.7 xrange: C longs start, step, len */
		int64_t start, step, len;
		if ((err = py_read_i64(py, o->addr + LOFF(py, RANGE_START),
				       &start)) ||
		    (err = py_read_i64(py, o->addr + LOFF(py, RANGE_STEP),
				       &step)) ||
		    (err = py_read_i64(py, o->addr + LOFF(py, RANGE_LEN), &len)))
			return err;
		long long stop = (long long)start + (long long)len * step;
		if (start == 0 && step == 1)
			return py_text(py, st, o, ret, "xrange(%lld)", stop);
		if (step == 1)
			return py_text(py, st, o, ret, "xrange(%lld, %lld)",
				       (long long)start, stop);
		return py_text(py, st, o, ret, "xrange(%lld, %lld, %lld)",
			       (long long)start, stop, (long long)step);
	}
	uint64_t f[3];
	if ((err = py_read_ptr(py, o->addr + LOFF(py, RANGE_START), &f[0])) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, RANGE_STOP), &f[1])) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, RANGE_STEP), &f[2])))
		return err;
	struct tp_pyval *v[3];
	for (int i = 0; i < 3; i++)
		if ((err = py_decode_child(py, st, f[i], o->depth, &v[i])) ||
		    !v[i])
			return err;
	if (!py_charge(st, 9))
		return NULL;
	/* range_repr(): the step only when it is not 1 */
	bool step = !is_int_one(v[2]);
	struct tp_pyval *c = py_composite(py, o, 4, NULL);
	size_t k = 0;
	if (!c || !py_part(py, c, &k, "range(", v[0]) ||
	    !py_part(py, c, &k, ", ", v[1]) ||
	    (step && !py_part(py, c, &k, ", ", v[2])) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

static struct tp_error *slice_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	uint64_t f[3];
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, SLICE_START), &f[0])) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, SLICE_STOP), &f[1])) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, SLICE_STEP), &f[2])))
		return err;
	if (!py_charge(st, 11))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 4, NULL);
	if (!c)
		return &tp_error_nomem;
	if (!py_remember(py, st, o->addr, c, 11))
		return &tp_error_nomem;
	static const char *const text[] = { "slice(", ", ", ", " };
	size_t k = 0;
	for (int i = 0; i < 3; i++) {
		struct tp_pyval *v;
		if ((err = py_decode_child(py, st, f[i], o->depth, &v)) || !v)
			return err;
		if (!py_part(py, c, &k, text[i], v))
			return &tp_error_nomem;
	}
	if (!py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- deque ------------------------------------------------------------- */

/*
 * deque_repr(): "deque([...])" or "deque([...], maxlen=N)"; met again
 * inside itself, Py_ReprEnter gives "[...]".  The items are in blocks of
 * BLOCKLEN pointers chained by rightlink, starting at leftblock[leftindex].
 */
static struct tp_error *deque_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	int64_t n, leftindex, maxlen;
	uint64_t block;
	if (!LHAS(py, DEQUE_LEFTBLOCK) || !LHAS(py, BLOCK_DATA) ||
	    !LHAS(py, BLOCK_RIGHTLINK))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no deque layout");
	int64_t blocklen = (LOFF(py, BLOCK_RIGHTLINK) - LOFF(py, BLOCK_DATA)) / 8;
	if ((err = py_read_i64(py, o->addr + LOFF(py, OB_SIZE), &n)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, DEQUE_LEFTBLOCK),
			       &block)) ||
	    (err = py_read_i64(py, o->addr + LOFF(py, DEQUE_LEFTINDEX),
			       &leftindex)) ||
	    (err = py_read_i64(py, o->addr + LOFF(py, DEQUE_MAXLEN), &maxlen)))
		return err;
	if (n < 0 || n > (int64_t)PY_MAX_ITEMS || blocklen <= 0 ||
	    leftindex < 0 || leftindex >= blocklen)
		return tp_error_fault(o->addr, "bad deque");
	if (!py_charge(st, 9 + 3 * (size_t)n))
		return NULL;
	uint64_t *ptrs = tp_pyval_arena_calloc(py->arena, n ? (size_t)n : 1, 8);
	if (!ptrs)
		return &tp_error_nomem;
	/* read block by block; a chain shorter than n items is corrupt */
	for (int64_t i = 0, ix = leftindex; i < n;) {
		int64_t take = blocklen - ix;
		if (take > n - i)
			take = n - i;
		if ((err = py_read(py, block + LOFF(py, BLOCK_DATA) +
					       8 * (uint64_t)ix,
				   ptrs + i, 8 * (size_t)take)))
			return err;
		i += take;
		ix = 0;
		if (i < n &&
		    (err = py_read_ptr(py, block + LOFF(py, BLOCK_RIGHTLINK),
				       &block)))
			return err;
	}
	const char *name;
	if ((err = repr_name(py, o, "deque", &name)))
		return err;
	struct tp_pyval *c = py_composite(py, o, 2, "[...]");
	if (!c || !py_remember(py, st, o->addr, c, 9 + 3 * (size_t)n))
		return &tp_error_nomem;
	struct tp_pyval *l;
	if ((err = list_of(py, st, ptrs, (size_t)n, o->depth, &l)) || !l)
		return err;
	char open[600], close[40];
	snprintf(open, sizeof(open), "%s(", name);
	if (maxlen >= 0)
		snprintf(close, sizeof(close), ", maxlen=%lld)",
			 (long long)maxlen);
	else
		strcpy(close, ")");
	size_t k = 0;
	if (!py_part(py, c, &k, open, l) || !py_part(py, c, &k, close, NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- OrderedDict, defaultdict -------------------------------------------- */

/*
 * odict_repr(): "OrderedDict()" when empty; else the items in the order of
 * the OrderedDict's own linked list (move_to_end() changes it, not the
 * dict's), as a dict (3.12+) or a list of pairs; met again: "...".
 */
static struct tp_error *odict_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	if (!LHAS(py, ODICT_FIRST) || !LHAS(py, ODNODE_KEY))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no odict layout");
	uint64_t *kv;
	size_t n;
	if ((err = py_dict_pairs(py, o->addr, &kv, &n)))
		return err;
	const char *name;
	if ((err = py_type_short_name(py, o->type, &name)))
		return err;
	if (n == 0)
		return py_text(py, st, o, ret, "%s()", name);
	if (!py_charge(st, strlen(name) + 4 + 8 * n))
		return NULL;
	/* keys in linked-list order, values looked up among the dict's */
	uint64_t *order = tp_pyval_arena_calloc(py->arena, n, 2 * 8);
	if (!order)
		return &tp_error_nomem;
	uint64_t node;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, ODICT_FIRST), &node)))
		return err;
	size_t m = 0;
	for (; node && m < n; m++) {
		uint64_t key;
		if ((err = py_read_ptr(py, node + LOFF(py, ODNODE_KEY), &key)) ||
		    (err = py_read_ptr(py, node + LOFF(py, ODNODE_NEXT),
				       &node)))
			return err;
		size_t j = 0;
		while (j < n && kv[2 * j] != key)
			j++;
		if (j == n)
			return tp_error_fault(o->addr, "OrderedDict key not in dict");
		order[2 * m] = key;
		order[2 * m + 1] = kv[2 * j + 1];
	}
	if (m != n || node)
		return tp_error_fault(o->addr, "OrderedDict list != dict");
	struct tp_pyval *c = py_composite(py, o, 2, "...");
	if (!c || !py_remember(py, st, o->addr, c, strlen(name) + 4 + 8 * n))
		return &tp_error_nomem;
	bool as_dict = odict_repr_is_dict(py);
	struct tp_pyval *body = py_synthetic(py, as_dict ? TP_PV_DICT
							 : TP_PV_LIST, n);
	if (!body)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		struct tp_pyval *k, *v;
		if ((err = py_decode_child(py, st, order[2 * i], o->depth,
					   &k)) || !k ||
		    (err = py_decode_child(py, st, order[2 * i + 1], o->depth,
					   &v)) || !v)
			return err;
		if (as_dict) {
			body->u.dict.keys[i] = k;
			body->u.dict.values[i] = v;
			continue;
		}
		struct tp_pyval *pair = py_synthetic(py, TP_PV_TUPLE, 2);
		if (!pair)
			return &tp_error_nomem;
		pair->u.seq.items[0] = k;
		pair->u.seq.items[1] = v;
		body->u.seq.items[i] = pair;
	}
	char open[600];
	snprintf(open, sizeof(open), "%s(", name);
	size_t k = 0;
	if (!py_part(py, c, &k, open, body) || !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * defdict_repr(): "defaultdict(FACTORY, {...})", FACTORY the repr of
 * default_factory or None.  The dict part guards the cycle as dict_repr
 * does ("{...}"), so the composite itself has no guard.
 */
static struct tp_error *defdict_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	struct tp_error *err;
	uint64_t factory;
	if (!LHAS(py, DEFDICT_FACTORY))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no defaultdict layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, DEFDICT_FACTORY),
			       &factory)))
		return err;
	const char *name;
	uint64_t *kv;
	size_t nkv;
	/* read the dict once before the node is remembered: no fault after */
	if ((err = repr_name(py, o, "defaultdict", &name)) ||
	    (err = py_dict_pairs(py, o->addr, &kv, &nkv)))
		return err;
	if (!py_charge(st, strlen(name) + 8))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 3, NULL);
	if (!c || !py_remember(py, st, o->addr, c, strlen(name) + 8))
		return &tp_error_nomem;
	struct tp_pyval *d, *f = NULL;
	if ((err = py_decode_dict_part(py, st, o->addr, o->depth, &d)) || !d)
		return err;
	if (factory &&
	    ((err = py_decode_child(py, st, factory, o->depth, &f)) || !f))
		return err;
	char open[600];
	snprintf(open, sizeof(open), "%s(%s", name, factory ? "" : "None");
	size_t k = 0;
	if (!py_part(py, c, &k, open, f) || !py_part(py, c, &k, ", ", d) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- SimpleNamespace, mappingproxy, dict views --------------------------- */

/*
 * namespace_repr(): "namespace(a=1, b=2)" for the exact type, else the
 * type's tp_name; keys are str, printed as text (%U); an empty key is left
 * out; met again: "namespace(...)".
 */
static struct tp_error *namespace_repr(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o, bool exact,
				       struct tp_pyval **ret)
{
	struct tp_error *err;
	uint64_t dict, *kv;
	size_t n;
	if (!LHAS(py, NS_DICT))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no namespace layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, NS_DICT), &dict)) ||
	    (err = py_dict_pairs(py, dict, &kv, &n)))
		return err;
	const char *name = "namespace";
	if (!exact && (err = py_type_short_name(py, o->type, &name)))
		return err;
	if (!exact && py_is_static_type(o->flags))
		name = py_type_name(py, o->type);
	if (!py_charge(st, strlen(name) + 2 + 4 * n))
		return NULL;
	/* the key texts: every read that can fail before remembering */
	const char **keys = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						  sizeof(*keys));
	if (!keys)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		uint64_t kt, kf;
		if ((err = py_type_of(py, kv[2 * i], &kt)) ||
		    (err = py_read_ptr(py, kt + LOFF(py, TP_FLAGS), &kf)))
			return err;
		if (!(kf & TPF_UNICODE_SUBCLASS))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "namespace key not a str");
		if ((err = py_str_utf8(py, kv[2 * i], 4096, &keys[i])))
			return err;
	}
	if (namespace_sorts_keys(py)) {
		/*
		 * PyList_Sort of the keys: code point order, which strcmp of
		 * UTF-8 keeps
		 */
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 &&
			     strcmp(keys[j - 1], keys[j]) > 0; j--) {
				const char *t = keys[j];
				keys[j] = keys[j - 1];
				keys[j - 1] = t;
				uint64_t a = kv[2 * j + 1];
				kv[2 * j + 1] = kv[2 * j - 1];
				kv[2 * j - 1] = a;
			}
	}
	char *cycle = tp_pyval_arena_alloc(py->arena, strlen(name) + 6);
	struct tp_pyval *c = py_composite(py, o, n + 2, cycle);
	if (!cycle || !c ||
	    !py_remember(py, st, o->addr, c, strlen(name) + 2 + 4 * n))
		return &tp_error_nomem;
	sprintf(cycle, "%s(...)", name);
	size_t k = 0;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		struct tp_pyval *v;
		if ((err = py_decode_child(py, st, kv[2 * i + 1], o->depth,
					   &v)) || !v) {
			tp_strbuf_deinit(&sb);
			return err;
		}
		if (!keys[i][0])
			continue;
		tp_strbuf_truncate(&sb, 0);
		if (k)
			tp_strbuf_puts(&sb, ", ");
		else
			tp_strbuf_printf(&sb, "%s(", name);
		tp_strbuf_printf(&sb, "%s=", keys[i]);
		if (sb.failed || !py_part(py, c, &k, tp_strbuf_str(&sb), v)) {
			tp_strbuf_deinit(&sb);
			return &tp_error_nomem;
		}
	}
	tp_strbuf_truncate(&sb, 0);
	if (!k)
		tp_strbuf_printf(&sb, "%s(", name);
	tp_strbuf_putc(&sb, ')');
	bool ok = !sb.failed && py_part(py, c, &k, tp_strbuf_str(&sb), NULL);
	tp_strbuf_deinit(&sb);
	if (!ok)
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* mappingproxy_repr(): "mappingproxy(%R)", no guard of its own. */
static struct tp_error *mappingproxy_repr(struct tp_python *py,
					  struct dstate *st,
					  const struct py_obj *o,
					  struct tp_pyval **ret)
{
	uint64_t m;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, MAPPINGPROXY_MAPPING),
			       &m)))
		return err;
	if (!py_charge(st, 14))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, 14))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, m, o->depth, &v)) || !v)
		return err;
	size_t k = 0;
	if (!py_part(py, c, &k, "mappingproxy(", v) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * dictview_repr(): "dict_keys([...])" with list(view); met again: "...".
 * Items of dict_items are fresh (key, value) tuples.
 */
static struct tp_error *dictview_repr(struct tp_python *py, struct dstate *st,
				      const struct py_obj *o, int which,
				      struct tp_pyval **ret)
{
	static const char *const names[] = { "dict_keys(", "dict_values(",
					     "dict_items(" };
	uint64_t dict, *kv;
	size_t n;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, DICTVIEW_DICT), &dict)))
		return err;
	if (!dict)
		return tp_error_create(TP_ERR_UNSUPPORTED, "view of no dict");
	if ((err = py_dict_pairs(py, dict, &kv, &n)))
		return err;
	if (!py_charge(st, 13 + 3 * n))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, "...");
	struct tp_pyval *l = py_synthetic(py, TP_PV_LIST, n);
	if (!c || !l || !py_remember(py, st, o->addr, c, 13 + 3 * n))
		return &tp_error_nomem;
	if (py->caps->pprint_dict_views)
		c->flags |= TP_PV_DICTVIEW;
	for (size_t i = 0; i < n; i++) {
		struct tp_pyval *k = NULL, *v = NULL;
		if (which != 1 &&
		    ((err = py_decode_child(py, st, kv[2 * i], o->depth, &k)) ||
		     !k))
			return err;
		if (which != 0 &&
		    ((err = py_decode_child(py, st, kv[2 * i + 1], o->depth,
					    &v)) || !v))
			return err;
		if (which == 2) {
			struct tp_pyval *pair = py_synthetic(py, TP_PV_TUPLE, 2);
			if (!pair)
				return &tp_error_nomem;
			pair->u.seq.items[0] = k;
			pair->u.seq.items[1] = v;
			l->u.seq.items[i] = pair;
		} else {
			l->u.seq.items[i] = which == 0 ? k : v;
		}
	}
	size_t k = 0;
	if (!py_part(py, c, &k, names[which], l) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- dispatch ------------------------------------------------------------ */

struct tp_error *py_decode_collections(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o,
				       struct tp_pyval **ret, bool *handled)
{
	/* the static type whose repr this object prints with */
	const char *n = o->base_name;
	struct tp_error *err;
	if (!n)
		return NULL;
	*handled = true;
	if (!strcmp(n, "range") || !strcmp(n, "xrange"))
		err = range_repr(py, st, o, ret);
	else if (!strcmp(n, "slice"))
		err = slice_repr(py, st, o, ret);
	else if (!strcmp(n, "collections.deque"))
		err = deque_repr(py, st, o, ret);
	else if (!strcmp(n, "collections.OrderedDict") &&
		 !py->caps->py2_objects)
		err = odict_repr(py, st, o, ret);
	else if (!strcmp(n, "collections.defaultdict"))
		err = defdict_repr(py, st, o, ret);
	else if (!strcmp(n, "types.SimpleNamespace"))
		err = namespace_repr(py, st, o, o->type == o->base, ret);
	else if (!strcmp(n, "mappingproxy"))
		err = mappingproxy_repr(py, st, o, ret);
	else if (!strcmp(n, "dict_keys"))
		err = dictview_repr(py, st, o, 0, ret);
	else if (!strcmp(n, "dict_values"))
		err = dictview_repr(py, st, o, 1, ret);
	else if (!strcmp(n, "dict_items"))
		err = dictview_repr(py, st, o, 2, ret);
	else {
		*handled = false;
		err = NULL;
	}
	return err;
}
