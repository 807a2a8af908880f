/* SPDX-License-Identifier: MIT */
/*
 * End to end without DWARF: a fixture scenario runs in an interpreter whose
 * debug info is out of reach, a core is taken (src/tripod-snap when it is
 * built, else gdb's gcore), tripod-analyze decodes it with the debug-info
 * search pointed at an empty directory, says where the layout came from,
 * and its JSON must equal the truth the scenario recorded.
 *
 *  - Debian's stripped /usr/bin/python3.11 (its python3.11-dbg debug info
 *    is installed, and hidden on purpose): layout from the 3.11 table;
 *  - every pyenv interpreter run on a --strip-all copy of its libpython
 *    (LD_LIBRARY_PATH beats its RUNPATH): the table of its version, and
 *    for 3.13 _Py_DebugOffsets with the table for the rest;
 *  - Debian sid's python3.14 and 3.15 rewritten by patchelf (interpreter
 *    and RUNPATH set, as Nix does: an extra PT_LOAD before the original
 *    first one), with their debug info and without it, equal to the truth
 *    and to the same scenario under the unmodified binary.
 *
 * gcore's NT_PRPSINFO holds only the executable's name, not the arguments:
 * with a gcore core the truth's argv is the one difference allowed.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct scenario_run run;
static char libdir[64];

static void rm_rf(const char *dir)
{
	char *argv[] = { "/bin/rm", "-rf", (char *)dir, NULL };
	harness_run(argv, NULL, NULL, 30);
}

static void cleanup(void)
{
	if (!getenv("TRIPOD_KEEP_TEST_DIRS")) {
		harness_finish(&run);
		if (libdir[0])
			rm_rf(libdir);
	} else if (run.pid > 0) {
		harness_finish(&(struct scenario_run){ .pid = run.pid });
	}
}

/*
 * Snapshot the target into @core (a snapshot directory or a core file):
 * with tripod-snap when it is built and @foreign is false, else with gdb's
 * gcore.  Returns true when gcore made it.
 */
static bool take_core_by(struct scenario_run *r, char *core, size_t len,
			 bool foreign)
{
	char pid[32], log[300];
	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	snprintf(log, sizeof(log), "%s/snap.txt", r->dir);
	if (!foreign && access(TOP_BUILDDIR "/src/tripod-snap", X_OK) == 0) {
		char *snap[] = { TOP_BUILDDIR "/src/tripod-snap", "-q", "--pid",
				 pid, "-n", "1", "-i", "0.05", "-o", r->snaps,
				 NULL };
		int st = harness_run(snap, log, log, 60);
		char *text = harness_slurp(log);
		cr_assert_eq(st, 0, "tripod-snap exited %d:\n%s", st,
			     text ? text : "");
		free(text);
		snprintf(core, len, "%s", r->snaps);
		return false;
	}
	if (access("/usr/bin/gcore", X_OK) != 0)
		cr_skip_test("neither src/tripod-snap nor gdb's gcore to take a core");
	char prefix[300];
	snprintf(prefix, sizeof(prefix), "%s/core", r->dir);
	char *gcore[] = { "/usr/bin/gcore", "-o", prefix, pid, NULL };
	int st = harness_run(gcore, log, log, 120);
	char *text = harness_slurp(log);
	if (st != 0 && text && strstr(text, "not permitted"))
		cr_skip_test("gcore cannot attach to the target (ptrace not permitted):\n%s",
			     text);
	cr_assert_eq(st, 0, "gcore exited %d:\n%s", st, text ? text : "");
	free(text);
	snprintf(core, len, "%s.%d", prefix, (int)r->pid);
	return true;
}

static bool take_core(struct scenario_run *r, char *core, size_t len)
{
	return take_core_by(r, core, len, false);
}

/*
 * tripod-analyze -v --format json [--debuginfo-path=EMPTY]
 * [--layout-source=SOURCE] CORE, JSON into r->json; returns the exit
 * status and its stderr (malloc'd) in *@err.
 */
