/* SPDX-License-Identifier: MIT */
/*
 * Private to the decoder: what the renderers of standard-library types
 * (pyfuncs.c, pycollections.c, ...) need from pyobj.c to turn an object of
 * the target into a tp_pyval node, and the one hook pyobj.c calls them by.
 *
 * A renderer reads the object through py_read*() (every read may fail: a
 * fault makes the whole object <unreadable TYPE at 0xADDR>), charges the
 * value's budget before it reads anything whose size the target controls,
 * and decodes the objects it holds with py_decode_child(), which keeps
 * depth, cycles and the budget.
 */
#ifndef TRIPOD_PYTHON_PYDECODE_H
#define TRIPOD_PYTHON_PYDECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/internal.h"

/* The state of decoding one top-level value (budget, memo undo list). */
struct dstate;

/** What the hook knows of the object being decoded. */
struct py_obj {
	uint64_t addr;
	uint64_t type;           /* ob_type */
	uint64_t flags;          /* tp_flags of the type */
	uint64_t repr_fn;        /* tp_repr of the type, 0 if unknown */
	const char *tname;       /* object.__repr__ name of the type */
	int depth;               /* nesting depth of the object */
	/*
	 * The static type (defined in C) whose tp_repr the object prints
	 * with: its own type, or the nearest static base a Python subclass
	 * inherits tp_repr from; 0 and NULL when there is none (the repr is
	 * Python code).  base_name is its tp_name: "collections.deque".
	 */
	uint64_t base;
	const char *base_name;
	/* the value's budget spent when the object's decoding began */
	size_t cost0;
};

/**
 * Charge @n code points (a lower bound of what the repr will print) to the
 * value's budget.  False once the value is certain to pass --max-repr: the
 * renderer then stops and returns NULL without a node.
 */
bool py_charge(struct dstate *st, size_t n);
/**
 * Charge the text @o's repr is made of, @n code points, in place of what
 * reading the objects it was made from charged (they are read, not
 * printed, or printed within that text): a repr that is text prints no
 * more than that.  False as py_charge().
 */
bool py_charge_text(struct dstate *st, const struct py_obj *o, size_t n);
/** Code points of the UTF-8 text @s (what --max-repr counts). */
static inline size_t py_utf8_cps(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}
/** Whether the value already passed its budget. */
bool py_overflowed(const struct dstate *st);
/** Around decoding an instance's attributes (--attributes depth). */
void py_attr_enter(struct dstate *st);
void py_attr_leave(struct dstate *st);

/**
 * --attributes: give the OBJECT node @v of an instance of @type (a heap
 * type) its attributes (TP_PV_ATTRS) when it has any, else leave it as
 * it is; *@ret is @v, or NULL when the value overflowed.  A fault while
 * reading the attributes leaves @v plain.  Errors: nomem.
 */
struct tp_error *py_object_attributes(struct tp_python *py, struct dstate *st,
				      struct tp_pyval *v, uint64_t type,
				      int depth, struct tp_pyval **ret);

/**
 * A new str (bytes, when @isbytes) node, not an object of the target,
 * holding [@start, @end) of the exact str (bytes or bytearray) at @addr:
 * PyUnicode_Substring() / PyBytes_FromStringAndSize() as re's getslice()
 * calls them.  3.x only.  Only the slice is read.  Errors: fault (a range
 * outside the object), unsupported (another type), limit (more than @max
 * characters), nomem.  Not charged to any budget.
 */
struct tp_error *py_slice_node(struct tp_python *py, uint64_t addr,
			       bool isbytes, int64_t start, int64_t end,
			       size_t max, struct tp_pyval **ret);

/**
 * Decode @addr, held by an object at nesting depth @depth.  *@ret is NULL
 * (and no error) when the value overflowed; faults inside the child become
 * its own UNREADABLE node.  Errors: nomem only.
 */
struct tp_error *py_decode_child(struct tp_python *py, struct dstate *st,
				 uint64_t addr, int depth,
				 struct tp_pyval **ret);

/**
 * The items of the dict (or dict subclass) at @addr as a plain dict node
 * that is not the object's own node: the dict part of a defaultdict,
 * OrderedDict, ... whose own node is a COMPOSITE.  Its address is @addr, so
 * that it guards against cycles as CPython's dict_repr does.  Faults are
 * returned (the caller's object is then unreadable); *@ret NULL when the
 * value overflowed.
 */
struct tp_error *py_decode_dict_part(struct tp_python *py, struct dstate *st,
				     uint64_t addr, int depth,
				     struct tp_pyval **ret);

/** A new node flagged for this interpreter (PY2 or its Unicode table). */
struct tp_pyval *py_new_node(struct tp_python *py, enum tp_pyval_kind kind,
			     uint64_t addr, const char *type_name);

/**
 * Remember @v as the node of @addr before its children are decoded, so that
 * a cycle back to it finds it (containers and COMPOSITE nodes that hold
 * other values).  @cost is the lower bound charged for it.  False on OOM.
 */
bool py_remember(struct tp_python *py, struct dstate *st, uint64_t addr,
		 struct tp_pyval *v, size_t cost);

/**
 * The hook: decode @o when it is one of the types the renderers know.
 * *@handled is false (and *@ret untouched) when it is not.  A fault
 * (unreadable memory, an impossible field) is returned as an error: the
 * caller prints the object as unreadable.
 */
struct tp_error *py_decode_known(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o, struct tp_pyval **ret,
				 bool *handled);

/* ---- by group (one file each) ---------------------------------------- */

/** Functions, methods, generators, cells... (pyfuncs.c) */
struct tp_error *py_decode_funcs(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o, struct tp_pyval **ret,
				 bool *handled);
/** range, slice, deque, OrderedDict, ... (pycollections.c) */
struct tp_error *py_decode_collections(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o,
				       struct tp_pyval **ret, bool *handled);
/** complex (pynumbers.c) */
struct tp_error *py_decode_numbers(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled);
/** exceptions, enum members, named tuples (pyclasses.c) */
struct tp_error *py_decode_classes(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled);

#endif /* TRIPOD_PYTHON_PYDECODE_H */
