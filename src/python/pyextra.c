/* SPDX-License-Identifier: MIT */
/*
 * repr() of C types of the standard library that hold plain state:
 * functools.partial, weakref.ref, memoryview, _thread.lock and RLock,
 * struct sequences (os.stat_result, time.struct_time, sys.flags...),
 * re.Pattern and array.array, as their C code writes it
 * (Modules/_functoolsmodule.c, Objects/weakrefobject.c, memoryobject.c,
 * Modules/_threadmodule.c, Objects/structseq.c, Modules/_sre.c,
 * Modules/arraymodule.c).
 *
 * The first six are in libpython, their layouts in the layout record.
 * array is an extension module; its object is
 *   arrayobject = PyObject_VAR_HEAD; char *ob_item; Py_ssize_t allocated;
 *                 const struct arraydescr *ob_descr; ...
 *   arraydescr  = char typecode (2.7: int); int itemsize; ...
 * the same in 2.7 and every 3.x, so its fields follow from the size of
 * PyVarObject; the item size is checked against the type code.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pytypes.h"

/* arrayobject after PyObject_VAR_HEAD; arraydescr (see above) */
#define ARRAY_ITEMS 0
#define ARRAY_DESCR 16
#define ARRAYDESCR_ITEMSIZE 4
/* _Py_MEMORYVIEW_RELEASED */
#define MEMORYVIEW_RELEASED 0x1
/* %.200R in pattern_repr */
#define PATTERN_REPR_MAX 200
/* structseq_repr's buffer before 3.8 (REPR_BUFFER_SIZE, TYPE_MAXSIZE) */
#define STRUCTSEQ_BUFFER 512
#define STRUCTSEQ_TYPE_MAX 100


/* Py_TYPE(obj)->tp_name of the object at @addr. */
static struct tp_error *raw_tp_name(struct tp_python *py, uint64_t addr,
				    const char **ret)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, addr, &type);
	return err ? err : py_raw_tp_name(py, type, ret);
}

/* ---- functools.partial ----------------------------------------------- */

/*
 * partial_repr: "%s(%R%U)" of the type's name, the function, then ", %R"
 * for each positional argument and ", %S=%R" for each keyword; "..."
 * when met again.  The name is tp_name ("functools.partial"), from 3.13
 * the type's module and qualified name.
 */
