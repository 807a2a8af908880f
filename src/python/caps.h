/* SPDX-License-Identifier: MIT */
/*
 * What a CPython version has, decided once when the interpreter is
 * recognised.  The decoder asks this record ("does this build tag its stack
 * references?", "where does an instance keep its dict?") and never the
 * version number, so a new version is one more row in caps.c plus whatever
 * genuinely new structure it brings.
 *
 * The record holds behaviour only.  Where a field lives is the layout
 * record's business (layout.h): an entry that a version lacks is absent
 * there, and the decoder may test for it; what the bits of a field mean, or
 * which of two ways of reading a structure applies, is decided here.
 */
#ifndef TRIPOD_PYTHON_CAPS_H
#define TRIPOD_PYTHON_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "python/linetable.h"

/** How a thread's Python frames are chained. */
enum tp_frame_model {
	/** PyFrameObject linked by f_back (2.7-3.10). */
	TP_FRAMES_FRAMEOBJECT,
	/** _PyInterpreterFrame linked by `previous` (3.11+). */
	TP_FRAMES_INTERPRETER,
};

/** Where an instance of a type with Py_TPFLAGS_MANAGED_DICT keeps its
 *  attributes (see py_instance_attr()). */
enum tp_managed_dict {
	/** No managed dicts: tp_dictoffset only (2.7-3.10). */
	TP_MANAGED_DICT_NONE,
	/** Dict pointer 3 words before the object, values pointer 4 (3.11). */
	TP_MANAGED_DICT_TWO_WORDS,
	/** One word 3 before the object: odd = values pointer - 1 (3.12). */
	TP_MANAGED_DICT_TAGGED_WORD,
	/** Dict pointer 3 words before; values inline after the header when
	 *  the type has Py_TPFLAGS_INLINE_VALUES (3.13+). */
	TP_MANAGED_DICT_INLINE_VALUES,
};

/** Who tells which thread holds the GIL when no GIL structure is known. */
enum tp_gil_fallback {
	TP_GIL_FALLBACK_NONE,
	/** _PyThreadState_Current is the thread running Python code, NULL
	 *  while nobody holds the GIL (2.7, 3.6 without its statics). */
	TP_GIL_FALLBACK_CURRENT_TSTATE,
};

/** Where the asyncio module keeps its tasks (pyasync.c). */
enum tp_task_registry {
	/** None that tripod reads (3.6 keeps them in a C static). */
	TP_TASKS_NONE,
	/** 3.6: the _asyncio module's static all_tasks WeakSet (C tasks)
	 *  and the Python Task class's _all_tasks; the running ones in its
	 *  static current_tasks and the class's _current_tasks. */
	TP_TASKS_36,
	/** asyncio.tasks._all_tasks, a WeakSet (3.7-3.11). */
	TP_TASKS_ALL_WEAKSET,
	/** asyncio.tasks._scheduled_tasks (WeakSet) and _eager_tasks (set)
	 *  (3.12-3.13); the running task in _current_tasks. */
	TP_TASKS_SCHEDULED_EAGER,
	/** As above for tasks of the Python implementation; C tasks in
	 *  per-thread lists (tstate->asyncio_tasks_head, then the
	 *  interpreter's for threads that ended), the running task in
	 *  tstate->asyncio_running_task (3.14+). */
	TP_TASKS_PER_THREAD,
};

/** How a suspended generator tells that it awaits (yield from) something,
 *  as CPython's _PyGen_yf() decides. */
enum tp_await_model {
	/** The instruction after f_lasti is YIELD_FROM (await_opcode); the
	 *  awaited object is on top of the value stack (3.6-3.10). */
	TP_AWAIT_LASTI_OPCODE,
	/** Suspended (gen_suspended) and the next instruction is RESUME
	 *  (one of await_opcode, await_opcode2) with oparg >= 2 (3.11-3.12). */
	TP_AWAIT_RESUME_ARG,
	/** gi_frame_state == gen_suspended (FRAME_SUSPENDED_YIELD_FROM,
	 *  3.13+). */
	TP_AWAIT_FRAME_STATE,
};

