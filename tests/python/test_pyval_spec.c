/* SPDX-License-Identifier: MIT */
/*
 * Value renderers: what has no Python oracle in fixtures/pyval/cases.txt.
 * - tripod's own texts and limits (FORMAT.md §1): placeholders, max_repr,
 *   the nesting cap, contract errors;
 * - cycles that pure Python cannot build (a tuple or set containing
 *   itself), with the texts of CPython's C code (tuplerepr, set_repr:
 *   "(...)", "set(...)"; pprint's _safe_repr: "<Recursion on ...>");
 * - the arena and tp_pyint_to_decimal's error paths;
 * - speed on huge values.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "python/pyval.h"

static struct tp_pyval_arena *arena;

static void setup(void)
{
	cr_assert_null(tp_pyval_arena_create(&arena));
}

static void teardown(void)
{
	tp_pyval_arena_destroy(arena);
	arena = NULL;
}

TestSuite(pyval_spec, .init = setup, .fini = teardown, .timeout = 60);

/* ---- builders ---------------------------------------------------------- */

static uint64_t next_addr = 0x7f0000001000;

static struct tp_pyval *node(enum tp_pyval_kind kind)
{
	struct tp_pyval *v = tp_pyval_new(arena, kind, next_addr, NULL);
	next_addr += 0x40;
	cr_assert_not_null(v);
	return v;
}

static struct tp_pyval *mk_int(const char *digits)
{
	struct tp_pyval *v = node(TP_PV_INT);
	v->u.digits = tp_pyval_arena_strdup(arena, digits);
	return v;
}

static struct tp_pyval *mk_float(double x)
{
	struct tp_pyval *v = node(TP_PV_FLOAT);
	v->u.real = x;
	return v;
}

/* A str from ASCII/Latin-1 text (one byte = one code point). */
static struct tp_pyval *mk_str(const char *s)
{
	struct tp_pyval *v = node(TP_PV_STR);
	size_t n = strlen(s);
	v->u.str.cp = tp_pyval_arena_calloc(arena, n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		v->u.str.cp[i] = (unsigned char)s[i];
	v->u.str.len = n;
	return v;
}

static struct tp_pyval *mk_bytes(enum tp_pyval_kind kind, const char *s)
{
	struct tp_pyval *v = node(kind);
	v->u.bytes.len = strlen(s);
	v->u.bytes.data = tp_pyval_arena_memdup(arena, s, v->u.bytes.len);
	return v;
}

static struct tp_pyval *mk_seq(enum tp_pyval_kind kind, size_t n, ...)
{
	struct tp_pyval *v = node(kind);
	v->u.seq.len = n;
	v->u.seq.items = tp_pyval_arena_calloc(arena, n + 1,
					       sizeof(*v->u.seq.items));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		v->u.seq.items[i] = va_arg(ap, struct tp_pyval *);
	va_end(ap);
	return v;
}

static struct tp_pyval *mk_dict(size_t n, ...)
{
	struct tp_pyval *v = node(TP_PV_DICT);
	v->u.dict.len = n;
	v->u.dict.keys = tp_pyval_arena_calloc(arena, n + 1, sizeof(void *));
	v->u.dict.values = tp_pyval_arena_calloc(arena, n + 1, sizeof(void *));
	va_list ap;
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		v->u.dict.keys[i] = va_arg(ap, struct tp_pyval *);
		v->u.dict.values[i] = va_arg(ap, struct tp_pyval *);
	}
	va_end(ap);
	return v;
}

static char *repr_of(const struct tp_pyval *v, size_t max_repr)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pyval_opts opts = { .max_repr = max_repr };
	struct tp_error *err = tp_pyval_repr(v, &opts, &sb);
	cr_assert_null(err, "repr failed: %s", tp_error_message(err));
	return tp_strbuf_steal(&sb);
}