static struct tp_error *partial_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	uint64_t fn, args, kw, *items = NULL, *kv = NULL;
	size_t nargs = 0, nkw = 0;
	const char *name;
	struct tp_error *err;
	if (!LHAS(py, PARTIAL_FN))
		return py_unsupported("no partial layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, PARTIAL_FN), &fn)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, PARTIAL_ARGS), &args)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, PARTIAL_KW), &kw)))
		return err;
	if (!fn || !args)
		return py_unsupported("partial not set");
	if ((err = py_seq_ptrs(py, args, TP_PV_TUPLE, &items, &nargs)) ||
	    (kw && (err = py_dict_pairs(py, kw, &kv, &nkw))))
		return err;
	if (o->type == o->base || !(o->flags & TPF_HEAPTYPE))
		name = o->base_name;
	else if (py->caps->partial_repr_qualname)
		name = o->tname;
	else if ((err = py_type_short_name(py, o->type, &name)))
		return err;
	const char **keys = tp_pyval_arena_calloc(py->arena, nkw ? nkw : 1,
						  sizeof(*keys));
	if (!keys)
		return &tp_error_nomem;
	for (size_t i = 0; i < nkw; i++)
		if ((err = py_str_text(py, kv[2 * i], 4096, &keys[i])))
			return err;
	size_t cost = strlen(name) + 2 + 3 * (nargs + nkw);
	if (!py_charge(st, cost))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2 + nargs + nkw, "...");
	if (!c || !py_remember(py, st, o->addr, c, cost))
		return &tp_error_nomem;
	struct tp_pyval *v;
	size_t k = 0;
	char open[600];
	snprintf(open, sizeof(open), "%s(", name);
	if ((err = py_decode_child(py, st, fn, o->depth, &v)) || !v)
		return err;
	if (!py_part(py, c, &k, open, v))
		return &tp_error_nomem;
	for (size_t i = 0; i < nargs; i++) {
		if ((err = py_decode_child(py, st, items[i], o->depth, &v)) ||
		    !v)
			return err;
		if (!py_part(py, c, &k, ", ", v))
			return &tp_error_nomem;
	}
	for (size_t i = 0; i < nkw; i++) {
		if ((err = py_decode_child(py, st, kv[2 * i + 1], o->depth,
					   &v)) || !v)
			return err;
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, ", %s=", keys[i]);
		bool ok = !sb.failed &&
			  py_part(py, c, &k, tp_strbuf_str(&sb), v);
		tp_strbuf_deinit(&sb);
		if (!ok)
			return &tp_error_nomem;
	}
	if (!py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- weakref, memoryview, locks ----------------------------------------- */

/*
 * weakref_repr: "<weakref at %p; dead>", else "<weakref at %p; to '%s' at
 * %p>" with the referent's tp_name, plus " (%U)" of its __name__ when it
 * has one that is a str.  Referents read here: functions and classes
 * (named), and instances of classes that have no __name__ of their own.
 */
static struct tp_error *weakref_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	uint64_t obj, otype, oflags, name_obj = 0;
	const char *tn, *name = NULL;
	struct tp_error *err;
	char text[1400];
	if (!LHAS(py, WEAKREF_OBJECT))
		return py_unsupported("no weakref layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, WEAKREF_OBJECT), &obj)))
		return err;
	if (!obj || py_is_none(py, obj)) {
		snprintf(text, sizeof(text), "<weakref at 0x%" PRIx64 "; dead>",
			 o->addr);
		return py_text_node(py, st, o, text, ret);
	}
	if ((err = py_type_of(py, obj, &otype)) ||
	    (err = py_read_ptr(py, otype + LOFF(py, TP_FLAGS), &oflags)) ||
	    (err = raw_tp_name(py, obj, &tn)))
		return err;
	if (otype == py->target->sym[TP_SYM_PyFunction_Type]) {
		uint64_t n;
		if ((err = py_read_ptr(py, obj + LOFF(py, FUNC_NAME), &n)) ||
		    (err = py_str_text(py, n, 512, &name)))
			return err;
	} else if (oflags & TPF_TYPE_SUBCLASS) {
		if ((err = py_type_short_name(py, obj, &name)))
			return err;
		if (!(oflags & TPF_HEAPTYPE) && strcmp(tn, "type"))
			return py_unsupported("referent is a metaclass instance");
	} else if (oflags & TPF_HEAPTYPE) {
		uint64_t attr;
		if ((err = py_object_attr(py, obj, "__name__", &name_obj)) ||
		    (err = py_class_attr(py, otype, "__name__", &attr)))
			return err;
		if (name_obj || attr)
			return py_unsupported("referent with a __name__");
	} else {
		return py_unsupported("referent of a C type");
	}
	int n = snprintf(text, sizeof(text),
			 "<weakref at 0x%" PRIx64 "; to '%s' at 0x%" PRIx64,
			 o->addr, tn, obj);
	if (name)
		snprintf(text + n, sizeof(text) - (size_t)n, " (%s)>", name);
	else
		snprintf(text + n, sizeof(text) - (size_t)n, ">");
	return py_text_node(py, st, o, text, ret);
}

/* memory_repr: "<memory at %p>", "<released memory at %p>" (3.x). */
static struct tp_error *memory_repr(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret)
{
	int32_t flags = 0;
	struct tp_error *err;
	if (LHAS(py, MEMVIEW_FLAGS) && !py->caps->py2_objects &&
	    (err = py_read_i32(py, o->addr + LOFF(py, MEMVIEW_FLAGS), &flags)))
		return err;
	char text[80];
	snprintf(text, sizeof(text), "<%smemory at 0x%" PRIx64 ">",
		 flags & MEMORYVIEW_RELEASED ? "released " : "", o->addr);
	return py_text_node(py, st, o, text, ret);
}

/*
 * lock_repr: "<%s %s object at %p>" ("locked" or "unlocked", tp_name);
 * rlock_repr: "<%s %s object owner=%lu count=%lu at %p>", locked when
 * count > 0.  Up to 3.13 the objects keep a `locked` byte, and rlock_owner
 * and rlock_count; 3.14 a PyMutex (bit 0 of _bits: locked), and a
 * _PyRecursiveMutex whose level counts the acquisitions after the first.
 */
static struct tp_error *lock_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, bool rlock,
				  struct tp_pyval **ret)
{
	char text[700];
	const char *tn;
	struct tp_error *err;
	if ((err = raw_tp_name(py, o->addr, &tn)))
		return err;
	if (!rlock) {
		uint8_t locked;
		if (LHAS(py, LOCK_LOCKED))
			err = py_read_u8(py, o->addr + LOFF(py, LOCK_LOCKED),
					 &locked);
		else if (LHAS(py, LOCK_MUTEX))
			err = py_read_u8(py, o->addr + LOFF(py, LOCK_MUTEX),
					 &locked);
		else
			return py_unsupported("no lock layout");
		if (err)
			return err;
		if (!LHAS(py, LOCK_LOCKED))
			locked &= 1;
		snprintf(text, sizeof(text), "<%s %s object at 0x%" PRIx64 ">",
			 locked ? "locked" : "unlocked", tn, o->addr);
		return py_text_node(py, st, o, text, ret);
	}
	uint64_t owner, count;
	if (LHAS(py, RLOCK_OWNER) && LHAS(py, RLOCK_COUNT)) {
		if ((err = py_read_ptr(py, o->addr + LOFF(py, RLOCK_OWNER),
				       &owner)) ||
		    (err = py_read_ptr(py, o->addr + LOFF(py, RLOCK_COUNT),
				       &count)))
			return err;
	} else if (LHAS(py, RLOCK_MUTEX) && LHAS(py, RLOCK_THREAD) &&
		   LHAS(py, RLOCK_LEVEL)) {
		uint8_t bits;
		uint64_t level;
		if ((err = py_read_u8(py, o->addr + LOFF(py, RLOCK_MUTEX),
				      &bits)) ||
		    (err = py_read_ptr(py, o->addr + LOFF(py, RLOCK_THREAD),
				       &owner)) ||
		    (err = py_read_ptr(py, o->addr + LOFF(py, RLOCK_LEVEL),
				       &level)))
			return err;
		count = bits & 1 ? level + 1 : 0;
	} else {
		return py_unsupported("no rlock layout");
	}
	snprintf(text, sizeof(text),
		 "<%s %s object owner=%" PRIu64 " count=%" PRIu64
		 " at 0x%" PRIx64 ">",
		 count > 0 ? "locked" : "unlocked", tn, owner, count, o->addr);
	return py_text_node(py, st, o, text, ret);
}

/* ---- struct sequences ---------------------------------------------------- */

