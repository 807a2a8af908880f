/* SPDX-License-Identifier: MIT */
/*
 * Reading the state of objects the way a repr written in Python reads it,
 * without running anything: an instance's attributes (its __dict__, or the
 * members __slots__ made), a class's attributes through its MRO, and plain
 * ints and strs checked for their type first.
 *
 * A __slots__ attribute is a member descriptor in the class's __dict__
 * (type member_descriptor) whose PyMemberDef says where in the instance
 * the pointer is: T_OBJECT_EX, NULL meaning "not set".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "python/pytypes.h"


/* Classes of an MRO looked at (a longer one is corrupt). */
#define MAX_MRO 64

struct tp_error *py_type_mro(struct tp_python *py, uint64_t type,
			     uint64_t **ret, size_t *ret_n)
{
	uint64_t mro;
	struct tp_error *err;
	*ret = NULL;
	*ret_n = 0;
	if (!LHAS(py, TP_MRO))
		return py_unsupported("no tp_mro");
	if ((err = py_read_ptr(py, type + LOFF(py, TP_MRO), &mro)) || !mro ||
	    (err = py_seq_ptrs(py, mro, TP_PV_TUPLE, ret, ret_n)))
		return err;
	if (*ret_n > MAX_MRO)
		return tp_error_fault(mro, "MRO too long");
	return NULL;
}