static char *pformat_of(const struct tp_pyval *v, int indent, int width,
			int depth, size_t max_repr)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pprint_opts po = { indent, width, depth };
	struct tp_pyval_opts opts = { .max_repr = max_repr };
	struct tp_error *err = tp_pyval_pformat(v, &po, &opts, &sb);
	cr_assert_null(err, "pformat failed: %s", tp_error_message(err));
	return tp_strbuf_steal(&sb);
}

#define expect_repr(v, max, want)                                          \
	do {                                                               \
		char *got_ = repr_of((v), (max));                          \
		cr_expect_str_eq(got_, (want));                            \
		free(got_);                                                \
	} while (0)

#define expect_pformat(v, indent, width, depth, max, want)                 \
	do {                                                               \
		char *got_ = pformat_of((v), (indent), (width), (depth),   \
					(max));                            \
		cr_expect_str_eq(got_, (want));                            \
		free(got_);                                                \
	} while (0)

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *s = NULL;
	cr_assert_geq(vasprintf(&s, f, ap), 0);
	va_end(ap);
	return s;
}

/* ---- placeholders ---------------------------------------------------- */

Test(pyval_spec, placeholder_texts)
{
	struct tp_pyval *o = tp_pyval_new(arena, TP_PV_OBJECT, 0x7f12ab00,
					  "__main__.Foo");
	struct tp_pyval *u = tp_pyval_new(arena, TP_PV_UNREADABLE, 0x1000,
					  "dict");
	struct tp_pyval *t = tp_pyval_new(arena, TP_PV_TOOLONG, 0xdeadbeef0,
					  "list");
	struct tp_pyval *x = tp_pyval_new(arena, TP_PV_TEXT, 0x10, "function");
	x->u.text = "<function f at 0x10>";
	expect_repr(o, 0, "<__main__.Foo object at 0x7f12ab00>");
	expect_repr(u, 0, "<unreadable dict at 0x1000>");
	expect_repr(t, 0, "<list object at 0xdeadbeef0 (really long repr)>");
	expect_repr(x, 0, "<function f at 0x10>");
	/* placeholders are never swapped for another placeholder */
	expect_repr(o, 5, "<__main__.Foo object at 0x7f12ab00>");
	expect_repr(u, 5, "<unreadable dict at 0x1000>");
	/* ... but count inside a container */
	struct tp_pyval *l = mk_seq(TP_PV_LIST, 2, o, u);
	char *want = fmt("<list object at 0x%" PRIx64 " (really long repr)>",
			 l->addr);
	expect_repr(l, 20, want);
	free(want);
	expect_pformat(mk_seq(TP_PV_LIST, 1, o), 1, 10, 0, 0,
		       "[<__main__.Foo object at 0x7f12ab00>]");
}

