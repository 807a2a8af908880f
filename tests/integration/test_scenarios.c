/* SPDX-License-Identifier: MIT */
/*
 * End to end, per interpreter: a fixture scenario runs in a real CPython,
 * records its own truth from the inside, parks; tripod-snap snapshots it;
 * tripod-analyze decodes the snapshot; the JSON (and the Dogslow text) must
 * equal the truth.  Then the same scenario again, and gdb with the
 * interpreter's own pythonX.Y-gdb.py must list the same Python frames as
 * tripod-analyze.
 *
 * One TestSuite per interpreter, so that the TAP output (and
 * tools/test.sh's summary) counts the tests of each interpreter.  An
 * interpreter that is not installed, a feature a version lacks (a scenario
 * exits 77: subinterpreters before 3.8), gdb or its extension missing: the
 * test is skipped with the reason, never passed silently.
 *
 * Interpreters: pyenv builds (DWARF, shared libpython) of 2.7 and 3.6-3.13
 * under $PYENV_ROOT (default ~/.pyenv); Debian's stripped, statically
 * linked /usr/bin/python3.11 with its separate debug info (python3.11-dbg)
 * and with the debug info hidden (tripod-analyze --debuginfo-path=an empty
 * directory: needs tripod's built-in layout tables), and Debian's debug
 * build /usr/bin/python3.11d; Debian sid's python3.14 and python3.15
 * (statically linked, stripped) as tools/fetch-sid-python.sh leaves them,
 * run unmodified through sid's own loader, with their separate debug info
 * (python3.1X-dbg, given by --debuginfo-path) and without it (then the
 * layout comes from _Py_DebugOffsets and the built-in tables).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
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

static void need_snap(void)
{
	if (access(TOP_BUILDDIR "/src/tripod-snap", X_OK) != 0)
		cr_skip_test("tripod-snap is not built");
}

static void scenario(struct interp *in, const char *script, bool dogslow)
{
	need_snap();
	harness_start(&run, in, script);
	harness_snapshot_and_analyze(&run);
	harness_compare(&run, dogslow);
}

/* A scenario analyzed with one more tripod-analyze option. */
static void scenario_with(struct interp *in, const char *script,
			  const char *arg)
{
	need_snap();
	harness_start(&run, in, script);
	run.analyze_arg = arg;
	harness_snapshot_and_analyze(&run);
	harness_compare(&run, true);
}

/*
 * The asyncio scenario, and its --tasks tree: each task under the tasks
 * the scenario made await it, with its recorded coroutine frames
 * (tests/integration/check_views.py tree).
 */
static void asyncio_scenario(struct interp *in)
{
	scenario(in, "asyncio_tasks.py", true);
	char first[400], tree[400], out[400], dipath[4200];
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", run.snaps);
	snprintf(tree, sizeof(tree), "%s/tree.txt", run.dir);
	snprintf(out, sizeof(out), "%s/check-tree.txt", run.dir);
	snprintf(dipath, sizeof(dipath), "--debuginfo-path=%s",
		 run.hide_debuginfo ? run.nodebug : run.debuginfo_dir);
	char *di = run.hide_debuginfo || run.debuginfo_dir[0] ? dipath : NULL;
	char *argv[] = { TOP_BUILDDIR "/src/tripod-analyze", "--no-header",
			 "--no-locals", "--tasks", "tree", first, di, NULL };
	int st = harness_run(argv, tree, run.log, 120);
	char *log = st ? harness_slurp(run.log) : NULL;
	cr_assert_eq(st, 0, "tripod-analyze --tasks tree exited %d:\n%s", st,
		     log ? log : "");
	char *check[] = { "/usr/bin/python3",
			  TOP_SRCDIR "/tests/integration/check_views.py",
			  "tree", run.truth, tree, NULL };
	st = harness_run(check, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "--tasks tree differs from the scenario (%s):\n%s",
		     run.dir, text ? text : "");
	cr_log_info("tree: %s", text ? text : "");
	free(text);
}

static void gdb_check(struct interp *in, const char *script)
{
	need_snap();
	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("gdb is not installed");
	if (!in->gdb_script[0])
		cr_skip_test("no python%s-gdb.py for %s", in->version, in->path);
	if (in->hide_debuginfo)
		cr_skip_test("gdb's extension needs the debug info this suite hides");
	/* checked with gdb 13.1 and sid's python3.14-gdb.py: every frame
	 * prints "(unable to read python frame information)" */
	int gdb = harness_gdb_major();
	if (harness_version_between(in, "3.14", "3.99") && gdb < 14)
		cr_skip_test("gdb %d reads no Python frame of %s (its extension prints \"unable to read python frame information\"): the truth recorded in the target is the oracle",
			     gdb, in->version);
	/* the 3.6-3.8 extensions misread negative line-number steps */
	bool lines = !harness_version_between(in, "3.6", "3.8");
	harness_start(&run, in, script);
	harness_snapshot_and_analyze(&run);
	harness_gdb_crosscheck(&run, in, lines);
}

