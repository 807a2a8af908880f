/* SPDX-License-Identifier: MIT */
/*
 * repr() of callables and of the objects that run code: generators,
 * coroutines, asynchronous generators.
 */
#include "config.h"

#include <string.h>

#include "python/pytypes.h"

/*
 * gen_repr, coro_repr, async_gen_repr (Objects/genobject.c): 3.5+ print
 * the qualified name, "<generator object outer.<locals>.gen at 0x...>";
 * 2.7 the code object's name.
 */
static struct tp_error *generator(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, const char *what,
				  enum tp_layout_id qual_id,
				  struct tp_pyval **ret)
{
	struct tp_error *err;
	uint64_t name_obj;
	const char *name;
	if (py->caps->py2_objects) {
		uint64_t code;
		if (!LHAS(py, GEN_CODE) || !LHAS(py, CO_NAME))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no generator layout");
		if ((err = py_read_ptr(py, o->addr + LOFF(py, GEN_CODE),
				       &code)) ||
		    (err = py_read_ptr(py, code + LOFF(py, CO_NAME),
				       &name_obj)))
			return err;
	} else {
		if (py->L.v[qual_id] == TP_LAYOUT_ABSENT)
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no %s layout", what);
		if ((err = py_read_ptr(py, o->addr + (uint64_t)py->L.v[qual_id],
				       &name_obj)))
			return err;
	}
	if ((err = py_str_utf8(py, name_obj, 4096, &name)))
		return err;
	return py_text(py, st, o, ret, "<%s object %s at 0x%llx>", what, name,
		       (unsigned long long)o->addr);
}

/* ---- facts of the version -------------------------------------------- */

/* 3.10+: "<staticmethod(<function f at 0x...>)>"; before: object.__repr__. */
static bool descriptors_show_callable(const struct tp_python *py)
{
	return py->caps->descriptors_show_callable;
}

/* ---- builtins, methods, cells -------------------------------------------- */

/* Py_TYPE(obj)->tp_name as C code prints it with %s. */
static struct tp_error *raw_type_name(struct tp_python *py, uint64_t obj,
				      const char **ret)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, obj, &type);
	return err ? err : py_raw_tp_name(py, type, ret);
}

/*
 * meth_repr(): "<built-in function NAME>" when m_self is NULL or a module,
 * else "<built-in method NAME of TYPE object at 0x...>".
 */
static struct tp_error *builtin_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	uint64_t ml, self, name_p, stype;
	const char *name, *tname;
	struct tp_error *err;
	if (!LHAS(py, CFUNC_ML) || !LHAS(py, METHODDEF_NAME))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no cfunction layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, CFUNC_ML), &ml)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, CFUNC_SELF), &self)) ||
	    (err = py_read_ptr(py, ml + LOFF(py, METHODDEF_NAME), &name_p)) ||
	    (err = py_read_cstr(py, name_p, 256, &name)))
		return err;
	if (self && (err = py_type_of(py, self, &stype)))
		return err;
	uint64_t sflags = 0;
	if (self && (err = py_read_ptr(py, stype + LOFF(py, TP_FLAGS),
				       &sflags)))
		return err;
	bool module = self && (stype == py->target->sym[TP_SYM_PyModule_Type] ||
			       !strcmp(py_type_name(py, stype), "module"));
	if (!self || module)
		return py_text(py, st, o, ret, "<built-in function %s>", name);
	if ((err = raw_type_name(py, self, &tname)))
		return err;
	return py_text(py, st, o, ret,
		       "<built-in method %s of %s object at 0x%llx>", name,
		       tname, (unsigned long long)self);
}

/*
 * method_repr(): "<bound method QUALNAME of REPR(self)>" (3.x: the
 * function's __qualname__); 2.7 instancemethod_repr: "<bound method
 * CLASS.NAME of REPR(self)>" with im_class.__name__.
 */
