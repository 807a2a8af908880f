/* SPDX-License-Identifier: MIT */
/*
 * repr() of instances of classes built from declarations: exceptions
 * (BaseException_repr, Objects/exceptions.c), enum members (Enum.__repr__,
 * Lib/enum.py) and named tuples (the __repr__ collections.namedtuple
 * writes).  The last two are Python code: they are recognised by the
 * function type(obj).__repr__ is (its module and qualified name) and
 * re-done from the object's state as each version's source does.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "python/pytypes.h"

/* ---- facts of the version -------------------------------------------- */

/*
 * 3.7+: an exception with one argument prints "E(arg)"; 2.7 and 3.6
 * print type name + repr(args): "E('arg',)".
 */
static bool exc_single_arg_form(const struct tp_python *py)
{
	return py->caps->exc_single_arg_form;
}

/*
 * 2.7's namedtuple __repr__ has the type name written in (a subclass
 * prints its base's name); 3.x uses self.__class__.__name__.
 */
static bool namedtuple_repr_uses_class_name(const struct tp_python *py)
{
	return !py->caps->py2_objects;
}

/* ---- exceptions ---------------------------------------------------------- */

static struct tp_error *exception_repr(struct tp_python *py,
				      struct dstate *st,
				      const struct py_obj *o,
				      struct tp_pyval **ret)
{
	uint64_t args, *items;
	size_t n;
	const char *name;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, EXC_ARGS), &args)))
		return err;
	if (!args) /* cleared: "E()" */
		return tp_error_create(TP_ERR_UNSUPPORTED, "no args");
	uint64_t atype;
	if ((err = py_type_of(py, args, &atype)))
		return err;
	if (atype != py->target->sym[TP_SYM_PyTuple_Type])
		return tp_error_create(TP_ERR_UNSUPPORTED, "args not a tuple");
	if ((err = py_seq_ptrs(py, args, TP_PV_TUPLE, &items, &n)) ||
	    (err = py_type_short_name(py, o->type, &name)))
		return err;
	if (!py_charge(st, strlen(name) + 2))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, strlen(name) + 2))
		return &tp_error_nomem;
	size_t k = 0;
	if (n == 1 && exc_single_arg_form(py)) {
		char open[600];
		snprintf(open, sizeof(open), "%s(", name);
		if ((err = py_decode_child(py, st, items[0], o->depth, &v)) ||
		    !v)
			return err;
		if (!py_part(py, c, &k, open, v) ||
		    !py_part(py, c, &k, ")", NULL))
			return &tp_error_nomem;
	} else {
		if ((err = py_decode_child(py, st, args, o->depth, &v)) || !v)
			return err;
		if (!py_part(py, c, &k, name, v))
			return &tp_error_nomem;
	}
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- enum members ------------------------------------------------------ */

/* ---- Flag members without a name (3.6-3.10) ----------------------------- */

/* Entries of _value2member_map_ (and members) one Flag repr reads. */
#define FLAG_MAX_MEMBERS 4096

struct flag_member {
	uint64_t obj;
	int64_t value;          /* member._value_ */
};

struct flag_acc {
	struct flag_member *m;
	size_t n, cap;
};

static struct tp_error *flag_member_value(struct tp_python *py, uint64_t m,
					  int64_t *ret)
{
	uint64_t v;
	struct tp_error *err = py_instance_attr(py, m, "_value_", &v);
	if (!err && !v)
		err = tp_error_create(TP_ERR_UNSUPPORTED, "member without value");
	return err ? err : py_int64(py, v, ret);
}

/* member._name_ as text, NULL when None. */
static struct tp_error *flag_member_name(struct tp_python *py, uint64_t m,
					 const char **ret)
{
	uint64_t name;
	struct tp_error *err = py_instance_attr(py, m, "_name_", &name);
	*ret = NULL;
	if (err || !name || py_is_none(py, name))
		return err;
	return py_str_text(py, name, 4096, ret);
}

static struct tp_error *flag_add(struct tp_python *py, struct flag_acc *a,
				 uint64_t m)
{
	if (a->n == a->cap)
		return tp_error_create(TP_ERR_LIMIT, "too many flag members");
	a->m[a->n].obj = m;
	return flag_member_value(py, m, &a->m[a->n++].value);
}