static int analyze(struct scenario_run *r, const char *core, bool hide_debug,
		   const char *source, char **err)
{
	char empty[300], dpath[320], lsrc[64], errpath[300];
	snprintf(empty, sizeof(empty), "%s/empty-debuginfo", r->dir);
	mkdir(empty, 0700);
	snprintf(dpath, sizeof(dpath), "--debuginfo-path=%s", empty);
	snprintf(lsrc, sizeof(lsrc), "--layout-source=%s",
		 source ? source : "auto");
	snprintf(errpath, sizeof(errpath), "%s/analyze-err.txt", r->dir);
	unlink(errpath);
	char *argv[] = { TOP_BUILDDIR "/src/tripod-analyze", "-v", "--format",
			 "json", hide_debug ? dpath : "-v", lsrc, (char *)core,
			 NULL };
	int st = harness_run(argv, r->json, errpath, 120);
	*err = harness_slurp(errpath);
	return st;
}

/*
 * tripod-analyze -v --format json --debuginfo-path=@dir CORE, JSON into
 * r->json; returns the exit status and its stderr (malloc'd) in *@err.
 */
static int analyze_dir(struct scenario_run *r, const char *core,
		       const char *dir, char **err)
{
	char dpath[4200], errpath[300];
	snprintf(dpath, sizeof(dpath), "--debuginfo-path=%s", dir);
	snprintf(errpath, sizeof(errpath), "%s/analyze-err.txt", r->dir);
	unlink(errpath);
	char *argv[] = { TOP_BUILDDIR "/src/tripod-analyze", "-v", "--format",
			 "json", dpath, (char *)core, NULL };
	int st = harness_run(argv, r->json, errpath, 120);
	*err = harness_slurp(errpath);
	return st;
}

static void expect_source(struct scenario_run *r, const char *err,
			  const char *source)
{
	char *json = harness_slurp(r->json);
	char want[128], line[128];
	snprintf(want, sizeof(want), "\"layout_source\": \"%s\"", source);
	snprintf(line, sizeof(line), "layout from %s,", source);
	cr_expect(json && strstr(json, want), "JSON without %s:\n%.400s",
		  want, json ? json : "");
	cr_expect(err && strstr(err, line), "-v says no \"%s\":\n%s", line,
		  err ? err : "");
	free(json);
}

/* compare_truth.py; with a gcore core only the argv line may differ. */
static void compare(struct scenario_run *r, bool gcore)
{
	char out[300];
	snprintf(out, sizeof(out), "%s/compare.txt", r->dir);
	char *argv[] = { "/usr/bin/python3",
			 TOP_SRCDIR "/tests/integration/compare_truth.py",
			 r->truth, r->json, NULL };
	int st = harness_run(argv, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_not_null(text);
	bool only_argv = st == 1 && gcore;
	for (char *l = text; only_argv && *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, "argv ", 5) != 0)
			only_argv = false;
		if (!strchr(l, '\n'))
			break;
	}
	cr_assert(st == 0 || only_argv,
		  "output differs from the truth (%s):\n%s", r->dir, text);
	cr_log_info("%s", text);
	free(text);
}

static void start(const char *python, const char *script)
{
	struct interp in = { .id = "layout" };
	snprintf(in.path, sizeof(in.path), "%s", python);
	harness_start(&run, &in, script);
}

/* ---- Debian's stripped python3.11 ---------------------------------------- */

#define DEBIAN_PY "/usr/bin/python3.11"

static void need_debian(void)
{
	if (access(DEBIAN_PY, X_OK) != 0)
		cr_skip_test("%s is not installed", DEBIAN_PY);
}

TestSuite(debian_stripped, .fini = cleanup, .timeout = 240);

