/* SPDX-License-Identifier: MIT */
/*
 * The layout record: where the CPython structures the decoder reads keep
 * their fields, for one interpreter build.  The decoder never hard-codes an
 * offset; it asks the layout.  The record is filled from the DWARF of
 * libpython (layout_dwarf.c), from _Py_DebugOffsets (layout_debugoffsets.c)
 * or from a generated table (layout_table.h); layout_source.c chooses.  Every entry is a plain number so the record can be dumped.
 *
 * Each entry names one or more candidate types ('|'-separated; struct tag
 * or typedef name) and one or more candidate member paths ('|'-separated,
 * '.'-joined for nested members).  The first candidate that exists wins, so
 * one entry covers a field renamed across versions ("cframe|current_frame").
 * An entry that exists in no candidate is TP_LAYOUT_ABSENT.
 */
#ifndef TRIPOD_PYTHON_LAYOUT_H
#define TRIPOD_PYTHON_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

/* What an entry measures. */
enum tp_layout_kind {
	TP_LK_OFFSET,   /* byte offset of the member */
	TP_LK_SIZE,     /* sizeof the type (path "") or of the member's type */
	TP_LK_BITPOS,   /* bit position of a bit-field inside its struct */
	TP_LK_BITSIZE,  /* width of a bit-field */
	TP_LK_ELEMSIZE, /* sizeof an array member's element */
};

/*
 * X(ID, KIND, "types", "members").  Grouped by structure; "why" notes for
 * the version differences are in CPYTHON.md and layout_dwarf.c.
 */
