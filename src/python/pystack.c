/* SPDX-License-Identifier: MIT */
/*
 * Recognising the interpreter and walking it:
 * runtime → interpreters → thread states → frames → code → line → locals.
 *
 * Frame walking is written once per frame model, not once per version:
 *  - the interpreter-frame chain (3.11+): _PyInterpreterFrame linked by
 *    `previous`, the code object in f_code / f_executable, the locals inline
 *    in `localsplus`;
 *  - the PyFrameObject chain of 2.7-3.10.
 * Version differences inside a model are questions to the capability
 * record (caps.h), decided once in tp_python_open().
 */
#include "config.h"

#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/internal.h"
#include "python/layout_dwarf.h"
#include "python/linetable.h"

#define MAX_INTERPRETERS 256

void tp_python_opts_default(struct tp_python_opts *opts)
{
	opts->locals = true;
	opts->max_repr = 65536;
	opts->max_frames = 4096;
	opts->max_threads = 4096;
	opts->layout_source = TP_LAYOUT_AUTO;
	opts->attributes = 0;
	opts->local_attributes = false;
}

/* ---- opening ------------------------------------------------------------ */

/* "libpython3.10.so.1.0", "python3.6m", "libpython2.7.so" → 3, 10 */
static bool version_from_name(const char *name, unsigned *major,
			      unsigned *minor)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *p = strstr(base, "python");
	if (!p)
		return false;
	p += 6;
	char *end;
	unsigned long ma = strtoul(p, &end, 10);
	if (end == p || *end != '.')
		return false;
	p = end + 1;
	unsigned long mi = strtoul(p, &end, 10);
	if (end == p)
		return false;
	*major = (unsigned)ma;
	*minor = (unsigned)mi;
	return true;
}

/* PY_VERSION_HEX 0xMMmmppLS (L: A alpha, B beta, C rc, F final) → text */
static void set_version(struct tp_python *py, uint64_t hex)
{
	py->hexversion = hex;
	py->major = (hex >> 24) & 0xff;
	py->minor = (hex >> 16) & 0xff;
	py->micro = (hex >> 8) & 0xff;
	unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
	const char *tag = level == 0xa ? "a" : level == 0xb ? "b"
			  : level == 0xc ? "rc" : "";
	if (*tag)
		snprintf(py->version, sizeof(py->version), "%u.%u.%u%s%u",
			 py->major, py->minor, py->micro, tag, serial);
	else
		snprintf(py->version, sizeof(py->version), "%u.%u.%u",
			 py->major, py->minor, py->micro);
}

static struct tp_error *detect_version(struct tp_python *py)
{
	uint64_t addr = py->target->sym[TP_SYM_Py_Version];
	if (addr) {
		uint64_t hex;
		struct tp_error *err = tp_memsrc_read(py->mem, addr, &hex, 8);
		if (err)
			return tp_error_wrap(err, "cannot read Py_Version");
		set_version(py, hex);
		return NULL;
	}
	const char *soname = tp_target_soname(py->target);
	if (!(soname && version_from_name(soname, &py->major, &py->minor)) &&
	    !version_from_name(py->target->pymod_name, &py->major,
			       &py->minor))
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "cannot tell the Python version of %s (no Py_Version symbol; neither its soname nor its file name says)",
				       py->target->pymod_name);
	snprintf(py->version, sizeof(py->version), "%u.%u", py->major,
		 py->minor);
	return NULL;
}

static bool iframe_model(const struct tp_python *py)
{
	return py->caps->frames == TP_FRAMES_INTERPRETER;
}

/* Entries every version needs. */
static const enum tp_layout_id required_common[] = {
	TP_L_IS_NEXT, TP_L_IS_TSTATE_HEAD, TP_L_TS_NEXT, TP_L_TS_THREAD_ID,
	TP_L_CO_ARGCOUNT, TP_L_CO_FLAGS, TP_L_CO_FIRSTLINENO,
	TP_L_CO_FILENAME, TP_L_CO_NAME, TP_L_OB_TYPE, TP_L_OB_SIZE,
	TP_L_TP_NAME, TP_L_TP_FLAGS, TP_L_TP_DICT, TP_L_BYTES_SVAL,
	TP_L_TUPLE_ITEM, TP_L_LIST_ITEM, TP_L_DICT_USED,
	TP_L_SIZEOF_DICTKEYENTRY, TP_L_DKE_KEY, TP_L_DKE_VALUE,
	TP_L_FLOAT_FVAL, TP_L_LONG_DIGIT, TP_L_SIZEOF_DIGIT, TP_L_CELL_REF,
	TP_L_SET_MASK, TP_L_SET_TABLE, TP_L_SET_USED, TP_L_SIZEOF_SETENTRY,
	TP_L_SETENTRY_KEY, TP_L_MODULE_DICT,
};

/* The interpreter-frame chain, 3.11+. */
static const enum tp_layout_id required_iframe[] = {
	TP_L_RT_INTERP_HEAD, TP_L_IF_CODE, TP_L_IF_PREVIOUS, TP_L_IF_LOCALS,
	TP_L_IF_INSTR, TP_L_IF_OWNER, TP_L_IF_LOCALSPLUS, TP_L_IF_FRAME_OBJ,
	TP_L_CO_KWONLYARGCOUNT, TP_L_CO_NLOCALSPLUS, TP_L_CO_CODE_ADAPTIVE,
	TP_L_CO_LOCALSPLUSNAMES, TP_L_CO_LOCALSPLUSKINDS, TP_L_CO_LINETABLE,
	TP_L_CO_FIRSTTRACEABLE, TP_L_SIZEOF_ASCII, TP_L_SIZEOF_COMPACT,
	TP_L_UNI_LENGTH, TP_L_UNI_STATE, TP_L_UNI_KIND_POS,
	TP_L_UNI_COMPACT_POS, TP_L_UNI_ASCII_POS, TP_L_UNI_DATA,
	TP_L_DICT_KEYS, TP_L_DICT_VALUES, TP_L_DK_LOG2_SIZE,
	TP_L_DK_LOG2_INDEX_BYTES, TP_L_DK_KIND, TP_L_DK_NENTRIES,
	TP_L_DK_INDICES, TP_L_SIZEOF_DICTUNICODEENTRY, TP_L_HT_CACHED_KEYS,
};

/* The PyFrameObject chain, 2.7-3.10. */
static const enum tp_layout_id required_frameobj[] = {
	TP_L_TS_FRAME, TP_L_FO_BACK, TP_L_FO_CODE, TP_L_FO_LOCALS,
	TP_L_FO_LASTI, TP_L_FO_LINENO, TP_L_FO_TRACE, TP_L_FO_LOCALSPLUS,
	TP_L_CO_NLOCALS, TP_L_CO_VARNAMES, TP_L_CO_CELLVARS,
	TP_L_CO_FREEVARS, TP_L_TP_DICTOFFSET,
};

static void check_list(struct tp_python *py, const enum tp_layout_id *ids,
		       size_t n, struct tp_strbuf *sb)
{
	for (size_t i = 0; i < n; i++) {
		if (tp_layout_has(&py->L, ids[i]))
			continue;
		tp_strbuf_printf(sb, "%s%s", sb->len ? ", " : "",
				 tp_layout_descs[ids[i]].name);
	}
}

#define CHECK(py, list, sb) \
	check_list(py, list, sizeof(list) / sizeof(list[0]), sb)

static struct tp_error *check_layout(struct tp_python *py)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	CHECK(py, required_common, &sb);
	if (iframe_model(py)) {
		CHECK(py, required_iframe, &sb);
		if (!LHAS(py, TS_CFRAME) && !LHAS(py, TS_CURRENT_FRAME))
			tp_strbuf_printf(&sb, "%sTS_CFRAME or TS_CURRENT_FRAME",
					 sb.len ? ", " : "");
	} else {
		CHECK(py, required_frameobj, &sb);
		if (!py->caps->py2_objects) {
			static const enum tp_layout_id v3[] = {
				TP_L_CO_KWONLYARGCOUNT, TP_L_SIZEOF_ASCII,
				TP_L_SIZEOF_COMPACT, TP_L_UNI_LENGTH,
				TP_L_UNI_STATE, TP_L_UNI_KIND_POS,
				TP_L_UNI_DATA, TP_L_DICT_KEYS,
				TP_L_DICT_VALUES, TP_L_DK_SIZE,
				TP_L_DK_NENTRIES, TP_L_DK_INDICES,
			};
			CHECK(py, v3, &sb);
		} else {
			static const enum tp_layout_id v2[] = {
				TP_L_INT_IVAL, TP_L_UNI_STR, TP_L_UNI_PY2_LENGTH,
				TP_L_SIZEOF_PY_UNICODE, TP_L_DICT_MASK,
				TP_L_DICT_TABLE, TP_L_HT_NAME,
			};
			CHECK(py, v2, &sb);
		}
	}
	if (!sb.len)
		return NULL;
	struct tp_error *err = tp_error_create(
		TP_ERR_NODEBUG,
		"the layout of %s from %s lacks structures needed for Python %s: %s",
		py->target->pymod_name, py->layout_source, py->version,
		tp_strbuf_str(&sb));
	tp_strbuf_deinit(&sb);
	return err;
}