/* _value2member_map_[@value] (its pairs in @pairs), 0 when absent. */
static struct tp_error *flag_lookup(struct tp_python *py,
				    const uint64_t *pairs, size_t n,
				    int64_t value, uint64_t *ret)
{
	*ret = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t k;
		struct tp_error *err = py_int64(py, pairs[2 * i], &k);
		if (err)
			return err;
		if (k == value) {
			*ret = pairs[2 * i + 1];
			return NULL;
		}
	}
	return NULL;
}

static bool power_of_two(int64_t v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

/*
 * enum._decompose(cls, value) for value >= 0, into @a: the members whose
 * bits are all in @value (caps->flag_decompose says which are looked at
 * and in which order), else the member of that exact value; sorted by
 * value, largest first (a stable sort), the first dropped when it equals
 * @value and others follow.
 */
static struct tp_error *flag_decompose(struct tp_python *py, uint64_t cls,
				       int64_t value, struct flag_acc *a)
{
	uint64_t map, *pairs, names = 0, members = 0, *nameptrs = NULL;
	size_t npairs, nnames = 0;
	struct tp_error *err;
	int64_t not_covered = value;
	if ((err = py_class_attr(py, cls, "_value2member_map_", &map)))
		return err;
	if (!map)
		return tp_error_create(TP_ERR_UNSUPPORTED, "no _value2member_map_");
	if ((err = py_dict_pairs(py, map, &pairs, &npairs)))
		return err;
	if (py->caps->flag_decompose == 2 &&
	    ((err = py_class_attr(py, cls, "_member_names_", &names)) ||
	     (err = py_class_attr(py, cls, "_member_map_", &members))))
		return err;
	if (names && (err = py_seq_ptrs(py, names, TP_PV_LIST, &nameptrs,
					&nnames)))
		return err;
	if (npairs > FLAG_MAX_MEMBERS || nnames > FLAG_MAX_MEMBERS)
		return tp_error_create(TP_ERR_LIMIT, "too many flag members");
	a->cap = npairs + nnames + 64;
	a->m = malloc(a->cap * sizeof(*a->m));
	if (!a->m)
		return &tp_error_nomem;
	if (py->caps->flag_decompose == 1) {
		for (size_t i = 0; i < npairs; i++) {
			int64_t k;
			const char *name;
			if ((err = py_int64(py, pairs[2 * i], &k)) ||
			    (err = flag_member_name(py, pairs[2 * i + 1],
						    &name)))
				return err;
			if (!name && !power_of_two(k))
				continue;
			if (k && (k & value) == k) {
				if ((err = flag_add(py, a, pairs[2 * i + 1])))
					return err;
				not_covered &= ~k;
			}
		}
	} else {
		if (!names || !members)
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no _member_names_");
		for (size_t i = 0; i < nnames; i++) {
			const char *name;
			uint64_t m;
			int64_t mv;
			if ((err = py_str_text(py, nameptrs[i], 4096, &name)) ||
			    (err = py_dict_get_str(py, members, name, &m)))
				return err;
			if (!m)
				return tp_error_create(TP_ERR_UNSUPPORTED,
						       "member not in _member_map_");
			if ((err = flag_member_value(py, m, &mv)))
				return err;
			if (mv && (mv & value) == mv) {
				if ((err = flag_add(py, a, m)))
					return err;
				not_covered &= ~mv;
			}
		}
		for (int64_t tmp = not_covered; tmp;) {
			int64_t bit = INT64_C(1) << (63 - __builtin_clzll(
							      (uint64_t)tmp));
			uint64_t m;
			if ((err = flag_lookup(py, pairs, npairs, bit, &m)))
				return err;
			if (m) {
				if ((err = flag_add(py, a, m)))
					return err;
				not_covered &= ~bit;
			}
			tmp &= ~bit;
		}
	}
	if (!a->n) {
		uint64_t m;
		if ((err = flag_lookup(py, pairs, npairs, value, &m)))
			return err;
		if (m && (err = flag_add(py, a, m)))
			return err;
	}
	/* members.sort(key=lambda m: m._value_, reverse=True): stable */
	for (size_t i = 1; i < a->n; i++) {
		struct flag_member t = a->m[i];
		size_t j = i;
		for (; j > 0 && a->m[j - 1].value < t.value; j--)
			a->m[j] = a->m[j - 1];
		a->m[j] = t;
	}
	if (a->n > 1 && a->m[0].value == value) {
		memmove(a->m, a->m + 1, (a->n - 1) * sizeof(*a->m));
		a->n--;
	}
	return NULL;
}

/*
 * Flag.__repr__ (3.6-3.10) of a member without a name: "<%s.%s: %r>" %
 * (cls.__name__, "|".join(str(m._name_ or m._value_) for m in members),
 * self._value_) with the members of _decompose().  Negative values (only
 * named members are looked at, from a complement) are not done.
 */
static struct tp_error *flag_combination_repr(struct tp_python *py,
					      struct dstate *st,
					      const struct py_obj *o,
					      struct tp_pyval **ret)
{
	int64_t value;
	const char *cls;
	struct flag_acc a = { NULL, 0, 0 };
	struct tp_error *err;
	if ((err = flag_member_value(py, o->addr, &value)) ||
	    (err = py_type_short_name(py, o->type, &cls)))
		return err;
	if (value < 0)
		return tp_error_create(TP_ERR_UNSUPPORTED, "negative flag");
	err = flag_decompose(py, o->type, value, &a);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s.", cls);
	for (size_t i = 0; !err && i < a.n; i++) {
		const char *name;
		if ((err = flag_member_name(py, a.m[i].obj, &name)))
			break;
		if (i)
			tp_strbuf_putc(&sb, '|');
		if (name && *name)
			tp_strbuf_puts(&sb, name);
		else
			tp_strbuf_printf(&sb, "%" PRId64, a.m[i].value);
	}
	free(a.m);
	tp_strbuf_printf(&sb, ": %" PRId64 ">", value);
	if (!err)
		err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/*
 * Enum.__repr__: "<%s.%s: %r>" % (type name, _name_, _value_); 3.11+
 * formats the value with the class's _value_repr_, which is None or the
 * data type's own __repr__ slot wrapper (repr(value) either way) unless a
 * class sets another: then we cannot know the text.  A 3.6-3.10 Flag
 * member without a name (a combination) is composed by Flag.__repr__
 * from the members (flag_combination_repr()).
 */
static struct tp_error *enum_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, bool flag,
				  struct tp_pyval **ret)
{
	uint64_t name_obj, value, vrepr;
	const char *cls, *name;
	struct tp_error *err;
	uint64_t none = py->target->sym[TP_SYM__Py_NoneStruct];
	if ((err = py_instance_attr(py, o->addr, "_name_", &name_obj)) ||
	    (err = py_instance_attr(py, o->addr, "_value_", &value)) ||
	    (err = py_class_attr(py, o->type, "_value_repr_", &vrepr)))
		return err;
	if (flag && name_obj == none && value && py->caps->flag_decompose)
		return flag_combination_repr(py, st, o, ret);
	/* 3.11+ Flag.__repr__: "<%s: %s>" for a member without a name */
	bool unnamed = flag && name_obj == none && !py->caps->flag_decompose;
	if (!name_obj || (name_obj == none && !unnamed) || !value)
		return tp_error_create(TP_ERR_UNSUPPORTED, "enum without name");
	uint64_t vtype = 0;
	if (vrepr && vrepr != none && (err = py_type_of(py, vrepr, &vtype)))
		return err;
	if (vtype && strcmp(py_type_name(py, vtype), "wrapper_descriptor"))
		return tp_error_create(TP_ERR_UNSUPPORTED, "own _value_repr_");
	name = NULL;
	if ((!unnamed && (err = py_str_utf8(py, name_obj, 4096, &name))) ||
	    (err = py_type_short_name(py, o->type, &cls)))
		return err;
	size_t len = strlen(cls) + (name ? strlen(name) + 1 : 0) + 4;
	if (!py_charge(st, len))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, len))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, value, o->depth, &v)) || !v)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	if (name)
		tp_strbuf_printf(&sb, "<%s.%s: ", cls, name);
	else
		tp_strbuf_printf(&sb, "<%s: ", cls);
	size_t k = 0;
	bool ok = !sb.failed && py_part(py, c, &k, tp_strbuf_str(&sb), v) &&
		  py_part(py, c, &k, ">", NULL);
	tp_strbuf_deinit(&sb);
	if (!ok)
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- named tuples -------------------------------------------------------- */