/* The text of @v's repr, for the reprs that handle it as text. */
static struct tp_error *child_text(struct tp_python *py, struct dstate *st,
				   uint64_t addr, int depth, const char **ret)
{
	struct tp_pyval *v;
	*ret = NULL;
	struct tp_error *err = py_decode_child(py, st, addr, depth, &v);
	if (err || !v)
		return err;
	return py_repr_text(py, v, ret);
}

/*
 * structseq_repr: tp_name "(" then "name=%R" for each visible field
 * (Py_SIZE of the object; names from tp_members) joined by ", " ")".
 * Before 3.8 the text is made in a 512-byte buffer: the type name is cut
 * at 100 bytes, and a field that no longer fits (with room kept for
 * "...)") ends the list with "...".
 */
static struct tp_error *structseq_repr(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o,
				       struct tp_pyval **ret)
{
	uint64_t members, *items;
	size_t n;
	struct tp_error *err;
	if (!LHAS(py, TP_MEMBERS) || !LHAS(py, SIZEOF_MEMBERDEF))
		return py_unsupported("no member layout");
	if ((err = py_read_ptr(py, o->base + LOFF(py, TP_MEMBERS), &members)) ||
	    (err = py_seq_ptrs(py, o->addr, TP_PV_TUPLE, &items, &n)))
		return err;
	if (!members)
		return py_unsupported("no tp_members");
	if (!py_charge(st, strlen(o->tname) + 2 + 4 * n))
		return NULL;
	const char **names = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						   sizeof(*names));
	if (!names)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		uint64_t np;
		if ((err = py_read_ptr(py, members + i * (uint64_t)LOFF(py, SIZEOF_MEMBERDEF) +
						   LOFF(py, MEMBERDEF_NAME),
				       &np)))
			return err;
		if (!np)
			return py_unsupported("member without a name");
		if ((err = py_read_cstr(py, np, 256, &names[i])))
			return err;
	}
	/* the name is tp_name, printed with %s whatever the type */
	const char *tname;
	if ((err = py_raw_tp_name(py, o->type, &tname)))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	bool buffer = py->caps->structseq_repr_buffer;
	size_t end = STRUCTSEQ_BUFFER - 5;
	if (buffer && strlen(tname) > STRUCTSEQ_TYPE_MAX)
		tp_strbuf_append(&sb, tname, STRUCTSEQ_TYPE_MAX);
	else
		tp_strbuf_puts(&sb, tname);
	tp_strbuf_putc(&sb, '(');
	bool removelast = false;
	for (size_t i = 0; i < n; i++) {
		const char *r;
		if ((err = child_text(py, st, items[i], o->depth, &r)) || !r) {
			tp_strbuf_deinit(&sb);
			return err;
		}
		/* the buffer keeps "=" and ", " after each field */
		if (buffer && sb.len + strlen(names[i]) + strlen(r) + 3 > end) {
			tp_strbuf_puts(&sb, "...");
			removelast = false;
			break;
		}
		tp_strbuf_printf(&sb, "%s=%s, ", names[i], r);
		removelast = true;
	}
	if (removelast)
		tp_strbuf_truncate(&sb, sb.len - 2);
	tp_strbuf_putc(&sb, ')');
	err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/*
 * Whether @o's static type (its repr's) is a struct sequence type: a
 * direct C subclass of tuple with its own repr and named members, at
 * least as many as the object's visible items.  (The type's __dict__,
 * where n_sequence_fields is, is kept by the interpreter for 3.12+'s
 * static types: not asked.)
 */
static struct tp_error *is_structseq(struct tp_python *py,
				     const struct py_obj *o, bool *ret)
{
	uint64_t base, members, tuple_repr;
	int64_t n;
	struct tp_error *err;
	uint64_t tuple = py->target->sym[TP_SYM_PyTuple_Type];
	*ret = false;
	if (!o->base || !LHAS(py, TP_BASE) || !LHAS(py, TP_MEMBERS) ||
	    !LHAS(py, SIZEOF_MEMBERDEF) ||
	    (!(o->flags & TPF_TUPLE_SUBCLASS) && !py->caps->py2_objects))
		return NULL;
	if ((err = py_read_ptr(py, o->base + LOFF(py, TP_BASE), &base)) ||
	    (err = py_read_ptr(py, tuple + LOFF(py, TP_REPR), &tuple_repr)) ||
	    (err = py_read_ptr(py, o->base + LOFF(py, TP_MEMBERS), &members)) ||
	    (err = py_read_i64(py, o->addr + LOFF(py, OB_SIZE), &n)))
		return err;
	/* 2.7's struct sequences are laid out like tuples, not derived */
	if (py->caps->py2_objects &&
	    base == py->target->sym[TP_SYM_PyBaseObject_Type]) {
		uint64_t dict, nf = 0;
		if ((err = py_read_ptr(py, o->base + LOFF(py, TP_DICT),
				       &dict)) ||
		    !dict ||
		    (err = py_dict_get_str(py, dict, "n_sequence_fields",
					   &nf)) || !nf)
			return err;
		base = tuple;
	}
	if (base != tuple || o->repr_fn == tuple_repr || !members || n < 0 ||
	    n > 4096)
		return NULL;
	for (int64_t i = 0; i < n; i++) {
		uint64_t np;
		if ((err = py_read_ptr(py, members +
						   (uint64_t)i * (uint64_t)LOFF(py, SIZEOF_MEMBERDEF) +
						   LOFF(py, MEMBERDEF_NAME),
				       &np)))
			return err;
		if (!np)
			return NULL;
	}
	*ret = true;
	return NULL;
}