static struct tp_error *method_repr(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret)
{
	uint64_t func, self;
	const char *module, *qual;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, METHOD_FUNC), &func)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, METHOD_SELF), &self)) ||
	    (err = py_function_names(py, func, &module, &qual)))
		return err;
	if (!qual || !self)
		return tp_error_create(TP_ERR_UNSUPPORTED, "not a function");
	char head[1200];
	if (py->caps->py2_objects) {
		uint64_t cls, cflags;
		const char *cname;
		if (!LHAS(py, METHOD_CLASS))
			return tp_error_create(TP_ERR_UNSUPPORTED, "no im_class");
		if ((err = py_read_ptr(py, o->addr + LOFF(py, METHOD_CLASS),
				       &cls)) ||
		    (err = py_read_ptr(py, cls + LOFF(py, TP_FLAGS), &cflags)))
			return err;
		if (!(cflags & TPF_TYPE_SUBCLASS) &&
		    !(cflags & TPF_HEAPTYPE))
			return tp_error_create(TP_ERR_UNSUPPORTED, "classic");
		if ((err = py_type_short_name(py, cls, &cname)))
			return err;
		snprintf(head, sizeof(head), "<bound method %s.%s of ", cname,
			 qual);
	} else {
		snprintf(head, sizeof(head), "<bound method %s of ", qual);
	}
	if (!py_charge(st, strlen(head) + 1))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, strlen(head) + 1))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, self, o->depth, &v)) || !v)
		return err;
	size_t k = 0;
	if (!py_part(py, c, &k, head, v) || !py_part(py, c, &k, ">", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* sm_repr(), cm_repr() (3.10+): "<staticmethod(REPR(callable))>". */
static struct tp_error *descriptor_repr(struct tp_python *py,
					struct dstate *st,
					const struct py_obj *o,
					const char *what, int64_t off,
					struct tp_pyval **ret)
{
	uint64_t callable;
	struct tp_error *err;
	if (!descriptors_show_callable(py) || off == TP_LAYOUT_ABSENT)
		return tp_error_create(TP_ERR_UNSUPPORTED, "object.__repr__");
	if ((err = py_read_ptr(py, o->addr + (uint64_t)off, &callable)))
		return err;
	if (!callable)
		return tp_error_create(TP_ERR_UNSUPPORTED, "uninitialized");
	char head[40];
	snprintf(head, sizeof(head), "<%s(", what);
	if (!py_charge(st, strlen(head) + 2))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, strlen(head) + 2))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, callable, o->depth, &v)) || !v)
		return err;
	size_t k = 0;
	if (!py_part(py, c, &k, head, v) || !py_part(py, c, &k, ")>", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* cell_repr(): "<cell at 0x...: TYPE object at 0x...>" or "...: empty>". */
static struct tp_error *cell_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o,
				  struct tp_pyval **ret)
{
	uint64_t ref;
	const char *tname;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + LOFF(py, CELL_REF), &ref)))
		return err;
	if (!ref)
		return py_text(py, st, o, ret, "<cell at 0x%llx: empty>",
			       (unsigned long long)o->addr);
	if ((err = raw_type_name(py, ref, &tname)))
		return err;
	return py_text(py, st, o, ret, "<cell at 0x%llx: %.80s object at 0x%llx>",
		       (unsigned long long)o->addr, tname,
		       (unsigned long long)ref);
}

/*
 * frame_repr (Objects/frameobject.c, 3.7+): "<frame at %p, file %R, line
 * %d, code %S>" with the code's co_filename and co_name.
 */
static struct tp_error *frame_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	uint64_t file;
	const char *name, *file_repr;
	int line;
	struct tp_pyval *fv;
	struct tp_error *err = py_frame_object_where(py, o->addr, &file, &name,
						     &line);
	if (err)
		return err;
	if (!py_is_str(py, file))
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "co_filename is not a str");
	if ((err = py_decode_child(py, st, file, o->depth, &fv)) || !fv ||
	    (err = py_repr_text(py, fv, &file_repr)))
		return err;
	return py_text(py, st, o, ret, "<frame at 0x%llx, file %s, line %d, "
		       "code %s>", (unsigned long long)o->addr, file_repr, line,
		       name);
}

struct tp_error *py_decode_funcs(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o, struct tp_pyval **ret,
				 bool *handled)
{
	const char *b = o->base_name;
	if (b) {
		*handled = true;
		if (!strcmp(b, "builtin_function_or_method"))
			return builtin_repr(py, st, o, ret);
		if ((!strcmp(b, "method") || !strcmp(b, "instancemethod")) &&
		    LHAS(py, METHOD_FUNC))
			return method_repr(py, st, o, ret);
		if (!strcmp(b, "staticmethod"))
			return descriptor_repr(py, st, o, "staticmethod",
					       LOFF(py, SM_CALLABLE), ret);
		if (!strcmp(b, "classmethod"))
			return descriptor_repr(py, st, o, "classmethod",
					       LOFF(py, CM_CALLABLE), ret);
		if (!strcmp(b, "cell"))
			return cell_repr(py, st, o, ret);
		*handled = false;
	}
	if (!py_is_static_type(o->flags))
		return NULL;
	const char *n = o->tname;
	struct tp_error *err = NULL;
	if (!strcmp(n, "frame") && py->caps->frame_repr_location) {
		*handled = true;
		err = frame_repr(py, st, o, ret);
	} else if (!strcmp(n, "generator")) {
		*handled = true;
		err = generator(py, st, o, "generator", TP_L_GEN_QUALNAME, ret);
	} else if (!strcmp(n, "coroutine")) {
		*handled = true;
		err = generator(py, st, o, "coroutine", TP_L_CORO_QUALNAME, ret);
	} else if (!strcmp(n, "async_generator")) {
		*handled = true;
		err = generator(py, st, o, "async_generator",
				TP_L_AGEN_QUALNAME, ret);
	}
	return err;
}