Test(debian_stripped, nested_calls_from_the_table)
{
	need_debian();
	start(DEBIAN_PY, "nested.py");
	char core[400];
	bool gcore = take_core(&run, core, sizeof(core));
	char *err;
	int st = analyze(&run, core, true, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "table");
	compare(&run, gcore);
	free(err);

	/* forced sources that are not there: one line, exit status 2 */
	st = analyze(&run, core, true, "dwarf", &err);
	cr_expect_eq(st, 2, "--layout-source=dwarf exited %d", st);
	cr_expect(strstr(err, "no debug info for " DEBIAN_PY " (build-id "),
		  "%s", err);
	free(err);
	st = analyze(&run, core, true, "debug-offsets", &err);
	cr_expect_eq(st, 2, "--layout-source=debug-offsets exited %d", st);
	cr_expect(strstr(err, "no _Py_DebugOffsets before 3.13"), "%s", err);
	free(err);

	/* and with its debug info in reach, DWARF comes first */
	st = analyze(&run, core, false, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "dwarf");
	compare(&run, gcore);
	free(err);
}

Test(debian_stripped, four_blocked_threads_from_the_table)
{
	need_debian();
	start(DEBIAN_PY, "threads.py");
	char core[400];
	bool gcore = take_core(&run, core, sizeof(core));
	char *err;
	int st = analyze(&run, core, true, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "table");
	compare(&run, gcore);
	free(err);
}

/* ---- pyenv interpreters on a stripped libpython -------------------------- */

/*
 * Run @script under pyenv's Python @version with a --strip-all copy of its
 * libpython, and check the layout source and the output.
 */
static void stripped_pyenv(const char *version, const char *script,
			   const char *source)
{
	struct interp in = { .id = "stripped", .version = version };
	if (!harness_find_pyenv(&in, version))
		cr_skip_test("%s", in.why);
	if (access("/usr/bin/objcopy", X_OK) != 0)
		cr_skip_test("objcopy (binutils) is not installed");
	char pattern[4200];
	snprintf(pattern, sizeof(pattern), "%s", in.path);
	char *bin = strstr(pattern, "/bin/python");
	cr_assert_not_null(bin);
	snprintf(bin, sizeof(pattern) - (size_t)(bin - pattern),
		 "/lib/libpython%s*.so.1.0", version);
	glob_t g;
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no %s", pattern);
	snprintf(libdir, sizeof(libdir), "/tmp/tripod-lib-XXXXXX");
	cr_assert_not_null(mkdtemp(libdir));
	char copy[4400];
	snprintf(copy, sizeof(copy), "%s/%s", libdir,
		 strrchr(g.gl_pathv[0], '/') + 1);
	char *strip[] = { "/usr/bin/objcopy", "--strip-all", g.gl_pathv[0],
			  copy, NULL };
	cr_assert_eq(harness_run(strip, NULL, NULL, 120), 0,
		     "objcopy --strip-all %s failed", g.gl_pathv[0]);
	globfree(&g);

	setenv("LD_LIBRARY_PATH", libdir, 1);
	harness_start(&run, &in, script);
	unsetenv("LD_LIBRARY_PATH");
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)run.pid);
	char *m = harness_slurp(maps);
	cr_assert(m && strstr(m, copy), "%s does not run on %s", in.path,
		  copy);
	free(m);

	char core[400];
	bool gcore = take_core(&run, core, sizeof(core));
	char *err;
	int st = analyze(&run, core, true, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, source);
	compare(&run, gcore);
	free(err);
}

TestSuite(pyenv_stripped, .fini = cleanup, .timeout = 240);

#define STRIPPED(suite_name, version, script, source)                         \
	Test(pyenv_stripped, suite_name)                                      \
	{                                                                     \
		stripped_pyenv(version, script, source);                      \
	}