struct tp_python_caps {
	unsigned major, minor;
	/** 2.x objects: str is bytes (PyString), int and long, classic
	 *  classes, `__builtin__`, name-mangled Thread attributes. */
	bool py2_objects;
	enum tp_frame_model frames;
	enum tp_linetable_format linetable;
	/**
	 * PyFrameObject model: f_lasti counts 2-byte code units (not bytes)
	 * and f_lineno is valid whenever it is non-zero (not only while
	 * tracing) -- 3.10.
	 */
	bool lasti_in_code_units;
	/** _PyRuntime holds the interpreter list (3.7+). */
	bool runtime_state;
	/** _Py_DebugOffsets opens _PyRuntime (3.13+); its layout is the one
	 *  of this minor version (layout_debugoffsets.c). */
	bool debug_offsets;
	/**
	 * Interpreter frames whose owner is >= this value are the
	 * interpreter's own (eval-loop entry frames, shims), not Python
	 * frames; 0 = no such owner values (3.11, which marks entries with
	 * is_entry instead).
	 */
	uint8_t first_internal_owner;
	/**
	 * The evaluation loop, one C call per run of Python frames, is
	 * PyEval_EvalFrameEx (2.7); else _PyEval_EvalFrameDefault (3.6+,
	 * reached through PyEval_EvalFrameEx or _PyEval_EvalFrame).
	 */
	bool eval_loop_frame_ex;
	/** An interpreter frame's owner value for "owned by a generator". */
	uint8_t owner_generator;
	/**
	 * An optimised frame's f_locals dict (made by locals() or tracing)
	 * shows through frame.f_locals (<= 3.12; PEP 667 ended it in 3.13).
	 */
	bool optimized_frame_dict;
	/**
	 * localsplus, f_executable and f_funcobj hold _PyStackRef tagged
	 * references (3.14+): see tp_stackref_object().
	 */
	bool tagged_stackrefs;
	/**
	 * PEP 667 (3.13+): frame objects keep names written through
	 * f_locals in f_extra_locals, and a non-optimised frame's (module,
	 * class body) frame.f_locals is its namespace dict alone -- its
	 * fast slots (a class body's __classdict__ or __class__ cell) show
	 * only while a hidden (inlined comprehension) variable is bound.
	 */
	bool pep667_locals;
	/** linecache reads a frozen module's source ("<frozen X>") from the
	 *  module's __file__ (3.14+). */
	bool frozen_source_from_file;
	enum tp_managed_dict managed_dict;
	/**
	 * Split dict values record their insertion order in the bytes just
	 * before the values array (3.11-3.12); 3.13+ keep it after
	 * PyDictValues.values[capacity].
	 */
	bool split_order_before_values;
	enum tp_gil_fallback gil_fallback;
	/**
	 * The target's pprint lays out dict views (keys, values, items) as
	 * it does dicts: items sorted, "{...}" past the depth limit (3.15+);
	 * earlier versions print their repr().
	 */
	bool pprint_dict_views;
	/**
	 * bytearray's repr quotes like bytes' (3.15+); earlier ones escape a
	 * single quote even inside double quotes.
	 */
	bool bytearray_quotes_as_bytes;
	/** list.sort() finds runs as 3.13 does (enum tp_sort_runs): what
	 *  pprint's sort of mixed types gives depends on it. */
	bool listsort_runs_313;