/* ---- re.Pattern ------------------------------------------------------- */

/*
 * pattern_repr: "re.compile(%.200R)" or "re.compile(%.200R, %S)" with the
 * flags named and joined by "|" (re.UNICODE left out of a str pattern
 * that has neither LOCALE nor ASCII), what no name covers as "0x%x".
 */
static struct tp_error *pattern_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{ "re.TEMPLATE", 1 }, { "re.IGNORECASE", 2 },
		{ "re.LOCALE", 4 }, { "re.MULTILINE", 8 },
		{ "re.DOTALL", 16 }, { "re.UNICODE", 32 },
		{ "re.VERBOSE", 64 }, { "re.DEBUG", 128 },
		{ "re.ASCII", 256 },
	};
	uint64_t pattern;
	int32_t flags, isbytes;
	const char *r;
	struct tp_error *err;
	if (!LHAS(py, PATTERN_PATTERN) || !LHAS(py, PATTERN_ISBYTES))
		return py_unsupported("no pattern layout");
	if ((err = py_read_ptr(py, o->addr + LOFF(py, PATTERN_PATTERN),
			       &pattern)) ||
	    (err = py_read_i32(py, o->addr + LOFF(py, PATTERN_FLAGS),
			       &flags)) ||
	    (err = py_read_i32(py, o->addr + LOFF(py, PATTERN_ISBYTES),
			       &isbytes)))
		return err;
	if (!pattern)
		return py_unsupported("no pattern");
	if ((err = child_text(py, st, pattern, o->depth, &r)) || !r)
		return err;
	if (!isbytes && (flags & (4 | 32 | 256)) == 32)
		flags &= ~32;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_puts(&sb, "re.compile(");
	/* %.200R: the first 200 code points of the repr */
	size_t cps = 0;
	for (const unsigned char *p = (const unsigned char *)r; *p; p++) {
		if ((*p & 0xc0) != 0x80 && cps++ == PATTERN_REPR_MAX)
			break;
		tp_strbuf_putc(&sb, (char)*p);
	}
	const char *sep = ", ";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].value) {
			tp_strbuf_printf(&sb, "%s%s", sep, names[i].name);
			sep = "|";
			flags &= ~names[i].value;
		}
	}
	if (flags)
		tp_strbuf_printf(&sb, "%s0x%x", sep, (unsigned)flags);
	tp_strbuf_putc(&sb, ')');
	err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/* ---- re.Match ------------------------------------------------------------ */

/* Longest group 0 read for a match's repr (it is read whole: which quote
 * its repr takes depends on every character). */
#define MATCH_SLICE_MAX (1u << 20)
/* %.50R of match_repr() */
#define MATCH_REPR_MAX 50

/*
 * match_repr (3.x): "<%s object; span=(%zd, %zd), match=%.50R>" with
 * tp_name, mark[0], mark[1] and group 0: getslice() of the searched string
 * (a str, or bytes when the pattern is a bytes pattern), None when the
 * string is None.  2.7 has no match_repr (object.__repr__).
 */
static struct tp_error *match_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	uint64_t string, pattern;
	int64_t mark[2];
	int32_t isbytes;
	const char *tname, *r = "None";
	struct tp_error *err;
	if (!LHAS(py, MATCH_STRING) || !LHAS(py, MATCH_PATTERN) ||
	    !LHAS(py, MATCH_MARK) || !LHAS(py, PATTERN_ISBYTES))
		return py_unsupported("no match layout");
	if ((err = py_raw_tp_name(py, o->type, &tname)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, MATCH_STRING),
			       &string)) ||
	    (err = py_read_ptr(py, o->addr + LOFF(py, MATCH_PATTERN),
			       &pattern)) ||
	    (err = py_read(py, o->addr + LOFF(py, MATCH_MARK), mark,
			   sizeof(mark))))
		return err;
	if (!string || !pattern)
		return py_unsupported("match without string or pattern");
	if (!py_is_none(py, string) && mark[0] >= 0) {
		struct tp_pyval *group0;
		if ((err = py_read_i32(py, pattern + LOFF(py, PATTERN_ISBYTES),
				       &isbytes)) ||
		    (err = py_slice_node(py, string, isbytes != 0, mark[0],
					 mark[1], MATCH_SLICE_MAX, &group0)) ||
		    (err = py_repr_text(py, group0, &r)))
			return err;
	}
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s object; span=(%lld, %lld), match=", tname,
			 (long long)mark[0], (long long)mark[1]);
	/* %.50R: the first 50 code points of the repr */
	size_t cps = 0;
	for (const unsigned char *p = (const unsigned char *)r; *p; p++) {
		if ((*p & 0xc0) != 0x80 && cps++ == MATCH_REPR_MAX)
			break;
		tp_strbuf_putc(&sb, (char)*p);
	}
	tp_strbuf_putc(&sb, '>');
	err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/* ---- io ------------------------------------------------------------------ */

/*
 * 3.x builds _io into libpython: its objects' fields are in the layout
 * record.  2.7 keeps it in an extension module, whose fixed structs
 * tp_layout_io27() knows.
 */

/* Buffered objects stacked on one another that io_name() follows. */
#define IO_MAX_NESTING 8

/*
 * Where the _io field @id is (its bit position for a bit-field): the
 * layout record's entry, else 2.7's fixed struct.  False when unknown.
 */
