/* SPDX-License-Identifier: MIT */
/*
 * _Py_DebugOffsets, 3.13.
 *
 * The block is CPython's own promise to out-of-process debuggers, but only
 * within a minor version: its members, their order and its size change from
 * one minor version to the next (pycore_runtime.h says so), and nothing in
 * the block describes its own layout.  So the block of each minor version is
 * a C struct here, copied from that version's
 * Include/internal/pycore_runtime.h, and a block whose `version` names
 * another minor version is refused rather than guessed at.  The cookie and
 * version come first in every version so far, which is what lets us pick.
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

#define COOKIE "xdebugpy"
#define MAX_STRUCT_SIZE (16u << 20)

/* One offset of the block that is an entry of the layout record. */
struct mapping {
	const char *name;       /* for messages: "thread_state.next" */
	size_t field;           /* offset of the value in the block */
	size_t group_size;      /* offset of its group's `size` */
	enum tp_layout_id id;
};

#define M(group, member, lid)                                              \
	{ #group "." #member, offsetof(struct debug_offsets_313, group.member), \
	  offsetof(struct debug_offsets_313, group.size), TP_L_##lid }

static const struct mapping map_313[] = {
	M(runtime_state, interpreters_head, RT_INTERP_HEAD),
	M(interpreter_state, id, IS_ID),
	M(interpreter_state, next, IS_NEXT),
	M(interpreter_state, threads_head, IS_TSTATE_HEAD),
	M(interpreter_state, imports_modules, IS_MODULES),
	M(interpreter_state, sysdict, IS_SYSDICT),
	M(interpreter_state, ceval_gil, IS_CEVAL_GIL),
	M(thread_state, next, TS_NEXT),
	M(thread_state, interp, TS_INTERP),
	M(thread_state, current_frame, TS_CURRENT_FRAME),
	M(thread_state, thread_id, TS_THREAD_ID),
	M(thread_state, native_thread_id, TS_NATIVE_THREAD_ID),
	M(interpreter_frame, previous, IF_PREVIOUS),
	M(interpreter_frame, executable, IF_CODE),
	M(interpreter_frame, instr_ptr, IF_INSTR),
	M(interpreter_frame, localsplus, IF_LOCALSPLUS),
	M(interpreter_frame, owner, IF_OWNER),
	M(code_object, filename, CO_FILENAME),
	M(code_object, name, CO_NAME),
	M(code_object, qualname, CO_QUALNAME),
	M(code_object, linetable, CO_LINETABLE),
	M(code_object, firstlineno, CO_FIRSTLINENO),
	M(code_object, argcount, CO_ARGCOUNT),
	M(code_object, localsplusnames, CO_LOCALSPLUSNAMES),
	M(code_object, localspluskinds, CO_LOCALSPLUSKINDS),
	M(code_object, co_code_adaptive, CO_CODE_ADAPTIVE),
	M(pyobject, ob_type, OB_TYPE),
	M(type_object, tp_name, TP_NAME),
	M(type_object, tp_repr, TP_REPR),
	M(type_object, tp_flags, TP_FLAGS),
	M(tuple_object, ob_item, TUPLE_ITEM),
	M(tuple_object, ob_size, OB_SIZE),
	M(list_object, ob_item, LIST_ITEM),
	M(dict_object, ma_keys, DICT_KEYS),
	M(dict_object, ma_values, DICT_VALUES),
	M(float_object, ob_fval, FLOAT_FVAL),
	M(long_object, lv_tag, LONG_LV_TAG),
	M(long_object, ob_digit, LONG_DIGIT),
	M(bytes_object, ob_sval, BYTES_SVAL),
	M(unicode_object, state, UNI_STATE),
	M(unicode_object, length, UNI_LENGTH),
};

#undef M

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

static struct tp_error *decode_313(const unsigned char *b,
				   struct tp_debug_offsets_info *info,
				   struct tp_layout *ret)
{
	/* every group's size first: non-zero and plausible */
	for (size_t i = 0; i < sizeof(map_313) / sizeof(map_313[0]); i++) {
		uint64_t size = u64_at(b, map_313[i].group_size);
		if (size == 0 || size > MAX_STRUCT_SIZE)
			return tp_error_create(TP_ERR_FORMAT,
					       "_Py_DebugOffsets: implausible size %llu of the structure of %s",
					       (unsigned long long)size,
					       map_313[i].name);
	}
	for (size_t i = 0; i < sizeof(map_313) / sizeof(map_313[0]); i++) {
		const struct mapping *m = &map_313[i];
		uint64_t v = u64_at(b, m->field);
		uint64_t size = u64_at(b, m->group_size);
		if (v >= size)
			return bad(m->name, v, size);
		ret->v[m->id] = (int64_t)v;
		info->covered++;
	}

#define FIELD(f) u64_at(b, offsetof(struct debug_offsets_313, f))
	uint64_t interp_size = FIELD(interpreter_state.size);
	uint64_t gil = FIELD(interpreter_state.gil_runtime_state);
	uint64_t locked = FIELD(interpreter_state.gil_runtime_state_locked);
	uint64_t holder = FIELD(interpreter_state.gil_runtime_state_holder);
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

	ret->v[TP_L_SIZEOF_PYOBJECT] = (int64_t)FIELD(pyobject.size);
	uint64_t ascii = FIELD(unicode_object.asciiobject_size);
#undef FIELD
	if (ascii == 0 || ascii > MAX_STRUCT_SIZE)
		return bad("unicode_object.asciiobject_size", ascii,
			   MAX_STRUCT_SIZE);
	ret->v[TP_L_SIZEOF_ASCII] = (int64_t)ascii;
	info->covered += 2;
	return NULL;
}

size_t tp_debug_offsets_size(void)
{
	return sizeof(struct debug_offsets_313);
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
	if (major != 3 || minor != 13)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "the _Py_DebugOffsets of Python %u.%u are not understood (only those of 3.13)",
				       major, minor);
	if (len < sizeof(struct debug_offsets_313))
		return tp_error_create(TP_ERR_FORMAT,
				       "_Py_DebugOffsets: %zu bytes, too short for 3.13",
				       len);
	struct tp_error *err = decode_313(b, info, ret);
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
	unsigned char buf[sizeof(struct debug_offsets_313)];
	memset(info, 0, sizeof(*info));
	tp_layout_init(ret);
	struct tp_error *err = tp_memsrc_read(mem, runtime, buf, sizeof(buf));
	if (err)
		return tp_error_wrap(err, "cannot read _Py_DebugOffsets");
	return tp_layout_from_debug_offsets(buf, sizeof(buf), info, ret);
}
