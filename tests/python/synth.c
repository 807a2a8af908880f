/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "python/layout_source.h"
#include "synth.h"

#define MAIN_IDENT 0x7f00deadb000ULL
#define MAIN_TID 4242
#define TYPE_SIZE 1024

static struct tp_error *synth_read(struct tp_memsrc *src, uint64_t addr,
				   void *buf, size_t len)
{
	struct synth *s = (struct synth *)src;
	s->reads++;
	if (addr >= SYNTH_STATIC_BASE &&
	    addr - SYNTH_STATIC_BASE <= SYNTH_STATIC_SIZE &&
	    len <= SYNTH_STATIC_SIZE - (addr - SYNTH_STATIC_BASE)) {
		memcpy(buf, s->statics + (addr - SYNTH_STATIC_BASE), len);
		return NULL;
	}
	if (addr >= SYNTH_HEAP_BASE && addr - SYNTH_HEAP_BASE <= s->heap_len &&
	    len <= s->heap_len - (addr - SYNTH_HEAP_BASE)) {
		memcpy(buf, s->heap + (addr - SYNTH_HEAP_BASE), len);
		return NULL;
	}
	return tp_error_fault(addr, "could not read memory at 0x%llx",
			      (unsigned long long)addr);
}

static const struct tp_memsrc_ops synth_ops = { .read = synth_read };

int64_t synth_off(const struct synth *s, enum tp_layout_id id)
{
	return tp_python_layout(s->py)->v[id];
}

static uint8_t *at(struct synth *s, uint64_t addr, size_t len)
{
	if (addr >= SYNTH_STATIC_BASE &&
	    addr + len <= SYNTH_STATIC_BASE + SYNTH_STATIC_SIZE)
		return s->statics + (addr - SYNTH_STATIC_BASE);
	if (addr >= SYNTH_HEAP_BASE &&
	    addr + len <= SYNTH_HEAP_BASE + s->heap_len && !s->heap_fixed)
		return s->heap + (addr - SYNTH_HEAP_BASE);
	abort();        /* a builder wrote outside the world: a test bug */
}

void synth_write(struct synth *s, uint64_t addr, const void *p, size_t len)
{
	memcpy(at(s, addr, len), p, len);
}

void synth_w64(struct synth *s, uint64_t addr, uint64_t v)
{
	synth_write(s, addr, &v, 8);
}

void synth_w32(struct synth *s, uint64_t addr, uint32_t v)
{
	synth_write(s, addr, &v, 4);
}

void synth_w8(struct synth *s, uint64_t addr, uint8_t v)
{
	synth_write(s, addr, &v, 1);
}

static uint64_t static_alloc(struct synth *s, size_t size)
{
	uint64_t a = s->static_next;
	s->static_next += (size + 15) & ~(size_t)15;
	if (s->static_next > SYNTH_STATIC_BASE + SYNTH_STATIC_SIZE)
		abort();
	return a;
}

uint64_t synth_alloc(struct synth *s, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (s->heap_len + size > s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap : 1u << 16;
		while (cap < s->heap_len + size)
			cap *= 2;
		uint8_t *h = realloc(s->heap, cap);
		if (!h)
			abort();
		memset(h + s->heap_cap, 0, cap - s->heap_cap);
		s->heap = h;
		s->heap_cap = cap;
	}
	uint64_t a = SYNTH_HEAP_BASE + s->heap_len;
	s->heap_len += size;
	return a;
}

uint64_t synth_sym(const struct synth *s, enum tp_symbol_id id)
{
	return s->target.sym[id];
}

uint64_t synth_object(struct synth *s, uint64_t type, size_t size)
{
	uint64_t o = synth_alloc(s, size);
	synth_w64(s, o, 1);     /* ob_refcnt */
	synth_w64(s, o + (uint64_t)SOFF(s, OB_TYPE), type);
	return o;
}

/* A static type object named @name (tp_name, non-heap). */
static uint64_t make_type(struct synth *s, enum tp_symbol_id id,
			  const char *name, uint64_t flags)
{
	uint64_t t = static_alloc(s, TYPE_SIZE);
	uint64_t str = static_alloc(s, strlen(name) + 1);
	synth_write(s, str, name, strlen(name) + 1);
	synth_w64(s, t, 1);
	s->target.sym[id] = t;
	if (s->py) {
		synth_w64(s, t + (uint64_t)SOFF(s, TP_NAME), str);
		synth_w64(s, t + (uint64_t)SOFF(s, TP_FLAGS), flags);
	}
	return t;
}

