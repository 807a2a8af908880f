/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "snap/options.h"

#define ARGV(...) ((char *[]){ "tripod-snap", __VA_ARGS__, NULL })


static struct tp_error *parse(char **argv, int argc, const char *env,
			      struct tp_snap_options *o)
{
	return tp_snap_options_parse(argc, argv, env, o);
}

Test(options, defaults)
{
	char **v = ARGV("--", "sleep", "1");
	struct tp_snap_options o;
	cr_assert_null(parse(v, 4, NULL, &o));
	cr_assert_float_eq(o.interval, 5.0, 1e-12);
	cr_assert_null(o.outdir);
	cr_assert_eq(o.count, 0);
	cr_assert_eq(o.pid, 0);
	cr_assert_str_eq(o.command[0], "sleep");
	cr_assert_str_eq(o.command[1], "1");
	cr_assert_null(o.command[2]);
}

Test(options, env_interval_and_override)
{
	char **v = ARGV("--pid", "1");
	struct tp_snap_options o;
	cr_assert_null(parse(v, 3, "0.25", &o));
	cr_assert_float_eq(o.interval, 0.25, 1e-12);
	char **w = ARGV("-i", "0.2", "--pid", "1");
	cr_assert_null(parse(w, 5, "7", &o));
	cr_assert_float_eq(o.interval, 0.2, 1e-12);
	char **x = ARGV("--interval=3", "-p", "1");
	cr_assert_null(parse(x, 4, "", &o));
	cr_assert_float_eq(o.interval, 3.0, 1e-12);
}

Test(options, all_long_options)
{
	char **v = ARGV("--output", "/tmp/x", "--count", "3", "--duration",
			"1.5", "--quiet", "--pid", "42");
	struct tp_snap_options o;
	cr_assert_null(parse(v, 10, NULL, &o));
	cr_assert_str_eq(o.outdir, "/tmp/x");
	cr_assert_eq(o.count, 3);
	cr_assert_float_eq(o.duration, 1.5, 1e-12);
	cr_assert(o.quiet);
	cr_assert_eq(o.pid, 42);
	cr_assert_null(o.command);
}

Test(options, command_options_are_not_ours)
{
	char **v = ARGV("-n", "2", "python3", "-i", "-n", "x");
	struct tp_snap_options o;
	cr_assert_null(parse(v, 7, NULL, &o));
	cr_assert_eq(o.count, 2);
	cr_assert_str_eq(o.command[0], "python3");
	cr_assert_str_eq(o.command[1], "-i");
	cr_assert_str_eq(o.command[2], "-n");
}

Test(options, errors)
{
	struct tp_snap_options o;
	const char *bad[][4] = {
		{ "-i", "0", "--pid", "1" },
		{ "-i", "abc", "--pid", "1" },
		{ "-i", "-1", "--pid", "1" },
		{ "-i", "nan", "--pid", "1" },
		{ "-n", "0", "--pid", "1" },
		{ "-n", "-3", "--pid", "1" },
		{ "--pid", "0", "--", "x" },
		{ "--pid", "1", "--", "x" },
		{ "--bogus", "--pid", "1", "" },
		{ "--duration", "0", "--pid", "1" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *v[6] = { "tripod-snap" };
		int n = 1;
		for (int j = 0; j < 4 && bad[i][j][0]; j++)
			v[n++] = (char *)bad[i][j];
		v[n] = NULL;
		struct tp_error *err = parse(v, n, NULL, &o);
		cr_assert_not_null(err, "case %zu accepted", i);
		cr_assert_eq(err->code, TP_ERR_INVALID);
		cr_assert_null(strchr(tp_error_message(err), '\n'));
		tp_error_destroy(err);
	}
	char **none = ARGV("-q");
	struct tp_error *err = parse(none, 2, NULL, &o);
	cr_assert_not_null(err);
	tp_error_destroy(err);
	char **missing = ARGV("--pid");
	err = parse(missing, 2, NULL, &o);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "needs an argument"));
	tp_error_destroy(err);
	char **badenv = ARGV("--pid", "1");
	err = parse(badenv, 3, "soon", &o);
	cr_assert_not_null(err);
	cr_assert(strstr(tp_error_message(err), "TRIPOD_INTERVAL"));
	tp_error_destroy(err);
}

Test(options, help_needs_nothing_else)
{
	char **v = ARGV("--help");
	struct tp_snap_options o;
	cr_assert_null(parse(v, 2, "junk", &o));
	cr_assert(o.help);
}

Test(options, retention_and_form)
{
	struct tp_snap_options o;
	char **d = ARGV("--pid", "1");
	cr_assert_null(parse(d, 3, NULL, &o));
	cr_assert_eq(o.keep, TP_SNAP_KEEP_ALL);
	cr_assert_eq(o.max_size, 0);
	cr_assert(!o.standalone);
	char **v = ARGV("--keep", "0", "--max-size", "3", "--standalone",
			"--pid", "1");
	cr_assert_null(parse(v, 8, NULL, &o));
	cr_assert_eq(o.keep, 0);
	cr_assert_eq(o.max_size, 3);
	cr_assert(o.standalone);
	static const struct {
		const char *arg;
		uint64_t bytes;
	} sizes[] = {
		{ "1k", 1024 }, { "1K", 1024 }, { "5M", 5ULL << 20 },
		{ "2G", 2ULL << 30 }, { "3T", 3ULL << 40 }, { "12345", 12345 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *w[] = { "tripod-snap", "--max-size", (char *)sizes[i].arg,
			      "--pid", "1", NULL };
		cr_assert_null(parse(w, 5, NULL, &o), "%s", sizes[i].arg);
		cr_assert_eq(o.max_size, sizes[i].bytes, "%s", sizes[i].arg);
	}
	const char *bad_sizes[] = { "0", "-1", "1x", "k", "", "1kk", "1 M",
				    "99999999999999999999", "20000000T" };
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		char *w[] = { "tripod-snap", "--max-size", (char *)bad_sizes[i],
			      "--pid", "1", NULL };
		struct tp_error *err = parse(w, 5, NULL, &o);
		cr_assert_not_null(err, "%s accepted", bad_sizes[i]);
		cr_assert(strstr(tp_error_message(err), "invalid size"), "%s",
			  tp_error_message(err));
		tp_error_destroy(err);
	}
	const char *bad_keeps[] = { "-1", "x", "", "1000000", "2.5" };
	for (size_t i = 0; i < sizeof(bad_keeps) / sizeof(bad_keeps[0]); i++) {
		char *w[] = { "tripod-snap", "--keep", (char *)bad_keeps[i],
			      "--pid", "1", NULL };
		struct tp_error *err = parse(w, 5, NULL, &o);
		cr_assert_not_null(err, "%s accepted", bad_keeps[i]);
		tp_error_destroy(err);
	}
}