/*
 * The first interpreter of the list (newest first, the main one last):
 * _PyRuntime.interpreters.head from 3.7; before, the static interp_head
 * (in .symtab / DWARF only); without it, the interpreter of the thread
 * holding the GIL (_PyThreadState_Current, NULL when nobody holds it).
 */
static struct tp_error *interp_head(struct tp_python *py, uint64_t *ret)
{
	const uint64_t *sym = py->target->sym;
	struct tp_error *err;
	if (py->runtime)
		return py_read_ptr(py, py->runtime + LOFF(py, RT_INTERP_HEAD),
				   ret);
	if (sym[TP_SYM_interp_head])
		return py_read_ptr(py, sym[TP_SYM_interp_head], ret);
	uint64_t ts;
	if ((err = py_read_ptr(py, sym[TP_SYM__PyThreadState_Current], &ts)))
		return err;
	if (!ts) {
		*ret = 0;
		return NULL;
	}
	return py_read_ptr(py, ts + LOFF(py, TS_INTERP), ret);
}

/* Before 3.11 the exact release is in sys.hexversion of the target. */
static void exact_version(struct tp_python *py)
{
	struct tp_pyval_arena *arena;
	if (tp_pyval_arena_create(&arena))
		return;
	py_objects_reset(py, arena);
	uint64_t interp = 0, next, sysdict = 0, hex = 0;
	struct tp_error *err = interp_head(py, &interp);
	for (int i = 0; !err && interp && i < 256; i++) {
		err = py_read_ptr(py, interp + LOFF(py, IS_NEXT), &next);
		if (!err && !next)
			break;
		interp = next;
	}
	if (!err && interp && LHAS(py, IS_SYSDICT))
		err = py_read_ptr(py, interp + LOFF(py, IS_SYSDICT), &sysdict);
	if (!err && sysdict)
		err = py_dict_get_str(py, sysdict, "hexversion", &hex);
	uint64_t v = 0;
	bool neg;
	if (!err && hex)
		err = py_int_value(py, hex, &v, &neg);
	if (!err && v && ((v >> 24) & 0xff) == py->major &&
	    ((v >> 16) & 0xff) == py->minor) {
		set_version(py, v);
	}
	tp_error_destroy(err);
	py_objects_reset(py, NULL);
	tp_pyval_arena_destroy(arena);
}

/*
 * 2.7 and 3.6 keep the interpreter list in a static, interp_head, which
 * only .symtab names: a stripped libpython loses it, and then only the
 * thread holding the GIL leads to an interpreter.  The exported
 * PyInterpreterState_Head() is `return interp_head;`, which gcc compiles on
 * x86-64 to `[endbr64;] mov interp_head(%rip),%rax; ret`: the address is in
 * its code.  Any other instruction sequence is left alone.
 */
static void interp_head_from_code(struct tp_python *py)
{
#if defined(__x86_64__)
	uint64_t fn = tp_target_lookup(py->target, "PyInterpreterState_Head");
	unsigned char c[12];
	struct tp_error *err;
	if (!fn || (err = tp_memsrc_read(py->mem, fn, c, sizeof(c)))) {
		if (fn)
			tp_error_destroy(err);
		return;
	}
	size_t o = 0;
	if (c[0] == 0xf3 && c[1] == 0x0f && c[2] == 0x1e && c[3] == 0xfa)
		o = 4;
	if (o + 8 > sizeof(c) || c[o] != 0x48 || c[o + 1] != 0x8b ||
	    c[o + 2] != 0x05 || c[o + 7] != 0xc3)
		return;
	int32_t disp;
	memcpy(&disp, c + o + 3, 4);
	py->target->sym[TP_SYM_interp_head] = fn + o + 7 + (int64_t)disp;
#else
	(void)py;
#endif
}

/*
 * What depends on where the interpreter is mapped in this snapshot: the
 * runtime's address and the values read from the interpreter's static
 * data.  The rest of struct tp_python is a fact of the build, which
 * tp_python_rebind() copies from one snapshot to the next.
 */
static struct tp_error *python_bind(struct tp_python *py)
{
	struct tp_target *target = py->target;
	py->digit_shift = LOFF(py, SIZEOF_DIGIT) == 2 ? 15 : 30;
	py->runtime = target->sym[TP_SYM__PyRuntime];
	if (!py->runtime) /* 3.10+: the section holds only _PyRuntime */
		py->runtime = tp_target_section(target, ".PyRuntime");
	if (!py->runtime && py->caps->debug_offsets)
		py->runtime = tp_target_find_cookie(target, "xdebugpy");
	if (!py->runtime && py->caps->runtime_state)
		return tp_error_create(TP_ERR_NOTPYTHON,
				       "%s has no _PyRuntime symbol",
				       target->pymod_name);
	if (!py->runtime && !target->sym[TP_SYM_interp_head])
		interp_head_from_code(py);
	if (!py->runtime && !target->sym[TP_SYM_interp_head] &&
	    !target->sym[TP_SYM__PyThreadState_Current])
		return tp_error_create(TP_ERR_NOTPYTHON,
				       "%s has neither interp_head nor _PyThreadState_Current",
				       target->pymod_name);
	if (LHAS(py, TP_REPR)) {
		static const struct {
			enum tp_symbol_id sym;
			size_t off;
		} builtin[] = {
#define RF(s, f) { TP_SYM_##s, offsetof(struct tp_python, repr_fn.f) }
			RF(PyLong_Type, long_), RF(PyInt_Type, int_),
			RF(PyFloat_Type, float_), RF(PyUnicode_Type, unicode),
			RF(PyBytes_Type, bytes), RF(PyByteArray_Type, bytearray),
			/* 2.7: PyBytes_Type is a macro for PyString_Type */
			RF(PyString_Type, bytes),
			RF(PyTuple_Type, tuple), RF(PyList_Type, list),
			RF(PyDict_Type, dict), RF(PyFunction_Type, function),
			RF(PyModule_Type, module), RF(PyCode_Type, code),
			RF(PyType_Type, type),
#undef RF
		};
		for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
			uint64_t t = target->sym[builtin[i].sym], fn = 0;
			if (!t)
				continue;
			struct tp_error *e = tp_memsrc_read(
				py->mem, t + (uint64_t)LOFF(py, TP_REPR), &fn, 8);
			if (!e)
				memcpy((char *)py + builtin[i].off, &fn, 8);
			tp_error_destroy(e);
		}
	}
	if (target->sym[TP_SYM__PySet_Dummy]) {
		uint64_t d;
		struct tp_error *e = tp_memsrc_read(py->mem,
						    target->sym[TP_SYM__PySet_Dummy],
						    &d, 8);
		if (!e)
			py->set_dummy = d;
		tp_error_destroy(e);
	}
	return NULL;
}

struct tp_error *tp_python_open(struct tp_target *target,
				const struct tp_python_opts *opts,
				struct tp_python **ret)
{
	struct tp_python *py = calloc(1, sizeof(*py));
	if (!py)
		return &tp_error_nomem;
	py->target = target;
	py->mem = target->mem;
	if (opts)
		py->opts = *opts;
	else
		tp_python_opts_default(&py->opts);
	tp_layout_init(&py->L);

	struct tp_error *err = detect_version(py);
	if (!err && (err = tp_python_caps_for(py->major, py->minor,
					      &py->caps))) {
		tp_error_destroy(err);
		err = tp_error_create(TP_ERR_UNSUPPORTED,
				      "unsupported Python %u.%u (%s)", py->major,
				      py->minor, target->pymod_name);
	}
	/* DWARF, else _Py_DebugOffsets (+ table), else table: layout_source.c */
	struct tp_layout_choice choice;
	if (!err)
		err = tp_layout_choose(target, py->major, py->minor,
				       py->opts.layout_source, &py->L, &choice);
	if (!err) {
		py->layout_source = choice.source;
		err = check_layout(py);
		if (err && choice.skipped[0])
			err = tp_error_wrap(err, "%s", choice.skipped);
	}
	if (err) {
		free(py);
		return err;
	}
	if ((err = python_bind(py))) {
		free(py);
		return err;
	}
	if (!py->hexversion)
		exact_version(py);
	*ret = py;
	return NULL;
}