struct type_def {
	enum tp_symbol_id id;
	const char *name;
	uint64_t flags;
	bool py2, py3;
};

static const struct type_def types[] = {
	{ TP_SYM_PyType_Type, "type", TPF_TYPE_SUBCLASS, true, true },
	{ TP_SYM_PyBaseObject_Type, "object", 0, true, true },
	{ TP_SYM_PyLong_Type, "int", TPF_LONG_SUBCLASS, true, true },
	{ TP_SYM_PyInt_Type, "int", 0, true, false },
	{ TP_SYM_PyBool_Type, "bool", 0, true, true },
	{ TP_SYM_PyFloat_Type, "float", 0, true, true },
	{ TP_SYM_PyUnicode_Type, "str", TPF_UNICODE_SUBCLASS, true, true },
	{ TP_SYM_PyString_Type, "str", 0, true, false },
	{ TP_SYM_PyBytes_Type, "bytes", TPF_BYTES_SUBCLASS, false, true },
	{ TP_SYM_PyByteArray_Type, "bytearray", 0, true, true },
	{ TP_SYM_PyTuple_Type, "tuple", TPF_TUPLE_SUBCLASS, true, true },
	{ TP_SYM_PyList_Type, "list", TPF_LIST_SUBCLASS, true, true },
	{ TP_SYM_PyDict_Type, "dict", TPF_DICT_SUBCLASS, true, true },
	{ TP_SYM_PySet_Type, "set", 0, true, true },
	{ TP_SYM_PyFrozenSet_Type, "frozenset", 0, true, true },
	{ TP_SYM_PyCode_Type, "code", 0, true, true },
	{ TP_SYM_PyCell_Type, "cell", 0, true, true },
	{ TP_SYM_PyModule_Type, "module", 0, true, true },
	{ TP_SYM_PyFunction_Type, "function", 0, true, true },
	{ TP_SYM_PyCFunction_Type, "builtin_function_or_method", 0, true, true },
};

static uint64_t struct_size(struct synth *s, const enum tp_layout_id *ids,
			    size_t n)
{
	int64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t v = synth_off(s, ids[i]);
		if (v != TP_LAYOUT_ABSENT && v > max)
			max = v;
	}
	return (uint64_t)max + 16;
}

