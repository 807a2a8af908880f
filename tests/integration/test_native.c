/* SPDX-License-Identifier: MIT */
/*
 * Native stacks end to end, per interpreter (tripod-snap --native records
 * them, tripod-analyze --native shows them): fixtures/scenarios/native_calls.py parks threads
 * inside Python code that C code called back (sorted()'s key, a json
 * object_hook, a sqlite3 user function, a ctypes callback from qsort()),
 * one in time.sleep() and one started from C that never runs Python.
 *
 *  native_stacks_match_the_truth   tripod-analyze --native's Python
 *      frames (JSON and Dogslow text) equal the truth the target recorded,
 *      the native-only thread is there, every thread has a state
 *      (compare_truth.py --native), and the system call each thread is
 *      blocked in is the one /proc/PID/task/TID/syscall named just before
 *      the snapshot (check_states.py); the text form, headers included,
 *      is the documented rendering of the JSON (check_native_text.py);
 *      without --native the native-only thread is not shown and the
 *      rest equals the truth;
 *  recorded_stacks_equal_unwound_ones   the stacks tripod-snap --native
 *      unwound with libunwind in the live process are the ones
 *      tripod-analyze unwinds from the snapshot with libdwfl
 *      (compare_sources.py);
 *  gdb_native_stacks   the same snapshot exported as a core: every C
 *      frame gdb unwinds is tripod's, in order, same function names, and
 *      each call of the evaluation loop is replaced by the Python frames
 *      that gdb's own pythonX.Y-gdb.py finds in it (compare_native.py;
 *      where the extension cannot be used, the calls of the evaluation
 *      loop must stand where tripod shows Python frames);
 *  waiting_for_the_gil   fixtures/scenarios/native_gil.py: a thread
 *      waits for the GIL while the main thread spins; frames as above
 *      (truth, kernel, gdb), and tripod's state "gil" exactly where gdb
 *      shows take_gil (2.7: the lock taken in PyEval_RestoreThread) on
 *      the stack (check_gil.py);
 *  gcore_native_stacks   a core gdb's gcore wrote (no recorded stacks,
 *      no tripod note): tripod-analyze --native against the truth, the
 *      kernel's states and gdb on that core;
 *  cpp_names_demangled   fixtures/scenarios/native_cpp.py: a thread
 *      asleep in C++ functions; their names demangled as gdb shows them;
 *  recorded_from_the_copy   recorded_stacks_equal_unwound_ones with
 *      --capture=copy (stacks read from the copy, not from a clone);
 *  unwinder_reads_no_word_by_word   tripod-snap --native under strace:
 *      no PTRACE_PEEKDATA, the recorded stacks still complete;
 *  native_stripped::*   pyenv interpreters on a --strip-all copy of
 *      their libpython (names from .dynsym only): truth, gdb, and
 *      recorded = unwound.
 *
 * Interpreters as in test_scenarios.c: pyenv 2.7, 3.6-3.13, Debian's
 * python3.11 with and without its debug info, python3.11d, sid's 3.14 and
 * 3.15 with and without theirs.  Without debug info, gdb is given none
 * either (an empty debug-file-directory), so both name frames from the
 * symbol tables alone.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SCRIPT "native_calls.py"

static struct scenario_run run;

static void cleanup(void)
{
	if (!getenv("TRIPOD_KEEP_TEST_DIRS"))
		harness_finish(&run);
	else if (run.pid > 0)
		harness_finish(&(struct scenario_run){ .pid = run.pid });
}

static void need_tools(void)
{
	if (access(TOP_BUILDDIR "/src/tripod-snap", X_OK) != 0)
		cr_skip_test("tripod-snap is not built");
}

/* --debuginfo-path for tripod-analyze, or NULL for the default. */
static char *debuginfo_arg(struct scenario_run *r, char *buf, size_t len)
{
	if (!r->hide_debuginfo && !r->debuginfo_dir[0])
		return NULL;
	snprintf(buf, len, "--debuginfo-path=%s",
		 r->hide_debuginfo ? r->nodebug : r->debuginfo_dir);
	return buf;
}

static void fail_with_log(struct scenario_run *r, const char *what, int st)
{
	char *log = harness_slurp(r->log);
	cr_assert_fail("%s exited %d (%s):\n%s", what, st, r->dir,
		       log ? log : "");
}