Test(pyval_spec, default_type_names)
{
	struct tp_pyval *v;
	const struct {
		enum tp_pyval_kind kind;
		unsigned flags;
		const char *name;
	} cases[] = {
		{ TP_PV_NONE, 0, "NoneType" },   { TP_PV_BOOL, 0, "bool" },
		{ TP_PV_INT, 0, "int" },
		{ TP_PV_INT, TP_PV_PY2 | TP_PV_LONG, "long" },
		{ TP_PV_FLOAT, 0, "float" },     { TP_PV_STR, 0, "str" },
		{ TP_PV_STR, TP_PV_PY2, "unicode" },
		{ TP_PV_BYTES, 0, "bytes" },     { TP_PV_BYTES, TP_PV_PY2, "str" },
		{ TP_PV_BYTEARRAY, 0, "bytearray" },
		{ TP_PV_TUPLE, 0, "tuple" },     { TP_PV_LIST, 0, "list" },
		{ TP_PV_DICT, 0, "dict" },       { TP_PV_SET, 0, "set" },
		{ TP_PV_FROZENSET, 0, "frozenset" },
		{ TP_PV_OBJECT, 0, "object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = tp_pyval_new(arena, cases[i].kind, 0, NULL);
		v->flags = cases[i].flags;
		cr_expect_str_eq(tp_pyval_type_name(v), cases[i].name);
	}
	v = tp_pyval_new(arena, TP_PV_LIST, 0, "mod.MyList");
	cr_expect_str_eq(tp_pyval_type_name(v), "mod.MyList");
}

/* ---- max_repr ------------------------------------------------------------ */

Test(pyval_spec, max_repr_counts_code_points)
{
	/* 'éééééééééé': 12 code points, 22 bytes of UTF-8 */
	struct tp_pyval *s = node(TP_PV_STR);
	s->u.str.len = 10;
	s->u.str.cp = tp_pyval_arena_calloc(arena, 10, sizeof(uint32_t));
	for (int i = 0; i < 10; i++)
		s->u.str.cp[i] = 0xe9;
	char *full = repr_of(s, 0);
	cr_expect_eq(strlen(full), 22);
	expect_repr(s, 12, full);
	char *want = fmt("<str object at 0x%" PRIx64 " (really long repr)>",
			 s->addr);
	expect_repr(s, 11, want);
	free(want);
	free(full);
}

Test(pyval_spec, max_repr_whole_value_only)
{
	/* the value passed in is replaced, never a part of it */
	struct tp_pyval *big = mk_str("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	struct tp_pyval *l = mk_seq(TP_PV_LIST, 2, mk_int("1"), big);
	char *want = fmt("<list object at 0x%" PRIx64 " (really long repr)>",
			 l->addr);
	expect_repr(l, 30, want);
	free(want);
	/* pprint: the list (47 code points) is over 30: replaced whole */
	struct tp_pyval *l2 = mk_seq(TP_PV_LIST, 2, mk_int("1"), big);
	char *pf = pformat_of(l2, 1, 20, 0, 30);
	char *lwant = fmt("<list object at 0x%" PRIx64 " (really long repr)>",
			  l2->addr);
	cr_expect_str_eq(pf, lwant);
	free(pf);
	free(lwant);
	/* at 47 it fits: split as usual, the str (42) fits the limit too */
	expect_pformat(l2, 1, 20, 0, 47,
		       "[1,\n 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']");
	lwant = fmt("<list object at 0x%" PRIx64 " (really long repr)>",
		    l2->addr);
	expect_pformat(l2, 1, 20, 0, 46, lwant);
	free(lwant);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(pyval_spec, max_repr_stops_early_on_huge_values)
{
	const size_t n = 10 * 1000 * 1000;
	struct tp_pyval *one = mk_int("123456");
	struct tp_pyval *l = node(TP_PV_LIST);
	l->u.seq.len = n;
	l->u.seq.items = tp_pyval_arena_calloc(arena, n, sizeof(void *));
	for (size_t i = 0; i < n; i++)
		l->u.seq.items[i] = one;
	struct tp_pyval *s = node(TP_PV_STR);
	s->u.str.len = n;
	s->u.str.cp = tp_pyval_arena_calloc(arena, n, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		s->u.str.cp[i] = 'a' + (uint32_t)(i % 26);
	struct tp_pyval *d = node(TP_PV_DICT);
	d->u.dict.len = n;
	d->u.dict.keys = l->u.seq.items;
	d->u.dict.values = l->u.seq.items;

	double t0 = now();
	char *want = fmt("<list object at 0x%" PRIx64 " (really long repr)>",
			 l->addr);
	expect_repr(l, 65536, want);
	expect_pformat(l, 1, 76, 0, 65536, want);
	free(want);
	want = fmt("<str object at 0x%" PRIx64 " (really long repr)>",
		   s->addr);
	expect_repr(s, 65536, want);
	expect_pformat(s, 1, 76, 0, 65536, want);
	free(want);
	want = fmt("<dict object at 0x%" PRIx64 " (really long repr)>",
		   d->addr);
	expect_repr(d, 65536, want);
	expect_pformat(d, 1, 76, 0, 65536, want);
	free(want);
	double dt = now() - t0;
	cr_expect_lt(dt, 1.0, "huge values took %.3f s", dt);
}

/* ---- cycles that only C code can build ---------------------------------- */

Test(pyval_spec, self_containing_tuple_and_sets)
{
	struct tp_pyval *t = mk_seq(TP_PV_TUPLE, 1, NULL);
	t->u.seq.items[0] = t;
	expect_repr(t, 0, "((...),)");
	struct tp_pyval *t2 = mk_seq(TP_PV_TUPLE, 2, mk_int("1"), NULL);
	t2->u.seq.items[1] = t2;
	expect_repr(t2, 0, "(1, (...))");

	struct tp_pyval *s = mk_seq(TP_PV_SET, 1, NULL);
	s->u.seq.items[0] = s;
	expect_repr(s, 0, "{set(...)}");
	struct tp_pyval *f = mk_seq(TP_PV_FROZENSET, 1, NULL);
	f->u.seq.items[0] = f;
	expect_repr(f, 0, "frozenset({frozenset(...)})");
	struct tp_pyval *s2 = mk_seq(TP_PV_SET, 1, NULL);
	s2->flags = TP_PV_PY2;
	s2->u.seq.items[0] = s2;
	expect_repr(s2, 0, "set([set(...)])");

	/* pprint's _safe_repr: recursion text for tuples; sets use repr() */
	char *want = fmt("(<Recursion on tuple with id=%" PRIu64 ">,)",
			 t->addr);
	expect_pformat(t, 1, 80, 0, 0, want);
	free(want);
	expect_pformat(s, 1, 80, 0, 0, "{set(...)}");
	/* split: the set is in pprint's context when its item comes up */
	want = fmt("{<Recursion on set with id=%" PRIu64 ">}", s->addr);
	expect_pformat(s, 1, 5, 0, 0, want);
	free(want);
}

Test(pyval_spec, recursion_name_is_short_type_name)
{
	struct tp_pyval *l = tp_pyval_new(arena, TP_PV_LIST, 1234, "mod.Sub");
	l->u.seq.len = 1;
	l->u.seq.items = tp_pyval_arena_calloc(arena, 1, sizeof(void *));
	l->u.seq.items[0] = l;
	expect_pformat(l, 1, 80, 0, 0, "[<Recursion on Sub with id=1234>]");
}

/* ---- nesting cap ----------------------------------------------------------- */

static struct tp_pyval *nested_lists(size_t depth)
{
	struct tp_pyval *v = mk_seq(TP_PV_LIST, 0);
	for (size_t i = 0; i < depth; i++)
		v = mk_seq(TP_PV_LIST, 1, v);
	return v;
}

Test(pyval_spec, nesting_under_the_cap)
{
	/* 999 list levels around []: 1000 containers, the cap */
	struct tp_pyval *v = nested_lists(TP_PYVAL_MAX_DEPTH - 1);
	char *got = repr_of(v, 0);
	cr_expect_eq(strlen(got), 2 * TP_PYVAL_MAX_DEPTH);
	cr_expect_eq(strspn(got, "["), TP_PYVAL_MAX_DEPTH);
	free(got);
	got = pformat_of(v, 1, 76, 0, 0);
	cr_expect_eq(strspn(got, "["), TP_PYVAL_MAX_DEPTH);
	free(got);
}

Test(pyval_spec, nesting_over_the_cap)
{
	struct tp_pyval *v = nested_lists(5000);
	char *want = fmt("<list object at 0x%" PRIx64 ">", v->addr);
	expect_repr(v, 0, want);
	expect_pformat(v, 1, 76, 0, 0, want);
	/* depth-limited pprint never goes deep... */
	expect_pformat(v, 1, 76, 3, 0, "[[[[...]]]]");
	/* ...unless the width makes every level split: the layout recurses */
	expect_pformat(v, 1, 1, 3, 0, want);
	free(want);
	/* a container holding it is too deep itself: replaced whole */
	struct tp_pyval *outer = mk_seq(TP_PV_LIST, 2, mk_int("1"), v);
	char *got = pformat_of(outer, 1, 10, 0, 0);
	char *owant = fmt("<list object at 0x%" PRIx64 ">", outer->addr);
	cr_expect_str_eq(got, owant);
	free(got);
	free(owant);
}

/* ---- contract errors ------------------------------------------------------ */

Test(pyval_spec, invalid_nodes_are_errors)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pyval_opts opts = { 0 };
	struct tp_pprint_opts po = { 1, 76, 0 };
	struct tp_pyval *bad[] = {
		mk_seq(TP_PV_LIST, 2, mk_int("1"), NULL),
		node(TP_PV_INT),
		node(TP_PV_TEXT),
		NULL,
	};
	struct tp_pyval *s = node(TP_PV_STR);
	s->u.str.len = 3;
	bad[3] = s;
	for (size_t i = 0; i < 4; i++) {
		tp_strbuf_puts(&sb, "keep");
		struct tp_error *err = tp_pyval_repr(bad[i], &opts, &sb);
		cr_expect_not_null(err);
		cr_expect_eq(err->code, TP_ERR_INVALID);
		tp_error_destroy(err);
		err = tp_pyval_pformat(bad[i], &po, &opts, &sb);
		cr_expect_not_null(err);
		tp_error_destroy(err);
		/* nothing partial is left behind */
		cr_expect_str_eq(tp_strbuf_str(&sb), "keep");
		tp_strbuf_reset(&sb);
	}
	struct tp_error *err = tp_pyval_repr(NULL, &opts, &sb);
	cr_expect_not_null(err);
	tp_error_destroy(err);
	tp_strbuf_deinit(&sb);
}

Test(pyval_spec, pformat_option_errors)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pyval *v = mk_int("1");
	struct tp_pprint_opts bad[] = { { 1, 0, 0 }, { -1, 80, 0 },
					{ 1, 80, -1 } };
	for (size_t i = 0; i < 3; i++) {
		struct tp_error *err = tp_pyval_pformat(v, &bad[i], NULL, &sb);
		cr_expect_not_null(err);
		cr_expect_eq(err->code, TP_ERR_INVALID);
		tp_error_destroy(err);
	}
	/* negative widths are allowed (pprint allows them) */
	struct tp_pprint_opts neg = { 1, -5, 0 };
	cr_expect_null(tp_pyval_pformat(mk_seq(TP_PV_LIST, 2, v, v), &neg,
					NULL, &sb));
	cr_expect_str_eq(tp_strbuf_str(&sb), "[1,\n 1]");
	tp_strbuf_deinit(&sb);
}

Test(pyval_spec, appends_to_existing_text)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_puts(&sb, "x = ");
	cr_assert_null(tp_pyval_repr(mk_str("a"), NULL, &sb));
	tp_strbuf_puts(&sb, "; y = ");
	struct tp_pprint_opts po = { 1, 76, 0 };
	cr_assert_null(tp_pyval_pformat(mk_float(0.5), &po, NULL, &sb));
	cr_expect_str_eq(tp_strbuf_str(&sb), "x = 'a'; y = 0.5");
	tp_strbuf_deinit(&sb);
}

/* ---- Python 2 values under the 3.8+ layout --------------------------------- */

Test(pyval_spec, py2_values_in_pformat)
{
	struct tp_pyval *k1 = mk_str("b"), *k2 = mk_str("a");
	k1->flags = k2->flags = TP_PV_PY2;
	struct tp_pyval *v1 = mk_int("1"), *v2 = mk_str("\xe9");
	v1->flags = TP_PV_PY2 | TP_PV_LONG;
	v2->flags = TP_PV_PY2;
	struct tp_pyval *d = mk_dict(2, k1, v1, k2, v2);
	/* keys sorted; every value as 2.7's repr() prints it */
	expect_repr(d, 0, "{u'b': 1L, u'a': u'\\xe9'}");
	expect_pformat(d, 1, 76, 0, 0, "{u'a': u'\\xe9', u'b': 1L}");
	expect_pformat(d, 1, 10, 0, 0, "{u'a': u'\\xe9',\n u'b': 1L}");
	struct tp_pyval *s = mk_seq(TP_PV_SET, 0);
	s->flags = TP_PV_PY2;
	expect_pformat(s, 1, 76, 0, 0, "set([])");
	struct tp_pyval *b = mk_bytes(TP_PV_BYTES, "it's");
	b->flags = TP_PV_PY2;
	expect_pformat(b, 1, 76, 0, 0, "\"it's\"");
}

/* ---- float repr: the brief's named corners -------------------------------- */

Test(pyval_spec, float_repr_corners)
{
	const struct {
		double x;
		const char *want;
	} cases[] = {
		{ 1e16, "1e+16" },        { 1e-5, "1e-05" },
		{ 1.5e300, "1.5e+300" },  { 3.0, "3.0" },
		{ 100.0, "100.0" },       { 1234567890123456.0, "1234567890123456.0" },
		{ 0.0001, "0.0001" },     { -0.0, "-0.0" },
		{ 0.0, "0.0" },           { 0.1, "0.1" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 5e-324, "5e-324" },     { 1e22, "1e+22" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ -2.5, "-2.5" },         { 1e23, "1e+23" },
	};
	char buf[TP_FLOAT_REPR_SIZE];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tp_float_repr(cases[i].x, buf);
		cr_expect_str_eq(buf, cases[i].want);
	}
	double inf = __builtin_inf();
	tp_float_repr(inf, buf);
	cr_expect_str_eq(buf, "inf");
	tp_float_repr(-inf, buf);
	cr_expect_str_eq(buf, "-inf");
	tp_float_repr(__builtin_nan(""), buf);
	cr_expect_str_eq(buf, "nan");
	tp_float_repr(-__builtin_nan(""), buf);
	cr_expect_str_eq(buf, "nan");
}

