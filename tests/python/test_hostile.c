/* SPDX-License-Identifier: MIT */
/*
 * The decoder on hostile memory: objects a process scribbled on, sizes it
 * never had, chains that loop.  Each case builds exactly its damage in a
 * synthetic target (synth.h) and checks what the decoder makes of it: the
 * damaged part unreadable or refused, everything else as usual, bounded
 * work, and the report saying that it is partial.  Each is the regression
 * test of a defect of issue 11; the leaks among them fail under
 * LeakSanitizer (the CI's sanitizer pass), the undefined behaviour under
 * UBSan.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "analyze/render.h"
#include "common/strbuf.h"
#include "python/internal.h"
#include "python/pyval.h"
#include "synth.h"

static struct synth S;
static struct tp_pyval_arena *arena;

static void world(unsigned major, unsigned minor, size_t max_repr)
{
	cr_assert(synth_init(&S, major, minor, max_repr),
		  "no built-in layout for %u.%u", major, minor);
	cr_assert_null(tp_pyval_arena_create(&arena));
	py_objects_reset(S.py, arena);
}

static void teardown(void)
{
	if (S.py)
		synth_deinit(&S);
	tp_pyval_arena_destroy(arena);
	arena = NULL;
}

TestSuite(hostile, .fini = teardown, .timeout = 60);

static char *repr_of(struct tp_pyval *v, size_t max_repr)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_pyval_opts o = { .max_repr = max_repr };
	struct tp_error *err = tp_pyval_repr(v, &o, &sb);
	cr_assert_null(err, "%s", tp_error_message(err));
	return tp_strbuf_steal(&sb);
}

static struct tp_pyval *value(uint64_t addr)
{
	struct tp_pyval *v = NULL;
	struct tp_error *err = py_value(S.py, addr, &v);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_not_null(v);
	return v;
}

/*
 * A list slot pointing into unmapped memory: that item is unreadable, the
 * others print (and the fault error is not leaked: LeakSanitizer).
 */
Test(hostile, list_item_into_unmapped_memory)
{
	world(3, 12, 65536);
	uint64_t items[] = { synth_int(&S, 7), 0x10000000ULL - 0x1000 * 16,
			     synth_str(&S, "ok") };
	struct tp_pyval *v = value(synth_list(&S, items, 3));
	cr_assert_eq(v->kind, TP_PV_LIST);
	cr_assert_eq(v->u.seq.len, 3);
	cr_assert_eq(v->u.seq.items[1]->kind, TP_PV_UNREADABLE);
	char *r = repr_of(v, 0);
	char want[128];
	snprintf(want, sizeof(want), "[7, <unreadable object at 0x%llx>, 'ok']",
		 (unsigned long long)items[1]);
	cr_assert_str_eq(r, want);
	free(r);
}

/* A type pointer to garbage: the object prints unreadable, not as a type. */
Test(hostile, type_pointer_to_garbage)
{
	world(3, 12, 65536);
	uint64_t bogus = synth_alloc(&S, 64);
	synth_w64(&S, bogus + 8, 0xdeadbeefULL);  /* its type: nowhere */
	uint64_t items[] = { bogus, synth_int(&S, 1) };
	char *r = repr_of(value(synth_list(&S, items, 2)), 0);
	char want[128];
	snprintf(want, sizeof(want), "[<unreadable object at 0x%llx>, 1]",
		 (unsigned long long)bogus);
	cr_assert_str_eq(r, want);
	free(r);
}

/*
 * A str claiming 2^40 characters: it cannot be in the snapshot, so it is
 * unreadable (one read of its last byte), never read nor allocated whole;
 * a str that is really there but long is "really long".
 */
Test(hostile, str_with_huge_length)
{
	world(3, 12, 1000);
	uint64_t str = synth_str(&S, "short");
	synth_w64(&S, str + (uint64_t)SOFF(&S, UNI_LENGTH), 1ULL << 40);
	unsigned long before = S.reads;
	struct tp_pyval *v = value(str);
	cr_assert_eq(v->kind, TP_PV_UNREADABLE, "kind %d", v->kind);
	cr_assert_lt(S.reads - before, 32);
	char text[5000];
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_eq(value(synth_str(&S, text))->kind, TP_PV_TOOLONG);
	uint64_t b = synth_bytes(&S, "xy", 2);
	synth_w64(&S, b + (uint64_t)SOFF(&S, OB_SIZE), 1ULL << 40);
	cr_assert_eq(value(b)->kind, TP_PV_UNREADABLE);
}