/*
 * What the kernel says each thread of @r's target is blocked in
 * (/proc/PID/task/TID/syscall), one "TID TEXT" line per thread, into @path.
 */
static void kernel_syscalls(struct scenario_run *r, const char *path)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)r->pid);
	DIR *d = opendir(dir);
	FILE *out = fopen(path, "w");
	cr_assert(d && out, "cannot list %s or write %s", dir, path);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[400];
		snprintf(p, sizeof(p), "%s/%s/syscall", dir, de->d_name);
		char *text = harness_slurp(p);
		fprintf(out, "%s %s", de->d_name, text ? text : "?\n");
		free(text);
	}
	closedir(d);
	fclose(out);
}

/* tripod-snap's --capture option for snapshot_native(), NULL: the default */
static const char *capture_opt;

/* One snapshot, then tripod-analyze --native: JSON of it, Dogslow text. */
static void snapshot_native(struct scenario_run *r)
{
	char sys[300];
	snprintf(sys, sizeof(sys), "%s/syscalls.txt", r->dir);
	kernel_syscalls(r, sys);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	char *snap[] = { TOP_BUILDDIR "/src/tripod-snap", "-q", "--native",
			 "--pid", pid, "-n", "1", "-o", r->snaps,
			 (char *)capture_opt, NULL };
	int st = harness_run(snap, NULL, r->log, 60);
	if (st != 0)
		fail_with_log(r, "tripod-snap", st);
	char dibuf[4200];
	char *di = debuginfo_arg(r, dibuf, sizeof(dibuf));
	char first[400];
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", r->snaps);
	char *json[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native",
			 "--format", "json", first, di, NULL };
	st = harness_run(json, r->json, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native --format json", st);
	char *text[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native",
			 "--no-header", first, di, NULL };
	st = harness_run(text, r->text, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native", st);
}

/* The Python frames of @r's snapshot against its truth, states against
 * the kernel's. */
static void truth_compare(struct scenario_run *r)
{
	char out[300];
	snprintf(out, sizeof(out), "%s/compare.txt", r->dir);
	char *argv[] = { "/usr/bin/python3",
			 TOP_SRCDIR "/tests/integration/compare_truth.py",
			 "--native", r->truth, r->json, r->text, NULL };
	int st = harness_run(argv, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "tripod-analyze --native differs from the truth (%s):\n%s",
		     r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
	char sys[300];
	snprintf(sys, sizeof(sys), "%s/syscalls.txt", r->dir);
	char *states[] = { "/usr/bin/python3",
			   TOP_SRCDIR "/tests/integration/check_states.py",
			   sys, r->json, NULL };
	st = harness_run(states, out, out, 60);
	text = harness_slurp(out);
	cr_assert_eq(st, 0, "thread states differ from the kernel's (%s):\n%s",
		     r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

/*
 * tripod-analyze --native's text, headers included, against its JSON of
 * the same snapshot: the documented line forms and the state in the
 * header (check_native_text.py).
 */
static void text_check(struct scenario_run *r)
{
	char dibuf[4200], first[400], full[300], out[300];
	char *di = debuginfo_arg(r, dibuf, sizeof(dibuf));
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", r->snaps);
	snprintf(full, sizeof(full), "%s/analyze-full.txt", r->dir);
	snprintf(out, sizeof(out), "%s/check-text.txt", r->dir);
	char *text[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native", first,
			 di, NULL };
	int st = harness_run(text, full, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native", st);
	char *chk[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/check_native_text.py",
			r->json, full, NULL };
	st = harness_run(chk, out, out, 60);
	char *t = harness_slurp(out);
	cr_assert_eq(st, 0, "the text form differs from the JSON (%s):\n%s",
		     r->dir, t ? t : "");
	cr_log_info("%s", t ? t : "");
	free(t);
}

/*
 * Without --native the same snapshot shows what it showed before native
 * stacks: Python threads and frames only, no native-only thread
 * (compare_truth.py without --native).
 */
static void without_native_check(struct scenario_run *r)
{
	char dibuf[4200], first[400], plain[300], out[300];
	char *di = debuginfo_arg(r, dibuf, sizeof(dibuf));
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", r->snaps);
	snprintf(plain, sizeof(plain), "%s/analyze-plain.jsonl", r->dir);
	snprintf(out, sizeof(out), "%s/compare-plain.txt", r->dir);
	char *json[] = { TOP_BUILDDIR "/src/tripod-analyze", "--format",
			 "json", first, di, NULL };
	int st = harness_run(json, plain, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --format json", st);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_truth.py",
			r->truth, plain, NULL };
	st = harness_run(cmp, out, out, 60);
	char *t = harness_slurp(out);
	cr_assert_eq(st, 0, "without --native, the output differs from the truth (%s):\n%s",
		     r->dir, t ? t : "");
	free(t);
	char *js = harness_slurp(plain);
	cr_assert(js && !strstr(js, "\"kind\": \"native\""),
		  "native frames without --native (%s)", plain);
	free(js);
}

static void truth_check(struct interp *in)
{
	need_tools();
	harness_start(&run, in, SCRIPT);
	snapshot_native(&run);
	truth_compare(&run);
	text_check(&run);
	without_native_check(&run);
}

/*
 * The stacks tripod-snap --native recorded with libunwind in the live
 * process equal those tripod-analyze unwinds from the snapshot with
 * libdwfl.
 */
static void sources_compare(struct scenario_run *r)
{
	char dibuf[4200];
	char *di = debuginfo_arg(r, dibuf, sizeof(dibuf));
	char first[400], rec[300], core[300], out[300];
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", r->snaps);
	snprintf(rec, sizeof(rec), "%s/recorded.jsonl", r->dir);
	snprintf(core, sizeof(core), "%s/core.jsonl", r->dir);
	snprintf(out, sizeof(out), "%s/compare-sources.txt", r->dir);
	char *a[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native=recorded",
		      "--no-locals", "--format", "json", first, di, NULL };
	int st = harness_run(a, rec, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native=recorded", st);
	char *b[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native=core",
		      "--no-locals", "--format", "json", first, di, NULL };
	st = harness_run(b, core, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native=core", st);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_sources.py", rec,
			core, NULL };
	st = harness_run(cmp, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "recorded and unwound native stacks differ (%s):\n%s",
		     r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

static void live_offline_check(struct interp *in)
{
	need_tools();
	harness_start(&run, in, SCRIPT);
	snapshot_native(&run);
	sources_compare(&run);
}

/*
 * The same with --capture=copy: the unwinder reads the stacks from the
 * copy the capture made (code and unwind tables from the process), not
 * from a copy-on-write clone.
 */
static void copy_check(struct interp *in)
{
	capture_opt = "--capture=copy";
	live_offline_check(in);
}

static void need_gdb(void)
{
	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("gdb is not installed");
}

/*
 * Whether gdb's pythonX.Y-gdb.py can read @in's Python frames: the
 * extension reads them only with the interpreter's debug info; gdb 13
 * reads none of 3.14+ ("unable to read python frame information"): then
 * only where the eval loop's calls are is compared, the Python frames
 * themselves are the truth's business.
 */
static bool gdb_python(const struct interp *in)
{
	return in->gdb_script[0] && !in->hide_debuginfo &&
	       !(harness_version_between(in, "3.14", "3.99") &&
		 harness_gdb_major() < 14);
}

/*
 * gdb_native.py's view of @core (NULL: @r's snapshot exported as a core)
 * in @r->dir/gdb.txt (returned in @gdbout), compared with tripod's.
 */
static void gdb_compare(struct interp *in, struct scenario_run *r,
			bool python, const char *core_file, char *gdbout,
			size_t gdbout_len)
{
	char core[300], snap[400], out[300];
	snprintf(gdbout, gdbout_len, "%s/gdb.txt", r->dir);
	snprintf(out, sizeof(out), "%s/compare-gdb.txt", r->dir);
	if (core_file) {
		snprintf(core, sizeof(core), "%s", core_file);
	} else {
		snprintf(core, sizeof(core), "%s/core", r->dir);
		snprintf(snap, sizeof(snap), "%s/snapshot-000001.tripod",
			 r->snaps);
		char *export[] = { TOP_BUILDDIR "/src/tripod-analyze",
				   "--export-core", snap, "-o", core, NULL };
		int st = harness_run(export, NULL, r->log, 120);
		cr_assert_eq(st, 0, "tripod-analyze --export-core %s failed (%d)",
			     snap, st);
	}
	int st;
	char dfd[4200], src[4200];
	snprintf(dfd, sizeof(dfd), "set debug-file-directory %s",
		 r->hide_debuginfo ? r->nodebug
		 : in->debuginfo_dir[0] ? in->debuginfo_dir : "/usr/lib/debug");
	snprintf(src, sizeof(src), "source %s",
		 python ? in->gdb_script : "/dev/null");
	char *gdb[] = { "/usr/bin/gdb", "-nx", "-batch", "-iex",
			"set auto-load safe-path /", "-iex", dfd, "-ex", src,
			"-ex", "source " TOP_SRCDIR "/tests/integration/gdb_native.py",
			(char *)(in->gdb_exe[0] ? in->gdb_exe : in->path), core,
			NULL };
	st = harness_run(gdb, gdbout, gdbout, 300);
	cr_assert_eq(st, 0, "gdb failed (%d), see %s", st, gdbout);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_native.py", gdbout,
			r->json, python ? "--python" : NULL, NULL };
	st = harness_run(cmp, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "gdb and tripod-analyze --native disagree (%s):\n%s",
		     r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

static void gdb_check(struct interp *in)
{
	need_tools();
	need_gdb();
	harness_start(&run, in, SCRIPT);
	snapshot_native(&run);
	char gdbout[300];
	gdb_compare(in, &run, gdb_python(in), NULL, gdbout, sizeof(gdbout));
}

/*
 * Whether every thread of @r's target is in user space (the spinner) or
 * blocked in futex (the waiter, in its wait for the GIL), and at least one
 * in futex.
 */
static bool all_in_futex_or_running(struct scenario_run *r)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)r->pid);
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool ok = true;
	int futex = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[400];
		snprintf(p, sizeof(p), "%s/%s/syscall", dir, de->d_name);
		char *text = harness_slurp(p);
		if (!text)
			ok = false;
		else if (!strncmp(text, "202 ", 4))  /* __NR_futex */
			futex++;
		else if (strncmp(text, "running", 7) && strncmp(text, "-1 ", 3))
			ok = false;
		free(text);
	}
	closedir(d);
	return ok && futex > 0;
}

/*
 * fixtures/scenarios/native_gil.py: the main thread spins holding the GIL,
 * the "waiter" thread waits for it.  The Python frames equal the truth,
 * the states the kernel's, the native frames gdb's, and the waiter is in
 * state "gil" exactly where gdb shows it waiting for the GIL (without
 * symbols for take_gil neither can tell: then it is blocked in futex).
 */
static void gil_check(struct interp *in)
{
	need_tools();
	need_gdb();
	harness_start(&run, in, "native_gil.py");
	/*
	 * After the truth the spinner keeps the GIL: the waiter's next wait
	 * lasts.  Until then it may be seen in its short sleep; steady means
	 * seen in futex on polls 50 ms apart over 0.3 s.
	 */
	int steady = 0;
	for (int i = 0; i < 400 && steady < 6; i++) {
		steady = all_in_futex_or_running(&run) ? steady + 1 : 0;
		usleep(50 * 1000);
	}
	cr_assert_geq(steady, 6, "the waiter never settled in a futex wait (%s)",
		      run.dir);
	snapshot_native(&run);
	truth_compare(&run);
	text_check(&run);
	char gdbout[300], out[300];
	gdb_compare(in, &run, gdb_python(in), NULL, gdbout, sizeof(gdbout));
	snprintf(out, sizeof(out), "%s/check-gil.txt", run.dir);
	char *argv[] = { "/usr/bin/python3",
			 TOP_SRCDIR "/tests/integration/check_gil.py", gdbout,
			 run.json, run.hide_debuginfo ? NULL : "--expect-waiter",
			 "waiter", NULL };
	int st = harness_run(argv, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "waiting for the GIL: tripod and gdb disagree (%s):\n%s",
		     run.dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

/*
 * Python frames of @r against its truth, where only the argv line may
 * differ (a core not written by tripod-snap holds at most 80 characters
 * of the command line in NT_PRPSINFO); states against the kernel's.
 */
static void foreign_truth_compare(struct scenario_run *r, const char *what)
{
	char out[300], sys[300];
	snprintf(out, sizeof(out), "%s/compare.txt", r->dir);
	snprintf(sys, sizeof(sys), "%s/syscalls.txt", r->dir);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_truth.py",
			"--native", r->truth, r->json, r->text, NULL };
	int st = harness_run(cmp, out, out, 60);
	char *text = harness_slurp(out);
	bool only_argv = st == 1 && text;
	for (char *l = text; only_argv && *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, "argv ", 5) != 0)
			only_argv = false;
		if (!strchr(l, '\n'))
			break;
	}
	cr_assert(st == 0 || only_argv,
		  "tripod-analyze --native of %s differs from the truth (%s):\n%s",
		  what, r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
	char *states[] = { "/usr/bin/python3",
			   TOP_SRCDIR "/tests/integration/check_states.py",
			   sys, r->json, NULL };
	st = harness_run(states, out, out, 60);
	text = harness_slurp(out);
	cr_assert_eq(st, 0, "thread states differ from the kernel's (%s):\n%s",
		     r->dir, text ? text : "");
	free(text);
}

/* tripod-analyze --native of @core (JSON and text into @r), unwound. */
static void analyze_foreign(struct scenario_run *r, const char *core)
{
	char dibuf[4200];
	char *di = debuginfo_arg(r, dibuf, sizeof(dibuf));
	char *json[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native",
			 "--format", "json", (char *)core, di, NULL };
	int st = harness_run(json, r->json, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native --format json", st);
	char *txt[] = { TOP_BUILDDIR "/src/tripod-analyze", "--native",
			"--no-header", (char *)core, di, NULL };
	st = harness_run(txt, r->text, r->log, 120);
	if (st != 0)
		fail_with_log(r, "tripod-analyze --native", st);
	char *js = harness_slurp(r->json);
	cr_assert(js && strstr(js, "\"native_source\": \"core\""),
		  "%s must be unwound by tripod-analyze (%s)", core, r->dir);
	free(js);
}

/*
 * A core the kernel wrote of native_calls.py (SIGABRT, core_pattern
 * "core": a file in the target's working directory): tripod-analyze
 * --native against the truth, the kernel's states just before, and gdb.
 */
static char kcore_dir[64];

static void kernel_core_check(struct interp *in)
{
	need_tools();
	need_gdb();
	char *pattern = harness_slurp("/proc/sys/kernel/core_pattern");
	if (!pattern || strcmp(pattern, "core\n") != 0)
		cr_skip_test("the kernel does not write plain core files here (core_pattern %s)",
			     pattern ? pattern : "unreadable");
	free(pattern);
	/* the target's working directory, where its core will be */
	snprintf(kcore_dir, sizeof(kcore_dir), "/tmp/tripod-kcore-XXXXXX");
	cr_assert_not_null(mkdtemp(kcore_dir));
	char cwd[4096];
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	struct rlimit old, unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	getrlimit(RLIMIT_CORE, &old);
	if (setrlimit(RLIMIT_CORE, &unlimited) != 0)
		cr_skip_test("cannot raise RLIMIT_CORE");
	cr_assert_eq(chdir(kcore_dir), 0);
	harness_start(&run, in, SCRIPT);
	cr_assert_eq(chdir(cwd), 0);
	setrlimit(RLIMIT_CORE, &old);
	char sys[300];
	snprintf(sys, sizeof(sys), "%s/syscalls.txt", run.dir);
	kernel_syscalls(&run, sys);
	cr_assert_eq(kill(run.pid, SIGABRT), 0);
	int status = 0;
	cr_assert_eq(waitpid(run.pid, &status, 0), run.pid);
	run.pid = 0;
	cr_assert(WIFSIGNALED(status) && WCOREDUMP(status),
		  "the target did not dump core (status 0x%x)", status);
	char core[200];
	snprintf(core, sizeof(core), "%s/core", kcore_dir);
	analyze_foreign(&run, core);
	foreign_truth_compare(&run, "a kernel core");
	char gdbout[300];
	gdb_compare(in, &run, gdb_python(in), core, gdbout, sizeof(gdbout));
}

/*
 * A core gdb's gcore wrote of native_calls.py (no tripod note, no
 * recorded stacks): tripod-analyze --native unwinds it with libdwfl.
 * The Python frames equal the truth (gcore's NT_PRPSINFO holds no
 * arguments: the argv line is the one difference allowed), the states the
 * kernel's, the native frames gdb's on the same core.
 */
static void gcore_check(struct interp *in)
{
	need_tools();
	need_gdb();
	if (access("/usr/bin/gcore", X_OK) != 0)
		cr_skip_test("gdb's gcore is not installed");
	harness_start(&run, in, SCRIPT);
	char sys[300], pid[32], prefix[300], core[340], log[300];
	snprintf(sys, sizeof(sys), "%s/syscalls.txt", run.dir);
	kernel_syscalls(&run, sys);
	snprintf(pid, sizeof(pid), "%d", (int)run.pid);
	snprintf(prefix, sizeof(prefix), "%s/gcore", run.dir);
	snprintf(core, sizeof(core), "%s.%d", prefix, (int)run.pid);
	snprintf(log, sizeof(log), "%s/gcore.txt", run.dir);
	char *gcore[] = { "/usr/bin/gcore", "-o", prefix, pid, NULL };
	int st = harness_run(gcore, log, log, 120);
	char *text = harness_slurp(log);
	if (st != 0 && text && strstr(text, "not permitted"))
		cr_skip_test("gcore cannot attach to the target (ptrace not permitted):\n%s",
			     text);
	cr_assert_eq(st, 0, "gcore exited %d:\n%s", st, text ? text : "");
	free(text);
	analyze_foreign(&run, core);
	foreign_truth_compare(&run, "a gcore core");
	char gdbout[300];
	gdb_compare(in, &run, gdb_python(in), core, gdbout, sizeof(gdbout));
}

/*
 * fixtures/scenarios/native_cpp.py: a thread asleep in C++ functions
 * (fixtures/native_cpp.cc, no debug info).  Their names are demangled,
 * as the fixture's source spells them and as gdb prints them; Python
 * frames equal the truth, states the kernel's, native frames gdb's.
 */
static void cpp_check(struct interp *in)
{
	need_tools();
	need_gdb();
	harness_start(&run, in, "native_cpp.py");
	snapshot_native(&run);
	truth_compare(&run);
	char gdbout[300];
	gdb_compare(in, &run, gdb_python(in), NULL, gdbout, sizeof(gdbout));
	static const char *const names[] = {
		"\"function\": \"tripod_cpp::Parker::wait_forever(unsigned int)\"",
		"\"function\": \"tripod_cpp::hold(unsigned int)\"",
		"\"function\": \"tripod_cpp_park\"",
	};
	char *js = harness_slurp(run.json);
	cr_assert_not_null(js);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(js, names[i]), "no %s in %s", names[i],
			  run.json);
	free(js);
}

#define INTERP_PYENV(suite, ver)                                              \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		if (!harness_find_pyenv(&in, ver))                            \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

static struct interp *system_interp(struct interp *in, const char *path,
				    const char *dbg)
{
	if (!harness_find_system(in, path))
		cr_skip_test("%s", in->why);
	if (dbg && !in->hide_debuginfo && !harness_has_debuginfo(in, dbg))
		cr_skip_test("%s", in->why);
	return in;
}

#define INTERP_SYSTEM(suite, ver, path, dbg, hide)                            \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver,     \
					    .hide_debuginfo = hide };         \
		return system_interp(&in, path, dbg);                         \
	}

#define INTERP_SID(suite, ver, hide)                                          \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver,     \
					    .hide_debuginfo = hide };         \
		if (!harness_find_sid(&in, ver))                              \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}

#define NATIVE_TESTS(suite)                                                   \
	TestSuite(suite, .fini = cleanup, .timeout = 300);                    \
	Test(suite, native_stacks_match_the_truth)                            \
	{                                                                     \
		truth_check(suite##_interp());                                \
	}                                                                     \
	Test(suite, gdb_native_stacks)                                        \
	{                                                                     \
		gdb_check(suite##_interp());                                  \
	}                                                                     \
	Test(suite, recorded_stacks_equal_unwound_ones)                       \
	{                                                                     \
		live_offline_check(suite##_interp());                         \
	}                                                                     \
	Test(suite, waiting_for_the_gil)                                      \
	{                                                                     \
		gil_check(suite##_interp());                                  \
	}

/*
 * Unwinding a foreign core is the code that unwinds a snapshot without
 * recorded stacks (recorded_stacks_equal_unwound_ones checks it on every
 * interpreter): gcore cores are checked on one interpreter of each frame
 * model and symbol source.  Not on sid's 3.14/3.15, which run under their
 * own dynamic loader: gcore cannot read their threads' stacks ("Memory
 * read failed for corefile section"), and its core holds zeros there.
 */
#define GCORE_TEST(suite)                                                     \
	Test(suite, gcore_native_stacks)                                      \
	{                                                                     \
		gcore_check(suite##_interp());                                \
	}                                                                     \
	Test(suite, kernel_core_native_stacks, .fini = kcore_cleanup)         \
	{                                                                     \
		kernel_core_check(suite##_interp());                          \
	}

/*
 * tripod-snap --native under strace: no PTRACE_PEEKDATA / PEEKTEXT at all
 * (the unwinder's memory comes from the capture and process_vm_readv),
 * and the stacks it recorded are complete (equal to libdwfl's, as in
 * recorded_stacks_equal_unwound_ones).
 */
static void no_peek_check(struct interp *in)
{
	need_tools();
	if (access("/usr/bin/strace", X_OK) != 0)
		cr_skip_test("strace is not installed");
	harness_start(&run, in, SCRIPT);
	char pid[32], trace[300];
	snprintf(pid, sizeof(pid), "%d", (int)run.pid);
	snprintf(trace, sizeof(trace), "%s/strace.txt", run.dir);
	/* LeakSanitizer cannot run under a tracer (an --enable-asan build) */
	char asan[4200];
	const char *old = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sdetect_leaks=0",
		 old ? old : "", old && *old ? ":" : "");
	char *snap[] = { "/usr/bin/strace", "-f", "-qq", "--seccomp-bpf",
			 "-e", "trace=ptrace,process_vm_readv", "-o", trace,
			 "-E", asan,
			 TOP_BUILDDIR "/src/tripod-snap", "-q", "--native",
			 "--pid", pid, "-n", "1", "-o", run.snaps, NULL };
	int st = harness_run(snap, NULL, run.log, 120);
	if (st != 0)
		fail_with_log(&run, "strace tripod-snap --native", st);
	char *text = harness_slurp(trace);
	cr_assert_not_null(text, "no strace output in %s", trace);
	cr_assert_null(strstr(text, "PTRACE_PEEK"),
		       "tripod-snap --native read memory with ptrace (%s)", trace);
	cr_assert_not_null(strstr(text, "process_vm_readv("),
			   "no process_vm_readv in %s", trace);
	free(text);
	sources_compare(&run);
}

/* after the test, before the suite's cleanup() */
static void kcore_cleanup(void)
{
	if (kcore_dir[0] && !getenv("TRIPOD_KEEP_TEST_DIRS")) {
		char *rm[] = { "/bin/rm", "-rf", kcore_dir, NULL };
		harness_run(rm, NULL, NULL, 30);
	}
	kcore_dir[0] = '\0';
}

/* ---- pyenv interpreters without their debug info ----------------------- */

/* the directory of the stripped libpython copy, "" when none */
static char libdir[64];

static void stripped_cleanup(void)
{
	cleanup();
	if (libdir[0] && !getenv("TRIPOD_KEEP_TEST_DIRS")) {
		char *rm[] = { "/bin/rm", "-rf", libdir, NULL };
		harness_run(rm, NULL, NULL, 30);
	}
	libdir[0] = '\0';
}

/*
 * pyenv's Python @version on an objcopy --strip-all copy of its libpython
 * (no DWARF, no .symtab: names from .dynsym, as a stripped distribution
 * build without its debug package): native_calls.py's Python frames equal
 * the truth, the C frames gdb's (gdb sees the same stripped copy), the
 * recorded stacks the unwound ones.
 */
static void stripped_check(const char *version)
{
	need_tools();
	need_gdb();
	static struct interp in;
	memset(&in, 0, sizeof(in));
	in.id = "stripped";
	in.version = version;
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
	harness_start(&run, &in, SCRIPT);
	unsetenv("LD_LIBRARY_PATH");
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)run.pid);
	char *m = harness_slurp(maps);
	cr_assert(m && strstr(m, copy), "%s does not run on %s", in.path,
		  copy);
	free(m);
	snapshot_native(&run);
	truth_compare(&run);
	char gdbout[300];
	gdb_compare(&in, &run, false, NULL, gdbout, sizeof(gdbout));
	sources_compare(&run);
}

TestSuite(native_stripped, .fini = stripped_cleanup, .timeout = 300);

#define STRIPPED(suite_name, version)                                         \
	Test(native_stripped, suite_name)                                     \
	{                                                                     \
		stripped_check(version);                                      \
	}

STRIPPED(py2_7, "2.7")
STRIPPED(py3_6, "3.6")
STRIPPED(py3_7, "3.7")
STRIPPED(py3_8, "3.8")
STRIPPED(py3_9, "3.9")
STRIPPED(py3_10, "3.10")
STRIPPED(py3_11, "3.11")
STRIPPED(py3_12, "3.12")
STRIPPED(py3_13, "3.13")

/* C++ names: the code is the same whatever runs it; two interpreters */
#define CPP_TEST(suite)                                                       \
	Test(suite, cpp_names_demangled)                                      \
	{                                                                     \
		cpp_check(suite##_interp());                                  \
	}

INTERP_PYENV(py2_7, "2.7")
NATIVE_TESTS(py2_7)
GCORE_TEST(py2_7)
CPP_TEST(py2_7)
Test(py2_7, recorded_from_the_copy)
{
	copy_check(py2_7_interp());
}
INTERP_PYENV(py3_6, "3.6")
NATIVE_TESTS(py3_6)
INTERP_PYENV(py3_7, "3.7")
NATIVE_TESTS(py3_7)
INTERP_PYENV(py3_8, "3.8")
NATIVE_TESTS(py3_8)
INTERP_PYENV(py3_9, "3.9")
NATIVE_TESTS(py3_9)
INTERP_PYENV(py3_10, "3.10")
NATIVE_TESTS(py3_10)
GCORE_TEST(py3_10)
INTERP_PYENV(py3_11, "3.11")
NATIVE_TESTS(py3_11)
INTERP_PYENV(py3_12, "3.12")
NATIVE_TESTS(py3_12)
GCORE_TEST(py3_12)
CPP_TEST(py3_12)
Test(py3_12, recorded_from_the_copy)
{
	copy_check(py3_12_interp());
}
Test(py3_12, unwinder_reads_no_word_by_word)
{
	no_peek_check(py3_12_interp());
}
INTERP_PYENV(py3_13, "3.13")
NATIVE_TESTS(py3_13)
INTERP_SYSTEM(debian_python3_11, "3.11", "/usr/bin/python3.11",
	      "python3.11-dbg", false)
NATIVE_TESTS(debian_python3_11)
GCORE_TEST(debian_python3_11)
INTERP_SYSTEM(debian_python3_11_no_debuginfo, "3.11", "/usr/bin/python3.11",
	      "python3.11-dbg", true)
NATIVE_TESTS(debian_python3_11_no_debuginfo)
GCORE_TEST(debian_python3_11_no_debuginfo)
INTERP_SYSTEM(debian_python3_11d, "3.11", "/usr/bin/python3.11d", NULL,
	      false)
NATIVE_TESTS(debian_python3_11d)
INTERP_SID(debian_sid_python3_14, "3.14", false)
NATIVE_TESTS(debian_sid_python3_14)
INTERP_SID(debian_sid_python3_14_no_debuginfo, "3.14", true)
NATIVE_TESTS(debian_sid_python3_14_no_debuginfo)
INTERP_SID(debian_sid_python3_15, "3.15", false)
NATIVE_TESTS(debian_sid_python3_15)
INTERP_SID(debian_sid_python3_15_no_debuginfo, "3.15", true)
NATIVE_TESTS(debian_sid_python3_15_no_debuginfo)