static bool io_field(struct tp_python *py, enum tp_layout_id id, int64_t *ret)
{
	if (py->L.v[id] != TP_LAYOUT_ABSENT) {
		*ret = py->L.v[id];
		return true;
	}
	return py->caps->io_structs_27 && LHAS(py, SIZEOF_PYOBJECT) &&
	       tp_layout_io27(id, LOFF(py, SIZEOF_PYOBJECT), ret);
}

static struct tp_error *io_ptr(struct tp_python *py, uint64_t obj,
			       enum tp_layout_id id, uint64_t *ret)
{
	int64_t off;
	if (!io_field(py, id, &off))
		return py_unsupported("no io layout");
	return py_read_ptr(py, obj + (uint64_t)off, ret);
}

/* The bit-field @id of the fileio at @obj; an @optional one that the
 * version lacks (2.7's created) reads as 0. */
static struct tp_error *io_bit(struct tp_python *py, uint64_t obj,
			       enum tp_layout_id id, bool optional,
			       bool *ret)
{
	int64_t pos;
	uint8_t byte;
	struct tp_error *err;
	*ret = false;
	if (!io_field(py, id, &pos))
		return optional ? NULL : py_unsupported("no fileio layout");
	if (pos < 0 || (err = py_read_u8(py, obj + (uint64_t)(pos / 8),
					 &byte)))
		return pos < 0 ? py_unsupported("bad fileio layout") : err;
	*ret = (byte >> (pos % 8)) & 1;
	return NULL;
}

/* The type name (tp_name) of the object at @addr. */
static struct tp_error *tp_name_of(struct tp_python *py, uint64_t addr,
				   const char **ret)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, addr, &type);
	return err ? err : py_raw_tp_name(py, type, ret);
}

static bool is_buffered(const char *tn)
{
	return !strcmp(tn, "_io.BufferedReader") ||
	       !strcmp(tn, "_io.BufferedWriter") ||
	       !strcmp(tn, "_io.BufferedRandom");
}

/* Whether the object at @addr is exactly a str (2.7: str or unicode) or
 * an int (2.7: int or long): a class attribute that runs no code. */
static struct tp_error *is_plain_value(struct tp_python *py, uint64_t addr,
				       bool *ret)
{
	static const enum tp_symbol_id plain[] = {
		TP_SYM_PyUnicode_Type, TP_SYM_PyString_Type,
		TP_SYM_PyLong_Type, TP_SYM_PyInt_Type,
	};
	uint64_t type;
	struct tp_error *err = py_type_of(py, addr, &type);
	*ret = false;
	for (size_t i = 0; !err && i < sizeof(plain) / sizeof(plain[0]); i++)
		*ret = *ret || (py->target->sym[plain[i]] &&
				type == py->target->sym[plain[i]]);
	return err;
}

/*
 * "name" in the __dict__ of the first class of @type's MRO that has it
 * (_PyType_Lookup), 0 when none has.  3.12+ keeps the dicts of static
 * builtin types out of their type objects (tp_dict NULL): object's has
 * no "name"; another such class makes the answer unknown.
 */
static struct tp_error *mro_name(struct tp_python *py, uint64_t type,
				 uint64_t *ret)
{
	uint64_t *classes;
	size_t n;
	struct tp_error *err;
	*ret = 0;
	if ((err = py_type_mro(py, type, &classes, &n)))
		return err;
	if (!n)
		return py_unsupported("type without MRO");
	for (size_t i = 0; i < n; i++) {
		uint64_t dict;
		if ((err = py_read_ptr(py, classes[i] + LOFF(py, TP_DICT),
				       &dict)))
			return err;
		if (!dict && classes[i] !=
				     py->target->sym[TP_SYM_PyBaseObject_Type])
			return py_unsupported("a class dict out of reach");
		if (dict && ((err = py_dict_get_str(py, dict, "name", ret)) ||
			     *ret))
			return err;
	}
	return NULL;
}

/*
 * getattr(obj, "name") for an instance of a Python class (@type) whose
 * attribute access is the generic one (tp_getattro is
 * PyObject_GenericGetAttr: no __getattr__ or __getattribute__ of its
 * own): the value in its __dict__ when no class of its MRO has "name", or
 * 0 (AttributeError); a str or int class attribute when its __dict__ has
 * none.  Anything else in a class (a property, a function...) runs code:
 * unsupported.
 */
static struct tp_error *python_object_name(struct tp_python *py,
					   uint64_t obj, uint64_t type,
					   uint64_t *ret)
{
	uint64_t getattro, descr;
	bool plain = false;
	struct tp_error *err;
	*ret = 0;
	if (!LHAS(py, TP_GETATTRO) ||
	    !py->target->sym[TP_SYM_PyObject_GenericGetAttr])
		return py_unsupported("no tp_getattro");
	if ((err = py_read_ptr(py, type + LOFF(py, TP_GETATTRO), &getattro)))
		return err;
	if (getattro != py->target->sym[TP_SYM_PyObject_GenericGetAttr])
		return py_unsupported("attribute access of its own");
	if ((err = mro_name(py, type, &descr)) ||
	    (descr && (err = is_plain_value(py, descr, &plain))))
		return err;
	if (descr && !plain)
		return py_unsupported("a name that may run code");
	if ((err = py_instance_attr(py, obj, "name", ret)))
		return err;
	if (!*ret)
		*ret = descr;
	return NULL;
}