/* ---- pyint ----------------------------------------------------------------- */

Test(pyval_spec, pyint_edges_and_errors)
{
	char *s = NULL;
	uint32_t zero[] = { 0, 0 };
	cr_assert_null(tp_pyint_to_decimal(arena, zero, 2, 30, true, &s));
	cr_expect_str_eq(s, "0");
	cr_assert_null(tp_pyint_to_decimal(arena, NULL, 0, 15, false, &s));
	cr_expect_str_eq(s, "0");
	/* unnormalised: high zero digits ignored */
	uint32_t d[] = { 5, 1, 0 };
	cr_assert_null(tp_pyint_to_decimal(arena, d, 3, 30, true, &s));
	cr_expect_str_eq(s, "-1073741829");

	struct tp_error *err = tp_pyint_to_decimal(arena, d, 2, 16, false, &s);
	cr_expect_eq(err->code, TP_ERR_INVALID);
	tp_error_destroy(err);
	uint32_t big[] = { 1u << 15 };
	err = tp_pyint_to_decimal(arena, big, 1, 15, false, &s);
	cr_expect_eq(err->code, TP_ERR_FORMAT);
	tp_error_destroy(err);
	size_t n = TP_PYINT_MAX_BITS / 30 + 1;
	uint32_t *many = calloc(n, sizeof(*many));
	for (size_t i = 0; i < n; i++)
		many[i] = 1;
	err = tp_pyint_to_decimal(arena, many, n, 30, false, &s);
	cr_expect_eq(err->code, TP_ERR_LIMIT);
	tp_error_destroy(err);
	/* the largest allowed converts quickly */
	double t0 = now();
	cr_expect_null(tp_pyint_to_decimal(arena, many, n - 1, 30, false, &s));
	cr_expect_gt(strlen(s), 78000);
	cr_expect_lt(now() - t0, 2.0);
	free(many);
}

