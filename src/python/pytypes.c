/* SPDX-License-Identifier: MIT */
/*
 * The hook of pydecode.h: which renderer, if any, knows an object's type,
 * and the small tools they share.
 *
 * Types are recognised by what cannot be faked from Python code: a static
 * type (not Py_TPFLAGS_HEAPTYPE, so defined in C) and its tp_name, as
 * "generator" or "collections.deque".  A subclass defined in Python that
 * keeps its base's repr shares the base's tp_repr: the renderers take the
 * static base whose tp_repr it still is (py_repr_base()).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pydecode.h"
#include "python/pytypes.h"

/* The depth of class hierarchies walked for a repr's base. */
#define MAX_BASES 64

/*
 * Whether the repr of type @t (which defines its own tp_repr) is C code: a
 * static type, or a heap type made from a C spec (3.12's collections.deque)
 * whose __dict__ holds the slot wrapper of that C function; a class
 * written in Python holds a function there.
 */
static struct tp_error *repr_is_c(struct tp_python *py, uint64_t t,
				  uint64_t flags, bool *ret)
{
	uint64_t dict, r = 0, rtype;
	struct tp_error *err;
	*ret = !(flags & TPF_HEAPTYPE);
	if (*ret)
		return NULL;
	if ((err = py_read_ptr(py, t + LOFF(py, TP_DICT), &dict)) || !dict ||
	    (err = py_dict_get_str(py, dict, "__repr__", &r)) || !r ||
	    (err = py_type_of(py, r, &rtype)))
		return err;
	*ret = !strcmp(py_type_name(py, rtype), "wrapper_descriptor");
	return NULL;
}

/*
 * o->base: follow tp_base while the base has the same tp_repr; the last
 * type on that chain is the one that defines the repr (subclasses, Python
 * ones and C ones like RuntimeError, inherit the slot).  Only a repr
 * written in C counts: every Python __repr__ shares one slot function.
 */
static struct tp_error *repr_base(struct tp_python *py, struct py_obj *o)
{
	uint64_t t = o->type, flags = o->flags;
	struct tp_error *err;
	if (!o->repr_fn || !LHAS(py, TP_BASE))
		return NULL;
	for (int i = 0; i < MAX_BASES; i++) {
		uint64_t base, repr_fn = 0, bflags = 0;
		if ((err = py_read_ptr(py, t + LOFF(py, TP_BASE), &base)))
			return err;
		if (base &&
		    ((err = py_read_ptr(py, base + LOFF(py, TP_REPR),
					&repr_fn)) ||
		     (err = py_read_ptr(py, base + LOFF(py, TP_FLAGS),
					&bflags))))
			return err;
		if (!base || repr_fn != o->repr_fn) {
			bool c_repr;
			if ((err = repr_is_c(py, t, flags, &c_repr)))
				return err;
			if (c_repr) {
				o->base = t;
				o->base_name = py_type_name(py, t);
			}
			return NULL;
		}
		t = base;
		flags = bflags;
	}
	return NULL;
}

struct tp_error *py_decode_known(struct tp_python *py, struct dstate *st,
				 const struct py_obj *obj, struct tp_pyval **ret,
				 bool *handled)
{
	static struct tp_error *(*const groups[])(
		struct tp_python *, struct dstate *, const struct py_obj *,
		struct tp_pyval **, bool *) = {
		py_decode_funcs, py_decode_collections, py_decode_numbers,
		py_decode_classes, py_decode_stdlib, py_decode_datetime,
		py_decode_decimal, py_decode_extra, py_decode_asyncio,
	};
	struct py_obj o = *obj;
	struct tp_error *err = repr_base(py, &o);
	*handled = false;
	if (err)
		return err;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		err = groups[i](py, st, &o, ret, handled);
		if (err && err->code == TP_ERR_UNSUPPORTED) {
			/*
			 * a type this build or this object does not let us
			 * print: the object.__repr__ text, as for any other
			 */
			if (getenv("TRIPOD_DEBUG_REPR"))
				fprintf(stderr, "repr of %s: %s\n", o.tname,
					tp_error_message(err));
			tp_error_destroy(err);
			*handled = false;
			*ret = NULL;
			return NULL;
		}
		if (err || *handled)
			return err;
	}
	return NULL;
}