/*
 * A set whose mask claims 2^24 slots, of which the snapshot holds the
 * first few: its items are found there and nothing is allocated for the
 * slots (before: 384 MiB allocated, then one read of the whole table,
 * which failed: the set was unreadable).
 */
Test(hostile, set_with_huge_mask)
{
	world(3, 12, 65536);
	uint64_t keys[] = { synth_int(&S, 3), synth_int(&S, 4) };
	uint64_t table = synth_alloc(&S, 4096);
	uint64_t esize = (uint64_t)SOFF(&S, SIZEOF_SETENTRY);
	for (int i = 0; i < 2; i++)
		synth_w64(&S, table + i * esize + (uint64_t)SOFF(&S, SETENTRY_KEY),
			  keys[i]);
	uint64_t set = synth_set(&S, (1 << 24) - 1, 2, table, NULL, 0);
#ifndef __SANITIZE_ADDRESS__
	/* bounded memory: far less than the table would take */
	struct rlimit rl = { 256u << 20, 256u << 20 };
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
	struct tp_pyval *v = value(set);
	cr_assert_eq(v->kind, TP_PV_SET, "kind %d", v->kind);
	char *r = repr_of(v, 0);
	cr_assert_str_eq(r, "{3, 4}");
	free(r);
}

/* A set whose table is not in the snapshot at all: unreadable. */
Test(hostile, set_table_unmapped)
{
	world(3, 12, 65536);
	uint64_t set = synth_set(&S, (1 << 24) - 1, 5, 0x5000000ULL, NULL, 0);
	cr_assert_eq(value(set)->kind, TP_PV_UNREADABLE);
}

/*
 * A 2.7 dict left with a big table and one item: a few reads, not one per
 * slot (before: 2^20 reads here, up to 32M).
 */
Test(hostile, py27_dict_reads_bounded)
{
	world(2, 7, 65536);
	int64_t mask = (1 << 20) - 1;
	uint64_t esize = (uint64_t)SOFF(&S, SIZEOF_DICTKEYENTRY);
	uint64_t table = synth_alloc(&S, (size_t)((uint64_t)(mask + 1) * esize));
	uint64_t dict = synth_object(&S, synth_sym(&S, TP_SYM_PyDict_Type),
				     (size_t)SOFF(&S, DICT_TABLE) + 16);
	synth_w64(&S, dict + (uint64_t)SOFF(&S, DICT_USED), 1);
	synth_w64(&S, dict + (uint64_t)SOFF(&S, DICT_MASK), (uint64_t)mask);
	synth_w64(&S, dict + (uint64_t)SOFF(&S, DICT_TABLE), table);
	synth_w64(&S, table + (uint64_t)SOFF(&S, DKE_KEY), synth_str(&S, "k"));
	synth_w64(&S, table + (uint64_t)SOFF(&S, DKE_VALUE), synth_int(&S, 5));
	unsigned long before = S.reads;
	char *r = repr_of(value(dict), 0);
	cr_assert_str_eq(r, "{'k': 5}");
	free(r);
	cr_assert_lt(S.reads - before, 64, "%lu reads",
		     S.reads - before);
}

/*
 * The same big list held by many frames is decoded once: once it is known
 * to be too long, meeting it again reads nothing (before: ~0.8 MB and a
 * full decode per frame).
 */
Test(hostile, too_long_value_decoded_once)
{
	world(3, 12, 1000);
	enum { N = 20000 };
	uint64_t *items = malloc(N * sizeof(*items));
	for (int i = 0; i < N; i++)
		items[i] = synth_int(&S, 1000000 + i);
	uint64_t list = synth_list(&S, items, N);
	free(items);
	cr_assert_eq(value(list)->kind, TP_PV_TOOLONG);
	unsigned long before = S.reads;
	for (int frame = 0; frame < 100; frame++)
		cr_assert_eq(value(list)->kind, TP_PV_TOOLONG);
	cr_assert_lt(S.reads - before, 100 * 4, "%lu reads for 100 more",
		     S.reads - before);
	/* and as an item of another value, it makes that one too long */
	uint64_t outer = synth_tuple(&S, &list, 1);
	cr_assert_eq(value(outer)->kind, TP_PV_TOOLONG);
}