/*
 * socket.SocketIO's name (socket.makefile()'s raw object): its property
 * returns -1 once the SocketIO is closed (io's "__IOBase_closed" in its
 * __dict__, as the closed getter finds it), else self._sock.fileno(), the
 * socket.socket's sock_fd (-1 once the socket is closed).
 */
static struct tp_error *socketio_name(struct tp_python *py, uint64_t obj,
				      uint64_t type, int64_t *ret)
{
	uint64_t descr, closed, sock, stype;
	int32_t fd;
	struct tp_error *err;
	if ((err = py_class_attr(py, type, "name", &descr)))
		return err;
	if (!descr || (err = py_type_of(py, descr, &stype)))
		return err ? err : py_unsupported("SocketIO without name");
	if (strcmp(py_type_name(py, stype), "property"))
		return py_unsupported("SocketIO name is no property");
	if ((err = py_instance_attr(py, obj, "__IOBase_closed", &closed)))
		return err;
	if (closed) {
		*ret = -1;
		return NULL;
	}
	if ((err = py_instance_attr(py, obj, "_sock", &sock)))
		return err;
	if (!sock || (err = py_type_of(py, sock, &stype)))
		return err ? err : py_unsupported("SocketIO without _sock");
	if (strcmp(py_type_name(py, stype), "socket.socket"))
		return py_unsupported("SocketIO over another object");
	if ((err = py_socket_fd(py, sock, &fd)))
		return err;
	*ret = fd;
	return NULL;
}

/*
 * repr(obj.name), or NULL when getattr raises AttributeError (the reprs
 * leave the name out then), for the objects whose name is known without
 * running code:
 *  - FileIO, BytesIO, BufferedRWPair: no class of theirs has "name"; it
 *    is the one in their __dict__ (open() puts a FileIO's there), or none;
 *  - BufferedReader, Writer and Random: their name getter returns their
 *    raw object's;
 *  - socket.SocketIO: socketio_name();
 *  - an instance of another Python class: python_object_name().
 * Any other C object may compute its name: unsupported.  A Python
 * subclass of an io type is one of those Python classes.  @self is the
 * object whose repr is made, @obj the one whose name it prints.
 */
static struct tp_error *io_name(struct tp_python *py, struct dstate *st,
				uint64_t self, uint64_t obj, int depth,
				const char **ret)
{
	uint64_t name = 0, type, flags;
	const char *tn;
	struct tp_error *err;
	*ret = NULL;
	for (int i = 0;; i++) {
		if ((err = tp_name_of(py, obj, &tn)))
			return err;
		if (!is_buffered(tn))
			break;
		if (i == IO_MAX_NESTING)
			return py_unsupported("buffered objects too deep");
		if ((err = io_ptr(py, obj, TP_L_BUFFERED_RAW, &obj)))
			return err;
		if (!obj)
			return py_unsupported("buffered object without raw");
	}
	if ((err = py_type_of(py, obj, &type)) ||
	    (err = py_read_ptr(py, type + LOFF(py, TP_FLAGS), &flags)))
		return err;
	if (!strcmp(tn, "_io.FileIO") || !strcmp(tn, "_io.BytesIO") ||
	    !strcmp(tn, "_io.BufferedRWPair")) {
		err = py_instance_attr(py, obj, "name", &name);
	} else if (!(flags & TPF_HEAPTYPE)) {
		return py_unsupported("name of another C object");
	} else if (!strcmp(py_type_name(py, type), "socket.SocketIO")) {
		int64_t fd = 0;
		char text[24];
		if ((err = socketio_name(py, obj, type, &fd)))
			return err;
		snprintf(text, sizeof(text), "%" PRId64, fd);
		*ret = tp_pyval_arena_strdup(py->arena, text);
		return *ret ? NULL : &tp_error_nomem;
	} else {
		err = python_object_name(py, obj, type, &name);
	}
	if (err || !name)
		return err;
	/* repr(name) would be repr(self) again: a RuntimeError (or a
	 * RecursionError) in the target */
	if (name == self)
		return py_unsupported("a name that is the file itself");
	if ((err = child_text(py, st, name, depth, ret)) || !*ret)
		return err ? err : py_unsupported("name too long");
	return NULL;
}

/*
 * buffered_repr: "<%s name=%R>" (tp_name, self.name), "<%s>" without a
 * name.  textiowrapper_repr: "<_io.TextIOWrapper", " name=%R" (the
 * buffer's name, io_name()), " mode=%R" (3.x: the "mode" that open() puts
 * in its __dict__), " encoding=%R>", each of name and mode left out when
 * the attribute is missing.
 */