bool py_is_static_type(uint64_t flags)
{
	return !(flags & TPF_HEAPTYPE);
}

struct tp_error *py_text(struct tp_python *py, struct dstate *st,
			 const struct py_obj *o, struct tp_pyval **ret,
			 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return &tp_error_nomem;
	struct tp_pyval *v = py_new_node(py, TP_PV_TEXT, o->addr, o->tname);
	if (v)
		v->u.text = tp_pyval_arena_strdup(py->arena, text);
	size_t cps = py_utf8_cps(text);
	free(text);
	if (!v || !v->u.text)
		return &tp_error_nomem;
	if (!py_charge_text(st, o, cps))
		return NULL;
	*ret = v;
	return NULL;
}

struct tp_pyval *py_composite(struct tp_python *py, const struct py_obj *o,
			      size_t nparts, const char *cycle)
{
	struct tp_pyval *v = py_new_node(py, TP_PV_COMPOSITE, o->addr,
					 o->tname);
	if (!v)
		return NULL;
	v->u.comp.parts = tp_pyval_arena_calloc(py->arena, nparts ? nparts : 1,
						sizeof(*v->u.comp.parts));
	if (!v->u.comp.parts)
		return NULL;
	v->u.comp.cycle = cycle;
	return v;
}

bool py_part(struct tp_python *py, struct tp_pyval *v, size_t *i,
	     const char *text, struct tp_pyval *value)
{
	struct tp_pyval_part *p = &v->u.comp.parts[(*i)++];
	p->value = value;
	if (text && !(p->text = tp_pyval_arena_strdup(py->arena, text)))
		return false;
	return true;
}

struct tp_error *py_seq_ptrs(struct tp_python *py, uint64_t addr,
			     enum tp_pyval_kind kind, uint64_t **ret,
			     size_t *ret_n)
{
	int64_t n;
	uint64_t items;
	struct tp_error *err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &n);
	if (err)
		return err;
	if (n < 0 || n > (int64_t)PY_MAX_ITEMS)
		return tp_error_fault(addr, "bad size");
	if (kind == TP_PV_LIST) {
		if ((err = py_read_ptr(py, addr + LOFF(py, LIST_ITEM), &items)))
			return err;
	} else {
		items = addr + LOFF(py, TUPLE_ITEM);
	}
	uint64_t *ptrs = tp_pyval_arena_calloc(py->arena, n ? (size_t)n : 1, 8);
	if (!ptrs)
		return &tp_error_nomem;
	if (n && (err = py_read(py, items, ptrs, (size_t)n * 8)))
		return err;
	*ret = ptrs;
	*ret_n = (size_t)n;
	return NULL;
}

struct tp_pyval *py_synthetic(struct tp_python *py, enum tp_pyval_kind kind,
			      size_t n)
{
	struct tp_pyval *v = py_new_node(py, kind, 0, NULL);
	if (!v)
		return NULL;
	v->flags |= TP_PV_SYNTHETIC;
	if (kind == TP_PV_DICT) {
		v->u.dict.keys = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						       sizeof(void *));
		v->u.dict.values = tp_pyval_arena_calloc(py->arena, n ? n : 1,
							 sizeof(void *));
		if (!v->u.dict.keys || !v->u.dict.values)
			return NULL;
		v->u.dict.len = n;
	} else {
		v->u.seq.items = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						       sizeof(void *));
		if (!v->u.seq.items)
			return NULL;
		v->u.seq.len = n;
	}
	return v;
}

struct kv_collect {
	uint64_t *kv;
	size_t n, cap, limit;
	bool nomem;
};

static bool kv_cb(void *arg, uint64_t key, uint64_t value)
{
	struct kv_collect *c = arg;
	if (c->n >= c->limit)
		return false;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		uint64_t *kv = realloc(c->kv, cap * 2 * sizeof(*kv));
		if (!kv) {
			c->nomem = true;
			return false;
		}
		c->kv = kv;
		c->cap = cap;
	}
	c->kv[2 * c->n] = key;
	c->kv[2 * c->n + 1] = value;
	c->n++;
	return true;
}

