/* SPDX-License-Identifier: MIT */
/*
 * One row per minor version tripod decodes.  Adding a version: copy the
 * previous row, then change what the new version changed (doc/cpython.md
 * lists what each field stands for and how it was checked).  A version
 * whose structures merely moved needs no new row field: its layout comes
 * from DWARF, _Py_DebugOffsets or a generated table.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "python/caps.h"

/* 2.7 and 3.6-3.10: PyFrameObject chains. */
#define FRAMEOBJ_ROW(ma, mi, lt)                                               \
	.major = ma, .minor = mi, .frames = TP_FRAMES_FRAMEOBJECT,             \
	.linetable = lt, .optimized_frame_dict = true

/*
 * 3.11+: interpreter frames.  Owner values (pycore_frame.h; 3.14+
 * pycore_interpframe_structs.h): 0 THREAD, 1 GENERATOR, 2 FRAME_OBJECT,
 * then 3.12-3.13 3 CSTACK; 3.14 3 INTERPRETER, 4 CSTACK; 3.15 3
 * INTERPRETER.  Every value from 3 up is an interpreter-internal frame.
 */
#define IFRAME_ROW(mi)                                                         \
	.major = 3, .minor = mi, .frames = TP_FRAMES_INTERPRETER,             \
	.linetable = TP_LINETABLE_LOCATIONS, .runtime_state = true,           \
	.owner_generator = 1

/* What repr() of standard types prints, per version (caps.h). */
#define REPR_36 .datetime_fold = true, .structseq_repr_buffer = true,        \
	.flag_decompose = 1, .io_repr_mode = true
#define REPR_37 .datetime_fold = true, .exc_single_arg_form = true,           \
	.collections_subclass_name = true, .timedelta_keyword_repr = true,    \
	.array_repr_type_name = true, .frame_repr_location = true,            \
	.aio_callback_pairs = true, .io_repr_mode = true
#define REPR_38 REPR_37, .aio_task_name = true
#define REPR_310 REPR_38, .descriptors_show_callable = true
#define REPR_311 REPR_310, .enum_flag_class_repr = true,                    \
	.aio_cancel_count = true
#define REPR_312 REPR_311, .odict_repr_is_dict = true,                      \
	.aio_coro_optional = true
#define REPR_313 REPR_312, .ipv6_mapped_dotted = true,                        \
	.thread_handle_state = true, .partial_repr_qualname = true,           \
	.aio_args_hidden = true
#define REPR_314 REPR_313, .thread_handle_attr_os = true

/*
 * asyncio: where the tasks are, and how an awaiting generator is told
 * (opcodes from each version's opcode.opmap and _PyOpcode_Deopt; frame
 * states from pycore_frame.h / pycore_genobject.h).
 */
#define AWAIT_310 .await_model = TP_AWAIT_LASTI_OPCODE, .await_opcode = 72
/* 3.11 RESUME 151, RESUME_QUICK 150; 3.12 RESUME 151, INSTRUMENTED_RESUME
 * 240; FRAME_SUSPENDED -1, FRAME_COMPLETED 1 */
#define AWAIT_311 .await_model = TP_AWAIT_RESUME_ARG, .await_opcode = 151, \
	.await_opcode2 = 150, .gen_suspended = -1,                         \
	.gen_suspended_locked = INT8_MIN, .gen_completed = 1
#define AWAIT_312 .await_model = TP_AWAIT_RESUME_ARG, .await_opcode = 151, \
	.await_opcode2 = 240, .gen_suspended = -1,                         \
	.gen_suspended_locked = INT8_MIN, .gen_completed = 1
/* FRAME_SUSPENDED_YIELD_FROM -1, FRAME_COMPLETED 1 */
#define AWAIT_313 .await_model = TP_AWAIT_FRAME_STATE, .gen_suspended = -1, \
	.gen_suspended_locked = INT8_MIN, .gen_completed = 1
/* 3.15 renumbered them from 0 (read from its DWARF's enum _framestate):
 * CREATED 0, SUSPENDED 1, SUSPENDED_YIELD_FROM 2, ..._LOCKED 3,
 * EXECUTING 4, CLEARED 5 (no COMPLETED any more) */