static struct tp_error *io_repr(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, bool text,
				struct tp_pyval **ret)
{
	const char *name, *tn, *mode = NULL, *encoding = NULL;
	uint64_t buffered = o->addr;
	struct tp_error *err;
	if ((err = tp_name_of(py, o->addr, &tn)))
		return err;
	/* a subclass: some versions print a fixed "<_io.TextIOWrapper" */
	if (strcmp(tn, o->base_name))
		return py_unsupported("io subclass");
	if (text) {
		uint64_t enc, m = 0;
		if ((err = io_ptr(py, o->addr, TP_L_TEXTIO_BUFFER,
				  &buffered)) ||
		    (err = io_ptr(py, o->addr, TP_L_TEXTIO_ENCODING, &enc)))
			return err;
		if (!buffered || !enc)
			return py_unsupported("textio detached or not initialized");
		if (py->caps->io_repr_mode &&
		    (err = py_instance_attr(py, o->addr, "mode", &m)))
			return err;
		if (m && ((err = child_text(py, st, m, o->depth, &mode)) ||
			  !mode))
			return err;
		if ((err = child_text(py, st, enc, o->depth, &encoding)) ||
		    !encoding)
			return err;
	}
	if ((err = io_name(py, st, o->addr, buffered, o->depth, &name)))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s", tn);
	if (name)
		tp_strbuf_printf(&sb, " name=%s", name);
	if (mode)
		tp_strbuf_printf(&sb, " mode=%s", mode);
	if (encoding)
		tp_strbuf_printf(&sb, " encoding=%s", encoding);
	tp_strbuf_putc(&sb, '>');
	err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/*
 * fileio_repr: "<_io.FileIO [closed]>" once fd < 0; else "<_io.FileIO
 * name=%R" (its __dict__'s "name", as io_name()) or "<_io.FileIO fd=%d"
 * without one, " mode='%s'" (mode_string()), 3.x's " closefd=True" or
 * "False", ">".  mode_string: created "xb", appending "ab" ("+" when
 * readable), readable "rb" ("rb+" when writable too), else "wb".
 * From 3.12 the type's tp_name stands for "_io.FileIO": the same for the
 * type itself, and subclasses are not rendered.
 */
static struct tp_error *fileio_repr(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret)
{
	const char *tn, *name, *mode;
	int64_t off;
	int32_t fd;
	bool created, readable, writable, appending, closefd;
	struct tp_error *err;
	if ((err = tp_name_of(py, o->addr, &tn)))
		return err;
	if (strcmp(tn, o->base_name))
		return py_unsupported("io subclass");
	if (!io_field(py, TP_L_FILEIO_FD, &off))
		return py_unsupported("no fileio layout");
	if ((err = py_read_i32(py, o->addr + (uint64_t)off, &fd)))
		return err;
	if (fd < 0)
		return py_text(py, st, o, ret, "<%s [closed]>", tn);
	if ((err = io_bit(py, o->addr, TP_L_FILEIO_CREATED, true,
			  &created)) ||
	    (err = io_bit(py, o->addr, TP_L_FILEIO_READABLE, false,
			  &readable)) ||
	    (err = io_bit(py, o->addr, TP_L_FILEIO_WRITABLE, false,
			  &writable)) ||
	    (err = io_bit(py, o->addr, TP_L_FILEIO_APPENDING, false,
			  &appending)) ||
	    (err = io_bit(py, o->addr, TP_L_FILEIO_CLOSEFD, false, &closefd)))
		return err;
	if (created)
		mode = readable ? "xb+" : "xb";
	else if (appending)
		mode = readable ? "ab+" : "ab";
	else if (readable)
		mode = writable ? "rb+" : "rb";
	else
		mode = "wb";
	if ((err = io_name(py, st, o->addr, o->addr, o->depth, &name)))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s", tn);
	if (name)
		tp_strbuf_printf(&sb, " name=%s", name);
	else
		tp_strbuf_printf(&sb, " fd=%d", (int)fd);
	tp_strbuf_printf(&sb, " mode='%s'", mode);
	if (py->caps->io_repr_mode)
		tp_strbuf_printf(&sb, " closefd=%s",
				 closefd ? "True" : "False");
	tp_strbuf_putc(&sb, '>');
	err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/* ---- array.array --------------------------------------------------------- */

static struct tp_pyval *number_node(struct tp_python *py, char code,
				    const uint8_t *p, size_t size)
{
	char buf[40];
	if (code == 'f' || code == 'd') {
		struct tp_pyval *v = py_new_node(py, TP_PV_FLOAT, 0, "float");
		if (!v)
			return NULL;
		if (code == 'f') {
			float f;
			memcpy(&f, p, 4);
			v->u.real = f;
		} else {
			memcpy(&v->u.real, p, 8);
		}
		return v;
	}
	bool is_signed = code == 'b' || code == 'h' || code == 'i' ||
			 code == 'l' || code == 'q';
	uint64_t u = 0;
	memcpy(&u, p, size);
	if (is_signed && size < 8 && (u >> (8 * size - 1)) & 1)
		u |= ~(uint64_t)0 << (8 * size);
	if (is_signed)
		snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)u);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, u);
	struct tp_pyval *v = py_new_node(py, TP_PV_INT, 0, "int");
	if (!v || !(v->u.digits = tp_pyval_arena_strdup(py->arena, buf)))
		return NULL;
	/* 2.7: an array of 'L' or 'q'... gives longs where an int does not
	 * fit: array_repr prints list(self), whose items keep their type */
	if (py->caps->py2_objects &&
	    (code == 'L' || code == 'q' || code == 'Q' ||
	     (code == 'I' && size == 8)))
		v->flags |= TP_PV_LONG;
	return v;
}

/*
 * array_repr: "%s('%c')" when empty, else "%s('%c', %R)" of tolist() (of
 * tounicode() for 'u' and 'w'); 2.7 writes "array" and the 'c' code's
 * tostring().  The name is the type's (_PyType_Name) from 3.7, "array"
 * before.
 */