struct tp_error *py_dict_pairs(struct tp_python *py, uint64_t dict,
			       uint64_t **ret, size_t *ret_n)
{
	int64_t used;
	struct tp_error *err = py_read_i64(py, dict + LOFF(py, DICT_USED),
					   &used);
	if (err)
		return err;
	if (used < 0 || used > (int64_t)PY_MAX_ITEMS)
		return tp_error_fault(dict, "bad dict size");
	struct kv_collect c = { .limit = (size_t)used };
	err = py_dict_iter(py, dict, kv_cb, &c);
	if (!err && c.nomem)
		err = &tp_error_nomem;
	if (!err) {
		uint64_t *kv = tp_pyval_arena_calloc(py->arena,
						     c.n ? 2 * c.n : 2, 8);
		if (!kv)
			err = &tp_error_nomem;
		else if (c.n)
			memcpy(kv, c.kv, 2 * c.n * 8);
		*ret = kv;
		*ret_n = c.n;
	}
	free(c.kv);
	return err;
}

struct tp_error *py_lookup_repr(struct tp_python *py, uint64_t type,
				uint64_t *owner, uint64_t *func)
{
	uint64_t *classes;
	size_t n;
	struct tp_error *err;
	*owner = *func = 0;
	if ((err = py_type_mro(py, type, &classes, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
		uint64_t dict, f = 0;
		if ((err = py_read_ptr(py, classes[i] + LOFF(py, TP_DICT),
				       &dict)))
			return err;
		if (dict && (err = py_dict_get_str(py, dict, "__repr__", &f)))
			return err;
		if (f) {
			*owner = classes[i];
			*func = f;
			return NULL;
		}
	}
	return NULL;
}

struct tp_error *py_function_names(struct tp_python *py, uint64_t func,
				   const char **module, const char **qualname)
{
	uint64_t type, q, m;
	struct tp_error *err;
	*module = *qualname = NULL;
	if ((err = py_type_of(py, func, &type)))
		return err;
	if (type != py->target->sym[TP_SYM_PyFunction_Type])
		return NULL;
	int64_t qoff = LHAS(py, FUNC_QUALNAME) ? LOFF(py, FUNC_QUALNAME)
					       : LOFF(py, FUNC_NAME);
	if ((err = py_read_ptr(py, func + (uint64_t)qoff, &q)) ||
	    (err = py_read_ptr(py, func + LOFF(py, FUNC_MODULE), &m)) ||
	    (err = py_str_utf8(py, q, 512, qualname)))
		return err;
	if (py_str_utf8(py, m, 512, module) != NULL)
		*module = NULL; /* __module__ may be anything */
	return NULL;
}

struct tp_error *py_raw_tp_name(struct tp_python *py, uint64_t type,
				const char **ret)
{
	uint64_t p;
	struct tp_error *err = py_read_ptr(py, type + LOFF(py, TP_NAME), &p);
	return err ? err : py_read_cstr(py, p, 256, ret);
}

struct tp_error *py_type_short_name(struct tp_python *py, uint64_t type,
				    const char **ret)
{
	/*
	 * _PyType_Name(): tp_name after its last dot; for a heap type
	 * tp_name is its __name__ (ht_name).
	 */
	uint64_t flags, p;
	struct tp_error *err;
	if ((err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags)))
		return err;
	if (flags & TPF_HEAPTYPE) {
		if ((err = py_read_ptr(py, type + LOFF(py, HT_NAME), &p)))
			return err;
		return py_str_utf8(py, p, 512, ret);
	}
	const char *full = py_type_name(py, type);
	const char *dot = strrchr(full, '.');
	*ret = dot ? dot + 1 : full;
	return NULL;
}

struct tp_error *py_read_cstr(struct tp_python *py, uint64_t addr, size_t max,
			      const char **ret)
{
	char buf[512];
	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	size_t n = 0;
	while (n < max) {
		/* up to the end of the page, to stay in mapped memory */
		size_t chunk = 4096 - ((addr + n) & 4095);
		if (chunk > max - n)
			chunk = max - n;
		struct tp_error *err = py_read(py, addr + n, buf + n, chunk);
		if (err)
			return err;
		void *nul = memchr(buf + n, 0, chunk);
		n += chunk;
		if (nul)
			break;
	}
	buf[n] = '\0';
	char *s = tp_pyval_arena_strdup(py->arena, buf);
	if (!s)
		return &tp_error_nomem;
	*ret = s;
	return NULL;
}