/*
 * A subinterpreter created by one thread and run by another: CPython's own
 * sys._current_frames() puts its frames under the wrong thread, so gdb
 * (which walks each thread's C stack) is the oracle here.
 */
static void gdb_foreign_subinterpreter(struct interp *in)
{
	if (harness_version_between(in, "2.7", "3.10"))
		cr_skip_test("before 3.11 a thread state records no address on the stack of the thread running it; tripod shows such frames under the creating thread, as CPython does");
	gdb_check(in, "subinterp_foreign.py");
}

/*
 * 3.14+: CPython's own view of the live target's tasks -- python -m
 * asyncio pstree (the awaited-by tree; with @cycle, the await cycles it
 * refuses to draw) and the table of python -m asyncio ps -- must be
 * tripod's (tests/integration/compare_pstree.py).
 */
static void pstree_check(struct interp *in, bool cycle)
{
	need_snap();
	if (!harness_version_between(in, "3.14", "3.99"))
		cr_skip_test("python -m asyncio pstree exists from 3.14 (this is %s)",
			     in->version);
	if (cycle)
		unsetenv("TRIPOD_ASYNCIO_NO_CYCLE");
	else
		setenv("TRIPOD_ASYNCIO_NO_CYCLE", "1", 1);
	harness_start(&run, in, "asyncio_tasks.py");
	unsetenv("TRIPOD_ASYNCIO_NO_CYCLE");
	harness_snapshot_and_analyze(&run);
	char pid[32], out[400];
	snprintf(pid, sizeof(pid), "%d", (int)run.pid);
	snprintf(out, sizeof(out), "%s/compare-pstree.txt", run.dir);
	char *argv[] = { "/usr/bin/python3",
			 TOP_SRCDIR "/tests/integration/compare_pstree.py",
			 in->path, pid, run.json, NULL };
	int st = harness_run(argv, out, out, 300);
	char *text = harness_slurp(out);
	if (st == 77)
		cr_skip_test("%s", text ? text : "asyncio.tools cannot run");
	cr_assert_eq(st, 0, "asyncio pstree/ps and tripod disagree (%s):\n%s",
		     run.dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

#define INTERP_PYENV(suite, ver)                                              \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		if (!harness_find_pyenv(&in, ver))                            \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

/* A Debian interpreter at @path; @dbg: the package with its separate debug
 * info, NULL when the binary carries it. */
static struct interp *system_interp(struct interp *in, const char *path,
				    const char *dbg)
{
	if (!harness_find_system(in, path))
		cr_skip_test("%s", in->why);
	if (dbg && !in->hide_debuginfo && !harness_has_debuginfo(in, dbg))
		cr_skip_test("%s", in->why);
	return in;
}

/* @hide: analyze without the separate debug info. */
#define INTERP_SYSTEM(suite, ver, path, dbg, hide)                            \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver,     \
					    .hide_debuginfo = hide };         \
		return system_interp(&in, path, dbg);                         \
	}