#define TP_LAYOUT_FIELDS(X)                                                    \
	/* _PyRuntimeState (3.7+) */                                           \
	X(RT_INTERP_HEAD, OFFSET, "pyruntimestate", "interpreters.head")      \
	X(RT_INTERP_MAIN, OFFSET, "pyruntimestate", "interpreters.main")      \
	X(RT_MAIN_THREAD, OFFSET, "pyruntimestate", "main_thread")            \
	X(RT_TSTATE_CURRENT, OFFSET, "pyruntimestate",                         \
	  "gilstate.tstate_current")                                           \
	X(RT_GIL, OFFSET, "pyruntimestate", "ceval.gil")                      \
	/* PyInterpreterState */                                               \
	X(IS_NEXT, OFFSET, "_is", "next")                                      \
	X(IS_ID, OFFSET, "_is", "id")                                          \
	X(IS_TSTATE_HEAD, OFFSET, "_is", "threads.head|tstate_head")          \
	X(IS_MODULES, OFFSET, "_is", "imports.modules|modules")               \
	X(IS_SYSDICT, OFFSET, "_is", "sysdict")                               \
	X(IS_CEVAL_GIL, OFFSET, "_is", "ceval.gil")                           \
	X(IS_THREADS_MAIN, OFFSET, "_is", "threads.main")                     \
	/* struct _gil_runtime_state */                                        \
	X(GIL_LOCKED, OFFSET, "_gil_runtime_state", "locked")                 \
	X(GIL_LOCKED_SIZE, SIZE, "_gil_runtime_state", "locked")              \
	X(GIL_LAST_HOLDER, OFFSET, "_gil_runtime_state", "last_holder")       \
	/* PyThreadState */                                                    \
	X(TS_NEXT, OFFSET, "_ts", "next")                                      \
	X(TS_PREV, OFFSET, "_ts", "prev")                                      \
	X(TS_INTERP, OFFSET, "_ts", "interp")                                  \
	X(TS_FRAME, OFFSET, "_ts", "frame")                                    \
	X(TS_CFRAME, OFFSET, "_ts", "cframe")                                  \
	X(TS_CURRENT_FRAME, OFFSET, "_ts", "current_frame")                   \
	X(TS_THREAD_ID, OFFSET, "_ts", "thread_id")                           \
	X(TS_NATIVE_THREAD_ID, OFFSET, "_ts", "native_thread_id")             \
	/* _PyCFrame / CFrame */                                               \
	X(CF_CURRENT_FRAME, OFFSET, "_PyCFrame|CFrame", "current_frame")      \
	/* _PyInterpreterFrame (3.11+) */                                      \
	X(IF_CODE, OFFSET, "_PyInterpreterFrame", "f_executable|f_code")      \
	X(IF_PREVIOUS, OFFSET, "_PyInterpreterFrame", "previous")             \
	X(IF_FUNC, OFFSET, "_PyInterpreterFrame", "f_funcobj|f_func")         \
	X(IF_GLOBALS, OFFSET, "_PyInterpreterFrame", "f_globals")             \
	X(IF_LOCALS, OFFSET, "_PyInterpreterFrame", "f_locals")               \
	X(IF_FRAME_OBJ, OFFSET, "_PyInterpreterFrame", "frame_obj")           \
	X(IF_INSTR, OFFSET, "_PyInterpreterFrame", "instr_ptr|prev_instr")    \
	X(IF_STACKTOP, OFFSET, "_PyInterpreterFrame", "stacktop")             \
	X(IF_STACKPOINTER, OFFSET, "_PyInterpreterFrame", "stackpointer")     \
	X(IF_OWNER, OFFSET, "_PyInterpreterFrame", "owner")                   \
	X(IF_IS_ENTRY, OFFSET, "_PyInterpreterFrame", "is_entry")             \
	X(IF_LOCALSPLUS, OFFSET, "_PyInterpreterFrame", "localsplus")         \
	/* PyFrameObject (struct _frame) */                                    \
	X(FO_BACK, OFFSET, "_frame", "f_back")                                 \
	X(FO_FRAME, OFFSET, "_frame", "f_frame")                               \
	X(FO_CODE, OFFSET, "_frame", "f_code")                                 \
	X(FO_LOCALS, OFFSET, "_frame", "f_locals")                             \
	X(FO_LASTI, OFFSET, "_frame", "f_lasti")                               \
	X(FO_LINENO, OFFSET, "_frame", "f_lineno")                             \
	X(FO_TRACE, OFFSET, "_frame", "f_trace")                               \
	X(FO_LOCALSPLUS, OFFSET, "_frame", "f_localsplus")                     \
	X(FO_EXTRA_LOCALS, OFFSET, "_frame", "f_extra_locals")                 \
	/* PyCodeObject */                                                     \
	X(CO_ARGCOUNT, OFFSET, "PyCodeObject", "co_argcount")                 \
	X(CO_POSONLYARGCOUNT, OFFSET, "PyCodeObject", "co_posonlyargcount")   \
	X(CO_KWONLYARGCOUNT, OFFSET, "PyCodeObject", "co_kwonlyargcount")     \
	X(CO_NLOCALS, OFFSET, "PyCodeObject", "co_nlocals")                   \
	X(CO_NLOCALSPLUS, OFFSET, "PyCodeObject", "co_nlocalsplus")           \
	X(CO_FLAGS, OFFSET, "PyCodeObject", "co_flags")                       \
	X(CO_FIRSTLINENO, OFFSET, "PyCodeObject", "co_firstlineno")           \
	X(CO_CODE, OFFSET, "PyCodeObject", "co_code")                         \
	X(CO_CODE_ADAPTIVE, OFFSET, "PyCodeObject", "co_code_adaptive")       \
	X(CO_VARNAMES, OFFSET, "PyCodeObject", "co_varnames")                 \
	X(CO_CELLVARS, OFFSET, "PyCodeObject", "co_cellvars")                 \
	X(CO_FREEVARS, OFFSET, "PyCodeObject", "co_freevars")                 \
	X(CO_LOCALSPLUSNAMES, OFFSET, "PyCodeObject", "co_localsplusnames")   \
	X(CO_LOCALSPLUSKINDS, OFFSET, "PyCodeObject", "co_localspluskinds")   \
	X(CO_FILENAME, OFFSET, "PyCodeObject", "co_filename")                 \
	X(CO_NAME, OFFSET, "PyCodeObject", "co_name")                         \
	X(CO_QUALNAME, OFFSET, "PyCodeObject", "co_qualname")                 \
	X(CO_LNOTAB, OFFSET, "PyCodeObject", "co_lnotab")                     \
	X(CO_LINETABLE, OFFSET, "PyCodeObject", "co_linetable")               \
	X(CO_FIRSTTRACEABLE, OFFSET, "PyCodeObject", "_co_firsttraceable")    \
	/* object headers */                                                   \
	X(OB_TYPE, OFFSET, "PyObject", "ob_type")                              \
	X(OB_SIZE, OFFSET, "PyVarObject", "ob_size")                           \
	X(SIZEOF_PYOBJECT, SIZE, "PyObject", "")                               \
	X(SIZEOF_PYGC_HEAD, SIZE, "PyGC_Head", "")                             \
	/* PyTypeObject, PyHeapTypeObject */                                   \
	X(TP_NAME, OFFSET, "_typeobject", "tp_name")                          \
	X(TP_FLAGS, OFFSET, "_typeobject", "tp_flags")                        \
	X(TP_REPR, OFFSET, "_typeobject", "tp_repr")                          \
	X(TP_BASICSIZE, OFFSET, "_typeobject", "tp_basicsize")                \
	X(TP_DICTOFFSET, OFFSET, "_typeobject", "tp_dictoffset")              \
	X(TP_DICT, OFFSET, "_typeobject", "tp_dict")                          \
	X(TP_GETATTRO, OFFSET, "_typeobject", "tp_getattro")                  \
	X(TP_BASE, OFFSET, "_typeobject", "tp_base")                          \
	X(HT_NAME, OFFSET, "_heaptypeobject", "ht_name")                      \
	X(HT_QUALNAME, OFFSET, "_heaptypeobject", "ht_qualname")              \
	X(HT_MODULE, OFFSET, "_heaptypeobject", "ht_module")                  \
	X(HT_CACHED_KEYS, OFFSET, "_heaptypeobject", "ht_cached_keys")        \
	/* str */                                                              \
	X(SIZEOF_ASCII, SIZE, "PyASCIIObject", "")                             \
	X(SIZEOF_COMPACT, SIZE, "PyCompactUnicodeObject", "")                  \
	X(UNI_LENGTH, OFFSET, "PyASCIIObject", "length")                       \
	X(UNI_STATE, OFFSET, "PyASCIIObject", "state")                         \
	X(UNI_KIND_POS, BITPOS, "PyASCIIObject", "state.kind")                 \
	X(UNI_KIND_BITS, BITSIZE, "PyASCIIObject", "state.kind")               \
	X(UNI_COMPACT_POS, BITPOS, "PyASCIIObject", "state.compact")           \
	X(UNI_ASCII_POS, BITPOS, "PyASCIIObject", "state.ascii")               \
	X(UNI_READY_POS, BITPOS, "PyASCIIObject", "state.ready")               \
	X(UNI_WSTR, OFFSET, "PyASCIIObject", "wstr")                           \
	X(UNI_WSTR_LENGTH, OFFSET, "PyCompactUnicodeObject", "wstr_length")    \
	X(UNI_DATA, OFFSET, "PyUnicodeObject", "data")                         \
	X(UNI_STR, OFFSET, "PyUnicodeObject", "str")                           \
	X(UNI_PY2_LENGTH, OFFSET, "PyUnicodeObject", "length")                 \
	X(SIZEOF_PY_UNICODE, SIZE, "Py_UNICODE", "")                           \
	/* bytes, bytearray, 2.7 str and int */                                \
	X(BYTES_SVAL, OFFSET, "PyBytesObject|PyStringObject", "ob_sval")      \
	X(BYTEARRAY_START, OFFSET, "PyByteArrayObject", "ob_start|ob_bytes")  \
	X(INT_IVAL, OFFSET, "PyIntObject", "ob_ival")                          \
	/* tuple, list */                                                      \
	X(TUPLE_ITEM, OFFSET, "PyTupleObject", "ob_item")                      \
	X(LIST_ITEM, OFFSET, "PyListObject", "ob_item")                        \
	/* dict */                                                             \
	X(DICT_USED, OFFSET, "PyDictObject", "ma_used")                        \
	X(DICT_KEYS, OFFSET, "PyDictObject", "ma_keys")                        \
	X(DICT_VALUES, OFFSET, "PyDictObject", "ma_values")                    \
	X(DICT_MASK, OFFSET, "PyDictObject", "ma_mask")                        \
	X(DICT_TABLE, OFFSET, "PyDictObject", "ma_table")                      \
	X(DK_SIZE, OFFSET, "_dictkeysobject", "dk_size")                       \
	X(DK_LOG2_SIZE, OFFSET, "_dictkeysobject", "dk_log2_size")             \
	X(DK_LOG2_INDEX_BYTES, OFFSET, "_dictkeysobject",                      \
	  "dk_log2_index_bytes")                                               \
	X(DK_KIND, OFFSET, "_dictkeysobject", "dk_kind")                       \
	X(DK_NENTRIES, OFFSET, "_dictkeysobject", "dk_nentries")               \
	X(DK_INDICES, OFFSET, "_dictkeysobject", "dk_indices")                 \
	X(SIZEOF_DICTKEYENTRY, SIZE, "PyDictKeyEntry|PyDictEntry", "")         \
	X(DKE_KEY, OFFSET, "PyDictKeyEntry|PyDictEntry", "me_key")             \
	X(DKE_VALUE, OFFSET, "PyDictKeyEntry|PyDictEntry", "me_value")         \
	X(SIZEOF_DICTUNICODEENTRY, SIZE, "PyDictUnicodeEntry", "")             \
	X(DUE_KEY, OFFSET, "PyDictUnicodeEntry", "me_key")                     \
	X(DUE_VALUE, OFFSET, "PyDictUnicodeEntry", "me_value")                 \
	X(DV_VALUES, OFFSET, "_dictvalues", "values")                          \
	X(DV_CAPACITY, OFFSET, "_dictvalues", "capacity")                      \
	X(DV_SIZE, OFFSET, "_dictvalues", "size")                              \
	X(DV_VALID, OFFSET, "_dictvalues", "valid")                            \
	/* set */                                                              \
	X(SET_MASK, OFFSET, "PySetObject", "mask")                             \
	X(SET_TABLE, OFFSET, "PySetObject", "table")                           \
	X(SET_USED, OFFSET, "PySetObject", "used")                             \
	X(SIZEOF_SETENTRY, SIZE, "setentry", "")                               \
	X(SETENTRY_KEY, OFFSET, "setentry", "key")                             \
	/* numbers */                                                          \
	X(FLOAT_FVAL, OFFSET, "PyFloatObject", "ob_fval")                      \
	X(LONG_DIGIT, OFFSET, "_longobject", "long_value.ob_digit|ob_digit")   \
	X(LONG_LV_TAG, OFFSET, "_longobject", "long_value.lv_tag")             \
	X(SIZEOF_DIGIT, ELEMSIZE, "_longobject",                               \
	  "long_value.ob_digit|ob_digit")                                      \
	/* cells, modules, functions, generators */                            \
	X(CELL_REF, OFFSET, "PyCellObject", "ob_ref")                          \
	X(MODULE_DICT, OFFSET, "PyModuleObject", "md_dict")                    \
	X(FUNC_NAME, OFFSET, "PyFunctionObject", "func_name")                  \
	X(FUNC_QUALNAME, OFFSET, "PyFunctionObject", "func_qualname")          \
	X(FUNC_MODULE, OFFSET, "PyFunctionObject", "func_module")            \
	X(GEN_NAME, OFFSET, "PyGenObject", "gi_name")                          \
	X(GEN_IFRAME, OFFSET, "PyGenObject", "gi_iframe")                      \
	X(GEN_FRAME_STATE, OFFSET, "PyGenObject", "gi_frame_state")            \
	/* 2.7 classic classes and their instances */                          \
	X(INST_CLASS, OFFSET, "PyInstanceObject", "in_class")                  \
	X(CLASS_BASES, OFFSET, "PyClassObject", "cl_bases")                    \
	X(CLASS_DICT, OFFSET, "PyClassObject", "cl_dict")                      \
	X(CLASS_NAME, OFFSET, "PyClassObject", "cl_name")                    \
	/* values printed as repr() does (pyfuncs.c, pycollections.c, ...) */   \
	X(GEN_QUALNAME, OFFSET, "PyGenObject", "gi_qualname")                 \
	X(GEN_CODE, OFFSET, "PyGenObject", "gi_code")                         \
	X(CORO_QUALNAME, OFFSET, "PyCoroObject", "cr_qualname")               \
	X(AGEN_QUALNAME, OFFSET, "PyAsyncGenObject", "ag_qualname")           \
	X(TP_MRO, OFFSET, "_typeobject", "tp_mro")                            \
	X(TP_ITEMSIZE, OFFSET, "_typeobject", "tp_itemsize")                  \
	X(CFUNC_ML, OFFSET, "PyCFunctionObject", "m_ml")                      \
	X(CFUNC_SELF, OFFSET, "PyCFunctionObject", "m_self")                  \
	X(METHODDEF_NAME, OFFSET, "PyMethodDef", "ml_name")                   \
	X(METHOD_FUNC, OFFSET, "PyMethodObject", "im_func")                   \
	X(METHOD_SELF, OFFSET, "PyMethodObject", "im_self")                   \
	X(METHOD_CLASS, OFFSET, "PyMethodObject", "im_class")                 \
	X(SM_CALLABLE, OFFSET, "staticmethod", "sm_callable")                 \
	X(CM_CALLABLE, OFFSET, "classmethod", "cm_callable")                  \
	X(COMPLEX_CVAL, OFFSET, "PyComplexObject", "cval")                    \
	X(RANGE_START, OFFSET, "rangeobject", "start")                        \
	X(RANGE_STOP, OFFSET, "rangeobject", "stop")                          \
	X(RANGE_STEP, OFFSET, "rangeobject", "step")                          \
	X(RANGE_LEN, OFFSET, "rangeobject", "len")                            \
	X(SLICE_START, OFFSET, "PySliceObject", "start")                      \
	X(SLICE_STOP, OFFSET, "PySliceObject", "stop")                        \
	X(SLICE_STEP, OFFSET, "PySliceObject", "step")                        \
	X(DEQUE_LEFTBLOCK, OFFSET, "dequeobject", "leftblock")                \
	X(DEQUE_LEFTINDEX, OFFSET, "dequeobject", "leftindex")                \
	X(DEQUE_MAXLEN, OFFSET, "dequeobject", "maxlen")                      \
	X(BLOCK_DATA, OFFSET, "BLOCK|block", "data")                          \
	X(BLOCK_RIGHTLINK, OFFSET, "BLOCK|block", "rightlink")                \
	X(ODICT_FIRST, OFFSET, "_odictobject", "od_first")                    \
	X(ODNODE_KEY, OFFSET, "_odictnode", "key")                            \
	X(ODNODE_NEXT, OFFSET, "_odictnode", "next")                          \
	X(DEFDICT_FACTORY, OFFSET, "defdictobject", "default_factory")        \
	X(NS_DICT, OFFSET, "_PyNamespaceObject", "ns_dict")                   \
	X(MAPPINGPROXY_MAPPING, OFFSET, "mappingproxyobject", "mapping")      \
	X(DICTVIEW_DICT, OFFSET, "_PyDictViewObject", "dv_dict")              \
	X(EXC_ARGS, OFFSET, "PyBaseExceptionObject", "args")                  \
	/* slots, functions' globals, standard-library objects (pystdlib.c,  \
	 * pyextra.c) */                                                      \
	X(TP_MEMBERS, OFFSET, "_typeobject", "tp_members")                    \
	X(MEMBERDESCR_MEMBER, OFFSET, "PyMemberDescrObject", "d_member")      \
	X(MEMBERDEF_NAME, OFFSET, "PyMemberDef", "name")                      \
	X(MEMBERDEF_TYPE, OFFSET, "PyMemberDef", "type")                      \
	X(MEMBERDEF_OFFSET, OFFSET, "PyMemberDef", "offset")                  \
	X(MEMBERDEF_FLAGS, OFFSET, "PyMemberDef", "flags")                    \
	X(SIZEOF_MEMBERDEF, SIZE, "PyMemberDef", "")                          \
	X(FUNC_CODE, OFFSET, "PyFunctionObject", "func_code")                 \
	X(FUNC_GLOBALS, OFFSET, "PyFunctionObject", "func_globals")           \
	X(FUNC_DICT, OFFSET, "PyFunctionObject", "func_dict")                 \
	X(PARTIAL_FN, OFFSET, "partialobject", "fn")                          \
	X(PARTIAL_ARGS, OFFSET, "partialobject", "args")                      \
	X(PARTIAL_KW, OFFSET, "partialobject", "kw")                          \
	X(WEAKREF_OBJECT, OFFSET, "_PyWeakReference", "wr_object")            \
	X(MEMVIEW_FLAGS, OFFSET, "PyMemoryViewObject", "flags")               \
	X(LOCK_LOCKED, OFFSET, "lockobject", "locked")                        \
	X(RLOCK_OWNER, OFFSET, "rlockobject", "rlock_owner")                  \
	X(RLOCK_COUNT, OFFSET, "rlockobject", "rlock_count")                  \
	X(LOCK_MUTEX, OFFSET, "lockobject", "lock._bits")                     \
	X(RLOCK_MUTEX, OFFSET, "rlockobject", "lock.mutex._bits")             \
	X(RLOCK_THREAD, OFFSET, "rlockobject", "lock.thread")                 \
	X(RLOCK_LEVEL, OFFSET, "rlockobject", "lock.level")                   \
	X(PATTERN_PATTERN, OFFSET, "PatternObject", "pattern")                \
	X(PATTERN_FLAGS, OFFSET, "PatternObject", "flags")                    \
	X(PATTERN_ISBYTES, OFFSET, "PatternObject", "isbytes")                \
	X(MATCH_STRING, OFFSET, "MatchObject", "string")                      \
	X(MATCH_PATTERN, OFFSET, "MatchObject", "pattern")                    \
	X(MATCH_MARK, OFFSET, "MatchObject", "mark")                          \
	X(THANDLE_HANDLE, OFFSET, "PyThreadHandleObject", "handle")           \
	X(THANDLE_EXITING, OFFSET, "ThreadHandle", "thread_is_exiting")       \
	X(TEXTIO_BUFFER, OFFSET, "textio", "buffer")                          \
	X(TEXTIO_ENCODING, OFFSET, "textio", "encoding")                      \
	X(BUFFERED_RAW, OFFSET, "buffered", "raw")                            \
	X(FILEIO_FD, OFFSET, "fileio", "fd")                                  \
	X(FILEIO_CREATED, BITPOS, "fileio", "created")                        \
	X(FILEIO_READABLE, BITPOS, "fileio", "readable")                      \
	X(FILEIO_WRITABLE, BITPOS, "fileio", "writable")                      \
	X(FILEIO_APPENDING, BITPOS, "fileio", "appending")                    \
	X(FILEIO_CLOSEFD, BITPOS, "fileio", "closefd")                        \
	/* asyncio (pyasync.c): the C Task of the _asyncio module (its own    \
	 * DWARF when it is an extension module: layout_source.c), weak       \
	 * references, a suspended generator's value stack, 3.14+ task lists */ \
	X(TASK_LOOP, OFFSET, "TaskObj", "task_loop")                          \
	X(TASK_STATE, OFFSET, "TaskObj", "task_state")                        \
	X(TASK_EXCEPTION, OFFSET, "TaskObj", "task_exception")                \
	X(TASK_FUT_WAITER, OFFSET, "TaskObj", "task_fut_waiter")              \
	X(TASK_CORO, OFFSET, "TaskObj", "task_coro")                          \
	X(TASK_NAME, OFFSET, "TaskObj", "task_name")                          \
	X(TASK_NODE, OFFSET, "TaskObj", "task_node")                          \
	X(TASK_CALLBACK0, OFFSET, "TaskObj", "task_callback0")                \
	X(TASK_CALLBACKS, OFFSET, "TaskObj", "task_callbacks")                \
	/* repr() of futures and tasks (pyaiorepr.c): the rest of           \
	 * FutureObj_HEAD, which a Future shares with a Task; the task's     \
	 * int _must_cancel (read for 3.6-3.10: 3.13+ make it a bit-field,   \
	 * whose offset this does not measure) and cancel request count */   \
	X(TASK_RESULT, OFFSET, "TaskObj", "task_result")                      \
	X(TASK_SOURCE_TB, OFFSET, "TaskObj", "task_source_tb")                \
	X(TASK_MUST_CANCEL, OFFSET, "TaskObj", "task_must_cancel")            \
	X(TASK_NUM_CANCELS, OFFSET, "TaskObj",                                 \
	  "task_num_cancels_requested")                                        \
	X(FUTITER_FUTURE, OFFSET, "futureiterobject", "future")               \
	X(GEN_FRAME, OFFSET, "PyGenObject", "gi_frame")                       \
	X(FO_STACKTOP, OFFSET, "_frame", "f_stacktop")                        \
	X(FO_STACKDEPTH, OFFSET, "_frame", "f_stackdepth")                    \
	X(FO_VALUESTACK, OFFSET, "_frame", "f_valuestack")                    \
	X(TS_ASYNCIO_TASKS_HEAD, OFFSET, "_PyThreadStateImpl",                 \
	  "asyncio_tasks_head")                                                \
	X(TS_ASYNCIO_RUNNING_TASK, OFFSET, "_PyThreadStateImpl",               \
	  "asyncio_running_task")                                              \
	X(IS_ASYNCIO_TASKS_HEAD, OFFSET, "_is", "asyncio_tasks_head")         \
	X(LLIST_NEXT, OFFSET, "llist_node", "next")