	/* What repr() of standard types prints (pyclasses.c, pyfuncs.c,
	 * pycollections.c). */
	/** An exception with one argument prints "E(arg)" (3.7+); before,
	 *  type name + repr(args): "E('arg',)". */
	bool exc_single_arg_form;
	/** deque and defaultdict print a subclass's name (3.7+). */
	bool collections_subclass_name;
	/** OrderedDict({...}) (3.12+); before, OrderedDict([(k, v), ...]). */
	bool odict_repr_is_dict;
	/** SimpleNamespace prints its keys sorted (3.3-3.8); later in
	 *  insertion order. */
	bool namespace_sorted_keys;
	/** staticmethod and classmethod print "<staticmethod(<function ...>)>"
	 *  (3.10+); before, object.__repr__. */
	bool descriptors_show_callable;
	/** datetime and time objects carry a fold (PEP 495, 3.6+) that
	 *  their repr shows as ", fold=1". */
	bool datetime_fold;
	/** timedelta prints keywords, "timedelta(days=1, seconds=2)"
	 *  (3.7+); before, "timedelta(1, 2)". */
	bool timedelta_keyword_repr;
	/** str() of an IPv4-mapped IPv6Address is "::ffff:1.2.3.4" (3.13+);
	 *  before, hextets only ("::ffff:102:304"). */
	bool ipv6_mapped_dotted;
	/** Whether a Thread has stopped is kept by a _thread._ThreadHandle
	 *  (3.13+); before, by _is_stopped and the _tstate_lock. */
	bool thread_handle_state;
	/** The Thread attribute holding that handle is _os_thread_handle
	 *  (3.14+); before, _handle. */
	bool thread_handle_attr_os;
	/** functools.partial's repr names a subclass by module and
	 *  qualified name (3.13+); before, by tp_name. */
	bool partial_repr_qualname;
	/** struct sequences print through a 512-byte buffer, "..." for the
	 *  fields that do not fit (2.7-3.7); later without a limit. */
	bool structseq_repr_buffer;
	/** array.array's repr names a subclass (3.7+); before, "array". */
	bool array_repr_type_name;
	/** An enum class derived from enum.Flag prints "<flag 'Name'>"
	 *  (3.11+); before, "<enum 'Name'>" like every enum class. */
	bool enum_flag_class_repr;
	/** How Flag.__repr__ composes a member without a name from the
	 *  others (enum._decompose): 1, 3.6-3.8, every named or power-of-two
	 *  entry of _value2member_map_ in its order; 2, 3.9-3.10, the
	 *  members in definition order, then the power-of-two entries for the
	 *  bits left; 0, later versions name every member. */
	unsigned char flag_decompose;
	/** The PyMemberDef flag (_Py_AFTER_ITEMS, 3.15+: 16) of a __slots__
	 *  member of a tuple subclass, kept after the items: its offset
	 *  then counts from the end of Py_SIZE(obj) items; 0 before. */
	int member_after_items;
	/** A frame object prints "<frame at 0x..., file 'f.py', line 3, code
	 *  f>" (3.7+); before, object.__repr__. */
	bool frame_repr_location;
	/** repr() of asyncio futures and tasks (pyaiorepr.c, Lib/asyncio/
	 *  base_futures.py and base_tasks.py): a future's callbacks are
	 *  (callback, context) pairs (3.7+), before bare callbacks. */
	bool aio_callback_pairs;
	/** A task's repr shows name=%r (3.8+). */
	bool aio_task_name;
	/** A task is "cancelling" while cancel requests are counted and it
	 *  is not done (task.cancelling(), 3.11+); before, while
	 *  _must_cancel is set. */
	bool aio_cancel_count;
	/** coro=<...> is left out when the task holds no coroutine (3.12+,
	 *  "if task._coro:"). */
	bool aio_coro_optional;
	/** A callback's arguments (a functools.partial's) print as "()"
	 *  outside debug mode (3.13+). */
	bool aio_args_hidden;
	/** TextIOWrapper's repr shows " mode=%R" and FileIO's " closefd=..."
	 *  (3.x); 2.7 prints neither. */
	bool io_repr_mode;
	/** The _io module is 2.7's extension module: its objects' fields are
	 *  those of its fixed structs (pyextra.c), not in the layout record
	 *  (3.x builds _io into libpython). */
	bool io_structs_27;

	/* asyncio (pyasync.c) */
	enum tp_task_registry task_registry;
	enum tp_await_model await_model;
	/** YIELD_FROM, or RESUME and its specialised/instrumented form. */
	uint8_t await_opcode, await_opcode2;
	/**
	 * gi_frame_state of a generator suspended in an await (see
	 * tp_await_model), and of one whose await another thread holds
	 * locked for a moment (3.15+; else an impossible value); states >=
	 * gen_completed have no frame (3.11+).
	 */
	int8_t gen_suspended, gen_suspended_locked, gen_completed;
	/**
	 * Where the awaited object is on a suspended generator's value
	 * stack, counted from the top: 1 (0 means 1), 2 in 3.15, which
	 * leaves a NULL reference above it (seen in 3.15.2's frames).
	 */
	uint8_t await_stack_slot;
};

/**
 * The capability record of CPython @major.@minor.  TP_ERR_UNSUPPORTED
 * "unsupported Python X.Y" for a version tripod does not decode.
 */
struct tp_error *tp_python_caps_for(unsigned major, unsigned minor,
				    const struct tp_python_caps **ret);

/**
 * The object a _PyStackRef refers to, 0 for NULL.  A GIL build tags bit 0
 * (a reference that is not counted) and 3.14's tagged small ints are
 * (bits & 3) == 3; those are not objects: @ret 0 and returns false.
 */
static inline bool tp_stackref_object(uint64_t bits, uint64_t *ret)
{
	if ((bits & 3) == 3) {
		*ret = 0;
		return false;
	}
	*ret = bits & ~(uint64_t)3;
	return true;
}

#endif /* TRIPOD_PYTHON_CAPS_H */