bool synth_init(struct synth *s, unsigned major, unsigned minor,
		size_t max_repr)
{
	memset(s, 0, sizeof(*s));
	s->src.ops = &synth_ops;
	s->major = major;
	s->minor = minor;
	s->static_next = SYNTH_STATIC_BASE + 4096; /* 0x100000..: unused */
	s->target.mem = &s->src;
	s->target.pymod_name = "synthetic";
	/* the symbols the decoder needs before the layout is known */
	uint64_t ver = static_alloc(s, 8);
	synth_w64(s, ver, (uint64_t)major << 24 | (uint64_t)minor << 16 |
			       1u << 8 | 0xf0);
	s->target.sym[TP_SYM_Py_Version] = ver;
	uint64_t runtime = static_alloc(s, 8192);
	if (major >= 3)
		s->target.sym[TP_SYM__PyRuntime] = runtime;
	else
		s->target.sym[TP_SYM_interp_head] = runtime;
	struct tp_python_opts opts;
	tp_python_opts_default(&opts);
	opts.layout_source = TP_LAYOUT_TABLE;
	opts.max_repr = max_repr;
	struct tp_error *err = tp_python_open(&s->target, &opts, &s->py);
	if (err) {
		tp_error_destroy(err);
		return false;
	}
	bool py2 = major == 2;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (py2 ? types[i].py2 : types[i].py3)
			make_type(s, types[i].id, types[i].name, types[i].flags);
	uint64_t type_type = s->target.sym[TP_SYM_PyType_Type];
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint64_t t = s->target.sym[types[i].id];
		if (t)
			synth_w64(s, t + (uint64_t)SOFF(s, OB_TYPE), type_type);
	}
	s->target.sym[TP_SYM__Py_NoneStruct] = static_alloc(s, 16);
	s->target.sym[TP_SYM__Py_TrueStruct] = static_alloc(s, 32);
	s->target.sym[TP_SYM__Py_FalseStruct] = static_alloc(s, 32);
	/* the statics are in: the decoder sees them as tp_python_open's
	 * python_bind() would have (it read them before they existed) */
	tp_python_destroy(s->py);
	s->py = NULL;
	if ((err = tp_python_open(&s->target, &opts, &s->py))) {
		tp_error_destroy(err);
		return false;
	}

	/* one interpreter with one thread state */
	static const enum tp_layout_id is_ids[] = {
		TP_L_IS_NEXT, TP_L_IS_ID, TP_L_IS_TSTATE_HEAD, TP_L_IS_MODULES,
		TP_L_IS_CEVAL_GIL,
	};
	static const enum tp_layout_id ts_ids[] = {
		TP_L_TS_NEXT, TP_L_TS_INTERP, TP_L_TS_FRAME, TP_L_TS_CFRAME,
		TP_L_TS_CURRENT_FRAME, TP_L_TS_THREAD_ID,
		TP_L_TS_NATIVE_THREAD_ID,
	};
	s->interp = static_alloc(s, struct_size(s, is_ids, 5));
	s->tstate = static_alloc(s, struct_size(s, ts_ids, 7));
	s->cframe = static_alloc(s, 64);
	if (major >= 3) {
		synth_w64(s, runtime + (uint64_t)SOFF(s, RT_INTERP_HEAD),
			  s->interp);
		if (LHAS(s->py, RT_INTERP_MAIN))
			synth_w64(s, runtime + (uint64_t)SOFF(s, RT_INTERP_MAIN),
				  s->interp);
		if (LHAS(s->py, RT_MAIN_THREAD))
			synth_w64(s, runtime + (uint64_t)SOFF(s, RT_MAIN_THREAD),
				  MAIN_IDENT);
	} else {
		synth_w64(s, runtime, s->interp);
	}
	synth_w64(s, s->interp + (uint64_t)SOFF(s, IS_TSTATE_HEAD), s->tstate);
	synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_THREAD_ID), MAIN_IDENT);
	if (LHAS(s->py, TS_NATIVE_THREAD_ID))
		synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_NATIVE_THREAD_ID),
			  MAIN_TID);
	if (LHAS(s->py, TS_INTERP))
		synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_INTERP),
			  s->interp);
	if (LHAS(s->py, TS_CFRAME))
		synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_CFRAME),
			  s->cframe);
	return true;
}

void synth_deinit(struct synth *s)
{
	tp_python_destroy(s->py);
	if (!s->heap_fixed)
		free(s->heap);
	memset(s, 0, sizeof(*s));
}

void synth_map_heap(struct synth *s, const uint8_t *data, size_t len)
{
	if (!s->heap_fixed)
		free(s->heap);
	s->heap = (uint8_t *)data;
	s->heap_len = s->heap_cap = len;
	s->heap_fixed = true;
}

uint64_t synth_int_raw(struct synth *s, uint64_t raw, const uint32_t *digits,
		       size_t ndigits)
{
	int64_t dsize = SOFF(s, SIZEOF_DIGIT);
	uint64_t o = synth_object(s, s->target.sym[TP_SYM_PyLong_Type],
				  (size_t)SOFF(s, LONG_DIGIT) +
					  ndigits * (size_t)dsize + 8);
	if (LHAS(s->py, LONG_LV_TAG))
		synth_w64(s, o + (uint64_t)SOFF(s, LONG_LV_TAG), raw);
	else
		synth_w64(s, o + (uint64_t)SOFF(s, OB_SIZE), raw);
	for (size_t i = 0; i < ndigits; i++) {
		uint64_t d = o + (uint64_t)SOFF(s, LONG_DIGIT) + i * (uint64_t)dsize;
		if (dsize == 4)
			synth_w32(s, d, digits[i]);
		else
			synth_write(s, d, &(uint16_t){ (uint16_t)digits[i] }, 2);
	}
	return o;
}