enum tp_layout_id {
#define TP_LAYOUT_ENUM(id, kind, types, members) TP_L_##id,
	TP_LAYOUT_FIELDS(TP_LAYOUT_ENUM)
#undef TP_LAYOUT_ENUM
	TP_LAYOUT_NFIELDS
};

#define TP_LAYOUT_ABSENT INT64_MIN

struct tp_layout {
	int64_t v[TP_LAYOUT_NFIELDS];
};

struct tp_layout_desc {
	const char *name;      /* "RT_INTERP_HEAD" */
	enum tp_layout_kind kind;
	const char *types;
	const char *members;
};

extern const struct tp_layout_desc tp_layout_descs[TP_LAYOUT_NFIELDS];

/** Set every entry to TP_LAYOUT_ABSENT. */
void tp_layout_init(struct tp_layout *layout);

/** Copy into @dst every entry that @dst lacks and @src has. */
void tp_layout_fill(struct tp_layout *dst, const struct tp_layout *src);

/**
 * Where 2.7's _io extension module keeps the field @id of its objects
 * (TEXTIO_BUFFER, TEXTIO_ENCODING, BUFFERED_RAW, FILEIO_FD and the fileio
 * bit-fields but created, which 2.7 lacks), for a PyObject header of @head
 * bytes: a byte offset, or a bit position for a bit-field.  False for any
 * other entry.
 */
bool tp_layout_io27(enum tp_layout_id id, int64_t head, int64_t *ret);

static inline bool tp_layout_has(const struct tp_layout *l,
				 enum tp_layout_id id)
{
	return l->v[id] != TP_LAYOUT_ABSENT;
}

#endif /* TRIPOD_PYTHON_LAYOUT_H */
