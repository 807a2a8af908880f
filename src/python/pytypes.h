/* SPDX-License-Identifier: MIT */
/* Private to the renderers of standard-library types: shared tools. */
#ifndef TRIPOD_PYTHON_PYTYPES_H
#define TRIPOD_PYTHON_PYTYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "python/pydecode.h"

/** TP_ERR_UNSUPPORTED: the repr is unknown (object.__repr__'s text). */
static inline struct tp_error *py_unsupported(const char *why)
{
	return tp_error_create(TP_ERR_UNSUPPORTED, "%s", why);
}

/** Whether a type with these tp_flags is defined in C (not a heap type). */
bool py_is_static_type(uint64_t flags);

/**
 * A TEXT node for @o whose repr is the printf-formatted text; charged to the
 * budget (*@ret stays NULL if that overflows).  Errors: nomem.
 */
struct tp_error *py_text(struct tp_python *py, struct dstate *st,
			 const struct py_obj *o, struct tp_pyval **ret,
			 const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Items a renderer reads for one container (as pyobj.c's cap). */
#define PY_MAX_ITEMS (1u << 22)

/**
 * A COMPOSITE node for @o with room for @nparts parts, filled with
 * py_part(); @cycle as tp_pyval.u.comp.cycle (static text).  NULL on OOM.
 */
struct tp_pyval *py_composite(struct tp_python *py, const struct py_obj *o,
			      size_t nparts, const char *cycle);
/** Set part *@i (then *@i + 1) of @v: @text copied.  False on OOM. */
bool py_part(struct tp_python *py, struct tp_pyval *v, size_t *i,
	     const char *text, struct tp_pyval *value);
/**
 * A node tripod makes for a repr's sake (a deque's list, a dict view's
 * item tuples): TP_PV_SYNTHETIC, no address, @n NULL items to fill (@kind
 * TUPLE, LIST or DICT).  NULL on OOM.
 */
struct tp_pyval *py_synthetic(struct tp_python *py, enum tp_pyval_kind kind,
			      size_t n);

/**
 * The item pointers of the tuple (or list, @kind) at @addr, in the arena;
 * the count is checked against PY_MAX_ITEMS before anything is read.
 */
struct tp_error *py_seq_ptrs(struct tp_python *py, uint64_t addr,
			     enum tp_pyval_kind kind, uint64_t **ret,
			     size_t *ret_n);
/**
 * The (key, value) pointers of the dict at @addr in iteration order, as
 * 2 * *@ret_n words in the arena (ma_used checked first).
 */
struct tp_error *py_dict_pairs(struct tp_python *py, uint64_t dict,
			       uint64_t **ret, size_t *ret_n);

/**
 * Where type(obj).__repr__ comes from: the first class of @type's MRO
 * whose __dict__ has "__repr__" (*@owner) and that object (*@func); both 0
 * when none has.
 */
struct tp_error *py_lookup_repr(struct tp_python *py, uint64_t type,
				uint64_t *owner, uint64_t *func);
/**
 * __module__ and __qualname__ (2.7: __name__) of the Python function
 * @func; both NULL when @func is not a function, *@module NULL when its
 * __module__ is not a str.
 */
struct tp_error *py_function_names(struct tp_python *py, uint64_t func,
				   const char **module, const char **qualname);
/** A NUL-terminated C string of at most @max bytes, copied to the arena. */
struct tp_error *py_read_cstr(struct tp_python *py, uint64_t addr, size_t max,
			      const char **ret);
/**
 * Py_TYPE(obj)->tp_name as C code prints it with %s: "_thread.lock" for a
 * type made from a C spec, a class statement's __name__ ("Foo").
 */
struct tp_error *py_raw_tp_name(struct tp_python *py, uint64_t type,
				const char **ret);
/** _PyType_Name(type): "OrderedDict", a heap type's __name__. */
struct tp_error *py_type_short_name(struct tp_python *py, uint64_t type,
				    const char **ret);

/* ---- attributes and plain values (pyattrs.c) ---------------------------- */

/* PyMemberDef types that hold an object (Include/descrobject.h) */
#define PY_T_OBJECT 6
#define PY_T_OBJECT_EX 16

/**
 * The classes of @type's __mro__ (in the arena; none while tp_mro is
 * NULL).  TP_ERR_UNSUPPORTED without the layout; a fault for an MRO of
 * more than 64 classes (corrupt).
 */
struct tp_error *py_type_mro(struct tp_python *py, uint64_t type,
			     uint64_t **ret, size_t *ret_n);
/**
 * getattr(@type, @name) as the class's MRO dicts give it (no descriptor
 * is run): the first class whose __dict__ has @name; 0 when none has.
 */
struct tp_error *py_class_attr(struct tp_python *py, uint64_t type,
			       const char *name, uint64_t *ret);
/**
 * The state an instance keeps under @name: its __dict__ (or inline
 * values), else a __slots__ member of its class; 0 when it has none (an
 * unset slot included).  No descriptor or __getattr__ is run.
 */
struct tp_error *py_object_attr(struct tp_python *py, uint64_t obj,
				const char *name, uint64_t *ret);
/** Whether the object at @addr is a str (2.7: str or unicode). */
bool py_is_str(struct tp_python *py, uint64_t addr);
/** Whether the object at @addr is None. */
bool py_is_none(const struct tp_python *py, uint64_t addr);
/**
 * The text of the str at @addr (UTF-8, at most @max code points):
 * TP_ERR_UNSUPPORTED when it is not a str.
 */
struct tp_error *py_str_text(struct tp_python *py, uint64_t addr, size_t max,
			     const char **ret);
/**
 * The value of the int at @addr (2.7: int or long; bool excluded):
 * TP_ERR_UNSUPPORTED when it is not an int or does not fit in 64 bits.
 */
struct tp_error *py_int64(struct tp_python *py, uint64_t addr, int64_t *ret);
/**
 * The decimal digits of the int at @addr (2.7: int or long, no "L"), as
 * the decoder makes them (charged to the value's budget): *@ret NULL when
 * the value overflowed; TP_ERR_UNSUPPORTED when it is not an int.
 */
struct tp_error *py_int_digits(struct tp_python *py, struct dstate *st,
			       uint64_t addr, int depth, const char **ret);
/**
 * @digits (decimal, optional '-') as an unsigned 128-bit number; false when
 * it is negative or does not fit.
 */
bool py_digits_u128(const char *digits, unsigned __int128 *ret);
/**
 * py_text_node() of @sb's text (or @sb's error), then @sb deinitialized.
 */
struct tp_error *py_strbuf_node(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, struct tp_strbuf *sb,
				struct tp_pyval **ret);
/** A TEXT node for @o made of @text (copied), charged to the budget. */
struct tp_error *py_text_node(struct tp_python *py, struct dstate *st,
			      const struct py_obj *o, const char *text,
			      struct tp_pyval **ret);
/**
 * repr() of the value node @v as a string in the arena (for reprs that cut
 * or reshape the text of what they hold: "%.200R").
 */
struct tp_error *py_repr_text(struct tp_python *py, const struct tp_pyval *v,
			      const char **ret);
/** The function object's globals dict (0 when @func is not a function). */
struct tp_error *py_function_globals(struct tp_python *py, uint64_t func,
				     uint64_t *ret);

/* ---- by group (one file each), called by py_decode_known() ------------- */

/** Reprs written in Python, re-done from the object's state (pystdlib.c). */
struct tp_error *py_decode_stdlib(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o,
				  struct tp_pyval **ret, bool *handled);
/** datetime, zoneinfo (pydatetime.c). */
struct tp_error *py_decode_datetime(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret, bool *handled);
/** decimal.Decimal, C and 2.7's Python (pydecimal.c). */
struct tp_error *py_decode_decimal(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled);
/** partial, weakref, memoryview, locks, struct sequences, re, array
 *  (pyextra.c). */
struct tp_error *py_decode_extra(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o,
				 struct tp_pyval **ret, bool *handled);
/** asyncio futures and tasks, C and Python (pyaiorepr.c). */
struct tp_error *py_decode_asyncio(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled);

/**
 * A socket object (pysocket.c): @func is socket.socket's __repr__ (Python
 * code, 3.x), 0 for _socket.socket's C repr.  The addresses come from the
 * snapshot's sockets note (tp_python_set_sockets()).
 */
struct tp_error *py_socket_repr(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, uint64_t func,
				struct tp_pyval **ret);
/** The descriptor a socket object (@sock) holds: fileno(). */
struct tp_error *py_socket_fd(struct tp_python *py, uint64_t sock,
			      int32_t *ret);

#endif /* TRIPOD_PYTHON_PYTYPES_H */
