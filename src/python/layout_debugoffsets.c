/* SPDX-License-Identifier: MIT */
/*
 * _Py_DebugOffsets, 3.13 to 3.15.
 *
 * The block is CPython's own promise to out-of-process debuggers, but only
 * within a minor version: its members, their order and its size change from
 * one minor version to the next (pycore_runtime.h says so), and nothing in
 * the block describes its own layout.  So the block of each minor version is
 * a C struct here, written from that version's header (3.13
 * Include/internal/pycore_runtime.h, 3.14+ pycore_debug_offsets.h) and
 * checked against the DWARF of a build (tests/python/test_layout.c), and a
 * block whose `version` names another minor version is refused rather than
 * guessed at.  The cookie and version come first in every version so far,
 * which is what lets us pick.  A new version: its struct, its mapping
 * (mostly the previous version's), one line in versions[].
 *
 * The values are offsetof()/sizeof() of the running build, written by its
 * static initialiser, so they are exact for that build -- the point of
 * reading them.  A snapshot can still hold garbage there (a corrupt core, a
 * wrong address), hence the checks: every offset must lie inside the
 * structure whose size the same group gives, and sizes must be plausible.
 *
 * Two mappings are not one to one: the layout record keeps the GIL fields
 * relative to struct _gil_runtime_state (as DWARF gives them), while the
 * block gives them relative to PyInterpreterState, so they are rebased on
 * interpreter_state.gil_runtime_state; and PyVarObject.ob_size is taken from
 * tuple_object.ob_size (offsetof(PyTupleObject, ob_base.ob_size), the same
 * offset since ob_base comes first).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "python/layout_debugoffsets.h"

/* Include/internal/pycore_runtime.h of CPython 3.13 (checked: 3.13.0). */
struct debug_offsets_313 {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules,
			sysdict, builtins, ceval_gil, gil_runtime_state,
			gil_runtime_state_enabled, gil_runtime_state_locked,
			gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id,
			native_thread_id, datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			owner;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable,
			firstlineno, argcount, localsplusnames,
			localspluskinds, co_code_adaptive;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
};

/*
 * Include/internal/pycore_debug_offsets.h of CPython 3.14 (checked against
 * the DWARF of Debian's 3.14.10: struct _Py_DebugOffsets, 760 bytes).
 * New since 3.13: threads_main, code_object_generation, tlbc_generation,
 * stackpointer, tlbc_index, co_tlbc, set_object, gen_object, llist_node,
 * debugger_support (PEP 768).
 */
struct debug_offsets_314 {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc,
			imports_modules, sysdict, builtins, ceval_gil,
			gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder,
			code_object_generation, tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id,
			native_thread_id, datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			owner, stackpointer, tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable,
			firstlineno, argcount, localsplusnames,
			localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags;
	} type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support,
			remote_debugging_enabled, debugger_pending_call,
			debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

/*
 * The same header of CPython 3.15 (checked against the DWARF of Debian's
 * 3.15.2: 888 bytes).  New since 3.14: thread_state base_frame,
 * last_profiled_frame(_seq), holds_gil, gil_requested, current_exception,
 * exc_state; err_stackitem; type_object tp_basicsize, tp_dictoffset;
 * heap_type_object; unicode_object compactunicodeobject_size; gc frame and
 * generation stats.
 */