STRIPPED(py2_7_nested, "2.7", "nested.py", "table")
STRIPPED(py2_7_cpu_loop, "2.7", "cpuloop.py", "table")
STRIPPED(py3_6_nested, "3.6", "nested.py", "table")
STRIPPED(py3_6_cpu_loop, "3.6", "cpuloop.py", "table")
STRIPPED(py3_7_nested, "3.7", "nested.py", "table")
STRIPPED(py3_8_nested, "3.8", "nested.py", "table")
STRIPPED(py3_9_nested, "3.9", "nested.py", "table")
STRIPPED(py3_10_nested, "3.10", "nested.py", "table")
STRIPPED(py3_11_nested, "3.11", "nested.py", "table")
STRIPPED(py3_12_threads, "3.12", "threads.py", "table")
STRIPPED(py3_13_nested, "3.13", "nested.py", "debug-offsets+table")
STRIPPED(py3_13_threads, "3.13", "threads.py", "debug-offsets+table")
STRIPPED(py3_8_asyncio, "3.8", "asyncio_tasks.py", "table")
STRIPPED(py3_12_asyncio, "3.12", "asyncio_tasks.py", "table")

/* ---- asyncio tasks in a foreign core (gdb's gcore) ----------------------- */

/*
 * asyncio_tasks.py under @in, a core taken by gcore (no tripod-snap, no
 * ELF notes of tripod's own), decoded (@hide_debug: with the debug-info
 * search pointed at an empty directory): its tasks must be the truth's,
 * and its sockets print as object.__repr__ does (without the sockets
 * note their addresses are unknown).
 */