static struct tp_error *array_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	static const struct {
		char code;
		unsigned size;
	} codes[] = {
		{ 'b', 1 }, { 'B', 1 }, { 'h', 2 }, { 'H', 2 }, { 'i', 4 },
		{ 'I', 4 }, { 'l', 8 }, { 'L', 8 }, { 'q', 8 }, { 'Q', 8 },
		{ 'f', 4 }, { 'd', 8 }, { 'u', 4 }, { 'w', 4 }, { 'c', 1 },
	};
	uint64_t var = (uint64_t)LOFF(py, SIZEOF_PYOBJECT) + 8, items, descr;
	int64_t n;
	int32_t isize;
	uint8_t code;
	struct tp_error *err;
	if (!LHAS(py, SIZEOF_PYOBJECT))
		return py_unsupported("no object size");
	if ((err = py_read_i64(py, o->addr + LOFF(py, OB_SIZE), &n)) ||
	    (err = py_read_ptr(py, o->addr + var + ARRAY_ITEMS, &items)) ||
	    (err = py_read_ptr(py, o->addr + var + ARRAY_DESCR, &descr)) ||
	    (err = py_read_u8(py, descr, &code)) ||
	    (err = py_read_i32(py, descr + ARRAYDESCR_ITEMSIZE, &isize)))
		return err;
	size_t i;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == (char)code)
			break;
	if (i == sizeof(codes) / sizeof(codes[0]) ||
	    codes[i].size != (unsigned)isize || n < 0 ||
	    n > (int64_t)PY_MAX_ITEMS)
		return tp_error_fault(o->addr, "bad array");
	const char *name = "array";
	if (py->caps->array_repr_type_name && o->type != o->base &&
	    (err = py_type_short_name(py, o->type, &name)))
		return err;
	if (n == 0) {
		char text[600];
		snprintf(text, sizeof(text), "%s('%c')", name, code);
		return py_text_node(py, st, o, text, ret);
	}
	/* the bound first: nothing is read for an array too long */
	if (!py_charge(st, strlen(name) + 8 + 3 * (size_t)n))
		return NULL;
	size_t bytes = (size_t)n * (size_t)isize;
	uint8_t *raw = malloc(bytes);
	if (!raw)
		return &tp_error_nomem;
	if ((err = py_read(py, items, raw, bytes))) {
		free(raw);
		return err;
	}
	struct tp_pyval *body;
	if (code == 'u' || code == 'w' || code == 'c') {
		bool text = code != 'c';
		body = py_new_node(py, text ? TP_PV_STR : TP_PV_BYTES, 0,
				   text ? (py->caps->py2_objects ? "unicode"
								  : "str")
					: "str");
		if (body && text) {
			body->u.str.cp = tp_pyval_arena_calloc(py->arena,
							       (size_t)n, 4);
			body->u.str.len = (size_t)n;
			if (body->u.str.cp)
				memcpy(body->u.str.cp, raw, bytes);
			for (size_t j = 0; body->u.str.cp && j < (size_t)n; j++)
				if (body->u.str.cp[j] > 0x10ffff) {
					free(raw);
					return tp_error_fault(o->addr,
							      "bad character");
				}
			if (!body->u.str.cp)
				body = NULL;
		} else if (body) {
			body->u.bytes.data = tp_pyval_arena_memdup(py->arena,
								   raw, bytes);
			body->u.bytes.len = bytes;
			if (!body->u.bytes.data)
				body = NULL;
		}
	} else {
		body = py_synthetic(py, TP_PV_LIST, (size_t)n);
		for (size_t j = 0; body && j < (size_t)n; j++)
			if (!(body->u.seq.items[j] = number_node(
				      py, (char)code, raw + j * (size_t)isize,
				      (size_t)isize)))
				body = NULL;
	}
	free(raw);
	if (!body)
		return &tp_error_nomem;
	struct tp_pyval *c = py_composite(py, o, 2, NULL);
	if (!c)
		return &tp_error_nomem;
	char open[600];
	snprintf(open, sizeof(open), "%s('%c', ", name, code);
	size_t k = 0;
	if (!py_part(py, c, &k, open, body) || !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- dispatch ------------------------------------------------------------ */

struct tp_error *py_decode_extra(struct tp_python *py, struct dstate *st,
				 const struct py_obj *o,
				 struct tp_pyval **ret, bool *handled)
{
	const char *b = o->base_name;
	struct tp_error *err;
	if (!b)
		return NULL;
	*handled = true;
	if (!strcmp(b, "functools.partial"))
		return partial_repr(py, st, o, ret);
	if (!strcmp(b, "weakref") || !strcmp(b, "weakref.ReferenceType"))
		return weakref_repr(py, st, o, ret);
	if (!strcmp(b, "memoryview"))
		return memory_repr(py, st, o, ret);
	if (!strcmp(b, "_thread.lock"))
		return lock_repr(py, st, o, false, ret);
	if (!strcmp(b, "_thread.RLock"))
		return lock_repr(py, st, o, true, ret);
	if (!strcmp(b, "re.Pattern") || !strcmp(b, "_sre.SRE_Pattern"))
		return pattern_repr(py, st, o, ret);
	if ((!strcmp(b, "re.Match") || !strcmp(b, "_sre.SRE_Match")) &&
	    !py->caps->py2_objects)
		return match_repr(py, st, o, ret);
	if (!strcmp(b, "_io.TextIOWrapper"))
		return io_repr(py, st, o, true, ret);
	if (is_buffered(b))
		return io_repr(py, st, o, false, ret);
	if (!strcmp(b, "_io.FileIO"))
		return fileio_repr(py, st, o, ret);
	if (!strcmp(b, "array.array"))
		return array_repr(py, st, o, ret);
	if (!strcmp(b, "_socket.socket"))
		return py_socket_repr(py, st, o, 0, ret);
	bool ss;
	*handled = false;
	if ((err = is_structseq(py, o, &ss)) || !ss)
		return err;
	*handled = true;
	return structseq_repr(py, st, o, ret);
}
