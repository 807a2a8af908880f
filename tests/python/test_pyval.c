/* SPDX-License-Identifier: MIT */
/*
 * Value renderers against golden output from Python itself:
 * fixtures/pyval/cases.txt, made by fixtures/pyval/gen_cases.py (its
 * docstring describes the format).  Plus the tripod-specific behaviour that
 * has no Python oracle (placeholders, caps, contract errors) and CPython
 * cycle texts that pure Python cannot produce.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "python/pyrender.h"
#include "python/pyval.h"
#include "python/unicode_tables.h"

#define CASES_FILE FIXTURES_DIR "/pyval/cases.txt"
#define MAX_REPORTED 8

/* ---- reading the fixture ---------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	cr_assert_not_null(f, "cannot open %s", path);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tp_strbuf_append(&sb, buf, n);
	fclose(f);
	cr_assert_null(tp_strbuf_error(&sb));
	*len = sb.len;
	return tp_strbuf_steal(&sb);
}

struct tokens {
	char **tok;
	size_t n;
	size_t cap;
};

/* Split @line (modified in place) at single spaces. */
static void tokenize(char *line, struct tokens *t)
{
	t->n = 0;
	char *p = line;
	for (;;) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->tok = realloc(t->tok, t->cap * sizeof(*t->tok));
			cr_assert_not_null(t->tok);
		}
		t->tok[t->n++] = p;
		char *sp = strchr(p, ' ');
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return c - 'a' + 10;
}