static void foreign_asyncio(struct interp *in, bool hide_debug)
{
	/* no sockets note: the fixture expects its sockets unknown */
	setenv("TRIPOD_FIXTURE_FOREIGN_CORE", "1", 1);
	harness_start(&run, in, "asyncio_tasks.py");
	char core[400];
	take_core_by(&run, core, sizeof(core), true);
	char *err;
	int st = analyze(&run, core, hide_debug, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	char *json = harness_slurp(run.json);
	cr_assert(json && strstr(json, "\"tasks\": [{"),
		  "no tasks in the record:\n%.400s", json ? json : "");
	free(json);
	compare(&run, true);
	free(err);
}

TestSuite(foreign_core, .fini = cleanup, .timeout = 240);

#define FOREIGN_PYENV(name, ver)                                              \
	Test(foreign_core, name)                                              \
	{                                                                     \
		static struct interp in = { .id = "foreign",                  \
					    .version = ver };                 \
		if (!harness_find_pyenv(&in, ver))                            \
			cr_skip_test("%s", in.why);                           \
		foreign_asyncio(&in, false);                                  \
	}

FOREIGN_PYENV(asyncio_py3_6, "3.6")
FOREIGN_PYENV(asyncio_py3_7, "3.7")
FOREIGN_PYENV(asyncio_py3_10, "3.10")
FOREIGN_PYENV(asyncio_py3_13, "3.13")

Test(foreign_core, asyncio_debian_python3_11_without_debug_info)
{
	need_debian();
	struct interp in = { .id = "foreign" };
	snprintf(in.path, sizeof(in.path), "%s", DEBIAN_PY);
	foreign_asyncio(&in, true);
}

/* ---- a patchelf-rewritten interpreter ------------------------------------ */

/* PT_LOAD count and the first one's p_vaddr of the ELF file @path. */
static size_t load_segments(const char *path, uint64_t *first_vaddr)
{
	char cmd[4400], out[300];
	snprintf(out, sizeof(out), "%s/loads.txt", libdir);
	snprintf(cmd, sizeof(cmd),
		 "readelf -lW '%s' | awk '$1 == \"LOAD\" { print $3 }' > '%s'",
		 path, out);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	char *text = harness_slurp(out);
	cr_assert_not_null(text);
	size_t n = 0;
	for (char *l = text; *l; l = strchr(l, '\n') + 1) {
		if (n++ == 0)
			*first_vaddr = strtoull(l, NULL, 16);
		if (!strchr(l, '\n'))
			break;
	}
	free(text);
	return n;
}

/* Copy a file with cp (keeps the mode). */
static void copy_file(const char *from, const char *to)
{
	char *argv[] = { "/bin/cp", (char *)from, (char *)to, NULL };
	cr_assert_eq(harness_run(argv, NULL, NULL, 60), 0, "cp %s %s", from,
		     to);
}

static void patched_vs_unmodified(const char *version, const char *script)
{
	struct interp in = { .id = "patchelf", .version = version };
	if (!harness_find_sid(&in, version))
		cr_skip_test("%s", in.why);
	if (access("/usr/bin/patchelf", X_OK) != 0)
		cr_skip_test("patchelf is not installed (tools/setup.sh installs it)");
	/* in.gdb_exe = ROOT/usr/bin/pythonX.Y, the unmodified binary */
	char root[4096];
	snprintf(root, sizeof(root), "%s", in.gdb_exe);
	char *usr_bin = strstr(root, "/usr/bin/python");
	cr_assert_not_null(usr_bin);
	*usr_bin = '\0';
	char lib[4200], loader[4300], home[4200], copy[128];
	snprintf(lib, sizeof(lib), "%s/usr/lib/x86_64-linux-gnu", root);
	snprintf(loader, sizeof(loader), "%s/ld-linux-x86-64.so.2", lib);
	snprintf(home, sizeof(home), "%s/usr", root);

	snprintf(libdir, sizeof(libdir), "/tmp/tripod-patchelf-XXXXXX");
	cr_assert_not_null(mkdtemp(libdir));
	snprintf(copy, sizeof(copy), "%s/python%s", libdir, version);
	copy_file(in.gdb_exe, copy);
	char *pe[] = { "/usr/bin/patchelf", "--set-interpreter", loader,
		       "--set-rpath", lib, copy, NULL };
	cr_assert_eq(harness_run(pe, NULL, NULL, 120), 0, "patchelf failed");
	uint64_t v0 = 0, v1 = 0;
	size_t n0 = load_segments(in.gdb_exe, &v0);
	size_t n1 = load_segments(copy, &v1);
	cr_assert(n1 > n0 && v1 < v0,
		  "patchelf added no PT_LOAD before the first (%zu at %#lx, now %zu at %#lx)",
		  n0, (unsigned long)v0, n1, (unsigned long)v1);

	/* the rewritten copy, run directly (its PT_INTERP is sid's loader) */
	struct interp pin = in;
	snprintf(pin.path, sizeof(pin.path), "%s", copy);
	setenv("PYTHONHOME", home, 1);
	harness_start(&run, &pin, script);
	unsetenv("PYTHONHOME");
	char core[400];
	bool gcore = take_core(&run, core, sizeof(core));
	char *err;
	int st = analyze_dir(&run, core, in.debuginfo_dir, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "dwarf");
	compare(&run, gcore);
	free(err);
	char patched_json[300];
	snprintf(patched_json, sizeof(patched_json), "%s/patched.jsonl", libdir);
	copy_file(run.json, patched_json);
	st = analyze(&run, core, true, NULL, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "debug-offsets+table");
	compare(&run, gcore);
	free(err);
	harness_finish(&run);

	/* the same scenario under the unmodified binary */
	harness_start(&run, &in, script);
	gcore = take_core(&run, core, sizeof(core));
	st = analyze_dir(&run, core, in.debuginfo_dir, &err);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, err);
	expect_source(&run, err, "dwarf");
	compare(&run, gcore);
	free(err);
	char out[300];
	snprintf(out, sizeof(out), "%s/compare-runs.txt", run.dir);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_runs.py",
			patched_json, run.json, NULL };
	st = harness_run(cmp, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0,
		     "the patchelf'd and the unmodified interpreter decode differently:\n%s",
		     text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

TestSuite(patchelf, .fini = cleanup, .timeout = 300);

Test(patchelf, sid_3_14_threads) { patched_vs_unmodified("3.14", "threads.py"); }
Test(patchelf, sid_3_15_nested) { patched_vs_unmodified("3.15", "nested.py"); }
