/* SPDX-License-Identifier: MIT */
/* The native stacks note (core/nstacks.h): what is written reads back, and
 * a damaged note is refused with an error, never read past its end. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/nstacks.h"

static void sample(struct tp_nstacks *s, struct tp_nstack_module *mods,
		   struct tp_nstack_thread *threads,
		   struct tp_nstack_frame *frames)
{
	mods[0] = (struct tp_nstack_module){ "/usr/lib/libpython3.12.so.1.0",
					     "f9d5c82f", 0x7f0000000000 };
	mods[1] = (struct tp_nstack_module){ "/lib/libc.so.6", "", 0x7f1000 };
	frames[0] = (struct tp_nstack_frame){ 0x7f1234, 0x7ffd0000, true, 1,
					      0x234 };
	frames[1] = (struct tp_nstack_frame){ 0x7f0000001234, 0x7ffd0040,
					      false, 0, 0x1234 };
	frames[2] = (struct tp_nstack_frame){ 0xdead, 0, false,
					      TP_NSTACKS_NO_MODULE, 0 };
	threads[0] = (struct tp_nstack_thread){ 4242, frames, 3, false, NULL };
	threads[1] = (struct tp_nstack_thread){ 4243, NULL, 0, true,
						"no unwind info" };
	*s = (struct tp_nstacks){ mods, 2, threads, 2 };
}

Test(nstacks, round_trip)
{
	struct tp_nstack_module mods[2];
	struct tp_nstack_thread threads[2];
	struct tp_nstack_frame frames[3];
	struct tp_nstacks s, r;
	sample(&s, mods, threads, frames);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_nstacks_encode(&s, &sb);
	cr_assert_null(tp_strbuf_error(&sb));
	struct tp_error *err = tp_nstacks_decode(sb.str, sb.len, &r);
	cr_assert_null(err, "%s", err ? tp_error_message(err) : "");
	cr_assert_eq(r.nmodules, 2);
	cr_assert_str_eq(r.modules[0].path, mods[0].path);
	cr_assert_str_eq(r.modules[0].build_id, "f9d5c82f");
	cr_assert_str_eq(r.modules[1].build_id, "");
	cr_assert_eq(r.modules[0].bias, mods[0].bias);
	cr_assert_eq(r.nthreads, 2);
	cr_assert_eq(r.threads[0].tid, 4242);
	cr_assert_eq(r.threads[0].nframes, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r.threads[0].frames[i].pc, frames[i].pc);
		cr_assert_eq(r.threads[0].frames[i].sp, frames[i].sp);
		cr_assert_eq(r.threads[0].frames[i].offset, frames[i].offset);
		cr_assert_eq(r.threads[0].frames[i].module, frames[i].module);
		cr_assert_eq(r.threads[0].frames[i].activation,
			     frames[i].activation);
	}
	cr_assert(r.threads[1].truncated);
	cr_assert_str_eq(r.threads[1].error, "no unwind info");
	tp_nstacks_deinit(&r);
	tp_strbuf_deinit(&sb);
}

/* Every proper prefix of a note is refused (it claims more than it has). */
Test(nstacks, truncated_notes_are_refused)
{
	struct tp_nstack_module mods[2];
	struct tp_nstack_thread threads[2];
	struct tp_nstack_frame frames[3];
	struct tp_nstacks s, r;
	sample(&s, mods, threads, frames);
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_nstacks_encode(&s, &sb);
	for (size_t len = 0; len < sb.len; len++) {
		/* a copy of exactly len bytes: ASan sees any overread */
		char *copy = malloc(len ? len : 1);
		memcpy(copy, sb.str, len);
		struct tp_error *err = tp_nstacks_decode(copy, len, &r);
		cr_assert_not_null(err, "a note cut at %zu of %zu bytes was accepted",
				   len, sb.len);
		cr_assert(err->code == TP_ERR_FORMAT, "%s", tp_error_message(err));
		tp_error_destroy(err);
		free(copy);
	}
	tp_strbuf_deinit(&sb);
}

Test(nstacks, bad_counts_and_indexes_are_refused)
{
	struct tp_nstack_module mods[2];
	struct tp_nstack_thread threads[2];
	struct tp_nstack_frame frames[3];
	struct tp_nstacks s, r;
	sample(&s, mods, threads, frames);
	frames[1].module = 7;           /* no such module */
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_nstacks_encode(&s, &sb);
	struct tp_error *err = tp_nstacks_decode(sb.str, sb.len, &r);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "unknown module"), "%s",
		  tp_error_message(err));
	tp_error_destroy(err);
	/* a thread count far larger than the note */
	uint32_t huge = 60000;
	memcpy(sb.str + 16, &huge, 4);
	err = tp_nstacks_decode(sb.str, sb.len, &r);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	/* another version */
	uint32_t v2 = 2;
	memcpy(sb.str + 8, &v2, 4);
	err = tp_nstacks_decode(sb.str, sb.len, &r);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_UNSUPPORTED);
	tp_error_destroy(err);
	tp_strbuf_deinit(&sb);
}