struct tp_error *tp_python_rebind(const struct tp_python *proto,
				  struct tp_target *target,
				  struct tp_python **ret)
{
	struct tp_python *py = malloc(sizeof(*py));
	if (!py)
		return &tp_error_nomem;
	*py = *proto;
	py->target = target;
	py->mem = target->mem;
	py->arena = NULL;
	py->memo = NULL;
	py->memo_cap = py->memo_n = 0;
	py->types = NULL;
	py->types_cap = py->types_n = 0;
	memset(&py->repr_fn, 0, sizeof(py->repr_fn));
	py->set_dummy = 0;
	struct tp_error *err = python_bind(py);
	if (err) {
		free(py);
		return err;
	}
	*ret = py;
	return NULL;
}

void tp_python_destroy(struct tp_python *py)
{
	if (!py)
		return;
	free(py->memo);
	free(py->types);
	free(py);
}

void tp_python_set_sockets(struct tp_python *py,
			   const struct tp_sockets *sockets)
{
	py->sockets = sockets;
}

const char *tp_python_version(const struct tp_python *py)
{
	return py->version;
}

const char *tp_python_layout_source(const struct tp_python *py)
{
	return py->layout_source;
}

const struct tp_layout *tp_python_layout(const struct tp_python *py)
{
	return &py->L;
}

/* ---- small helpers ------------------------------------------------------- */

static void *arena_array(struct tp_python *py, size_t n, size_t size)
{
	return tp_pyval_arena_alloc(py->arena, (n ? n : 1) * size);
}

/* Items of a tuple object: count and pointer array (malloc'd). */
static struct tp_error *tuple_items(struct tp_python *py, uint64_t tuple,
				    size_t max, uint64_t **ret, size_t *n)
{
	int64_t size;
	struct tp_error *err = py_read_i64(py, tuple + LOFF(py, OB_SIZE),
					   &size);
	if (err)
		return err;
	if (size < 0 || (uint64_t)size > max)
		return tp_error_fault(tuple, "bad tuple size %lld",
				      (long long)size);
	uint64_t *items = malloc((size ? (size_t)size : 1) * 8);
	if (!items)
		return &tp_error_nomem;
	if (size && (err = py_read(py, tuple + LOFF(py, TUPLE_ITEM), items,
				   (size_t)size * 8))) {
		free(items);
		return err;
	}
	*ret = items;
	*n = (size_t)size;
	return NULL;
}

/* Bytes of a bytes object (malloc'd). */
static struct tp_error *bytes_copy(struct tp_python *py, uint64_t addr,
				   size_t max, uint8_t **ret, size_t *n)
{
	int64_t size;
	struct tp_error *err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &size);
	if (err)
		return err;
	if (size < 0 || (uint64_t)size > max)
		return tp_error_fault(addr, "bad bytes size");
	uint8_t *b = malloc((size_t)size + 1);
	if (!b)
		return &tp_error_nomem;
	if (size && (err = py_read(py, addr + LOFF(py, BYTES_SVAL), b,
				   (size_t)size))) {
		free(b);
		return err;
	}
	*ret = b;
	*n = (size_t)size;
	return NULL;
}

/* ---- frames: the interpreter-frame model (3.11+) ----------------------- */

#define MAX_LOCALS 65536
#define MAX_LINETABLE (1u << 24)

struct frame_code {
	uint64_t addr;
	const char *file, *name, *qualname;
	int32_t flags, argcount, kwonly, firstlineno;
	int32_t nlocalsplus, firsttraceable;   /* 3.11+ */
	int32_t nlocals;                       /* 2.7-3.10 */
};

static struct tp_error *read_i32_opt(struct tp_python *py, uint64_t base,
				     enum tp_layout_id id, int32_t *ret)
{
	*ret = 0;
	if (!tp_layout_has(&py->L, id))
		return NULL;
	return py_read_i32(py, base + (uint64_t)py->L.v[id], ret);
}

static struct tp_error *read_code(struct tp_python *py, uint64_t code,
				  struct frame_code *c)
{
	struct tp_error *err;
	uint64_t f, n, q = 0;
	memset(c, 0, sizeof(*c));
	c->addr = code;
	if ((err = py_read_i32(py, code + LOFF(py, CO_FLAGS), &c->flags)) ||
	    (err = py_read_i32(py, code + LOFF(py, CO_ARGCOUNT),
			       &c->argcount)) ||
	    (err = read_i32_opt(py, code, TP_L_CO_KWONLYARGCOUNT,
				&c->kwonly)) ||
	    (err = read_i32_opt(py, code, TP_L_CO_NLOCALSPLUS,
				&c->nlocalsplus)) ||
	    (err = read_i32_opt(py, code, TP_L_CO_NLOCALS, &c->nlocals)) ||
	    (err = py_read_i32(py, code + LOFF(py, CO_FIRSTLINENO),
			       &c->firstlineno)) ||
	    (err = read_i32_opt(py, code, TP_L_CO_FIRSTTRACEABLE,
				&c->firsttraceable)) ||
	    (err = py_read_ptr(py, code + LOFF(py, CO_FILENAME), &f)) ||
	    (err = py_read_ptr(py, code + LOFF(py, CO_NAME), &n)))
		return err;
	if (LHAS(py, CO_QUALNAME) &&
	    (err = py_read_ptr(py, code + LOFF(py, CO_QUALNAME), &q)))
		return err;
	if ((err = py_str_utf8(py, f, 65536, &c->file)) ||
	    (err = py_str_utf8(py, n, 4096, &c->name)))
		return err;
	if (q && (err = py_str_utf8(py, q, 4096, &c->qualname)))
		return err;
	int32_t nvars = iframe_model(py) ? c->nlocalsplus : c->nlocals;
	/* in 64 bits: the sum of two target int32s may not fit in one */
	if (nvars < 0 || nvars > MAX_LOCALS || c->argcount < 0 ||
	    c->kwonly < 0 || (int64_t)c->argcount + c->kwonly > nvars)
		return tp_error_fault(code, "bad code object counts");
	return NULL;
}

/* Line of byte offset @addr in the code's line table. */
static int code_line(struct tp_python *py, const struct frame_code *c,
		     int64_t addr)
{
	enum tp_linetable_format fmt = py->caps->linetable;
	uint64_t table = 0;
	uint8_t *bytes = NULL;
	size_t len;
	int64_t off = LHAS(py, CO_LINETABLE) ? LOFF(py, CO_LINETABLE)
					     : LOFF(py, CO_LNOTAB);
	struct tp_error *err = py_read_ptr(py, c->addr + (uint64_t)off, &table);
	if (!err)
		err = bytes_copy(py, table, MAX_LINETABLE, &bytes, &len);
	if (err) {
		tp_error_destroy(err);
		return -1;
	}
	int line = tp_linetable_addr2line(fmt, bytes, len, c->firstlineno,
					  addr);
	free(bytes);
	return line;
}

static int frame_line(struct tp_python *py, const struct frame_code *c,
		      uint64_t iframe, uint64_t instr)
{
	/* Tracing keeps the frame object's f_lineno; CPython reports it. */
	uint64_t fobj = 0;
	if (LHAS(py, FO_LINENO)) {
		struct tp_error *err = py_read_ptr(py, iframe + LOFF(py, IF_FRAME_OBJ),
						   &fobj);
		int32_t lineno = 0;
		if (!err && fobj)
			err = py_read_i32(py, fobj + LOFF(py, FO_LINENO), &lineno);
		tp_error_destroy(err);
		if (!err && fobj && lineno > 0)
			return lineno;
	}
	/*
	 * 3.11/3.12 prev_instr and 3.13 instr_ptr both give CPython's
	 * "last instruction" index: the byte offset is their distance from
	 * the first code unit (-2 for a frame that has not started, which
	 * PyCode_Addr2Line maps to co_firstlineno).
	 */
	uint64_t first = c->addr + LOFF(py, CO_CODE_ADAPTIVE);
	int64_t addr = (int64_t)(instr - first);
	if (addr > INT32_MAX || addr < INT32_MIN)
		addr = -1;
	return code_line(py, c, addr);
}