/* ---- arena --------------------------------------------------------------- */

Test(pyval_spec, arena_zeroed_aligned_and_big)
{
	for (size_t i = 0; i < 20000; i++) {
		size_t size = (i * 7919) % 3000;
		unsigned char *p = tp_pyval_arena_alloc(arena, size);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % _Alignof(max_align_t), 0);
		for (size_t k = 0; k < size; k++)
			cr_assert_eq(p[k], 0);
		memset(p, 0xa5, size);
	}
	unsigned char *big = tp_pyval_arena_alloc(arena, 1 << 22);
	cr_assert_not_null(big);
	cr_expect_eq(big[(1 << 22) - 1], 0);
	cr_expect_null(tp_pyval_arena_calloc(arena, SIZE_MAX / 2, 4));
	cr_expect_null(tp_pyval_arena_alloc(arena, SIZE_MAX - 4));
	cr_expect_str_eq(tp_pyval_arena_strdup(arena, "abc"), "abc");
	tp_pyval_arena_destroy(NULL);
}

/* ---- a frame's locals: a synthetic dict (FORMAT.md §1) ----------------- */

static struct tp_pyval *mk_long_str(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	struct tp_pyval *v = mk_str(s);
	free(s);
	return v;
}

Test(pyval_spec, locals_block_never_collapses)
{
	/* two 40,000-character strings among the locals, --max-repr 65536 */
	struct tp_pyval *a = mk_long_str('x', 40000);
	struct tp_pyval *b = mk_long_str('y', 40000);
	struct tp_pyval *d = mk_dict(3, mk_str("a"), a, mk_str("b"), b,
				     mk_str("n"), mk_int("1"));
	d->addr = 0;
	d->flags |= TP_PV_SYNTHETIC;
	/* pprint: one item a line, each string one fragment (no spaces) */
	char *want = malloc(80100);
	strcpy(want, "{'a': '");
	memset(want + 7, 'x', 40000);
	strcpy(want + 40007, "',\n 'b': '");
	memset(want + 40017, 'y', 40000);
	strcpy(want + 80017, "',\n 'n': 1}");
	expect_pformat(d, 1, 76, 0, 65536, want);
	free(want);

	/* the limit applies to each local, found by tp_pyval_limited */
	struct tp_pyval_opts o = { .max_repr = 50 };
	struct tp_pyval *la, *ln;
	cr_assert_null(tp_pyval_limited(arena, a, &o, &la));
	cr_assert_null(tp_pyval_limited(arena, d->u.dict.values[2], &o, &ln));
	cr_expect_eq(la->kind, TP_PV_TOOLONG);
	cr_expect_eq(la->addr, a->addr);
	cr_expect_eq(ln, d->u.dict.values[2], "a short value stays itself");
	struct tp_pyval *d2 = mk_dict(2, mk_str("a"), la, mk_str("n"), ln);
	d2->addr = 0;
	d2->flags |= TP_PV_SYNTHETIC;
	char *w2 = fmt("{'a': <str object at 0x%" PRIx64
		       " (really long repr)>, 'n': 1}", a->addr);
	expect_pformat(d2, 1, 76, 0, 50, w2);
	free(w2);
	/* the block itself is never replaced, however small max_repr */
	struct tp_pyval *d3 = mk_dict(1, mk_str("k"), mk_str("0123456789"));
	d3->addr = 0;
	d3->flags |= TP_PV_SYNTHETIC;
	expect_pformat(d3, 1, 76, 0, 5, "{'k': '0123456789'}");
}

Test(pyval_spec, placeholders_never_print_a_null_address)
{
	struct tp_pyval *d = mk_dict(0);
	d->addr = 0;
	expect_repr(d, 1, "<dict object (really long repr)>");
	struct tp_pyval *o = node(TP_PV_OBJECT);
	o->addr = 0;
	expect_repr(o, 0, "<object object>");
	struct tp_pyval *u = node(TP_PV_UNREADABLE);
	u->addr = 0;
	expect_repr(u, 0, "<unreadable object>");
}