/*
 * --max-repr counts each item once: a list whose repr is exactly the limit
 * prints, one character less is too long (before: items were charged twice
 * and a 69,998-character list was "too long" below 80,002).
 */
Test(hostile, max_repr_exact)
{
	enum { N = 10000 };
	/* [12345, 12345, ...]: 2 + 5N + 2(N-1) characters */
	size_t len = 2 + 5 * (size_t)N + 2 * ((size_t)N - 1);
	for (int k = 0; k < 2; k++) {
		world(3, 12, len - (size_t)k);
		uint64_t *items = malloc(N * sizeof(*items));
		for (int i = 0; i < N; i++)
			items[i] = synth_int(&S, 12345);
		uint64_t list = synth_list(&S, items, N);
		free(items);
		struct tp_pyval *v = value(list), *lim;
		struct tp_pyval_opts o = { .max_repr = len - (size_t)k };
		cr_assert_null(tp_pyval_limited(arena, v, &o, &lim));
		if (k == 0) {
			char *r = repr_of(lim, len);
			cr_assert_eq(strlen(r), len);
			free(r);
		} else {
			cr_assert_eq(lim->kind, TP_PV_TOOLONG);
		}
		teardown();
	}
}

/*
 * py_int_value() (thread idents): a value past 64 bits is refused, not
 * truncated; the largest 64-bit value is exact.
 */
Test(hostile, int_value_past_64_bits)
{
	world(3, 12, 65536);
	/* 2^64 = digits (0, 0, 16) of 30 bits */
	uint32_t big[] = { 0, 0, 16 };
	uint64_t o = synth_int_raw(&S, 3 << 3, big, 3);
	uint64_t v;
	bool neg;
	struct tp_error *err = py_int_value(S.py, o, &v, &neg);
	cr_assert_not_null(err, "2^64 read as %llu", (unsigned long long)v);
	cr_assert_eq(err->code, TP_ERR_LIMIT);
	tp_error_destroy(err);
	uint32_t max[] = { (1u << 30) - 1, (1u << 30) - 1, 15 };
	o = synth_int_raw(&S, 3 << 3, max, 3);
	cr_assert_null(py_int_value(S.py, o, &v, &neg));
	cr_assert_eq(v, UINT64_MAX);
	cr_assert(!neg);
}

/* An int whose ob_size is INT64_MIN (3.11): no negation overflow (UBSan). */
Test(hostile, int_size_int64_min)
{
	world(3, 11, 65536);
	uint64_t o = synth_int_raw(&S, (uint64_t)INT64_MIN, NULL, 0);
	struct tp_pyval *v = value(o);
	cr_assert(v->kind == TP_PV_TOOLONG || v->kind == TP_PV_UNREADABLE,
		  "kind %d", v->kind);
}

/* ---- the walk ------------------------------------------------------------ */

static struct tp_rsnapshot *walk(void)
{
	struct tp_rsnapshot *snap = calloc(1, sizeof(*snap));
	snap->arena = arena;
	struct tp_error *err = tp_python_walk(S.py, snap);
	cr_assert_null(err, "%s", tp_error_message(err));
	return snap;
}

static uint64_t one_frame(const char *fn)
{
	const char *names[] = { "x" };
	uint64_t code = synth_code(&S, fn, names, 1, 1);
	uint64_t x = synth_int(&S, 42);
	return synth_iframe(&S, code, &x, 1, 0);
}

/* A frame whose code claims INT32_MAX + INT32_MAX arguments (UBSan). */
Test(hostile, code_counts_overflow)
{
	world(3, 12, 65536);
	uint64_t f = one_frame("f");
	uint64_t code = 0;
	/* the frame's code: patch its counts */
	struct tp_error *err = py_read_ptr(S.py, f + (uint64_t)SOFF(&S, IF_CODE),
					   &code);
	cr_assert_null(err);
	synth_w32(&S, code + (uint64_t)SOFF(&S, CO_ARGCOUNT), INT32_MAX);
	synth_w32(&S, code + (uint64_t)SOFF(&S, CO_KWONLYARGCOUNT), INT32_MAX);
	synth_set_current_frame(&S, f);
	struct tp_rsnapshot *snap = walk();
	cr_assert_eq(snap->nthreads, 1);
	cr_assert_not_null(snap->threads[0].error);
	cr_assert(strstr(snap->threads[0].error, "bad code object counts"),
		  "%s", snap->threads[0].error);
	free(snap);
}