/*
 * 3.14+ linecache reads the source of a frozen module ("<frozen X>") from
 * the file its globals' __file__ names; NULL for other frames or when
 * there is no such str.
 */
static const char *frozen_source(struct tp_python *py,
				 const struct frame_code *c, uint64_t iframe)
{
	static const char prefix[] = "<frozen ";
	if (strncmp(c->file, prefix, sizeof(prefix) - 1) ||
	    !LHAS(py, IF_GLOBALS))
		return NULL;
	uint64_t globals = 0, file = 0;
	const char *path = NULL;
	struct tp_error *err = py_read_ptr(py, iframe + LOFF(py, IF_GLOBALS),
					   &globals);
	if (!err && globals)
		err = py_dict_get_str(py, globals, "__file__", &file);
	if (!err && file)
		err = py_str_utf8(py, file, 4096, &path);
	bool ok = !err;
	tp_error_destroy(err);
	return ok ? path : NULL;
}

struct local_acc {
	struct tp_rlocal *v;
	size_t n, cap;
};

static bool local_set(struct local_acc *acc, const char *name,
		      struct tp_pyval *value)
{
	for (size_t i = 0; i < acc->n; i++) {
		if (!strcmp(acc->v[i].name, name)) {
			acc->v[i].value = value;
			return true;
		}
	}
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 16;
		struct tp_rlocal *v = realloc(acc->v, cap * sizeof(*v));
		if (!v)
			return false;
		acc->v = v;
		acc->cap = cap;
	}
	acc->v[acc->n].name = name;
	acc->v[acc->n].value = value;
	acc->v[acc->n].attrs = NULL;
	acc->n++;
	return true;
}

struct dict_locals_ctx {
	struct tp_python *py;
	struct local_acc *acc;
	struct tp_error *err;
};

static bool dict_locals_cb(void *arg, uint64_t key, uint64_t value)
{
	struct dict_locals_ctx *c = arg;
	const char *name;
	struct tp_error *err = py_str_utf8(c->py, key, 4096, &name);
	if (err) {
		/* a non-str key in a namespace: show its repr as the name */
		tp_error_destroy(err);
		name = "<non-str key>";
	}
	struct tp_pyval *v;
	if ((err = py_value(c->py, value, &v))) {
		c->err = err;
		return false;
	}
	if (!local_set(c->acc, name, v)) {
		c->err = &tp_error_nomem;
		return false;
	}
	return true;
}

/* How a fast slot holds its variable. */
enum slot_how {
	SLOT_VALUE,      /* the value itself */
	SLOT_CELL,       /* a cell holding the value (2.7-3.10 cells, frees) */
	SLOT_MAYBE_CELL, /* 3.11+ cell variable: a cell once MAKE_CELL ran */
};

struct slot {
	const char *name;
	uint64_t value;
	enum slot_how how;
};

static struct tp_error *local_value(struct tp_python *py, struct slot *sl,
				    struct tp_pyval **ret)
{
	uint64_t value = sl->value;
	*ret = NULL;
	if (value && sl->how != SLOT_VALUE) {
		uint64_t type;
		struct tp_error *err = py_type_of(py, value, &type);
		if (err == &tp_error_nomem)
			return err;
		bool is_cell = !err &&
			       type == py->target->sym[TP_SYM_PyCell_Type];
		if (!err && (is_cell || sl->how == SLOT_CELL))
			err = py_read_ptr(py, value + LOFF(py, CELL_REF),
					  &value);
		if (err == &tp_error_nomem)
			return err;
		if (err) {
			/* an unreadable cell: its value shows as unreadable */
			tp_error_destroy(err);
		}
	}
	if (!value)
		return NULL;
	return py_value(py, value, ret);
}

static void local_delete(struct local_acc *acc, const char *name)
{
	for (size_t k = 0; k < acc->n; k++) {
		if (!strcmp(acc->v[k].name, name)) {
			memmove(&acc->v[k], &acc->v[k + 1],
				(acc->n - k - 1) * sizeof(acc->v[0]));
			acc->n--;
			return;
		}
	}
}

static struct tp_error *dict_into_locals(struct tp_python *py, uint64_t dict,
					 struct local_acc *acc)
{
	struct dict_locals_ctx ctx = { py, acc, NULL };
	struct tp_error *err = py_dict_iter(py, dict, dict_locals_cb, &ctx);
	return err ? err : ctx.err;
}

/*
 * The locals of a frame as frame.f_locals shows them (CPython's
 * PyFrame_FastToLocals): the frame's f_locals dict first, if it has one;
 * then the fast slots in order, an unbound slot removing the name; cells
 * unwrapped; free variables only for optimised code.  3.13 adds the names
 * written through frame.f_locals (f_extra_locals).
 *
 * Module and class bodies keep their names in the dict.  Before 3.13 an
 * optimised frame gets a dict too when locals(), frame.f_locals or a
 * tracer asks for it; its values may be stale (the slots override them)
 * but a name written into it that is not a variable stays, and
 * frame.f_locals shows it.
 */
static struct tp_error *build_locals(struct tp_python *py,
				     struct tp_rframe *rf, uint64_t dict,
				     struct slot *slots, size_t n,
				     uint64_t extra)
{
	struct local_acc acc = { 0 };
	struct tp_error *err = NULL;
	if (dict)
		err = dict_into_locals(py, dict, &acc);
	for (size_t i = 0; !err && i < n; i++) {
		struct tp_pyval *v;
		if ((err = local_value(py, &slots[i], &v)))
			break;
		if (!v)
			local_delete(&acc, slots[i].name);
		else if (!local_set(&acc, slots[i].name, v))
			err = &tp_error_nomem;
	}
	if (!err && extra)
		err = dict_into_locals(py, extra, &acc);
	if (err != &tp_error_nomem && acc.n) {
		rf->locals = arena_array(py, acc.n, sizeof(*rf->locals));
		if (rf->locals) {
			memcpy(rf->locals, acc.v, acc.n * sizeof(*rf->locals));
			rf->nlocals = acc.n;
			/* for the JSON output (pyattrs.c) */
			for (size_t i = 0; !err && py->opts.local_attributes &&
			     i < acc.n; i++)
				err = py_local_attributes(py, rf->locals[i].value,
							  &rf->locals[i].attrs);
		} else if (!err) {
			err = &tp_error_nomem;
		}
	}
	free(acc.v);
	return err;
}

/* Arguments: the first argcount + kwonly names, then *args, **kw. */
static void frame_args(const struct frame_code *c, const char **names,
		       size_t n, struct tp_rframe *rf)
{
	size_t nargs = (size_t)c->argcount + (size_t)c->kwonly;
	size_t next = nargs;
	if (nargs > n)
		nargs = next = n;
	rf->argnames = names;
	rf->nargs = nargs;
	if ((c->flags & CO_VARARGS) && next < n)
		rf->varargs = names[next++];
	if ((c->flags & CO_VARKEYWORDS) && next < n)
		rf->varkw = names[next++];
}

/* Names in a tuple of str, into the arena. */
static struct tp_error *tuple_names(struct tp_python *py, uint64_t tuple,
				    const char ***ret, size_t *n)
{
	uint64_t *items = NULL;
	struct tp_error *err = tuple_items(py, tuple, MAX_LOCALS, &items, n);
	if (err)
		return err;
	const char **names = arena_array(py, *n, sizeof(*names));
	if (!names)
		err = &tp_error_nomem;
	for (size_t i = 0; !err && i < *n; i++)
		err = py_str_utf8(py, items[i], 4096, &names[i]);
	free(items);
	if (!err)
		*ret = names;
	return err;
}

/* The @n raw slot pointers at @at, and room for as many slot records. */
static struct tp_error *read_slots(struct tp_python *py, uint64_t at, size_t n,
				   uint64_t **raw, struct slot **slots)
{
	*raw = malloc((n ? n : 1) * 8);
	*slots = malloc((n ? n : 1) * sizeof(**slots));
	if (!*raw || !*slots)
		return &tp_error_nomem;
	return n ? py_read(py, at, *raw, n * 8) : NULL;
}

