/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "common/error.h"
#include "core/fdio.h"
#include "core/maps.h"

/* A function of this test binary, so its code lies in an r-x mapping of
 * /proc/self/exe. */
__attribute__((noinline)) int test_maps_marker(int x);
__attribute__((noinline)) int test_maps_marker(int x)
{
	return x * 3 + 1;
}

static char *slurp_self_maps(size_t *len)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	char *text;
	cr_assert_eq(tp_fd_read_all(fd, 64u << 20, &text, len), 0);
	close(fd);
	return text;
}

/* The fields of every line, read with sscanf, match the parser's. */
Test(maps, self_matches_sscanf)
{
	size_t len;
	char *text = slurp_self_maps(&len);
	struct tp_maps maps;
	struct tp_error *err = tp_maps_parse(text, len, &maps);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_gt(maps.n, 5);

	size_t i = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		cr_assert_lt(i, maps.n);
		unsigned long long start, end, off, inode;
		unsigned maj, min;
		char perms[5];
		int pathpos = 0;
		int n = sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start,
			       &end, perms, &off, &maj, &min, &inode, &pathpos);
		cr_assert_eq(n, 7, "line %zu: %s", i, line);
		const struct tp_mapping *m = &maps.v[i];
		cr_assert_eq(m->start, start);
		cr_assert_eq(m->end, end);
		cr_assert_eq(m->offset, off);
		cr_assert_eq(m->dev_major, maj);
		cr_assert_eq(m->dev_minor, min);
		cr_assert_eq(m->inode, inode);
		cr_assert_eq(m->read, perms[0] == 'r');
		cr_assert_eq(m->write, perms[1] == 'w');
		cr_assert_eq(m->exec, perms[2] == 'x');
		cr_assert_eq(m->shared, perms[3] == 's');
		const char *path = line + pathpos;
		if (*path == '\0') {
			cr_assert_null(m->path, "line %zu", i);
		} else {
			cr_assert_not_null(m->path, "line %zu", i);
			cr_assert_str_eq(m->path, path);
			cr_assert_eq(m->deleted,
				     strstr(path, " (deleted)") != NULL);
		}
		if (i > 0)
			cr_assert_geq(m->start, maps.v[i - 1].end);
	}
	cr_assert_eq(i, maps.n);
	tp_maps_deinit(&maps);
	free(text);
}

/* Addresses the test knows independently fall in the right mappings. */
Test(maps, self_addresses)
{
	struct tp_maps maps;
	struct tp_error *err = tp_maps_read(getpid(), &maps);
	cr_assert_null(err, "%s", tp_error_message(err));

	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';

	/* Our code: an r-x mapping of our own executable. */
	const struct tp_mapping *m =
		tp_maps_find(&maps, (uint64_t)(uintptr_t)&test_maps_marker);
	cr_assert_not_null(m);
	cr_assert(m->read && m->exec && !m->write);
	cr_assert_not_null(m->path);
	cr_assert_str_eq(m->path, exe);
	cr_assert(tp_mapping_is_file(m));

	/* A libc function ASan does not intercept: an r-x mapping of libc. */
	m = tp_maps_find(&maps, (uint64_t)(uintptr_t)&gnu_get_libc_version);
	cr_assert_not_null(m);
	cr_assert(m->exec);
	cr_assert_not_null(strstr(m->path, "libc.so"), "%s", m->path);

	/* A local of the main thread: [stack]. */
	volatile int local = test_maps_marker(1);
	m = tp_maps_find(&maps, (uint64_t)(uintptr_t)&local);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, "[stack]");
	cr_assert(m->read && m->write && !m->exec);
	cr_assert(!tp_mapping_is_file(m));

	/* The vDSO, as the auxiliary vector names it. */
	m = tp_maps_find(&maps, getauxval(AT_SYSINFO_EHDR));
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, "[vdso]");
	cr_assert_eq(m->start, getauxval(AT_SYSINFO_EHDR));

	cr_assert_null(tp_maps_find(&maps, 0));
	tp_maps_deinit(&maps);
}