/* One scenario: its test against the truth, and its gdb cross-check. */
#define SCENARIO(suite, name, script, dogslow)                                \
	Test(suite, name)                                                     \
	{                                                                     \
		scenario(suite##_interp(), script, dogslow);                  \
	}                                                                     \
	Test(suite, gdb_##name)                                               \
	{                                                                     \
		gdb_check(suite##_interp(), script);                          \
	}

#define SCENARIOS(suite)                                                      \
	TestSuite(suite, .fini = cleanup, .timeout = 240);                    \
	SCENARIO(suite, nested_calls_and_values, "nested.py", true)           \
	SCENARIO(suite, four_blocked_threads, "threads.py", true)             \
	SCENARIO(suite, cpu_loop_holding_the_gil, "cpuloop.py", false)        \
	SCENARIO(suite, recursion_200_frames, "recursion.py", true)           \
	SCENARIO(suite, closures_cells_and_free_variables, "closures.py",     \
		 true)                                                        \
	SCENARIO(suite, running_generators_and_coroutines, "generators.py",   \
		 true)                                                        \
	SCENARIO(suite, class_bodies_and_methods, "classes.py", true)         \
	SCENARIO(suite, inside_except_and_finally, "exceptions.py", true)     \
	SCENARIO(suite, module_level_frames, "modulelevel.py", true)          \
	SCENARIO(suite, frame_locals_beyond_variables, "frame_locals.py",     \
		 true)                                                        \
	SCENARIO(suite, subinterpreters, "subinterp.py", true)                \
	Test(suite, asyncio_tasks)                                            \
	{                                                                     \
		asyncio_scenario(suite##_interp());                           \
	}                                                                     \
	Test(suite, gdb_asyncio_tasks)                                        \
	{                                                                     \
		gdb_check(suite##_interp(), "asyncio_tasks.py");              \
	}                                                                     \
	Test(suite, asyncio_tree_equals_pstree)                               \
	{                                                                     \
		pstree_check(suite##_interp(), false);                        \
	}                                                                     \
	Test(suite, asyncio_cycles_equal_pstree)                              \
	{                                                                     \
		pstree_check(suite##_interp(), true);                         \
	}                                                                     \
	Test(suite, values_of_standard_library_types)                         \
	{                                                                     \
		scenario(suite##_interp(), "values_types.py", true);          \
	}                                                                     \
	Test(suite, values_of_more_standard_library_types)                    \
	{                                                                     \
		scenario(suite##_interp(), "values_stdlib.py", true);         \
	}                                                                     \
	Test(suite, values_of_asyncio_objects)                                \
	{                                                                     \
		scenario(suite##_interp(), "values_asyncio.py", true);        \
	}                                                                     \
	Test(suite, instances_with_their_attributes)                          \
	{                                                                     \
		/* the depth attributes.py's truth is recorded for */         \
		scenario_with(suite##_interp(), "attributes.py",              \
			      "--attributes=2");                              \
	}                                                                     \
	Test(suite, random_values)                                            \
	{                                                                     \
		scenario(suite##_interp(), "random_values.py", true);         \
	}                                                                     \
	Test(suite, max_repr_per_local_in_module_frames)                      \
	{                                                                     \
		/* the limit maxrepr_module.py's truth is recorded for */     \
		scenario_with(suite##_interp(), "maxrepr_module.py",          \
			      "--max-repr=50");                               \
	}                                                                     \
	Test(suite, corrupt_values)                                           \
	{                                                                     \
		scenario(suite##_interp(), "corrupt_values.py", true);        \
	}                                                                     \
	Test(suite, gdb_subinterpreter_run_by_another_thread)                 \
	{                                                                     \
		gdb_foreign_subinterpreter(suite##_interp());                 \
	}

INTERP_PYENV(py2_7, "2.7")
SCENARIOS(py2_7)
INTERP_PYENV(py3_6, "3.6")
SCENARIOS(py3_6)
INTERP_PYENV(py3_7, "3.7")
SCENARIOS(py3_7)
INTERP_PYENV(py3_8, "3.8")
SCENARIOS(py3_8)
INTERP_PYENV(py3_9, "3.9")
SCENARIOS(py3_9)
INTERP_PYENV(py3_10, "3.10")
SCENARIOS(py3_10)
INTERP_PYENV(py3_11, "3.11")
SCENARIOS(py3_11)
INTERP_PYENV(py3_12, "3.12")
SCENARIOS(py3_12)
INTERP_PYENV(py3_13, "3.13")
SCENARIOS(py3_13)
INTERP_SYSTEM(debian_python3_11, "3.11", "/usr/bin/python3.11",
	      "python3.11-dbg", false)
SCENARIOS(debian_python3_11)
INTERP_SYSTEM(debian_python3_11_no_debuginfo, "3.11", "/usr/bin/python3.11",
	      "python3.11-dbg", true)
SCENARIOS(debian_python3_11_no_debuginfo)
INTERP_SYSTEM(debian_python3_11d, "3.11", "/usr/bin/python3.11d", NULL,
	      false)
SCENARIOS(debian_python3_11d)

/* @hide: analyze without the separate debug info. */
#define INTERP_SID(suite, ver, hide)                                          \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver,     \
					    .hide_debuginfo = hide };         \
		if (!harness_find_sid(&in, ver))                              \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

INTERP_SID(debian_sid_python3_14, "3.14", false)
SCENARIOS(debian_sid_python3_14)
INTERP_SID(debian_sid_python3_14_no_debuginfo, "3.14", true)
SCENARIOS(debian_sid_python3_14_no_debuginfo)
INTERP_SID(debian_sid_python3_15, "3.15", false)
SCENARIOS(debian_sid_python3_15)
INTERP_SID(debian_sid_python3_15_no_debuginfo, "3.15", true)
SCENARIOS(debian_sid_python3_15_no_debuginfo)
