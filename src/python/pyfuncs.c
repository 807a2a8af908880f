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
	if (py->major == 2) {
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

struct tp_error *py_decode_funcs(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o, struct tp_pyval **ret,
				 bool *handled)
{
	if (!py_is_static_type(o->flags))
		return NULL;
	const char *n = o->tname;
	struct tp_error *err = NULL;
	if (!strcmp(n, "generator")) {
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
	if (err && err->code == TP_ERR_UNSUPPORTED) {
		/* no layout for it: the object.__repr__ text, as before */
		tp_error_destroy(err);
		*handled = false;
		err = NULL;
	}
	return err;
}