#define AWAIT_315 .await_model = TP_AWAIT_FRAME_STATE, .gen_suspended = 2, \
	.gen_suspended_locked = 3, .gen_completed = 5, .await_stack_slot = 2

static const struct tp_python_caps known[] = {
	{ FRAMEOBJ_ROW(2, 7, TP_LINETABLE_LNOTAB_U8), .py2_objects = true,
	  .structseq_repr_buffer = true, .io_structs_27 = true,
	  .eval_loop_frame_ex = true,
	  .gil_fallback = TP_GIL_FALLBACK_CURRENT_TSTATE },
	{ FRAMEOBJ_ROW(3, 6, TP_LINETABLE_LNOTAB_S8), REPR_36,
	  .namespace_sorted_keys = true, AWAIT_310,
	  .task_registry = TP_TASKS_36,
	  .gil_fallback = TP_GIL_FALLBACK_CURRENT_TSTATE },
	{ FRAMEOBJ_ROW(3, 7, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_37, .structseq_repr_buffer = true, .namespace_sorted_keys = true,
	  .flag_decompose = 1, AWAIT_310,
	  .task_registry = TP_TASKS_ALL_WEAKSET },
	{ FRAMEOBJ_ROW(3, 8, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_38, .namespace_sorted_keys = true, .flag_decompose = 1,
	  AWAIT_310, .task_registry = TP_TASKS_ALL_WEAKSET },
	{ FRAMEOBJ_ROW(3, 9, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_38, .flag_decompose = 2, AWAIT_310,
	  .task_registry = TP_TASKS_ALL_WEAKSET },
	{ FRAMEOBJ_ROW(3, 10, TP_LINETABLE_PEP626), .runtime_state = true,
	  REPR_310, .flag_decompose = 2, AWAIT_310,
	  .task_registry = TP_TASKS_ALL_WEAKSET,
	  .lasti_in_code_units = true },
	{ IFRAME_ROW(11), .optimized_frame_dict = true, REPR_311,
	  AWAIT_311, .task_registry = TP_TASKS_ALL_WEAKSET,
	  .managed_dict = TP_MANAGED_DICT_TWO_WORDS,
	  .split_order_before_values = true },
	{ IFRAME_ROW(12), REPR_312, .optimized_frame_dict = true,
	  AWAIT_312, .task_registry = TP_TASKS_SCHEDULED_EAGER,
	  .first_internal_owner = 3,
	  .managed_dict = TP_MANAGED_DICT_TAGGED_WORD,
	  .split_order_before_values = true },
	{ IFRAME_ROW(13), REPR_313, .first_internal_owner = 3,
	  AWAIT_313, .task_registry = TP_TASKS_SCHEDULED_EAGER,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true,
	  .managed_dict = TP_MANAGED_DICT_INLINE_VALUES },
	{ IFRAME_ROW(14), REPR_314, .first_internal_owner = 3,
	  AWAIT_313, .task_registry = TP_TASKS_PER_THREAD,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true, .tagged_stackrefs = true,
	  .frozen_source_from_file = true,
	  .managed_dict = TP_MANAGED_DICT_INLINE_VALUES },
	{ IFRAME_ROW(15), REPR_314, .first_internal_owner = 3,
	  AWAIT_315, .task_registry = TP_TASKS_PER_THREAD,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true, .tagged_stackrefs = true,
	  .frozen_source_from_file = true, .pprint_dict_views = true,
	  .member_after_items = 16,
	  .bytearray_quotes_as_bytes = true,
	  .managed_dict = TP_MANAGED_DICT_INLINE_VALUES },
};

struct tp_error *tp_python_caps_for(unsigned major, unsigned minor,
				    const struct tp_python_caps **ret)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].major == major && known[i].minor == minor) {
			*ret = &known[i];
			return NULL;
		}
	}
	return tp_error_create(TP_ERR_UNSUPPORTED, "unsupported Python %u.%u",
			       major, minor);
}
