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

/* getattr(cls, name) through the MRO's dicts; 0 when absent. */
static struct tp_error *class_attr(struct tp_python *py, uint64_t type,
				   const char *name, uint64_t *ret)
{
	uint64_t mro, *classes;
	size_t n;
	struct tp_error *err;
	*ret = 0;
	if ((err = py_read_ptr(py, type + LOFF(py, TP_MRO), &mro)) || !mro ||
	    (err = py_seq_ptrs(py, mro, TP_PV_TUPLE, &classes, &n)))
		return err;
	for (size_t i = 0; i < n && i < 64; i++) {
		uint64_t dict;
		if ((err = py_read_ptr(py, classes[i] + LOFF(py, TP_DICT),
				       &dict)))
			return err;
		if (dict && ((err = py_dict_get_str(py, dict, name, ret)) ||
			     *ret))
			return err;
	}
	return NULL;
}

/*
 * Enum.__repr__: "<%s.%s: %r>" % (type name, _name_, _value_); 3.11+
 * formats the value with the class's _value_repr_, which is None or the
 * data type's own __repr__ slot wrapper (repr(value) either way) unless a
 * class sets another: then we cannot know the text.  A 3.6-3.10 Flag
 * member without a name (a combination) is composed by Flag.__repr__
 * from the members: not done here.
 */
static struct tp_error *enum_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o,
				  struct tp_pyval **ret)
{
	uint64_t name_obj, value, vrepr;
	const char *cls, *name;
	struct tp_error *err;
	uint64_t none = py->target->sym[TP_SYM__Py_NoneStruct];
	if ((err = py_instance_attr(py, o->addr, "_name_", &name_obj)) ||
	    (err = py_instance_attr(py, o->addr, "_value_", &value)) ||
	    (err = class_attr(py, o->type, "_value_repr_", &vrepr)))
		return err;
	if (!name_obj || name_obj == none || !value)
		return tp_error_create(TP_ERR_UNSUPPORTED, "enum without name");
	uint64_t vtype = 0;
	if (vrepr && vrepr != none && (err = py_type_of(py, vrepr, &vtype)))
		return err;
	if (vtype && strcmp(py_type_name(py, vtype), "wrapper_descriptor"))
		return tp_error_create(TP_ERR_UNSUPPORTED, "own _value_repr_");
	if ((err = py_str_utf8(py, name_obj, 4096, &name)) ||
	    (err = py_type_short_name(py, o->type, &cls)))
		return err;
	size_t len = strlen(cls) + strlen(name) + 5;
	if (!py_charge(st, len))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, len))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, value, o->depth, &v)) || !v)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s.%s: ", cls, name);
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
		return enum_repr(py, st, o, ret);
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