struct debug_offsets_315 {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	struct {
		uint64_t size, finalizing, interpreters_head;
	} runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc,
			imports_modules, sysdict, builtins, ceval_gil,
			gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder,
			code_object_generation, tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, base_frame,
			last_profiled_frame, last_profiled_frame_seq,
			thread_id, native_thread_id, datastack_chunk, status,
			holds_gil, gil_requested, current_exception, exc_state;
	} thread_state;
	struct {
		uint64_t exc_value;
	} err_stackitem;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			owner, stackpointer, tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable,
			firstlineno, argcount, localsplusnames,
			localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct {
		uint64_t size, ob_type;
	} pyobject;
	struct {
		uint64_t size, tp_name, tp_repr, tp_flags, tp_basicsize,
			tp_dictoffset;
	} type_object;
	struct {
		uint64_t size, ht_cached_keys;
	} heap_type_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} tuple_object;
	struct {
		uint64_t size, ob_item, ob_size;
	} list_object;
	struct {
		uint64_t size, used, table, mask;
	} set_object;
	struct {
		uint64_t size, ma_keys, ma_values;
	} dict_object;
	struct {
		uint64_t size, ob_fval;
	} float_object;
	struct {
		uint64_t size, lv_tag, ob_digit;
	} long_object;
	struct {
		uint64_t size, ob_size, ob_sval;
	} bytes_object;
	struct {
		uint64_t size, state, length, asciiobject_size,
			compactunicodeobject_size;
	} unicode_object;
	struct {
		uint64_t size, collecting, frame, generation_stats_size,
			generation_stats;
	} gc;
	struct {
		uint64_t size, gi_name, gi_iframe, gi_frame_state;
	} gen_object;
	struct {
		uint64_t next, prev;
	} llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support,
			remote_debugging_enabled, debugger_pending_call,
			debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

#define COOKIE "xdebugpy"
#define MAX_STRUCT_SIZE (16u << 20)

/* One offset of the block that is an entry of the layout record. */
struct mapping {
	const char *name;       /* for messages: "thread_state.next" */
	size_t field;           /* offset of the value in the block */
	size_t group_size;      /* offset of its group's `size` */
	enum tp_layout_id id;
};

/* A size the block gives (sizeof a structure) that is an entry. */
struct size_mapping {
	const char *name;
	size_t field;
	enum tp_layout_id id;
};