struct tp_error *py_class_attr(struct tp_python *py, uint64_t type,
			       const char *name, uint64_t *ret)
{
	uint64_t *classes;
	size_t n;
	struct tp_error *err;
	*ret = 0;
	if ((err = py_type_mro(py, type, &classes, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
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

/* The slot @descr (a member descriptor) of @obj: 0 when unset. */
static struct tp_error *member_value(struct tp_python *py, uint64_t obj,
				     uint64_t descr, uint64_t *ret)
{
	uint64_t type, def;
	int32_t mtype;
	int64_t off;
	struct tp_error *err;
	*ret = 0;
	if (!LHAS(py, MEMBERDESCR_MEMBER) || !LHAS(py, MEMBERDEF_OFFSET))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no member layout");
	if ((err = py_type_of(py, descr, &type)))
		return err;
	if (strcmp(py_type_name(py, type), "member_descriptor"))
		return NULL; /* a property or a plain class attribute */
	if ((err = py_read_ptr(py, descr + LOFF(py, MEMBERDESCR_MEMBER),
			       &def)) ||
	    (err = py_read_i32(py, def + LOFF(py, MEMBERDEF_TYPE), &mtype)) ||
	    (err = py_read_i64(py, def + LOFF(py, MEMBERDEF_OFFSET), &off)))
		return err;
	if (mtype != PY_T_OBJECT_EX && mtype != PY_T_OBJECT)
		return tp_error_create(TP_ERR_UNSUPPORTED, "member of type %d",
				       (int)mtype);
	if (off < 0 || off > (1 << 20))
		return tp_error_fault(def, "bad member offset");
	int32_t mflags = 0;
	if (py->caps->member_after_items && LHAS(py, MEMBERDEF_FLAGS) &&
	    (err = py_read_i32(py, def + LOFF(py, MEMBERDEF_FLAGS), &mflags)))
		return err;
	if (mflags & py->caps->member_after_items) {
		/* a slot of a tuple subclass: after the object's items */
		uint64_t otype;
		int64_t n, item;
		if (!LHAS(py, TP_ITEMSIZE))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no tp_itemsize");
		if ((err = py_type_of(py, obj, &otype)) ||
		    (err = py_read_i64(py, obj + LOFF(py, OB_SIZE), &n)) ||
		    (err = py_read_i64(py, otype + LOFF(py, TP_ITEMSIZE),
				       &item)))
			return err;
		if (n < 0 || n > (1 << 26) || item < 0 || item > 64)
			return tp_error_fault(obj, "bad variable-size object");
		off += n * item;
	}
	if ((err = py_read_ptr(py, obj + (uint64_t)off, ret)))
		return err;
	if (!*ret && mtype == PY_T_OBJECT)
		*ret = py->target->sym[TP_SYM__Py_NoneStruct];
	return NULL;
}

struct tp_error *py_object_attr(struct tp_python *py, uint64_t obj,
				const char *name, uint64_t *ret)
{
	uint64_t type, descr;
	struct tp_error *err;
	*ret = 0;
	if ((err = py_instance_attr(py, obj, name, ret)) || *ret)
		return err;
	if ((err = py_type_of(py, obj, &type)) ||
	    (err = py_class_attr(py, type, name, &descr)) || !descr)
		return err;
	return member_value(py, obj, descr, ret);
}

bool py_is_none(const struct tp_python *py, uint64_t addr)
{
	return addr == py->target->sym[TP_SYM__Py_NoneStruct];
}

bool py_is_str(struct tp_python *py, uint64_t addr)
{
	uint64_t type, flags;
	struct tp_error *err;
	if ((err = py_type_of(py, addr, &type)) ||
	    (err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags))) {
		tp_error_destroy(err);
		return false;
	}
	if (flags & TPF_UNICODE_SUBCLASS)
		return true;
	/* 2.7 str: Py_TPFLAGS_STRING_SUBCLASS is the bytes bit */
	return py->caps->py2_objects && (flags & TPF_BYTES_SUBCLASS);
}

struct tp_error *py_str_text(struct tp_python *py, uint64_t addr, size_t max,
			     const char **ret)
{
	if (!py_is_str(py, addr))
		return tp_error_create(TP_ERR_UNSUPPORTED, "not a str");
	return py_str_utf8(py, addr, max, ret);
}

/* Whether @addr is an int (2.7: int or long), bool excluded. */
static bool is_int(struct tp_python *py, uint64_t addr)
{
	const uint64_t *sym = py->target->sym;
	uint64_t type, flags;
	struct tp_error *err;
	if (addr == sym[TP_SYM__Py_TrueStruct] ||
	    addr == sym[TP_SYM__Py_FalseStruct] ||
	    (sym[TP_SYM__Py_ZeroStruct] && addr == sym[TP_SYM__Py_ZeroStruct]))
		return false;
	if ((err = py_type_of(py, addr, &type)) ||
	    (err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags))) {
		tp_error_destroy(err);
		return false;
	}
	return (flags & TPF_LONG_SUBCLASS) ||
	       (sym[TP_SYM_PyInt_Type] && type == sym[TP_SYM_PyInt_Type]);
}

struct tp_error *py_int64(struct tp_python *py, uint64_t addr, int64_t *ret)
{
	uint64_t v;
	bool negative;
	if (!is_int(py, addr))
		return tp_error_create(TP_ERR_UNSUPPORTED, "not an int");
	struct tp_error *err = py_int_value(py, addr, &v, &negative);
	if (err && err->code == TP_ERR_LIMIT) {
		tp_error_destroy(err);
		return tp_error_create(TP_ERR_UNSUPPORTED, "int too big");
	}
	if (err)
		return err;
	if (negative != ((int64_t)v < 0))
		return tp_error_create(TP_ERR_UNSUPPORTED, "int too big");
	*ret = (int64_t)v;
	return NULL;
}

struct tp_error *py_int_digits(struct tp_python *py, struct dstate *st,
			       uint64_t addr, int depth, const char **ret)
{
	struct tp_pyval *v;
	*ret = NULL;
	if (!is_int(py, addr))
		return tp_error_create(TP_ERR_UNSUPPORTED, "not an int");
	struct tp_error *err = py_decode_child(py, st, addr, depth, &v);
	if (err || !v)
		return err;
	if (v->kind != TP_PV_INT)
		return tp_error_create(TP_ERR_UNSUPPORTED, "int unreadable");
	*ret = v->u.digits;
	return NULL;
}

bool py_digits_u128(const char *digits, unsigned __int128 *ret)
{
	unsigned __int128 v = 0, max = ~(unsigned __int128)0;
	if (!*digits || *digits == '-')
		return false;
	for (const char *p = digits; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

struct tp_error *py_strbuf_node(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, struct tp_strbuf *sb,
				struct tp_pyval **ret)
{
	struct tp_error *err = tp_strbuf_error(sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(sb), ret);
	tp_strbuf_deinit(sb);
	return err;
}

struct tp_error *py_text_node(struct tp_python *py, struct dstate *st,
			      const struct py_obj *o, const char *text,
			      struct tp_pyval **ret)
{
	struct tp_pyval *v = py_new_node(py, TP_PV_TEXT, o->addr, o->tname);
	if (!v || !(v->u.text = tp_pyval_arena_strdup(py->arena, text)))
		return &tp_error_nomem;
	if (!py_charge_text(st, o, py_utf8_cps(text)))
		return NULL;
	*ret = v;
	return NULL;
}

struct tp_error *py_repr_text(struct tp_python *py, const struct tp_pyval *v,
			      const char **ret)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_error *err = tp_pyval_repr(v, NULL, &sb);
	if (!err && sb.failed)
		err = &tp_error_nomem;
	if (!err) {
		*ret = tp_pyval_arena_strdup(py->arena, tp_strbuf_str(&sb));
		if (!*ret)
			err = &tp_error_nomem;
	}
	tp_strbuf_deinit(&sb);
	return err;
}

struct tp_error *py_function_globals(struct tp_python *py, uint64_t func,
				     uint64_t *ret)
{
	uint64_t type;
	struct tp_error *err;
	*ret = 0;
	if (!LHAS(py, FUNC_GLOBALS))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no func_globals");
	if ((err = py_type_of(py, func, &type)))
		return err;
	if (type != py->target->sym[TP_SYM_PyFunction_Type])
		return NULL;
	return py_read_ptr(py, func + LOFF(py, FUNC_GLOBALS), ret);
}

/* ---- an instance's attributes (--attributes, JSON) ----------------------- */

/* Attributes read for one instance, at most. */
#define MAX_ATTRS 4096

struct attr_pairs {
	struct tp_python *py;
	uint64_t obj;
	uint64_t kv[2 * MAX_ATTRS];
	size_t n;
	bool full;
	struct tp_error *err;
};

static bool attr_add(struct attr_pairs *a, uint64_t key, uint64_t value)
{
	if (a->n == MAX_ATTRS) {
		a->full = true;
		return false;
	}
	a->kv[2 * a->n] = key;
	a->kv[2 * a->n + 1] = value;
	a->n++;
	return true;
}

static bool dict_attr_cb(void *arg, uint64_t key, uint64_t value)
{
	return attr_add(arg, key, value);
}

/* A class's __dict__ entry: a slot of the instance when it is a member. */
static bool slot_attr_cb(void *arg, uint64_t key, uint64_t descr)
{
	struct attr_pairs *a = arg;
	uint64_t value;
	struct tp_error *err = member_value(a->py, a->obj, descr, &value);
	if (err && err->code == TP_ERR_UNSUPPORTED) {
		tp_error_destroy(err); /* a member that holds no object */
		return true;
	}
	if (err) {
		a->err = err;
		return false;
	}
	return !value || attr_add(a, key, value);
}

/*
 * The (name, value) pairs of instance @obj of @type: its __dict__ in order,
 * then the __slots__ that are set, class by class along the MRO.  Only the
 * classes that define __slots__ are looked into.
 */
static struct tp_error *instance_attrs(struct tp_python *py, uint64_t obj,
				       uint64_t type, struct attr_pairs *a)
{
	uint64_t *classes;
	size_t n;
	struct tp_error *err;
	a->py = py;
	a->obj = obj;
	a->n = 0;
	a->full = false;
	a->err = NULL;
	if ((err = py_instance_dict_iter(py, obj, dict_attr_cb, a)))
		return err;
	if (!LHAS(py, TP_MRO) || !LHAS(py, MEMBERDESCR_MEMBER))
		return NULL;
	if ((err = py_type_mro(py, type, &classes, &n)))
		return err;
	for (size_t i = 0; i < n && !a->full; i++) {
		uint64_t dict, slots = 0;
		if ((err = py_read_ptr(py, classes[i] + LOFF(py, TP_DICT),
				       &dict)) ||
		    (dict && (err = py_dict_get_str(py, dict, "__slots__",
						    &slots))))
			return err;
		if (!slots)
			continue;
		if ((err = py_dict_iter(py, dict, slot_attr_cb, a)))
			return err;
		if (a->err)
			return a->err;
	}
	return NULL;
}

/* Whether an object of this type is an instance with attributes to show. */
static bool has_attributes(uint64_t flags)
{
	return (flags & TPF_HEAPTYPE) && !(flags & TPF_TYPE_SUBCLASS);
}

struct tp_error *py_object_attributes(struct tp_python *py, struct dstate *st,
				      struct tp_pyval *v, uint64_t type,
				      int depth, struct tp_pyval **ret)
{
	struct attr_pairs *a = malloc(sizeof(*a));
	struct tp_error *err;
	*ret = v;
	if (!a)
		return &tp_error_nomem;
	err = instance_attrs(py, v->addr, type, a);
	if (err || !a->n) {
		free(a);
		/* unreadable attributes: the object prints without them */
		if (err != &tp_error_nomem)
			tp_error_destroy(err);
		return err == &tp_error_nomem ? err : NULL;
	}
	size_t n = a->n;
	/* " {k: v, ...}": at least 6 characters per attribute */
	if (!py_charge(st, 3 + 6 * n)) {
		free(a);
		*ret = NULL;
		return NULL;
	}
	struct tp_pyval **keys = tp_pyval_arena_calloc(py->arena, n,
						       sizeof(*keys));
	struct tp_pyval **vals = tp_pyval_arena_calloc(py->arena, n,
						       sizeof(*vals));
	if (!keys || !vals || !py_remember(py, st, v->addr, v, 3 + 6 * n)) {
		free(a);
		return &tp_error_nomem;
	}
	v->u.dict.keys = keys;
	v->u.dict.values = vals;
	py_attr_enter(st);
	for (size_t i = 0; i < n; i++) {
		if ((err = py_decode_child(py, st, a->kv[2 * i], depth,
					   &keys[i])) || !keys[i] ||
		    (err = py_decode_child(py, st, a->kv[2 * i + 1], depth,
					   &vals[i])) || !vals[i])
			break;
	}
	py_attr_leave(st);
	free(a);
	if (err || py_overflowed(st)) {
		*ret = NULL;
		return err;
	}
	v->u.dict.len = n;
	v->flags |= TP_PV_ATTRS;
	return NULL;
}

struct tp_error *py_local_attributes(struct tp_python *py,
				     const struct tp_pyval *value,
				     struct tp_pyval **ret)
{
	uint64_t type, flags;
	struct tp_error *err;
	*ret = NULL;
	if (!value || !value->addr || value->kind == TP_PV_UNREADABLE)
		return NULL;
	if ((err = py_type_of(py, value->addr, &type)) ||
	    (err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags)) ||
	    !has_attributes(flags)) {
		if (err != &tp_error_nomem)
			tp_error_destroy(err);
		return err == &tp_error_nomem ? err : NULL;
	}
	struct attr_pairs *a = malloc(sizeof(*a));
	if (!a)
		return &tp_error_nomem;
	err = instance_attrs(py, value->addr, type, a);
	if (err) {
		free(a);
		if (err != &tp_error_nomem)
			tp_error_destroy(err);
		return err == &tp_error_nomem ? err : NULL;
	}
	struct tp_pyval *d = py_new_node(py, TP_PV_DICT, 0, NULL);
	if (d) {
		d->flags |= TP_PV_SYNTHETIC;
		d->u.dict.keys = tp_pyval_arena_calloc(py->arena,
						       a->n ? a->n : 1,
						       sizeof(void *));
		d->u.dict.values = tp_pyval_arena_calloc(py->arena,
							 a->n ? a->n : 1,
							 sizeof(void *));
	}
	if (!d || !d->u.dict.keys || !d->u.dict.values) {
		free(a);
		return &tp_error_nomem;
	}
	struct tp_pyval_opts vopts = { .max_repr = py->opts.max_repr };
	for (size_t i = 0; !err && i < a->n; i++) {
		struct tp_pyval *k, *v;
		if ((err = py_value(py, a->kv[2 * i], &k)) ||
		    (err = py_value(py, a->kv[2 * i + 1], &v)) ||
		    (err = tp_pyval_limited(py->arena, v, &vopts, &v)))
			break;
		d->u.dict.keys[i] = k;
		d->u.dict.values[i] = v;
	}
	if (!err)
		d->u.dict.len = a->n;
	free(a);
	if (!err)
		*ret = d;
	return err;
}