uint64_t synth_int(struct synth *s, int64_t v)
{
	if (s->target.sym[TP_SYM_PyInt_Type]) {
		uint64_t o = synth_object(s, s->target.sym[TP_SYM_PyInt_Type],
					  (size_t)SOFF(s, INT_IVAL) + 8);
		synth_w64(s, o + (uint64_t)SOFF(s, INT_IVAL), (uint64_t)v);
		return o;
	}
	unsigned shift = SOFF(s, SIZEOF_DIGIT) == 4 ? 30 : 15;
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	uint32_t d[5];
	size_t n = 0;
	while (mag) {
		d[n++] = (uint32_t)(mag & ((1u << shift) - 1));
		mag >>= shift;
	}
	uint64_t raw;
	if (LHAS(s->py, LONG_LV_TAG))
		raw = (uint64_t)n << 3 | (v < 0 ? 2 : v == 0 ? 1 : 0);
	else
		raw = v < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	return synth_int_raw(s, raw, d, n);
}

uint64_t synth_bytes(struct synth *s, const void *data, size_t len)
{
	uint64_t type = s->target.sym[s->major == 2 ? TP_SYM_PyString_Type
						   : TP_SYM_PyBytes_Type];
	uint64_t o = synth_object(s, type, (size_t)SOFF(s, BYTES_SVAL) + len + 1);
	synth_w64(s, o + (uint64_t)SOFF(s, OB_SIZE), len);
	if (len)
		synth_write(s, o + (uint64_t)SOFF(s, BYTES_SVAL), data, len);
	return o;
}

uint64_t synth_str(struct synth *s, const char *text)
{
	size_t len = strlen(text);
	if (s->major == 2)
		return synth_bytes(s, text, len);
	uint64_t o = synth_object(s, s->target.sym[TP_SYM_PyUnicode_Type],
				  (size_t)SOFF(s, SIZEOF_ASCII) + len + 1);
	synth_w64(s, o + (uint64_t)SOFF(s, UNI_LENGTH), len);
	uint32_t state = 1u << SOFF(s, UNI_KIND_POS) |
			 1u << SOFF(s, UNI_COMPACT_POS) |
			 1u << SOFF(s, UNI_ASCII_POS);
	if (LHAS(s->py, UNI_READY_POS))
		state |= 1u << SOFF(s, UNI_READY_POS);
	synth_w32(s, o + (uint64_t)SOFF(s, UNI_STATE), state);
	synth_write(s, o + (uint64_t)SOFF(s, SIZEOF_ASCII), text, len);
	return o;
}

uint64_t synth_tuple(struct synth *s, const uint64_t *items, size_t n)
{
	uint64_t o = synth_object(s, s->target.sym[TP_SYM_PyTuple_Type],
				  (size_t)SOFF(s, TUPLE_ITEM) + 8 * n + 8);
	synth_w64(s, o + (uint64_t)SOFF(s, OB_SIZE), n);
	for (size_t i = 0; i < n; i++)
		synth_w64(s, o + (uint64_t)SOFF(s, TUPLE_ITEM) + 8 * i, items[i]);
	return o;
}

uint64_t synth_list(struct synth *s, const uint64_t *items, size_t n)
{
	uint64_t o = synth_object(s, s->target.sym[TP_SYM_PyList_Type],
				  (size_t)SOFF(s, LIST_ITEM) + 16);
	uint64_t a = synth_alloc(s, 8 * n + 8);
	for (size_t i = 0; i < n; i++)
		synth_w64(s, a + 8 * i, items[i]);
	synth_w64(s, o + (uint64_t)SOFF(s, OB_SIZE), n);
	synth_w64(s, o + (uint64_t)SOFF(s, LIST_ITEM), a);
	return o;
}

uint64_t synth_set(struct synth *s, int64_t mask, int64_t used,
		   uint64_t table, const uint64_t *keys, size_t nkeys)
{
	uint64_t o = synth_object(s, s->target.sym[TP_SYM_PySet_Type],
				  (size_t)SOFF(s, SET_TABLE) + 16);
	uint64_t esize = (uint64_t)SOFF(s, SIZEOF_SETENTRY);
	if (!table) {
		table = synth_alloc(s, (size_t)((uint64_t)(mask + 1) * esize));
		for (size_t i = 0; i < nkeys; i++)
			synth_w64(s, table + i * esize +
					     (uint64_t)SOFF(s, SETENTRY_KEY),
				  keys[i]);
	}
	synth_w64(s, o + (uint64_t)SOFF(s, SET_MASK), (uint64_t)mask);
	synth_w64(s, o + (uint64_t)SOFF(s, SET_USED), (uint64_t)used);
	synth_w64(s, o + (uint64_t)SOFF(s, SET_TABLE), table);
	return o;
}