/* "Point(x=1, y=2)": the class's _fields against the tuple's items. */
static struct tp_error *namedtuple_repr(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o, uint64_t owner,
				       struct tp_pyval **ret)
{
	uint64_t dict, fields, *names, *items;
	size_t nf, n;
	const char *cls;
	struct tp_error *err;
	if ((err = py_read_ptr(py, owner + LOFF(py, TP_DICT), &dict)) ||
	    (err = py_dict_get_str(py, dict, "_fields", &fields)))
		return err;
	if (!fields)
		return tp_error_create(TP_ERR_UNSUPPORTED, "no _fields");
	if ((err = py_seq_ptrs(py, fields, TP_PV_TUPLE, &names, &nf)) ||
	    (err = py_seq_ptrs(py, o->addr, TP_PV_TUPLE, &items, &n)) ||
	    (err = py_type_short_name(py, namedtuple_repr_uses_class_name(py)
						  ? o->type : owner,
				      &cls)))
		return err;
	if (nf != n) /* repr_fmt % self raises */
		return tp_error_create(TP_ERR_UNSUPPORTED, "fields != items");
	size_t len = strlen(cls) + 2 + 4 * n;
	if (!py_charge(st, len))
		return NULL;
	/* every read that can fail before the node is remembered */
	const char **fnames = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						    sizeof(*fnames));
	if (!fnames)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++)
		if ((err = py_str_utf8(py, names[i], 4096, &fnames[i])))
			return err;
	struct tp_pyval *c = py_composite(py, o, n + 1, NULL);
	if (!c || !py_remember(py, st, o->addr, c, len))
		return &tp_error_nomem;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *field = fnames[i];
		struct tp_pyval *v;
		if ((err = py_decode_child(py, st, items[i], o->depth, &v)) ||
		    !v)
			return err;
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, "%s%s%s=", i ? "" : cls, i ? ", " : "(",
				 field);
		bool ok = !sb.failed &&
			  py_part(py, c, &k, tp_strbuf_str(&sb), v);
		tp_strbuf_deinit(&sb);
		if (!ok)
			return &tp_error_nomem;
	}
	char close[600];
	snprintf(close, sizeof(close), "%s%s", n ? "" : cls, n ? ")" : "()");
	if (!py_part(py, c, &k, close, NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- dispatch ------------------------------------------------------------ */

static bool is_namedtuple_module(const char *m)
{
	/* 3.7+ writes the methods in collections; 2.7/3.6 exec a template */
	return m && (!strcmp(m, "collections") ||
		     !strncmp(m, "namedtuple_", 11));
}

struct tp_error *py_decode_classes(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled)
{
	struct tp_error *err;
	if (o->base_name) {
		if ((!strcmp(o->base_name, "BaseException") ||
		     !strcmp(o->base_name, "exceptions.BaseException")) &&
		    LHAS(py, EXC_ARGS)) {
			*handled = true;
			return exception_repr(py, st, o, ret);
		}
		return NULL;
	}
	/* classes with a __repr__ written in Python */
	if (!(o->flags & TPF_HEAPTYPE) || !LHAS(py, TP_MRO))
		return NULL;
	uint64_t owner, func;
	const char *module, *qual;
	if ((err = py_lookup_repr(py, o->type, &owner, &func)) || !func ||
	    (err = py_function_names(py, func, &module, &qual)) || !qual)
		return err;
	if (module && !strcmp(module, "enum") &&
	    (!strcmp(qual, "Enum.__repr__") || !strcmp(qual, "Flag.__repr__"))) {
		*handled = true;
		return enum_repr(py, st, o, !strcmp(qual, "Flag.__repr__"),
				 ret);
	}
	size_t ql = strlen(qual);
	if (is_namedtuple_module(module) && ql >= 8 &&
	    !strcmp(qual + ql - 8, "__repr__") &&
	    (o->flags & TPF_TUPLE_SUBCLASS)) {
		*handled = true;
		return namedtuple_repr(py, st, o, owner, ret);
	}
	return NULL;
}