/* 3.11+: localsplus slots, named by co_localsplusnames, kinds in bytes. */
static struct tp_error *iframe_locals(struct tp_python *py,
				      const struct frame_code *c,
				      uint64_t iframe, struct tp_rframe *rf)
{
	struct tp_error *err;
	uint64_t names_tuple, kinds_bytes, *raw = NULL;
	uint8_t *kinds = NULL;
	size_t nnames = 0, nkinds = 0;
	const char **names = NULL;
	struct slot *slots = NULL;
	size_t n = (size_t)c->nlocalsplus;
	bool optimized = c->flags & CO_OPTIMIZED;

	if ((err = py_read_ptr(py, c->addr + LOFF(py, CO_LOCALSPLUSNAMES),
			       &names_tuple)) ||
	    (err = py_read_ptr(py, c->addr + LOFF(py, CO_LOCALSPLUSKINDS),
			       &kinds_bytes)) ||
	    (err = tuple_names(py, names_tuple, &names, &nnames)) ||
	    (err = bytes_copy(py, kinds_bytes, MAX_LOCALS, &kinds, &nkinds)))
		goto out;
	if (nnames < n || nkinds < n) {
		err = tp_error_fault(c->addr, "bad localsplus tables");
		goto out;
	}
	frame_args(c, names, n, rf);
	if (!py->opts.locals)
		goto out;
	if ((err = read_slots(py, iframe + LOFF(py, IF_LOCALSPLUS), n, &raw,
			      &slots)))
		goto out;
	size_t k = 0;
	bool hidden_bound = false;
	for (size_t i = 0; i < n; i++) {
		if ((kinds[i] & CO_FAST_FREE) && !optimized)
			continue;
		slots[k].name = names[i];
		slots[k].value = raw[i];
		/* 3.14+: slots are tagged references; a tagged int is no
		 * variable's value (only the value stack holds them) */
		if (py->caps->tagged_stackrefs)
			tp_stackref_object(raw[i], &slots[k].value);
		slots[k].how = (kinds[i] & (CO_FAST_FREE | CO_FAST_CELL))
				       ? SLOT_MAYBE_CELL : SLOT_VALUE;
		if ((kinds[i] & CO_FAST_HIDDEN) && slots[k].value)
			hidden_bound = true;
		k++;
	}
	/* PEP 667: a namespace frame shows its dict alone (see caps.h) */
	if (!optimized && py->caps->pep667_locals && !hidden_bound)
		k = 0;
	/*
	 * 3.11/3.12 keep the dict of an optimised frame too, once
	 * frame.f_locals or locals() made it (see build_locals); 3.13 does
	 * not (PEP 667: names written through f_locals go to f_extra_locals).
	 */
	uint64_t dict = 0, extra = 0, fobj = 0;
	if ((!optimized || py->caps->optimized_frame_dict) &&
	    (err = py_read_ptr(py, iframe + LOFF(py, IF_LOCALS), &dict)))
		goto out;
	if (LHAS(py, FO_EXTRA_LOCALS) &&
	    !(err = py_read_ptr(py, iframe + LOFF(py, IF_FRAME_OBJ), &fobj)) &&
	    fobj)
		err = py_read_ptr(py, fobj + LOFF(py, FO_EXTRA_LOCALS), &extra);
	if (err)
		goto out;
	err = build_locals(py, rf, dict, slots, k, optimized ? extra : 0);
out:
	free(raw);
	free(kinds);
	free(slots);
	return err;
}

/*
 * 2.7-3.10: f_localsplus holds co_nlocals plain variables (co_varnames),
 * then a cell per co_cellvars, then a cell per co_freevars.
 */
static struct tp_error *frameobj_locals(struct tp_python *py,
					const struct frame_code *c,
					uint64_t frame, struct tp_rframe *rf)
{
	struct tp_error *err;
	uint64_t vt, ct, ft, *raw = NULL;
	const char **var = NULL, **cell = NULL, **free_ = NULL;
	size_t nvar = 0, ncell = 0, nfree = 0;
	struct slot *slots = NULL;
	bool optimized = c->flags & CO_OPTIMIZED;

	if ((err = py_read_ptr(py, c->addr + LOFF(py, CO_VARNAMES), &vt)) ||
	    (err = py_read_ptr(py, c->addr + LOFF(py, CO_CELLVARS), &ct)) ||
	    (err = py_read_ptr(py, c->addr + LOFF(py, CO_FREEVARS), &ft)) ||
	    (err = tuple_names(py, vt, &var, &nvar)) ||
	    (err = tuple_names(py, ct, &cell, &ncell)) ||
	    (err = tuple_names(py, ft, &free_, &nfree)))
		return err;
	size_t nlocals = (size_t)c->nlocals < nvar ? (size_t)c->nlocals : nvar;
	frame_args(c, var, nvar, rf);
	if (!py->opts.locals)
		return NULL;
	size_t n = (size_t)c->nlocals + ncell + nfree;
	if (n > MAX_LOCALS)
		return tp_error_fault(c->addr, "too many locals");
	if ((err = read_slots(py, frame + LOFF(py, FO_LOCALSPLUS), n, &raw,
			      &slots)))
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < nlocals; i++)
		slots[k++] = (struct slot){ var[i], raw[i], SLOT_VALUE };
	for (size_t i = 0; i < ncell; i++)
		slots[k++] = (struct slot){ cell[i], raw[c->nlocals + i],
					    SLOT_CELL };
	if (optimized)
		for (size_t i = 0; i < nfree; i++)
			slots[k++] = (struct slot){
				free_[i], raw[c->nlocals + ncell + i], SLOT_CELL
			};
	uint64_t dict = 0;
	if ((err = py_read_ptr(py, frame + LOFF(py, FO_LOCALS), &dict)))
		goto out;
	err = build_locals(py, rf, dict, slots, k, 0);
out:
	free(raw);
	free(slots);
	return err;
}

struct frame_acc {
	struct tp_rframe *v;
	size_t n, cap;
};

