/* SPDX-License-Identifier: MIT */
/*
 * The target model: what libdwfl knows about the process a snapshot came
 * from (its modules, symbols, build-ids, debug info), plus the memory source
 * to read it.  It finds the module that holds the interpreter (libpython, or
 * the executable itself for a static build) and resolves the symbols the
 * decoder needs.
 */
#ifndef TRIPOD_PYTHON_TARGET_H
#define TRIPOD_PYTHON_TARGET_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/memsrc.h"

/* Symbols looked up in the interpreter's module. */
#define TP_SYMBOLS(X)                      \
	X(_PyRuntime)                      \
	X(interp_head)                     \
	X(Py_Version)                      \
	X(_PyThreadState_Current)          \
	X(_Py_NoneStruct)                  \
	X(_Py_TrueStruct)                  \
	X(_Py_FalseStruct)                 \
	X(_Py_ZeroStruct)                  \
	X(_Py_EllipsisObject)              \
	X(_Py_NotImplementedStruct)        \
	X(PyLong_Type)                     \
	X(PyInt_Type)                      \
	X(PyBool_Type)                     \
	X(PyFloat_Type)                    \
	X(PyUnicode_Type)                  \
	X(PyString_Type)                   \
	X(PyBytes_Type)                    \
	X(PyByteArray_Type)                \
	X(PyTuple_Type)                    \
	X(PyList_Type)                     \
	X(PyDict_Type)                     \
	X(PySet_Type)                      \
	X(PyFrozenSet_Type)                \
	X(PyCode_Type)                     \
	X(PyCell_Type)                     \
	X(PyModule_Type)                   \
	X(PyFunction_Type)                 \
	X(PyType_Type)                     \
	X(PyBaseObject_Type)               \
	X(_PySet_Dummy)                    \
	X(gil_locked)                      \
	X(gil_last_holder)                 \
	X(PyCFunction_Type)                \
	X(PyInstance_Type)                 \
	X(PyClass_Type)                    \
	X(Py_InitializeEx)                 \
	X(PyGen_Type)                      \
	X(PyCoro_Type)                     \
	X(PyObject_GenericGetAttr)

enum tp_symbol_id {
#define TP_SYMBOL_ENUM(name) TP_SYM_##name,
	TP_SYMBOLS(TP_SYMBOL_ENUM)
#undef TP_SYMBOL_ENUM
	TP_NSYMBOLS
};

/* A file mapping of the process (NT_FILE entry, /proc/PID/maps line). */
struct tp_target_map {
	uint64_t start, end, offset;  /* offset in bytes */
	char *path;
};

struct tp_target {
	Dwfl *dwfl;
	struct tp_memsrc *mem;
	Dwfl_Module *pymod;       /* module holding the interpreter */
	const char *pymod_name;   /* its file name as reported */
	GElf_Addr pymod_start;
	/*
	 * The interpreter module's load bias, from its program headers and
	 * where the process mapped its file (see target.c); valid when
	 * pymod_bias_known, else libdwfl's is used.
	 */
	uint64_t pymod_bias;
	bool pymod_bias_known;
	struct tp_target_map *maps; /* the process's file mappings */
	size_t nmaps;
	/* symbols of the separate debug file: address = st_value + bias +
	 * debug_delta (cached for debug_elf) */
	Elf *debug_elf;
	int64_t debug_delta;
	bool debug_delta_known;
	char pymod_build_id[41 + 40]; /* hex, "" if unknown */
	uint64_t sym[TP_NSYMBOLS]; /* 0 = not found */
	char *debuginfo_path;     /* storage for the callbacks */
	Dwfl_Callbacks callbacks;
	/*
	 * tp_target_rebind(): the module is @dwfl's (another target's, not
	 * ours to end), mapped @delta bytes away from where @dwfl has it.
	 */
	bool borrowed;
	uint64_t delta;
};

struct tp_target_opts {
	/*
	 * Where libdwfl looks for separate debug info (its debuginfo_path
	 * syntax, e.g. "-:.debug:/usr/lib/debug"); NULL for the default.
	 */
	const char *debuginfo_path;
};

/**
 * Build the target model of a core (libelf handle @core_elf) whose memory is
 * read through @mem (borrowed).  Fails with TP_ERR_NOTPYTHON when no module
 * holds a CPython interpreter.
 */
struct tp_error *tp_target_open_core(Elf *core_elf, struct tp_memsrc *mem,
				     const struct tp_target_opts *opts,
				     struct tp_target **ret);

/** The same for a live process (modules from /proc/PID/maps). */
struct tp_error *tp_target_open_pid(pid_t pid, struct tp_memsrc *mem,
				    const struct tp_target_opts *opts,
				    struct tp_target **ret);

/**
 * A target for another snapshot of the same interpreter build as @proto
 * (same file, same build-id), whose interpreter module starts @delta bytes
 * after (modulo 2^64) where it starts in @proto, read through @mem.  It
 * borrows @proto's libdwfl session (the modules, the symbol table, the
 * opened debug files), which must outlive it: no module discovery, no
 * symbol scan, no debug info lookup happen again.
 */
struct tp_error *tp_target_rebind(const struct tp_target *proto,
				  struct tp_memsrc *mem, uint64_t delta,
				  struct tp_target **ret);

void tp_target_destroy(struct tp_target *target);

/**
 * The DWARF of the interpreter module, or NULL (error TP_ERR_NODEBUG naming
 * the file, its build-id and how to get debug info).
 */
struct tp_error *tp_target_dwarf(struct tp_target *target, Dwarf **ret,
				 Dwarf_Addr *bias);

/**
 * The DWARF of the process's module whose file name starts with @prefix
 * ("_asyncio." for the extension module _asyncio), for the layout of the
 * structures it defines; TP_ERR_NODEBUG when there is no such module or it
 * has no debug info.
 */
struct tp_error *tp_target_module_dwarf(struct tp_target *target,
					const char *prefix, Dwarf **ret);
/**
 * Address of symbol @name (local ones too: a static variable) of the
 * process's module whose file name starts with @prefix, from its symbol
 * table (its separate debug file's when libdwfl found one); 0 when there
 * is no such module or symbol.
 */
uint64_t tp_target_module_symbol(struct tp_target *target, const char *prefix,
				 const char *name);
/** Address of a symbol of another name in the interpreter module, or 0. */
uint64_t tp_target_lookup(struct tp_target *target, const char *name);

/**
 * Address in the target of section @name (".PyRuntime") of the interpreter
 * module, from the section headers of its ELF file; 0 when the file or the
 * section cannot be found.
 */
uint64_t tp_target_section(struct tp_target *target, const char *name);

/**
 * Address of the first 8-byte aligned occurrence of @cookie in the
 * writable segments of the interpreter module's memory, or 0.
 */
uint64_t tp_target_find_cookie(struct tp_target *target, const char *cookie);

/** DT_SONAME of the interpreter module ("libpython3.10.so.1.0"), or NULL. */
const char *tp_target_soname(struct tp_target *target);

/** ELF e_machine of the interpreter module (EM_X86_64, ...), 0 if unknown. */
unsigned tp_target_machine(struct tp_target *target);

#endif /* TRIPOD_PYTHON_TARGET_H */