/*
 * A second interpreter whose thread list cannot be read: the first's
 * threads stand, and the report says what is missing (before: the walk
 * failed and every thread already walked was thrown away).
 */
Test(hostile, later_interpreter_unreadable)
{
	world(3, 12, 65536);
	synth_set_current_frame(&S, one_frame("main"));
	synth_w64(&S, S.interp + (uint64_t)SOFF(&S, IS_NEXT), 0x6000000ULL);
	struct tp_rsnapshot *snap = walk();
	cr_assert_eq(snap->nthreads, 1);
	cr_assert_eq(snap->threads[0].nframes, 1);
	cr_assert_str_eq(snap->threads[0].frames[0].function, "main");
	cr_assert_not_null(snap->error);
	cr_assert(strstr(snap->error, "interpreter 2"), "%s", snap->error);
	free(snap);
}

/* A thread list that loops: reported once each, and said to loop. */
Test(hostile, thread_list_loops)
{
	world(3, 12, 65536);
	synth_set_current_frame(&S, one_frame("main"));
	synth_w64(&S, S.tstate + (uint64_t)SOFF(&S, TS_NEXT), S.tstate);
	struct tp_rsnapshot *snap = walk();
	cr_assert_eq(snap->nthreads, 1);
	cr_assert_not_null(snap->error);
	cr_assert(strstr(snap->error, "loops"), "%s", snap->error);
	free(snap);
}

/* A frame chain that loops: the frames once, and the thread says why. */
Test(hostile, frame_chain_loops)
{
	world(3, 12, 65536);
	uint64_t a = one_frame("a"), b = one_frame("b");
	synth_w64(&S, a + (uint64_t)SOFF(&S, IF_PREVIOUS), b);
	synth_w64(&S, b + (uint64_t)SOFF(&S, IF_PREVIOUS), a);
	synth_set_current_frame(&S, a);
	struct tp_rsnapshot *snap = walk();
	cr_assert_eq(snap->nthreads, 1);
	cr_assert_eq(snap->threads[0].nframes, 2);
	cr_assert_not_null(snap->threads[0].error);
	cr_assert(strstr(snap->threads[0].error, "loops"), "%s",
		  snap->threads[0].error);
	free(snap);
}

/*
 * The Dogslow text says where it is partial, one line each, as eu-stack
 * does: the snapshot's own reason and the thread's before the first frame
 * (the frames missing are the outer ones), a frame's after its arguments.
 */
Test(hostile, dogslow_says_where_it_is_partial)
{
	world(3, 12, 65536);
	uint64_t a = one_frame("inner"), b = one_frame("outer");
	synth_w64(&S, a + (uint64_t)SOFF(&S, IF_PREVIOUS), b);
	synth_w64(&S, b + (uint64_t)SOFF(&S, IF_PREVIOUS), a);
	/* the inner frame's locals: their names are unreadable */
	uint64_t code = 0;
	cr_assert_null(py_read_ptr(S.py, a + (uint64_t)SOFF(&S, IF_CODE), &code));
	synth_w64(&S, code + (uint64_t)SOFF(&S, CO_LOCALSPLUSNAMES), 0x7000000ULL);
	synth_set_current_frame(&S, a);
	synth_w64(&S, S.interp + (uint64_t)SOFF(&S, IS_NEXT), 0x6000000ULL);
	struct tp_rsnapshot *snap = walk();
	struct tp_strbuf out = TP_STRBUF_INIT;
	struct tp_render_opts o = { .header = false, .locals = true,
				    .max_repr = 65536 };
	cr_assert_null(tp_render_dogslow(snap, &o, NULL, &out));
	const char *text = tp_strbuf_str(&out);
	const char *first = strstr(text, "  (partial: snapshot incomplete: threads of interpreter 2 not read: ");
	const char *older = strstr(text, "\n  (partial: older frames not read: frame chain loops");
	const char *file = strstr(text, "\n  File \"synth.py\"");
	const char *locals = strstr(text, "      Arguments: inner()\n      (partial: locals incomplete: ");
	cr_assert(first == text, "%s", text);
	cr_assert(older && file && older < file, "%s", text);
	cr_assert(locals, "%s", text);
	tp_strbuf_deinit(&out);
	free(snap);
}