static struct tp_rframe *frame_push(struct frame_acc *acc)
{
	if (acc->n == acc->cap) {
		size_t cap = acc->cap ? acc->cap * 2 : 32;
		struct tp_rframe *v = realloc(acc->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		acc->v = v;
		acc->cap = cap;
	}
	struct tp_rframe *f = &acc->v[acc->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

static const char *arena_err(struct tp_python *py, struct tp_error *err)
{
	const char *s = tp_pyval_arena_strdup(py->arena, tp_error_message(err));
	return s ? s : "out of memory";
}

/* printf into the arena; a fixed text when memory runs out. */
static const char *arena_fmt(struct tp_python *py, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *arena_fmt(struct tp_python *py, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	const char *s = tp_pyval_arena_strdup(py->arena, buf);
	return s ? s : "out of memory";
}

/* "@what: message of @err" in the arena. */
static const char *arena_err_wrap(struct tp_python *py, struct tp_error *err,
				  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *arena_err_wrap(struct tp_python *py, struct tp_error *err,
				  const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return arena_fmt(py, "%s: %s", buf, tp_error_message(err));
}

/* Is @addr in the small set @seen (grows)?  Adds it. */
static bool seen_before(uint64_t **seen, size_t *n, size_t *cap,
			uint64_t addr)
{
	for (size_t i = 0; i < *n; i++)
		if ((*seen)[i] == addr)
			return true;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		uint64_t *s = realloc(*seen, c * sizeof(*s));
		if (!s)
			return false;
		*seen = s;
		*cap = c;
	}
	(*seen)[(*n)++] = addr;
	return false;
}

/* Record the frames (outermost first) and a walk error in @rt. */
static struct tp_error *finish_frames(struct tp_python *py,
				      struct tp_rthread *rt,
				      struct frame_acc *acc,
				      struct tp_error *err)
{
	if (err && err != &tp_error_nomem) {
		rt->error = arena_err(py, err);
		tp_error_destroy(err);
		err = NULL;
	}
	if (!err && acc->n) {
		rt->frames = arena_array(py, acc->n, sizeof(*rt->frames));
		if (!rt->frames) {
			err = &tp_error_nomem;
		} else {
			for (size_t i = 0; i < acc->n; i++)
				rt->frames[i] = acc->v[acc->n - 1 - i];
			rt->nframes = acc->n;
		}
	}
	free(acc->v);
	return err;
}

struct tp_error *py_iframe_decode(struct tp_python *py, uint64_t iframe,
				  uint64_t code, uint64_t instr, uint8_t owner,
				  struct tp_rframe *rf, bool *skip)
{
	struct tp_error *err;
	*skip = true;
	memset(rf, 0, sizeof(*rf));
	/* 3.14+: f_executable is a tagged reference */
	if (py->caps->tagged_stackrefs && !tp_stackref_object(code, &code))
		return NULL;
	uint64_t ctype;
	if ((err = py_type_of(py, code, &ctype)))
		return err;
	if (ctype != py->target->sym[TP_SYM_PyCode_Type])
		return NULL; /* 3.13: f_executable may be None */
	struct frame_code c;
	if ((err = read_code(py, code, &c)))
		return err;
	/* _PyFrame_IsIncomplete: not yet past the frame's prologue */
	uint64_t first = code + LOFF(py, CO_CODE_ADAPTIVE);
	if (owner != py->caps->owner_generator &&
	    instr < first + 2 * (uint64_t)c.firsttraceable)
		return NULL;
	*skip = false;
	rf->file = c.file;
	rf->function = c.name;
	rf->qualname = c.qualname;
	rf->is_module = !(c.flags & CO_OPTIMIZED);
	rf->line = frame_line(py, &c, iframe, instr);
	if (py->caps->frozen_source_from_file)
		rf->source_file = frozen_source(py, &c, iframe);
	struct tp_error *lerr = iframe_locals(py, &c, iframe, rf);
	if (lerr == &tp_error_nomem)
		return lerr;
	if (lerr) {
		rf->error = arena_err(py, lerr);
		tp_error_destroy(lerr);
	}
	return NULL;
}

/* Entry frame addresses by call of the eval loop. */
struct entry_acc {
	uint64_t *v;
	size_t n, cap;
};

static bool entry_push(struct entry_acc *a, unsigned call, uint64_t addr)
{
	if (call != a->n)
		return true;    /* not reached: one entry per call, in order */
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		uint64_t *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return false;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = addr;
	return true;
}

static struct tp_error *walk_iframes(struct tp_python *py, uint64_t tstate,
				     struct tp_rthread *rt)
{
	struct tp_error *err;
	uint64_t frame;
	if (LHAS(py, TS_CURRENT_FRAME)) {
		err = py_read_ptr(py, tstate + LOFF(py, TS_CURRENT_FRAME),
				  &frame);
	} else {
		uint64_t cframe;
		err = py_read_ptr(py, tstate + LOFF(py, TS_CFRAME), &cframe);
		if (!err)
			err = cframe ? py_read_ptr(py, cframe +
							       LOFF(py, CF_CURRENT_FRAME),
						   &frame)
				     : (frame = 0, NULL);
		/*
		 * While Python code runs, cframe is a local of the eval
		 * loop, on the C stack of the thread running it (idle, it
		 * points at tstate->root_cframe, inside the thread state).
		 */
		if (!err && cframe &&
		    (cframe < tstate || cframe >= tstate + 4096))
			rt->stack_hint = cframe;
	}
	if (err)
		return err;

	struct frame_acc acc = { 0 };
	uint64_t *seen = NULL;
	size_t nseen = 0, capseen = 0;
	size_t count = 0;
	/*
	 * The call of the eval loop that runs the frames walked, from the
	 * innermost: each call pushes its frames on top of an entry frame
	 * (3.12+: a frame of its own whose owner is the first internal
	 * value; 3.11: is_entry set on the first frame it runs), so
	 * passing an entry frame moves to the next call outwards.
	 */
	unsigned eval_call = 0;
	struct entry_acc entries = { 0 };
	while (frame) {
		if (count++ >= py->opts.max_frames) {
			rt->truncated = true;
			break;
		}
		if (seen_before(&seen, &nseen, &capseen, frame)) {
			err = tp_error_fault(frame, "frame chain loops");
			break;
		}
		uint64_t code, prev, instr;
		uint8_t owner;
		if ((err = py_read_ptr(py, frame + LOFF(py, IF_CODE), &code)) ||
		    (err = py_read_ptr(py, frame + LOFF(py, IF_PREVIOUS),
				       &prev)) ||
		    (err = py_read_ptr(py, frame + LOFF(py, IF_INSTR), &instr)) ||
		    (err = py_read_u8(py, frame + LOFF(py, IF_OWNER), &owner)))
			break;
		uint64_t this_frame = frame;
		frame = prev;
		/*
		 * 3.12+: the eval loop's entry frames (on the C stack) and
		 * other interpreter-internal frames are not Python frames.
		 */
		uint8_t internal = py->caps->first_internal_owner;
		if (internal && owner >= internal) {
			if (!rt->stack_hint)
				rt->stack_hint = this_frame;
			if (owner == internal) {
				if (!entry_push(&entries, eval_call, this_frame)) {
					err = &tp_error_nomem;
					break;
				}
				eval_call++;
			}
			continue;
		}
		unsigned this_call = eval_call;
		if (LHAS(py, IF_IS_ENTRY)) {
			uint8_t is_entry = 0;
			if ((err = py_read_u8(py, this_frame + LOFF(py, IF_IS_ENTRY),
					      &is_entry)))
				break;
			if (is_entry)
				eval_call++;
		}
		struct tp_rframe rf;
		bool skip;
		if ((err = py_iframe_decode(py, this_frame, code, instr, owner,
					    &rf, &skip)))
			break;
		if (skip)
			continue;
		struct tp_rframe *slot = frame_push(&acc);
		if (!slot) {
			err = &tp_error_nomem;
			break;
		}
		rf.eval_call = this_call;
		*slot = rf;
	}
	free(seen);
	if (!err && entries.n) {
		rt->eval_entries = arena_array(py, entries.n,
					       sizeof(*rt->eval_entries));
		if (!rt->eval_entries) {
			err = &tp_error_nomem;
		} else {
			memcpy(rt->eval_entries, entries.v,
			       entries.n * sizeof(*entries.v));
			rt->neval_entries = entries.n;
		}
	}
	free(entries.v);
	return finish_frames(py, rt, &acc, err);
}

/* ---- frames: the PyFrameObject model (2.7-3.10) ------------------------ */

static int frameobj_line(struct tp_python *py, const struct frame_code *c,
			 uint64_t frame)
{
	int32_t lasti = -1, lineno = 0;
	uint64_t trace = 0;
	struct tp_error *err = py_read_i32(py, frame + LOFF(py, FO_LASTI),
					   &lasti);
	if (!err)
		err = py_read_i32(py, frame + LOFF(py, FO_LINENO), &lineno);
	if (!err)
		err = py_read_ptr(py, frame + LOFF(py, FO_TRACE), &trace);
	if (err) {
		tp_error_destroy(err);
		return -1;
	}
	/*
	 * f_lineno is kept up to date only while tracing: up to 3.9 it is
	 * valid when f_trace is set, in 3.10 when it is not 0.  Otherwise
	 * the line comes from f_lasti: a byte offset up to 3.9, an index of
	 * 2-byte code units in 3.10.
	 */
	if (py->caps->lasti_in_code_units) {
		if (lineno)
			return lineno;
		return code_line(py, c, lasti < 0 ? -1 : 2 * (int64_t)lasti);
	}
	if (trace)
		return lineno;
	return code_line(py, c, lasti);
}

struct tp_error *py_frameobj_decode(struct tp_python *py, uint64_t frame,
				    struct tp_rframe *rf)
{
	struct tp_error *err;
	uint64_t code;
	memset(rf, 0, sizeof(*rf));
	if ((err = py_read_ptr(py, frame + LOFF(py, FO_CODE), &code)))
		return err;
	struct frame_code c;
	if ((err = read_code(py, code, &c)))
		return err;
	rf->file = c.file;
	rf->function = c.name;
	rf->qualname = c.qualname;
	rf->is_module = !(c.flags & CO_OPTIMIZED);
	rf->line = frameobj_line(py, &c, frame);
	struct tp_error *lerr = frameobj_locals(py, &c, frame, rf);
	if (lerr == &tp_error_nomem)
		return lerr;
	if (lerr) {
		rf->error = arena_err(py, lerr);
		tp_error_destroy(lerr);
	}
	return NULL;
}

static struct tp_error *walk_frameobjects(struct tp_python *py,
					  uint64_t tstate,
					  struct tp_rthread *rt)
{
	struct tp_error *err;
	uint64_t frame;
	if ((err = py_read_ptr(py, tstate + LOFF(py, TS_FRAME), &frame)))
		return err;
	struct frame_acc acc = { 0 };
	uint64_t *seen = NULL;
	size_t nseen = 0, capseen = 0, count = 0;
	while (frame) {
		if (count++ >= py->opts.max_frames) {
			rt->truncated = true;
			break;
		}
		if (seen_before(&seen, &nseen, &capseen, frame)) {
			err = tp_error_fault(frame, "frame chain loops");
			break;
		}
		uint64_t back;
		if ((err = py_read_ptr(py, frame + LOFF(py, FO_BACK), &back)))
			break;
		struct tp_rframe rf;
		if ((err = py_frameobj_decode(py, frame, &rf)))
			break;
		struct tp_rframe *slot = frame_push(&acc);
		if (!slot) {
			err = &tp_error_nomem;
			break;
		}
		/* one frame per call of the eval loop */
		rf.eval_call = (unsigned)(count - 1);
		*slot = rf;
		frame = back;
	}
	free(seen);
	return finish_frames(py, rt, &acc, err);
}

/* ---- threads ------------------------------------------------------------ */

struct names_ctx {
	struct tp_python *py;
	struct tp_rthread *threads;
	size_t first, n;
};

/* ---- frame objects as values ------------------------------------------ */

/* The code object (untagged) and instruction pointer of @iframe (3.11+). */
static struct tp_error *iframe_code(struct tp_python *py, uint64_t iframe,
				    uint64_t *code, uint64_t *instr)
{
	struct tp_error *err;
	if ((err = py_read_ptr(py, iframe + LOFF(py, IF_CODE), code)) ||
	    (err = py_read_ptr(py, iframe + LOFF(py, IF_INSTR), instr)))
		return err;
	if (py->caps->tagged_stackrefs && !tp_stackref_object(*code, code))
		return tp_error_fault(iframe, "frame without code");
	return NULL;
}

/* read_code() of @code once it is known to be a code object. */
static struct tp_error *read_code_object(struct tp_python *py, uint64_t code,
					 struct frame_code *c)
{
	uint64_t ctype;
	struct tp_error *err = py_type_of(py, code, &ctype);
	if (err)
		return err;
	if (ctype != py->target->sym[TP_SYM_PyCode_Type])
		return tp_error_fault(code, "not a code object");
	return read_code(py, code, c);
}

struct tp_error *py_gen_where(struct tp_python *py, uint64_t gen,
			      bool *ret_frame, const char **ret_file,
			      int *ret_line)
{
	struct tp_error *err;
	uint64_t code, frame = 0, iframe = 0, instr = 0;
	*ret_frame = false;
	if (iframe_model(py)) {
		/* the frame lives in the generator; a finished one keeps its
		 * code (_PyFrame_ClearExceptCode) */
		uint8_t st;
		if (!LHAS(py, GEN_IFRAME) || !LHAS(py, GEN_FRAME_STATE))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no generator layout");
		iframe = gen + LOFF(py, GEN_IFRAME);
		if ((err = py_read_u8(py, gen + LOFF(py, GEN_FRAME_STATE),
				      &st)) ||
		    (err = iframe_code(py, iframe, &code, &instr)))
			return err;
		*ret_frame = (int8_t)st < py->caps->gen_completed;
	} else {
		if (!LHAS(py, GEN_FRAME) || !LHAS(py, GEN_CODE))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no generator layout");
		if ((err = py_read_ptr(py, gen + LOFF(py, GEN_FRAME), &frame)) ||
		    (err = py_read_ptr(py, gen + LOFF(py, GEN_CODE), &code)))
			return err;
		*ret_frame = frame != 0;
	}
	struct frame_code c;
	if ((err = read_code_object(py, code, &c)))
		return err;
	int line = c.firstlineno;
	if (*ret_frame)
		line = iframe ? frame_line(py, &c, iframe, instr)
			      : frameobj_line(py, &c, frame);
	if (line < 0)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "generator frame without line");
	*ret_file = c.file;
	*ret_line = line;
	return NULL;
}

struct tp_error *py_frame_object_where(struct tp_python *py, uint64_t fobj,
				       uint64_t *ret_file,
				       const char **ret_name, int *ret_line)
{
	struct tp_error *err;
	uint64_t code, iframe = 0, instr = 0;
	if (iframe_model(py)) {
		/*
		 * 3.11+: f_frame points at the interpreter frame, on the
		 * thread's data stack while it runs, inside the frame
		 * object once it has returned: read the same way.
		 */
		if (!LHAS(py, FO_FRAME))
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "no frame object layout");
		if ((err = py_read_ptr(py, fobj + LOFF(py, FO_FRAME),
				       &iframe)))
			return err;
		if (!iframe)
			return tp_error_fault(fobj, "frame object without frame");
		if ((err = iframe_code(py, iframe, &code, &instr)))
			return err;
	} else if ((err = py_read_ptr(py, fobj + LOFF(py, FO_CODE), &code))) {
		return err;
	}
	struct frame_code c;
	if ((err = read_code_object(py, code, &c)) ||
	    (err = py_read_ptr(py, code + LOFF(py, CO_FILENAME), ret_file)))
		return err;
	/* PyFrame_GetLineNumber(), as the stack walk computes it */
	int line = iframe_model(py) ? frame_line(py, &c, iframe, instr)
				    : frameobj_line(py, &c, fobj);
	if (line < 0)
		return tp_error_create(TP_ERR_UNSUPPORTED, "frame without line");
	*ret_name = c.name;
	*ret_line = line;
	return NULL;
}

static bool names_cb(void *arg, uint64_t key, uint64_t value)
{
	struct names_ctx *c = arg;
	uint64_t ident;
	bool neg;
	struct tp_error *err = py_int_value(c->py, key, &ident, &neg);
	if (err) {
		tp_error_destroy(err);
		return true;
	}
	for (size_t i = c->first; i < c->n; i++) {
		struct tp_rthread *t = &c->threads[i];
		if (!t->has_ident || t->ident != ident)
			continue;
		uint64_t name = 0;
		err = py_instance_attr(c->py, value,
				       c->py->caps->py2_objects ? "_Thread__name"
								: "_name",
				       &name);
		if (!err && name)
			err = py_str_utf8(c->py, name, 4096, &t->name);
		tp_error_destroy(err);
	}
	return true;
}

/*
 * A thread state made for a thread that has not started yet.  The thread
 * creating it makes it (threading.Thread.start()); the new thread records
 * its own ids in it when it first runs.  Until then it has no frames and
 * holds its creator's ids (2.7-3.11: thread_id and native_thread_id are
 * set to the caller's at creation) or none (3.12+: thread_id 0 until the
 * state is bound).  Reported as it is, it was a second thread with the
 * creator's tid and name and no frames.  Among the thread states of one
 * interpreter, @first .. @n: one with no frames and no error whose ident
 * is 0 or another's (the other one with frames, or the older one: a new
 * state goes to the head of the list) is marked as starting, its borrowed
 * ids cleared.
 */
static void starting_threads(struct tp_python *py, struct tp_rthread *v,
			     size_t first, size_t n)
{
	for (size_t i = first; i < n; i++) {
		struct tp_rthread *t = &v[i];
		if (t->nframes || t->error || !t->has_ident)
			continue;
		const struct tp_rthread *creator = NULL;
		for (size_t j = first; j < n && t->ident && !creator; j++)
			if (j != i && v[j].has_ident && !v[j].state &&
			    v[j].ident == t->ident && (v[j].nframes || j > i))
				creator = &v[j];
		if (t->ident && !creator)
			continue;
		if (creator)
			t->state = arena_fmt(py, "starting: thread state made by thread %llu, not run yet",
					     (unsigned long long)creator->ident);
		else
			t->state = "starting: thread state not bound to a thread yet";
		t->has_ident = false;
		t->ident = 0;
		t->tid = 0;
		t->is_main = false;
	}
}

/* Thread names from threading._active (and _limbo is not needed). */
static void thread_names(struct tp_python *py, uint64_t interp,
			 struct tp_rthread *threads, size_t first, size_t n)
{
	uint64_t modules = 0, threading = 0, mdict = 0, active = 0;
	struct tp_error *err = NULL;
	if (LHAS(py, IS_MODULES))
		err = py_read_ptr(py, interp + LOFF(py, IS_MODULES), &modules);
	if (!err && modules)
		err = py_dict_get_str(py, modules, "threading", &threading);
	if (!err && threading)
		err = py_read_ptr(py, threading + LOFF(py, MODULE_DICT), &mdict);
	if (!err && mdict)
		err = py_dict_get_str(py, mdict, "_active", &active);
	if (!err && active) {
		struct names_ctx c = { py, threads, first, n };
		err = py_dict_iter(py, active, names_cb, &c);
	}
	tp_error_destroy(err);
}

/*
 * The thread state holding the GIL of @interp, 0 if none, -1 unknown.
 * The GIL records its last holder even after release: it is the holder
 * only while `locked` is 1.
 *  3.12+:    interp->ceval.gil points to the GIL (per interpreter);
 *  3.7-3.11: _PyRuntime.ceval.gil;
 *  3.6:      the statics gil_locked and gil_last_holder of ceval.c;
 *  2.7:      no owner recorded; _PyThreadState_Current is the thread
 *            running Python code, NULL while nobody holds the GIL.
 */
static int64_t gil_holder(struct tp_python *py, uint64_t interp)
{
	const uint64_t *sym = py->target->sym;
	uint64_t locked_at = 0, holder_at = 0, gil = 0;
	struct tp_error *err = NULL;
	if (LHAS(py, IS_CEVAL_GIL)) {
		err = py_read_ptr(py, interp + LOFF(py, IS_CEVAL_GIL), &gil);
	} else if (LHAS(py, RT_GIL) && py->runtime) {
		gil = py->runtime + LOFF(py, RT_GIL);
	} else if (sym[TP_SYM_gil_locked] && sym[TP_SYM_gil_last_holder]) {
		locked_at = sym[TP_SYM_gil_locked];
		holder_at = sym[TP_SYM_gil_last_holder];
	} else if (py->caps->gil_fallback == TP_GIL_FALLBACK_CURRENT_TSTATE &&
		   sym[TP_SYM__PyThreadState_Current]) {
		uint64_t ts;
		err = py_read_ptr(py, sym[TP_SYM__PyThreadState_Current], &ts);
		if (err) {
			tp_error_destroy(err);
			return -1;
		}
		return (int64_t)ts;
	}
	if (err || (!gil && !locked_at)) {
		tp_error_destroy(err);
		return -1;
	}
	if (gil) {
		if (!LHAS(py, GIL_LOCKED) || !LHAS(py, GIL_LAST_HOLDER))
			return -1;
		locked_at = gil + LOFF(py, GIL_LOCKED);
		holder_at = gil + LOFF(py, GIL_LAST_HOLDER);
	}
	int32_t locked;
	uint64_t holder;
	err = py_read_i32(py, locked_at, &locked);
	if (!err)
		err = py_read_ptr(py, holder_at, &holder);
	if (err) {
		tp_error_destroy(err);
		return -1;
	}
	return locked == 1 ? (int64_t)holder : 0;
}

struct thread_acc {
	struct tp_rthread *v;
	size_t n, cap;
};

struct tp_error *tp_python_walk(struct tp_python *py,
				struct tp_rsnapshot *snap)
{
	struct tp_error *err;
	py_objects_reset(py, snap->arena);
	struct thread_acc acc = { 0 };
	uint64_t interp, main_ident = 0, main_interp = 0;
	bool have_main = false;

	if ((err = interp_head(py, &interp)))
		return tp_error_wrap(err, "cannot read the interpreter list");
	if (!interp)
		return tp_error_create(TP_ERR_NOTPYTHON,
				       "the Python runtime has no interpreter (not initialised yet, or finalised)");
	if (py->runtime && LHAS(py, RT_MAIN_THREAD)) {
		struct tp_error *e = py_read_ptr(
			py, py->runtime + LOFF(py, RT_MAIN_THREAD), &main_ident);
		have_main = !e;
		tp_error_destroy(e);
	}
	if (py->runtime && LHAS(py, RT_INTERP_MAIN)) {
		struct tp_error *e = py_read_ptr(
			py, py->runtime + LOFF(py, RT_INTERP_MAIN), &main_interp);
		tp_error_destroy(e);
	}

	uint64_t *seen = NULL, *seen_interp = NULL;
	size_t nseen = 0, capseen = 0, nseen_interp = 0, capseen_interp = 0;
	/* why the walk ended before the lists did (the report says it) */
	const char *incomplete = NULL;
	int ni;
	for (ni = 0; interp && ni < MAX_INTERPRETERS; ni++) {
		if (seen_before(&seen_interp, &nseen_interp, &capseen_interp,
				interp)) {
			incomplete = arena_fmt(py, "the interpreter list loops at 0x%llx",
					       (unsigned long long)interp);
			break;
		}
		int64_t interp_id = -1;
		if (LHAS(py, IS_ID)) {
			struct tp_error *e = py_read_i64(py, interp + LOFF(py, IS_ID),
							 &interp_id);
			if (e)
				interp_id = -1;
			tp_error_destroy(e);
		}
		int64_t holder = gil_holder(py, interp);
		size_t first = acc.n;
		size_t first_seen = nseen;
		uint64_t ts;
		if ((err = py_read_ptr(py, interp + LOFF(py, IS_TSTATE_HEAD), &ts))) {
			if (!acc.n)
				break;
			/* the threads of earlier interpreters stand */
			incomplete = arena_err_wrap(py, err,
						    "threads of interpreter %d not read", ni + 1);
			tp_error_destroy(err);
			err = NULL;
			break;
		}
		size_t nts = 0;
		while (ts) {
			if (nts++ >= py->opts.max_threads) {
				incomplete = arena_fmt(py, "more than %zu thread states in interpreter %d: the rest not shown",
						       py->opts.max_threads, ni + 1);
				break;
			}
			if (seen_before(&seen, &nseen, &capseen, ts)) {
				incomplete = arena_fmt(py, "the thread list loops at 0x%llx",
						       (unsigned long long)ts);
				break;
			}
			if (acc.n == acc.cap) {
				size_t cap = acc.cap ? acc.cap * 2 : 16;
				struct tp_rthread *v = realloc(acc.v,
							       cap * sizeof(*v));
				if (!v) {
					err = &tp_error_nomem;
					goto out;
				}
				acc.v = v;
				acc.cap = cap;
			}
			struct tp_rthread *rt = &acc.v[acc.n++];
			memset(rt, 0, sizeof(*rt));
			rt->python = true;
			rt->interp_id = interp_id;
			rt->holds_gil = holder < 0 ? -1 : (uint64_t)holder == ts;
			uint64_t ident;
			struct tp_error *e = py_read_ptr(
				py, ts + LOFF(py, TS_THREAD_ID), &ident);
			if (!e) {
				rt->ident = ident;
				rt->has_ident = true;
				rt->is_main = have_main && ident == main_ident &&
					      (!main_interp || interp == main_interp);
			}
			tp_error_destroy(e);
			if (LHAS(py, TS_NATIVE_THREAD_ID)) {
				uint64_t tid;
				e = py_read_ptr(py, ts + LOFF(py, TS_NATIVE_THREAD_ID),
						&tid);
				if (!e)
					rt->tid = (pid_t)tid;
				tp_error_destroy(e);
			}
			e = iframe_model(py) ? walk_iframes(py, ts, rt)
					      : walk_frameobjects(py, ts, rt);
			if (e == &tp_error_nomem) {
				err = e;
				goto out;
			}
			if (e) {
				rt->error = arena_err(py, e);
				tp_error_destroy(e);
			}
			if ((err = py_read_ptr(py, ts + LOFF(py, TS_NEXT), &ts))) {
				incomplete = arena_err_wrap(py, err,
							    "the thread list ends unreadable");
				tp_error_destroy(err);
				err = NULL;
				break;
			}
		}
		starting_threads(py, acc.v, first, acc.n);
		thread_names(py, interp, acc.v, first, acc.n);
		/* this interpreter's thread states: seen[first_seen..] */
		if ((err = py_asyncio_walk(py, interp, seen + first_seen,
					   nseen - first_seen, snap)))
			goto out;
		if (incomplete)
			break;
		if ((err = py_read_ptr(py, interp + LOFF(py, IS_NEXT), &interp))) {
			/* keep what we have */
			incomplete = arena_err_wrap(py, err,
						    "the interpreter list ends unreadable");
			tp_error_destroy(err);
			err = NULL;
			break;
		}
	}
	if (!incomplete && interp && ni == MAX_INTERPRETERS)
		incomplete = arena_fmt(py, "more than %d interpreters: the rest not shown",
				       MAX_INTERPRETERS);
out:
	free(seen);
	free(seen_interp);
	if (err) {
		free(acc.v);
		return err;
	}
	snap->threads = arena_array(py, acc.n, sizeof(*snap->threads));
	if (!snap->threads) {
		free(acc.v);
		return &tp_error_nomem;
	}
	if (acc.n)
		memcpy(snap->threads, acc.v, acc.n * sizeof(*acc.v));
	snap->nthreads = acc.n;
	snap->error = incomplete;
	snap->python_version = py->version;
	snap->eval_loop = py->caps->eval_loop_frame_ex
				  ? "PyEval_EvalFrameEx"
				  : "_PyEval_EvalFrameDefault";
	snap->layout_source = py->layout_source;
	free(acc.v);
	return NULL;
}
