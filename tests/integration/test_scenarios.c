/* SPDX-License-Identifier: MIT */
/*
 * End to end, per interpreter: a fixture scenario runs in a real CPython,
 * records its own truth from the inside, parks; tripod-snap snapshots it;
 * tripod-analyze decodes the snapshot; the JSON (and the Dogslow text) must
 * equal the truth.  An interpreter that is not installed is skipped with
 * the reason.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static struct scenario_run run;

static void cleanup(void)
{
	if (!getenv("TRIPOD_KEEP_TEST_DIRS"))
		harness_finish(&run);
	else if (run.pid > 0)
		harness_finish(&(struct scenario_run){ .pid = run.pid });
}

static void need_ptrace(void)
{
	if (access(TOP_BUILDDIR "/src/tripod-snap", X_OK) != 0)
		cr_skip_test("tripod-snap is not built");
}

static void scenario(struct interp *in, const char *script, int nthreads,
		     bool dogslow)
{
	need_ptrace();
	harness_start(&run, in, script, nthreads);
	harness_snapshot_and_analyze(&run);
	harness_compare(&run, dogslow);
}

static void gdb_check(struct interp *in, bool lines)
{
	need_ptrace();
	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("gdb is not installed");
	if (!in->gdb_script[0])
		cr_skip_test("no python%s-gdb.py next to %s", in->version,
			     in->path);
	harness_start(&run, in, "threads.py", 5);
	harness_snapshot_and_analyze(&run);
	harness_gdb_crosscheck(&run, in, lines);
}

#define INTERP_PYENV(suite, ver)                                              \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		if (!harness_find_pyenv(&in, ver))                            \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

#define INTERP_SYSTEM(suite, ver, path)                                       \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		if (!harness_find_system(&in, path))                          \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

#define SCENARIOS(suite)                                                      \
	TestSuite(suite, .fini = cleanup, .timeout = 240);                    \
	Test(suite, nested_calls_and_values)                                  \
	{                                                                     \
		scenario(suite##_interp(), "nested.py", 1, true);             \
	}                                                                     \
	Test(suite, four_blocked_threads)                                     \
	{                                                                     \
		scenario(suite##_interp(), "threads.py", 5, true);            \
	}                                                                     \
	Test(suite, cpu_loop_holding_the_gil)                                 \
	{                                                                     \
		scenario(suite##_interp(), "cpuloop.py", 1, false);           \
	}                                                                     \
	Test(suite, gdb_lists_the_same_frames)                                \
	{                                                                     \
		gdb_check(suite##_interp(), true);                            \
	}

INTERP_PYENV(py3_11, "3.11")
SCENARIOS(py3_11)
INTERP_PYENV(py3_12, "3.12")
SCENARIOS(py3_12)
INTERP_SYSTEM(debian_python3_11, "3.11", "/usr/bin/python3.11")
SCENARIOS(debian_python3_11)
