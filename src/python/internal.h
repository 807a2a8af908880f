/* SPDX-License-Identifier: MIT */
/* Private to the decoder: the state shared by pystack.c and pyobj.c. */
#ifndef TRIPOD_PYTHON_INTERNAL_H
#define TRIPOD_PYTHON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "python/caps.h"
#include "python/python.h"
#include "python/pyval.h"

/* Type flags (Include/object.h), stable across the versions we read. */
#define TPF_HEAPTYPE (1UL << 9)
#define TPF_MANAGED_DICT (1UL << 4)     /* 3.11+ */
#define TPF_INLINE_VALUES (1UL << 2)    /* 3.13+ */
#define TPF_LONG_SUBCLASS (1UL << 24)
#define TPF_LIST_SUBCLASS (1UL << 25)
#define TPF_TUPLE_SUBCLASS (1UL << 26)
#define TPF_BYTES_SUBCLASS (1UL << 27)
#define TPF_UNICODE_SUBCLASS (1UL << 28)
#define TPF_DICT_SUBCLASS (1UL << 29)
#define TPF_TYPE_SUBCLASS (1UL << 31)

/* Code flags */
#define CO_OPTIMIZED 0x1
#define CO_NEWLOCALS 0x2
#define CO_VARARGS 0x4
#define CO_VARKEYWORDS 0x8

/* 3.11+ localsplus kinds */
#define CO_FAST_HIDDEN 0x10
#define CO_FAST_LOCAL 0x20
#define CO_FAST_CELL 0x40
#define CO_FAST_FREE 0x80

struct memo_entry {
	uint64_t addr;
	struct tp_pyval *val;
	size_t cost;             /* lower bound of its repr length */
	/*
	 * A top-level value that passed the budget: met again, anywhere, it
	 * is too long at once (a value decoded once per snapshot, not once
	 * per frame that holds it).
	 */
	bool toolong;
};

struct type_entry {
	uint64_t addr;
	const char *name;        /* object.__repr__ name, arena-owned */
};

struct tp_python {
	struct tp_target *target;
	struct tp_memsrc *mem;
	struct tp_python_opts opts;
	struct tp_layout L;
	const struct tp_python_caps *caps; /* what this version has */
	unsigned major, minor, micro;
	uint64_t hexversion;
	char version[32];
	const char *layout_source;
	uint64_t runtime;        /* &_PyRuntime, 0 before 3.7 */
	uint64_t set_dummy;      /* the set dummy key, 0 if unknown */
	int digit_shift;         /* 15 or 30 */
	unsigned ucd_table;      /* TP_PV_UCD table of this version's str */
	/*
	 * tp_repr of the builtin types: an object prints like a builtin type
	 * when its type's tp_repr is that type's (subclasses that do not
	 * override __repr__ included), which is how CPython decides too.
	 */
	struct {
		uint64_t long_, int_, float_, unicode, bytes, bytearray;
		uint64_t tuple, list, dict, function, module, code, type;
	} repr_fn;

	/* per snapshot walk */
	const struct tp_sockets *sockets;  /* its sockets note, or NULL */
	struct tp_pyval_arena *arena;
	struct memo_entry *memo;
	size_t memo_cap, memo_n;
	struct type_entry *types;
	size_t types_cap, types_n;
};

#define LOFF(py, id) ((py)->L.v[TP_L_##id])
#define LHAS(py, id) ((py)->L.v[TP_L_##id] != TP_LAYOUT_ABSENT)

struct tp_error *py_read(struct tp_python *py, uint64_t addr, void *buf,
			 size_t len);
struct tp_error *py_read_ptr(struct tp_python *py, uint64_t addr,
			     uint64_t *ret);
struct tp_error *py_read_i64(struct tp_python *py, uint64_t addr,
			     int64_t *ret);
struct tp_error *py_read_i32(struct tp_python *py, uint64_t addr,
			     int32_t *ret);
struct tp_error *py_read_u8(struct tp_python *py, uint64_t addr,
			    uint8_t *ret);

/** ob_type of the object at @addr. */
struct tp_error *py_type_of(struct tp_python *py, uint64_t addr,
			    uint64_t *ret);

/**
 * Text of a str object (3.x str, 2.7 str or unicode) as UTF-8 in the
 * arena; at most @max code points (longer: error TP_ERR_LIMIT).
 */
struct tp_error *py_str_utf8(struct tp_python *py, uint64_t addr, size_t max,
			     const char **ret);