uint64_t synth_code(struct synth *s, const char *name, const char *const *names,
		    size_t nnames, int32_t argcount)
{
	static const enum tp_layout_id ids[] = {
		TP_L_CO_FLAGS, TP_L_CO_ARGCOUNT, TP_L_CO_KWONLYARGCOUNT,
		TP_L_CO_NLOCALSPLUS, TP_L_CO_FIRSTLINENO, TP_L_CO_FIRSTTRACEABLE,
		TP_L_CO_FILENAME, TP_L_CO_NAME, TP_L_CO_QUALNAME,
		TP_L_CO_LOCALSPLUSNAMES, TP_L_CO_LOCALSPLUSKINDS,
		TP_L_CO_LINETABLE, TP_L_CO_CODE_ADAPTIVE,
	};
	uint64_t nm[64];
	uint8_t k[64];
	if (nnames > 64)
		abort();
	for (size_t i = 0; i < nnames; i++) {
		nm[i] = synth_str(s, names[i]);
		k[i] = CO_FAST_LOCAL;
	}
	uint64_t names_t = synth_tuple(s, nm, nnames);
	uint64_t kinds_b = synth_bytes(s, k, nnames);
	uint64_t table = synth_bytes(s, "", 0);
	uint64_t file = synth_str(s, "synth.py"), n = synth_str(s, name);
	uint64_t co = synth_object(s, s->target.sym[TP_SYM_PyCode_Type],
				   struct_size(s, ids, sizeof(ids) / sizeof(ids[0])) + 64);
	synth_w32(s, co + (uint64_t)SOFF(s, CO_FLAGS), CO_OPTIMIZED | CO_NEWLOCALS);
	synth_w32(s, co + (uint64_t)SOFF(s, CO_ARGCOUNT), (uint32_t)argcount);
	synth_w32(s, co + (uint64_t)SOFF(s, CO_NLOCALSPLUS), (uint32_t)nnames);
	synth_w32(s, co + (uint64_t)SOFF(s, CO_FIRSTLINENO), 1);
	synth_w64(s, co + (uint64_t)SOFF(s, CO_FILENAME), file);
	synth_w64(s, co + (uint64_t)SOFF(s, CO_NAME), n);
	if (LHAS(s->py, CO_QUALNAME))
		synth_w64(s, co + (uint64_t)SOFF(s, CO_QUALNAME), n);
	synth_w64(s, co + (uint64_t)SOFF(s, CO_LOCALSPLUSNAMES), names_t);
	synth_w64(s, co + (uint64_t)SOFF(s, CO_LOCALSPLUSKINDS), kinds_b);
	synth_w64(s, co + (uint64_t)SOFF(s, CO_LINETABLE), table);
	return co;
}

uint64_t synth_iframe(struct synth *s, uint64_t code, const uint64_t *values,
		      size_t n, uint64_t previous)
{
	uint64_t f = synth_alloc(s, (size_t)SOFF(s, IF_LOCALSPLUS) + 8 * n + 8);
	synth_w64(s, f + (uint64_t)SOFF(s, IF_CODE), code);
	synth_w64(s, f + (uint64_t)SOFF(s, IF_PREVIOUS), previous);
	synth_w64(s, f + (uint64_t)SOFF(s, IF_INSTR),
		  code + (uint64_t)SOFF(s, CO_CODE_ADAPTIVE));
	synth_w8(s, f + (uint64_t)SOFF(s, IF_OWNER), 0);
	for (size_t i = 0; i < n; i++)
		synth_w64(s, f + (uint64_t)SOFF(s, IF_LOCALSPLUS) + 8 * i,
			  values[i]);
	return f;
}

void synth_set_current_frame(struct synth *s, uint64_t frame)
{
	if (LHAS(s->py, TS_FRAME) && !LHAS(s->py, CF_CURRENT_FRAME))
		synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_FRAME), frame);
	else if (LHAS(s->py, TS_CURRENT_FRAME))
		synth_w64(s, s->tstate + (uint64_t)SOFF(s, TS_CURRENT_FRAME),
			  frame);
	else
		synth_w64(s, s->cframe + (uint64_t)SOFF(s, CF_CURRENT_FRAME),
			  frame);
}