#define M(V, group, member, lid)                                           \
	{ #group "." #member, offsetof(struct debug_offsets_##V, group.member), \
	  offsetof(struct debug_offsets_##V, group.size), TP_L_##lid }
#define S(V, group, member, lid)                                           \
	{ #group "." #member, offsetof(struct debug_offsets_##V, group.member), \
	  TP_L_##lid }

/*
 * Offsets every version's block has, under the same names.  Not taken:
 * finalizing, gc, builtins, datastack_chunk and status (tripod reads none
 * of them); list_object.ob_size (= tuple_object.ob_size, PyVarObject's).
 */
#define COMMON_MAP(V)                                                          \
	M(V, runtime_state, interpreters_head, RT_INTERP_HEAD),                \
	M(V, interpreter_state, id, IS_ID),                                    \
	M(V, interpreter_state, next, IS_NEXT),                                \
	M(V, interpreter_state, threads_head, IS_TSTATE_HEAD),                 \
	M(V, interpreter_state, imports_modules, IS_MODULES),                  \
	M(V, interpreter_state, sysdict, IS_SYSDICT),                          \
	M(V, interpreter_state, ceval_gil, IS_CEVAL_GIL),                      \
	M(V, thread_state, next, TS_NEXT),                                     \
	M(V, thread_state, interp, TS_INTERP),                                 \
	M(V, thread_state, current_frame, TS_CURRENT_FRAME),                   \
	M(V, thread_state, thread_id, TS_THREAD_ID),                           \
	M(V, thread_state, native_thread_id, TS_NATIVE_THREAD_ID),             \
	M(V, interpreter_frame, previous, IF_PREVIOUS),                        \
	M(V, interpreter_frame, executable, IF_CODE),                          \
	M(V, interpreter_frame, instr_ptr, IF_INSTR),                          \
	M(V, interpreter_frame, localsplus, IF_LOCALSPLUS),                    \
	M(V, interpreter_frame, owner, IF_OWNER),                              \
	M(V, code_object, filename, CO_FILENAME),                              \
	M(V, code_object, name, CO_NAME),                                      \
	M(V, code_object, qualname, CO_QUALNAME),                              \
	M(V, code_object, linetable, CO_LINETABLE),                            \
	M(V, code_object, firstlineno, CO_FIRSTLINENO),                        \
	M(V, code_object, argcount, CO_ARGCOUNT),                              \
	M(V, code_object, localsplusnames, CO_LOCALSPLUSNAMES),                \
	M(V, code_object, localspluskinds, CO_LOCALSPLUSKINDS),                \
	M(V, code_object, co_code_adaptive, CO_CODE_ADAPTIVE),                 \
	M(V, pyobject, ob_type, OB_TYPE),                                      \
	M(V, type_object, tp_name, TP_NAME),                                   \
	M(V, type_object, tp_repr, TP_REPR),                                   \
	M(V, type_object, tp_flags, TP_FLAGS),                                 \
	M(V, tuple_object, ob_item, TUPLE_ITEM),                               \
	M(V, tuple_object, ob_size, OB_SIZE),                                  \
	M(V, list_object, ob_item, LIST_ITEM),                                 \
	M(V, dict_object, ma_keys, DICT_KEYS),                                 \
	M(V, dict_object, ma_values, DICT_VALUES),                             \
	M(V, float_object, ob_fval, FLOAT_FVAL),                               \
	M(V, long_object, lv_tag, LONG_LV_TAG),                                \
	M(V, long_object, ob_digit, LONG_DIGIT),                               \
	M(V, bytes_object, ob_sval, BYTES_SVAL),                               \
	M(V, unicode_object, state, UNI_STATE),                                \
	M(V, unicode_object, length, UNI_LENGTH)

/*
 * 3.14+ additions.  Not taken: code_object_generation, tlbc_generation,
 * tlbc_index, co_tlbc (free-threaded builds' thread-local bytecode; 0 in
 * GIL builds), llist_node and debugger_support (asyncio task lists and
 * PEP 768's remote execution, nothing tripod reads).
 */
#define MAP_314_ON(V)                                                          \
	M(V, interpreter_state, threads_main, IS_THREADS_MAIN),                \
	M(V, thread_state, prev, TS_PREV),                                     \
	M(V, interpreter_frame, stackpointer, IF_STACKPOINTER),                \
	M(V, set_object, used, SET_USED),                                      \
	M(V, set_object, table, SET_TABLE),                                    \
	M(V, set_object, mask, SET_MASK),                                      \
	M(V, gen_object, gi_name, GEN_NAME),                                   \
	M(V, gen_object, gi_iframe, GEN_IFRAME),                               \
	M(V, gen_object, gi_frame_state, GEN_FRAME_STATE)

static const struct mapping map_313[] = { COMMON_MAP(313) };
static const struct mapping map_314[] = { COMMON_MAP(314), MAP_314_ON(314) };
/*
 * 3.15 additions.  Not taken: base_frame, last_profiled_frame(_seq),
 * holds_gil, gil_requested (the GIL structure says who holds it),
 * current_exception, exc_state, err_stackitem, the gc frame and stats.
 */
static const struct mapping map_315[] = {
	COMMON_MAP(315), MAP_314_ON(315),
	M(315, type_object, tp_basicsize, TP_BASICSIZE),
	M(315, type_object, tp_dictoffset, TP_DICTOFFSET),
	M(315, heap_type_object, ht_cached_keys, HT_CACHED_KEYS),
};

static const struct size_mapping sizes_313[] = {
	S(313, pyobject, size, SIZEOF_PYOBJECT),
	S(313, unicode_object, asciiobject_size, SIZEOF_ASCII),
};
static const struct size_mapping sizes_314[] = {
	S(314, pyobject, size, SIZEOF_PYOBJECT),
	S(314, unicode_object, asciiobject_size, SIZEOF_ASCII),
};
static const struct size_mapping sizes_315[] = {
	S(315, pyobject, size, SIZEOF_PYOBJECT),
	S(315, unicode_object, asciiobject_size, SIZEOF_ASCII),
	S(315, unicode_object, compactunicodeobject_size, SIZEOF_COMPACT),
};

/* The GIL fields, given relative to PyInterpreterState (see the top). */
struct gil_fields {
	size_t interp_size, gil, locked, holder;
};

#define GIL(V)                                                                 \
	{ offsetof(struct debug_offsets_##V, interpreter_state.size),          \
	  offsetof(struct debug_offsets_##V, interpreter_state.gil_runtime_state), \
	  offsetof(struct debug_offsets_##V,                                   \
		   interpreter_state.gil_runtime_state_locked),                \
	  offsetof(struct debug_offsets_##V,                                   \
		   interpreter_state.gil_runtime_state_holder) }

/* Every minor version whose block tripod knows. */
static const struct block_version {
	unsigned major, minor;
	size_t size;
	const struct mapping *map;
	size_t nmap;
	const struct size_mapping *sizes;
	size_t nsizes;
	struct gil_fields gil;
} versions[] = {
#define V(ma, mi, V)                                                           \
	{ ma, mi, sizeof(struct debug_offsets_##V), map_##V,                   \
	  sizeof(map_##V) / sizeof(map_##V[0]), sizes_##V,                     \
	  sizeof(sizes_##V) / sizeof(sizes_##V[0]), GIL(V) }
	V(3, 13, 313),
	V(3, 14, 314),
	V(3, 15, 315),
#undef V
};

#undef M
#undef S
#undef GIL

#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

static uint64_t u64_at(const unsigned char *block, size_t off)
{
	uint64_t v;
	memcpy(&v, block + off, sizeof(v));
	return v;
}

static struct tp_error *bad(const char *what, uint64_t value, uint64_t size)
{
	return tp_error_create(TP_ERR_FORMAT,
			       "_Py_DebugOffsets: %s = %llu, outside its structure (size %llu)",
			       what, (unsigned long long)value,
			       (unsigned long long)size);
}

static struct tp_error *decode(const struct block_version *bv,
			       const unsigned char *b,
			       struct tp_debug_offsets_info *info,
			       struct tp_layout *ret)
{
	/* every group's size first: non-zero and plausible */
	for (size_t i = 0; i < bv->nmap; i++) {
		uint64_t size = u64_at(b, bv->map[i].group_size);
		if (size == 0 || size > MAX_STRUCT_SIZE)
			return tp_error_create(TP_ERR_FORMAT,
					       "_Py_DebugOffsets: implausible size %llu of the structure of %s",
					       (unsigned long long)size,
					       bv->map[i].name);
	}
	for (size_t i = 0; i < bv->nmap; i++) {
		const struct mapping *m = &bv->map[i];
		uint64_t v = u64_at(b, m->field);
		uint64_t size = u64_at(b, m->group_size);
		if (v >= size)
			return bad(m->name, v, size);
		ret->v[m->id] = (int64_t)v;
		info->covered++;
	}

	uint64_t interp_size = u64_at(b, bv->gil.interp_size);
	uint64_t gil = u64_at(b, bv->gil.gil);
	uint64_t locked = u64_at(b, bv->gil.locked);
	uint64_t holder = u64_at(b, bv->gil.holder);
	if (gil >= interp_size)
		return bad("interpreter_state.gil_runtime_state", gil,
			   interp_size);
	if (locked < gil || locked >= interp_size)
		return bad("interpreter_state.gil_runtime_state_locked", locked,
			   interp_size);
	if (holder < gil || holder >= interp_size)
		return bad("interpreter_state.gil_runtime_state_holder", holder,
			   interp_size);
	ret->v[TP_L_GIL_LOCKED] = (int64_t)(locked - gil);
	ret->v[TP_L_GIL_LAST_HOLDER] = (int64_t)(holder - gil);
	info->covered += 2;

	for (size_t i = 0; i < bv->nsizes; i++) {
		uint64_t v = u64_at(b, bv->sizes[i].field);
		if (v == 0 || v > MAX_STRUCT_SIZE)
			return bad(bv->sizes[i].name, v, MAX_STRUCT_SIZE);
		ret->v[bv->sizes[i].id] = (int64_t)v;
		info->covered++;
	}
	return NULL;
}

static const struct block_version *find_version(unsigned major,
						unsigned minor)
{
	for (size_t i = 0; i < NVERSIONS; i++)
		if (versions[i].major == major && versions[i].minor == minor)
			return &versions[i];
	return NULL;
}

size_t tp_debug_offsets_block_size(unsigned major, unsigned minor)
{
	const struct block_version *bv = find_version(major, minor);
	return bv ? bv->size : 0;
}

size_t tp_debug_offsets_size(void)
{
	size_t max = 0;
	for (size_t i = 0; i < NVERSIONS; i++)
		if (versions[i].size > max)
			max = versions[i].size;
	return max;
}

/* "3.13, 3.14 and 3.15" */
static void known_versions(char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < NVERSIONS && o < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 < NVERSIONS ? ", " : " and ";
		int w = snprintf(buf + o, len - o, "%s%u.%u", sep,
				 versions[i].major, versions[i].minor);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

struct tp_error *
tp_layout_from_debug_offsets(const void *buf, size_t len,
			     struct tp_debug_offsets_info *info,
			     struct tp_layout *ret)
{
	const unsigned char *b = buf;
	memset(info, 0, sizeof(*info));
	tp_layout_init(ret);
	if (len < 24)
		return tp_error_create(TP_ERR_FORMAT,
				       "_Py_DebugOffsets: %zu bytes, too short",
				       len);
	if (memcmp(b, COOKIE, 8) != 0)
		return tp_error_create(TP_ERR_FORMAT,
				       "no _Py_DebugOffsets at _PyRuntime (no \"" COOKIE "\" cookie)");
	info->version = u64_at(b, 8);
	info->free_threaded = u64_at(b, 16) != 0;
	unsigned major = (info->version >> 24) & 0xff;
	unsigned minor = (info->version >> 16) & 0xff;
	const struct block_version *bv = find_version(major, minor);
	if (!bv) {
		char known[64];
		known_versions(known, sizeof(known));
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "the _Py_DebugOffsets of Python %u.%u are not understood (only those of %s)",
				       major, minor, known);
	}
	if (len < bv->size)
		return tp_error_create(TP_ERR_FORMAT,
				       "_Py_DebugOffsets: %zu bytes, too short for %u.%u",
				       len, major, minor);
	struct tp_error *err = decode(bv, b, info, ret);
	if (err) {
		tp_layout_init(ret);
		info->covered = 0;
	}
	return err;
}

struct tp_error *
tp_layout_read_debug_offsets(struct tp_memsrc *mem, uint64_t runtime,
			     struct tp_debug_offsets_info *info,
			     struct tp_layout *ret)
{
	unsigned char buf[sizeof(struct debug_offsets_315)];
	_Static_assert(sizeof(struct debug_offsets_315) >=
			       sizeof(struct debug_offsets_314) &&
		       sizeof(struct debug_offsets_315) >=
			       sizeof(struct debug_offsets_313),
		       "buf holds the largest block");
	memset(info, 0, sizeof(*info));
	tp_layout_init(ret);
	/*
	 * Read the cookie and version first: the block of an older version
	 * is shorter than buf and may end its mapping.
	 */
	struct tp_error *err = tp_memsrc_read(mem, runtime, buf, 24);
	if (err)
		return tp_error_wrap(err, "cannot read _Py_DebugOffsets");
	uint64_t version;
	memcpy(&version, buf + 8, 8);
	size_t len = tp_debug_offsets_block_size((version >> 24) & 0xff,
						 (version >> 16) & 0xff);
	if (len > 24 &&
	    (err = tp_memsrc_read(mem, runtime + 24, buf + 24, len - 24)))
		return tp_error_wrap(err, "cannot read _Py_DebugOffsets");
	return tp_layout_from_debug_offsets(buf, len > 24 ? len : 24, info,
					    ret);
}