/** Decode the object at @addr into a value graph (never fails for bad
 *  memory: those become UNREADABLE nodes; errors are OOM only). */
struct tp_error *py_value(struct tp_python *py, uint64_t addr,
			  struct tp_pyval **ret);

/**
 * The attributes of @value's object (tp_rlocal.attrs) when it is an
 * instance of a class defined in Python, else *@ret NULL; each attribute
 * value is decoded and limited on its own (pyattrs.c).  Errors: nomem.
 */
struct tp_error *py_local_attributes(struct tp_python *py,
				     const struct tp_pyval *value,
				     struct tp_pyval **ret);

/** Begin/end a snapshot's object decoding (memo and arena). */
void py_objects_reset(struct tp_python *py, struct tp_pyval_arena *arena);

/** Iterate a dict: calls @fn(key addr, value addr) for each live item. */
typedef bool py_dict_fn(void *arg, uint64_t key, uint64_t value);
struct tp_error *py_dict_iter(struct tp_python *py, uint64_t dict,
			      py_dict_fn *fn, void *arg);

/** Value addr of str key @name in dict @dict, 0 if absent. */
struct tp_error *py_dict_get_str(struct tp_python *py, uint64_t dict,
				 const char *name, uint64_t *ret);

/**
 * Iterate the attributes an instance keeps in its __dict__ (or inline or
 * split values): nothing when it has none.
 */
struct tp_error *py_instance_dict_iter(struct tp_python *py, uint64_t obj,
				       py_dict_fn *fn, void *arg);

/** Attribute @name from the instance dict (or inline values) of @obj. */
struct tp_error *py_instance_attr(struct tp_python *py, uint64_t obj,
				  const char *name, uint64_t *ret);

/** Integer value of an int object that fits in 64 bits. */
struct tp_error *py_int_value(struct tp_python *py, uint64_t addr,
			      uint64_t *ret, bool *negative);

/**
 * What frame_repr() shows of the frame object at @fobj: its code's
 * co_filename object (*@ret_file), co_name as UTF-8 (*@ret_name, in the
 * arena) and PyFrame_GetLineNumber() (*@ret_line).  Errors: fault (no
 * code object, unreadable), unsupported (no layout, no line).
 */
struct tp_error *py_frame_object_where(struct tp_python *py, uint64_t fobj,
				       uint64_t *ret_file,
				       const char **ret_name, int *ret_line);

/**
 * Where the generator or coroutine at @gen is, as asyncio's
 * _format_coroutine() tells it: *@ret_frame whether it still has a frame
 * (gi_frame / cr_frame is not None), then *@ret_line is its f_lineno,
 * else its code's co_firstlineno; *@ret_file is co_filename as UTF-8 (in
 * the arena).  3.x only.  Errors: fault, unsupported (no layout, no
 * line).
 */
struct tp_error *py_gen_where(struct tp_python *py, uint64_t gen,
			      bool *ret_frame, const char **ret_file,
			      int *ret_line);

/** The object.__repr__ name of type @type ("int", "__main__.Foo"). */
const char *py_type_name(struct tp_python *py, uint64_t type);

/**
 * Decode the interpreter frame (3.11+) at @iframe, whose f_executable,
 * instruction pointer and owner were read as @code, @instr, @owner, into
 * @rf (strings and locals in the arena).  *@skip: it is no Python frame
 * to show (not a code object, or not past its prologue).  A problem with
 * its locals is recorded in rf->error; errors are for the frame itself.
 */
struct tp_error *py_iframe_decode(struct tp_python *py, uint64_t iframe,
				  uint64_t code, uint64_t instr, uint8_t owner,
				  struct tp_rframe *rf, bool *skip);
/** The same for a PyFrameObject (2.7-3.10). */
struct tp_error *py_frameobj_decode(struct tp_python *py, uint64_t frame,
				    struct tp_rframe *rf);

/**
 * The asyncio tasks of every event loop (pyasync.c) into @snap->tasks;
 * problems go to @snap->tasks_error, never stop the walk.  @tstates are
 * the thread states walked (3.14+ keeps tasks in per-thread lists).
 */
struct tp_error *py_asyncio_walk(struct tp_python *py, uint64_t interp,
				 const uint64_t *tstates, size_t ntstates,
				 struct tp_rsnapshot *snap);

#endif /* TRIPOD_PYTHON_INTERNAL_H */