/*
 * A thread state made by threading.Thread.start() for a thread that has
 * not run yet: no frames, and its creator's ids (3.11: thread_id and
 * native_thread_id are the caller's) or none (3.12+: thread_id 0 until
 * bound).  It is reported once as what it is, never as a second copy of
 * its creator (an http.server snapshot showed two "MainThread" records
 * with the same tid, one without frames).  New states are at the list's
 * head.
 */
static void starting_thread_state(unsigned minor, bool creators_ids)
{
	world(3, minor, 65536);
	synth_set_current_frame(&S, one_frame("main"));
	uint64_t creator_ident = 0, creator_tid = 0;
	cr_assert_null(py_read_ptr(S.py, S.tstate + (uint64_t)SOFF(&S, TS_THREAD_ID),
				   &creator_ident));
	cr_assert_null(py_read_ptr(S.py, S.tstate + (uint64_t)SOFF(&S, TS_NATIVE_THREAD_ID),
				   &creator_tid));
	cr_assert_neq(creator_ident, 0);
	uint64_t ts = synth_alloc(&S, 4096), cf = synth_alloc(&S, 64);
	synth_w64(&S, ts + (uint64_t)SOFF(&S, TS_NEXT), S.tstate);
	synth_w64(&S, ts + (uint64_t)SOFF(&S, TS_INTERP), S.interp);
	if (LHAS(S.py, TS_CFRAME))
		synth_w64(&S, ts + (uint64_t)SOFF(&S, TS_CFRAME), cf);
	if (creators_ids) {
		synth_w64(&S, ts + (uint64_t)SOFF(&S, TS_THREAD_ID), creator_ident);
		synth_w64(&S, ts + (uint64_t)SOFF(&S, TS_NATIVE_THREAD_ID),
			  creator_tid);
	}
	synth_w64(&S, S.interp + (uint64_t)SOFF(&S, IS_TSTATE_HEAD), ts);
	struct tp_rsnapshot *snap = walk();
	cr_assert_eq(snap->nthreads, 2);
	cr_assert_null(snap->error);
	int running = -1, starting = -1;
	for (int i = 0; i < 2; i++) {
		if (snap->threads[i].state)
			starting = i;
		else
			running = i;
	}
	cr_assert(running >= 0 && starting >= 0, "both %s",
		  running < 0 ? "starting" : "running");
	const struct tp_rthread *r = &snap->threads[running],
				*s = &snap->threads[starting];
	cr_assert_eq(r->nframes, 1);
	cr_assert(r->has_ident && r->ident == creator_ident);
	cr_assert_eq((uint64_t)r->tid, creator_tid);
	cr_assert_eq(s->nframes, 0);
	cr_assert_null(s->error);
	cr_assert(!s->has_ident && !s->tid && !s->is_main && !s->name);
	cr_assert(!strncmp(s->state, "starting", 8), "%s", s->state);
	/* both renderers say what it is */
	struct tp_strbuf out = TP_STRBUF_INIT;
	struct tp_render_opts o = { .header = true, .locals = true,
				    .max_repr = 65536 };
	cr_assert_null(tp_render_dogslow(snap, &o, NULL, &out));
	cr_assert(strstr(tp_strbuf_str(&out), "\n  (starting: "), "%s",
		  tp_strbuf_str(&out));
	tp_strbuf_deinit(&out);
	cr_assert_null(tp_render_json(snap, &o, &out));
	cr_assert(strstr(tp_strbuf_str(&out), "\"state\": \"starting"), "%s",
		  tp_strbuf_str(&out));
	tp_strbuf_deinit(&out);
	free(snap);
}

Test(hostile, starting_thread_state_3_11) { starting_thread_state(11, true); }
Test(hostile, starting_thread_state_3_12) { starting_thread_state(12, false); }