Test(maps, edge_cases)
{
	static const char text[] =
		"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/my prog\n"
		"7f0000000000-7f0000001000 rw-s 00000000 00:05 1234   /memfd:pool (deleted)\n"
		"7f0000001000-7f0000002000 rw-p 00000000 00:00 0                  [anon:my pool]\n"
		"7f0000002000-7f0000003000 rw-p 00000000 00:00 0\n"
		"7f0000003000-7f0000004000 ---p 00000000 00:00 0                  \n"
		"\n"
		"7f0000004000-7f0000005000 r--p 0001f000 fd:1a 99 /x  two  spaces\n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                  [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]";
	struct tp_maps maps;
	struct tp_error *err = tp_maps_parse(text, strlen(text), &maps);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(maps.n, 8);

	cr_assert_str_eq(maps.v[0].path, "/usr/bin/my prog");
	cr_assert_eq(maps.v[0].start, 0x400000);
	cr_assert_eq(maps.v[0].end, 0x452000);
	cr_assert_eq(maps.v[0].inode, 173521);
	cr_assert_eq(maps.v[0].dev_major, 8);
	cr_assert_eq(maps.v[0].dev_minor, 2);
	cr_assert(!maps.v[0].deleted && !maps.v[0].shared);
	cr_assert(tp_mapping_is_file(&maps.v[0]));

	cr_assert_str_eq(maps.v[1].path, "/memfd:pool (deleted)");
	cr_assert(maps.v[1].deleted && maps.v[1].shared && maps.v[1].write);

	cr_assert_str_eq(maps.v[2].path, "[anon:my pool]");
	cr_assert(!tp_mapping_is_file(&maps.v[2]));
	cr_assert(!maps.v[2].deleted);

	cr_assert_null(maps.v[3].path);
	cr_assert(!tp_mapping_is_file(&maps.v[3]));
	cr_assert_null(maps.v[4].path);
	cr_assert(!maps.v[4].read && !maps.v[4].write && !maps.v[4].exec);

	cr_assert_str_eq(maps.v[5].path, "/x  two  spaces");
	cr_assert_eq(maps.v[5].offset, 0x1f000);
	cr_assert_eq(maps.v[5].dev_major, 0xfd);
	cr_assert_eq(maps.v[5].dev_minor, 0x1a);

	cr_assert_str_eq(maps.v[6].path, "[stack]");
	cr_assert_eq(maps.v[7].start, 0xffffffffff600000ull);
	cr_assert_str_eq(maps.v[7].path, "[vsyscall]");
	cr_assert(maps.v[7].exec && !maps.v[7].read);

	cr_assert_eq(tp_maps_find(&maps, 0x7f0000001fff), &maps.v[2]);
	cr_assert_eq(tp_maps_find(&maps, 0x7f0000002000), &maps.v[3]);
	cr_assert_null(tp_maps_find(&maps, 0x452000));
	tp_maps_deinit(&maps);

	/* Empty input: no mappings, no error. */
	err = tp_maps_parse("", 0, &maps);
	cr_assert_null(err);
	cr_assert_eq(maps.n, 0);
	tp_maps_deinit(&maps);
}

Test(maps, bad_lines)
{
	static const char *const bad[] = {
		"zzzz",
		"1000-2000 rwxq 00000000 00:00 0",
		"1000-2000 r-xp 00000000 00:00",
		"1000-2000 r-xp 00000000 0000 0",
		"1000 r-xp 00000000 00:00 0",
		"2000-1000 r-xp 00000000 00:00 0",
		"1000-2000 r-xp 00000000 00:00 0x12 /a",
		"1000-2000 r-xp 00000000 00:00 12/a",
		"10000000000000000-10000000000000001 r-xp 00000000 00:00 0",
		"1000-2000 r-x 00000000 00:00 0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		/* The bad line is line 2. */
		snprintf(text, sizeof(text),
			 "1000-2000 r--p 00000000 00:00 0\n%s\n", bad[i]);
		struct tp_maps maps = { (void *)1, 42 };
		struct tp_error *err = tp_maps_parse(text, strlen(text), &maps);
		cr_assert_not_null(err, "accepted: %s", bad[i]);
		cr_assert_eq(err->code, TP_ERR_FORMAT);
		cr_assert_not_null(strstr(tp_error_message(err), "line 2"),
				   "%s", tp_error_message(err));
		tp_error_destroy(err);
	}
}

Test(maps, no_such_process)
{
	struct tp_maps maps;
	struct tp_error *err = tp_maps_read(INT_MAX, &maps);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_EXITED, "%s", tp_error_message(err));
	cr_assert_not_null(strstr(tp_error_message(err), "/proc/"));
	tp_error_destroy(err);
}
