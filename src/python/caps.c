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
#define REPR_37 .exc_single_arg_form = true, .collections_subclass_name = true
#define REPR_310 REPR_37, .descriptors_show_callable = true
#define REPR_312 REPR_310, .odict_repr_is_dict = true

static const struct tp_python_caps known[] = {
	{ FRAMEOBJ_ROW(2, 7, TP_LINETABLE_LNOTAB_U8), .py2_objects = true,
	  .eval_loop_frame_ex = true,
	  .gil_fallback = TP_GIL_FALLBACK_CURRENT_TSTATE },
	{ FRAMEOBJ_ROW(3, 6, TP_LINETABLE_LNOTAB_S8),
	  .namespace_sorted_keys = true,
	  .gil_fallback = TP_GIL_FALLBACK_CURRENT_TSTATE },
	{ FRAMEOBJ_ROW(3, 7, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_37, .namespace_sorted_keys = true },
	{ FRAMEOBJ_ROW(3, 8, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_37, .namespace_sorted_keys = true },
	{ FRAMEOBJ_ROW(3, 9, TP_LINETABLE_LNOTAB_S8), .runtime_state = true,
	  REPR_37 },
	{ FRAMEOBJ_ROW(3, 10, TP_LINETABLE_PEP626), .runtime_state = true,
	  REPR_310,
	  .lasti_in_code_units = true },
	{ IFRAME_ROW(11), .optimized_frame_dict = true, REPR_310,
	  .managed_dict = TP_MANAGED_DICT_TWO_WORDS,
	  .split_order_before_values = true },
	{ IFRAME_ROW(12), REPR_312, .optimized_frame_dict = true,
	  .first_internal_owner = 3,
	  .managed_dict = TP_MANAGED_DICT_TAGGED_WORD,
	  .split_order_before_values = true },
	{ IFRAME_ROW(13), REPR_312, .first_internal_owner = 3,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true,
	  .managed_dict = TP_MANAGED_DICT_INLINE_VALUES },
	{ IFRAME_ROW(14), REPR_312, .first_internal_owner = 3,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true, .tagged_stackrefs = true,
	  .frozen_source_from_file = true,
	  .managed_dict = TP_MANAGED_DICT_INLINE_VALUES },
	{ IFRAME_ROW(15), REPR_312, .first_internal_owner = 3,
	  .debug_offsets = true,
	  .listsort_runs_313 = true,
	  .pep667_locals = true, .tagged_stackrefs = true,
	  .frozen_source_from_file = true, .pprint_dict_views = true,
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