/* Decode an "=..." token; returns malloc'd bytes (NUL-terminated). */
static char *decode(const char *tok, size_t *len)
{
	cr_assert_eq(tok[0], '=', "bad text token %.40s", tok);
	tok++;
	char *out = malloc(strlen(tok) + 1);
	size_t n = 0;
	for (const char *p = tok; *p;) {
		if (*p == '%') {
			out[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 3;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
	if (len)
		*len = n;
	return out;
}

/* Lenient UTF-8 (surrogates allowed) to code points. */
static uint32_t *utf8_to_cps(const char *s, size_t len, size_t *ncp)
{
	uint32_t *cp = malloc((len + 1) * sizeof(*cp));
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	while (p < end) {
		uint32_t c = *p++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (more)
			c &= 0x3f >> more;
		while (more-- && p < end)
			c = (c << 6) | (*p++ & 0x3f);
		cp[n++] = c;
	}
	*ncp = n;
	return cp;
}

static enum tp_pyval_kind kind_of(const char *s)
{
	static const struct {
		const char *name;
		enum tp_pyval_kind kind;
	} kinds[] = {
		{ "none", TP_PV_NONE },   { "bool", TP_PV_BOOL },
		{ "int", TP_PV_INT },     { "float", TP_PV_FLOAT },
		{ "str", TP_PV_STR },     { "bytes", TP_PV_BYTES },
		{ "bytearray", TP_PV_BYTEARRAY },
		{ "tuple", TP_PV_TUPLE }, { "list", TP_PV_LIST },
		{ "dict", TP_PV_DICT },   { "set", TP_PV_SET },
		{ "frozenset", TP_PV_FROZENSET },
		{ "text", TP_PV_TEXT },   { "object", TP_PV_OBJECT },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strcmp(s, kinds[i].name))
			return kinds[i].kind;
	}
	cr_assert_fail("unknown kind %s", s);
	return TP_PV_NONE;
}

static double bits_to_double(const char *hex)
{
	uint64_t bits = strtoull(hex, NULL, 16);
	double d;
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* One case: its node lines (tokenized later) and its expectations. */
struct golden_case {
	char *name;
	char **node_lines;
	size_t nnodes;
	size_t root;
	char **expect_lines;    /* repr / maxrepr / pformat lines */
	size_t nexpect;
	char *sorted_line;      /* node indices of the sorted root list */
};

struct fixture {
	char *data;
	struct golden_case *cases;
	size_t ncases;
	char **float_lines;
	size_t nfloats;
	char **int_lines;
	size_t nints;
};

static void push_line(char ***v, size_t *n, char *line)
{
	*v = realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = line;
}

static void fixture_load(struct fixture *fx)
{
	memset(fx, 0, sizeof(*fx));
	size_t len;
	fx->data = slurp(CASES_FILE, &len);
	struct golden_case *cur = NULL;
	char *save = NULL;
	for (char *line = strtok_r(fx->data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (!strncmp(line, "case ", 5)) {
			fx->cases = realloc(fx->cases, (fx->ncases + 1) *
							       sizeof(*fx->cases));
			cur = &fx->cases[fx->ncases++];
			memset(cur, 0, sizeof(*cur));
			cur->name = line + 5;
		} else if (!strncmp(line, "node ", 5)) {
			push_line(&cur->node_lines, &cur->nnodes, line);
		} else if (!strncmp(line, "root ", 5)) {
			cur->root = strtoul(line + 5, NULL, 10);
		} else if (!strncmp(line, "repr ", 5) ||
			   !strncmp(line, "maxrepr ", 8) ||
			   !strncmp(line, "pformat ", 8)) {
			push_line(&cur->expect_lines, &cur->nexpect, line);
		} else if (!strncmp(line, "sorted ", 7)) {
			cur->sorted_line = line + 7;
		} else if (!strcmp(line, "end")) {
			cur = NULL;
		} else if (!strncmp(line, "float ", 6)) {
			push_line(&fx->float_lines, &fx->nfloats, line);
		} else if (!strncmp(line, "int ", 4)) {
			push_line(&fx->int_lines, &fx->nints, line);
		} else {
			cr_assert_fail("unexpected fixture line: %.60s", line);
		}
	}
	cr_assert_gt(fx->ncases, 100, "too few cases in %s", CASES_FILE);
}

static void fixture_free(struct fixture *fx)
{
	for (size_t i = 0; i < fx->ncases; i++) {
		free(fx->cases[i].node_lines);
		free(fx->cases[i].expect_lines);
	}
	free(fx->cases);
	free(fx->float_lines);
	free(fx->int_lines);
	free(fx->data);
}

/*
 * Build the graph of @c in @arena; returns the root, and the nodes by index
 * through @ret_nodes (to free) when that is not NULL.
 */
static struct tp_pyval *build_case(struct tp_pyval_arena *arena,
				   const struct golden_case *c,
				   struct tp_pyval ***ret_nodes)
{
	struct tp_pyval **nodes = calloc(c->nnodes, sizeof(*nodes));
	struct tokens t = { 0 };
	/* Pass 1: the nodes themselves, so that children can be linked. */
	for (size_t i = 0; i < c->nnodes; i++) {
		char *line = strdup(c->node_lines[i]);
		tokenize(line, &t);
		size_t idx = strtoul(t.tok[1], NULL, 10);
		cr_assert_lt(idx, c->nnodes);
		char *tn = decode(t.tok[5], NULL);
		nodes[idx] = tp_pyval_new(arena, kind_of(t.tok[2]),
					  strtoull(t.tok[4], NULL, 16),
					  tp_pyval_arena_strdup(arena, tn));
		nodes[idx]->flags = (unsigned)strtoul(t.tok[3], NULL, 10);
		/* cases.txt records what Python 3.12 prints */
		if (!(nodes[idx]->flags & TP_PV_PY2))
			nodes[idx]->flags |= TP_PV_UCD(
				tp_unicode_printable_for_python(3, 12));
		free(tn);
		free(line);
	}
	/* Pass 2: payloads. */
	for (size_t i = 0; i < c->nnodes; i++) {
		char *line = strdup(c->node_lines[i]);
		tokenize(line, &t);
		struct tp_pyval *v = nodes[strtoul(t.tok[1], NULL, 10)];
		char **pl = t.tok + 6;
		size_t len;
		char *raw;
		switch (v->kind) {
		case TP_PV_BOOL:
			v->u.boolean = pl[0][0] == '1';
			break;
		case TP_PV_INT:
			raw = decode(pl[0], NULL);
			v->u.digits = tp_pyval_arena_strdup(arena, raw);
			free(raw);
			break;
		case TP_PV_FLOAT:
			v->u.real = bits_to_double(pl[0]);
			break;
		case TP_PV_STR: {
			raw = decode(pl[0], &len);
			size_t ncp;
			uint32_t *cp = utf8_to_cps(raw, len, &ncp);
			v->u.str.cp = tp_pyval_arena_memdup(
				arena, cp, ncp * sizeof(*cp));
			v->u.str.len = ncp;
			free(cp);
			free(raw);
			break;
		}
		case TP_PV_BYTES:
		case TP_PV_BYTEARRAY:
			raw = decode(pl[0], &len);
			v->u.bytes.data = tp_pyval_arena_memdup(arena, raw, len);
			v->u.bytes.len = len;
			free(raw);
			break;
		case TP_PV_TEXT:
			raw = decode(pl[0], NULL);
			v->u.text = tp_pyval_arena_strdup(arena, raw);
			free(raw);
			break;
		case TP_PV_TUPLE:
		case TP_PV_LIST:
		case TP_PV_SET:
		case TP_PV_FROZENSET: {
			size_t n = strtoul(pl[0], NULL, 10);
			v->u.seq.len = n;
			v->u.seq.items = tp_pyval_arena_calloc(
				arena, n, sizeof(*v->u.seq.items));
			for (size_t k = 0; k < n; k++)
				v->u.seq.items[k] =
					nodes[strtoul(pl[1 + k], NULL, 10)];
			break;
		}
		case TP_PV_DICT: {
			size_t n = strtoul(pl[0], NULL, 10);
			v->u.dict.len = n;
			v->u.dict.keys = tp_pyval_arena_calloc(
				arena, n, sizeof(*v->u.dict.keys));
			v->u.dict.values = tp_pyval_arena_calloc(
				arena, n, sizeof(*v->u.dict.values));
			for (size_t k = 0; k < n; k++) {
				v->u.dict.keys[k] =
					nodes[strtoul(pl[1 + 2 * k], NULL, 10)];
				v->u.dict.values[k] =
					nodes[strtoul(pl[2 + 2 * k], NULL, 10)];
			}
			break;
		}
		default:
			break;
		}
		free(line);
	}
	struct tp_pyval *root = nodes[c->root];
	if (ret_nodes)
		*ret_nodes = nodes;
	else
		free(nodes);
	free(t.tok);
	return root;
}

static void report(const char *what, const char *name, const char *expected,
		   const char *got)
{
	cr_log_error("%s mismatch in %s\n--- expected ---\n%s\n--- got ---\n%s",
		     what, name, expected, got);
}

/* Run the repr (@want_pformat false) or pformat expectations of every case. */
static void run_golden(bool want_pformat, bool py2_only)
{
	struct fixture fx;
	fixture_load(&fx);
	struct tokens t = { 0 };
	size_t checked = 0, failed = 0;
	for (size_t i = 0; i < fx.ncases; i++) {
		struct golden_case *c = &fx.cases[i];
		bool is_py2 = !strncmp(c->name, "py2-", 4);
		if (py2_only != is_py2)
			continue;
		struct tp_pyval_arena *arena;
		cr_assert_null(tp_pyval_arena_create(&arena));
		struct tp_pyval *root = build_case(arena, c, NULL);
		for (size_t e = 0; e < c->nexpect; e++) {
			char *line = strdup(c->expect_lines[e]);
			tokenize(line, &t);
			bool is_pformat = !strcmp(t.tok[0], "pformat");
			if (is_pformat != want_pformat) {
				free(line);
				continue;
			}
			struct tp_strbuf sb = TP_STRBUF_INIT;
			struct tp_pyval_opts opts = { 0 };
			struct tp_error *err;
			char *expected;
			char what[96];
			if (!strcmp(t.tok[0], "repr")) {
				expected = decode(t.tok[1], NULL);
				snprintf(what, sizeof(what), "repr");
				err = tp_pyval_repr(root, &opts, &sb);
			} else if (!strcmp(t.tok[0], "maxrepr")) {
				opts.max_repr = strtoul(t.tok[1], NULL, 10);
				expected = decode(t.tok[2], NULL);
				snprintf(what, sizeof(what), "repr(max_repr=%zu)",
					 opts.max_repr);
				err = tp_pyval_repr(root, &opts, &sb);
			} else {
				struct tp_pprint_opts po = {
					.indent = atoi(t.tok[1]),
					.width = atoi(t.tok[2]),
					.depth = atoi(t.tok[3]),
				};
				opts.max_repr = strtoul(t.tok[4], NULL, 10);
				expected = decode(t.tok[5], NULL);
				snprintf(what, sizeof(what),
					 "pformat(indent=%d, width=%d, depth=%d, max_repr=%zu)",
					 po.indent, po.width, po.depth,
					 opts.max_repr);
				err = tp_pyval_pformat(root, &po, &opts, &sb);
			}
			checked++;
			if (err) {
				failed++;
				if (failed <= MAX_REPORTED)
					cr_log_error("%s of %s failed: %s", what,
						     c->name,
						     tp_error_message(err));
				tp_error_destroy(err);
			} else if (strcmp(expected, tp_strbuf_str(&sb))) {
				failed++;
				if (failed <= MAX_REPORTED)
					report(what, c->name, expected,
					       tp_strbuf_str(&sb));
			}
			free(expected);
			tp_strbuf_deinit(&sb);
			free(line);
		}
		tp_pyval_arena_destroy(arena);
	}
	free(t.tok);
	fixture_free(&fx);
	cr_log_info("%zu golden %s checked", checked,
		    want_pformat ? "pformats" : "reprs");
	cr_expect_gt(checked, 0);
	cr_expect_eq(failed, 0, "%zu of %zu golden outputs differ", failed,
		     checked);
}

TestSuite(pyval_golden, .timeout = 120);

Test(pyval_golden, repr_py3)
{
	run_golden(false, false);
}

Test(pyval_golden, repr_py2)
{
	run_golden(false, true);
}

Test(pyval_golden, pformat)
{
	run_golden(true, false);
}

Test(pyval_golden, float_repr)
{
	struct fixture fx;
	fixture_load(&fx);
	size_t failed = 0;
	for (size_t i = 0; i < fx.nfloats; i++) {
		char *line = strdup(fx.float_lines[i]);
		struct tokens t = { 0 };
		tokenize(line, &t);
		double x = bits_to_double(t.tok[1]);
		char *expected = decode(t.tok[2], NULL);
		char buf[TP_FLOAT_REPR_SIZE];
		size_t len = tp_float_repr(x, buf);
		if (strcmp(buf, expected) || len != strlen(expected)) {
			if (++failed <= MAX_REPORTED)
				report("float repr", t.tok[1], expected, buf);
		}
		free(expected);
		free(t.tok);
		free(line);
	}
	cr_expect_gt(fx.nfloats, 1000);
	cr_expect_eq(failed, 0, "%zu of %zu float reprs differ", failed,
		     fx.nfloats);
	fixture_free(&fx);
}

Test(pyval_golden, pyint_to_decimal)
{
	struct fixture fx;
	fixture_load(&fx);
	size_t failed = 0;
	struct tp_pyval_arena *arena;
	cr_assert_null(tp_pyval_arena_create(&arena));
	for (size_t i = 0; i < fx.nints; i++) {
		char *line = strdup(fx.int_lines[i]);
		struct tokens t = { 0 };
		tokenize(line, &t);
		unsigned shift = (unsigned)atoi(t.tok[1]);
		bool neg = atoi(t.tok[2]);
		size_t nd = strtoul(t.tok[3], NULL, 10);
		uint32_t *digits = calloc(nd + 1, sizeof(*digits));
		for (size_t k = 0; k < nd; k++)
			digits[k] = (uint32_t)strtoul(t.tok[4 + k], NULL, 10);
		char *expected = decode(t.tok[4 + nd], NULL);
		char *got = NULL;
		struct tp_error *err =
			tp_pyint_to_decimal(arena, digits, nd, shift, neg, &got);
		if (err || strcmp(got, expected)) {
			if (++failed <= MAX_REPORTED)
				report("int", t.tok[1], expected,
				       err ? tp_error_message(err) : got);
			tp_error_destroy(err);
		}
		free(expected);
		free(digits);
		free(t.tok);
		free(line);
	}
	cr_expect_gt(fx.nints, 50);
	cr_expect_eq(failed, 0, "%zu of %zu ints differ", failed, fx.nints);
	tp_pyval_arena_destroy(arena);
	fixture_free(&fx);
}

/* tp_py_sort() against sorted(items, key=pprint._safe_key). */
Test(pyval_golden, safe_key_sort)
{
	struct fixture fx;
	fixture_load(&fx);
	size_t checked = 0, failed = 0;
	for (size_t i = 0; i < fx.ncases; i++) {
		struct golden_case *c = &fx.cases[i];
		if (!c->sorted_line)
			continue;
		struct tp_pyval_arena *arena;
		cr_assert_null(tp_pyval_arena_create(&arena));
		struct tp_pyval **nodes;
		struct tp_pyval *root = build_case(arena, c, &nodes);
		cr_assert_eq(root->kind, TP_PV_LIST);
		size_t n = root->u.seq.len;
		struct tp_sort_item *items = calloc(n + 1, sizeof(*items));
		for (size_t k = 0; k < n; k++)
			items[k].key = root->u.seq.items[k];
		cr_assert_null(tp_py_sort(items, n, TP_SORT_RUNS_312));
		char *line = strdup(c->sorted_line);
		struct tokens t = { 0 };
		tokenize(line, &t);
		cr_assert_eq(t.n, n, "%s: %zu sorted indices for %zu items",
			     c->name, t.n, n);
		size_t k;
		for (k = 0; k < n; k++) {
			if (items[k].key != nodes[strtoul(t.tok[k], NULL, 10)])
				break;
		}
		checked++;
		if (k < n && ++failed <= MAX_REPORTED)
			cr_log_error("%s (%zu items): first difference at %zu",
				     c->name, n, k);
		free(t.tok);
		free(line);
		free(items);
		free(nodes);
		tp_pyval_arena_destroy(arena);
	}
	fixture_free(&fx);
	cr_expect_gt(checked, 10);
	cr_expect_eq(failed, 0, "%zu of %zu sorts differ", failed, checked);
}
