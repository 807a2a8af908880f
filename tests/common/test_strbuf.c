/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"
#include "common/strbuf.h"

Test(strbuf, append_and_printf)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	cr_assert_str_eq(tp_strbuf_str(&sb), "");
	tp_strbuf_puts(&sb, "abc");
	tp_strbuf_printf(&sb, "-%d-%s", 42, "x");
	tp_strbuf_repeat(&sb, '.', 3);
	cr_assert_str_eq(tp_strbuf_str(&sb), "abc-42-x...");
	cr_assert_eq(sb.len, strlen("abc-42-x..."));
	cr_assert_null(tp_strbuf_error(&sb));
	tp_strbuf_deinit(&sb);
}

Test(strbuf, long_printf_grows)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	char big[1000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tp_strbuf_printf(&sb, "<%s>", big);
	cr_assert_eq(sb.len, 1001);
	cr_assert_eq(sb.str[0], '<');
	cr_assert_eq(sb.str[1000], '>');
	tp_strbuf_deinit(&sb);
}

Test(strbuf, utf8)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_put_utf8(&sb, 0x41);
	tp_strbuf_put_utf8(&sb, 0xe9);
	tp_strbuf_put_utf8(&sb, 0x20ac);
	tp_strbuf_put_utf8(&sb, 0x1f600);
	cr_assert_str_eq(tp_strbuf_str(&sb), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	char *s = tp_strbuf_steal(&sb);
	cr_assert_str_eq(s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	cr_assert_null(sb.str);
	free(s);
}

Test(error, wrap_keeps_code)
{
	struct tp_error *err = tp_error_fault(0x1000, "cannot read %s", "x");
	err = tp_error_wrap(err, "frame %d", 3);
	cr_assert_eq(err->code, TP_ERR_FAULT);
	cr_assert_eq(err->address, 0x1000);
	cr_assert_str_eq(tp_error_message(err), "frame 3: cannot read x");
	tp_error_destroy(err);
	tp_error_destroy(NULL);
	tp_error_destroy(&tp_error_nomem);
}
