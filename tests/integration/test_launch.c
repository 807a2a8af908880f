/* SPDX-License-Identifier: MIT */
/*
 * End to end: Python started the ways people start it, under
 * `tripod-snap -- COMMAND`.  Launchers that exec the interpreter (env, a
 * `#!/usr/bin/env python3` script, a shell-script shim standing in for
 * pyenv's, `sh -c 'exec ...'`), a Python program that os.execv()s another
 * one, child processes with --subprocesses (os.fork workers, multiprocessing
 * with the fork and spawn start methods), the live log (--log), and
 * --pid --count 1 returning at once.
 *
 * Every test checks the number of snapshots and decodes the ones taken
 * after the fixture recorded its truth from the inside
 * (fixtures/tripod_fixture.py): frames, lines and locals must equal it.
 * One suite per interpreter, as test_scenarios.c.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SNAP TOP_BUILDDIR "/src/tripod-snap"
#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
/* The sampling interval of these tests, in seconds. */
#define INTERVAL "0.2"

struct launch {
	char dir[256];          /* scratch directory */
	char truth[300];        /* the (first) truth file */
	char snaps[300];        /* tripod-snap -o */
	char log[300];          /* tripod-snap's and the target's output */
	pid_t snap;             /* tripod-snap */
	pid_t group;            /* its process group: it, its targets and
				   theirs (cleanup() ends them all) */
	/* "--debuginfo-path=DIR" for tripod-analyze, NULL for the default */
	char *di;
	char di_buf[4200], di_env[4200];
	char python_env[4200];  /* TRIPOD_FIXTURE_PYTHON=the interpreter */
};

static struct launch run;

static void cleanup(void)
{
	if (run.snap > 0) {
		kill(run.snap, SIGKILL);
		waitpid(run.snap, NULL, 0);
		run.snap = 0;
	}
	/* workers a killed target left behind (forkpool, multiprocessing) */
	if (run.group > 0) {
		kill(-run.group, SIGKILL);
		run.group = 0;
	}
	if (run.dir[0] && !getenv("TRIPOD_KEEP_TEST_DIRS")) {
		char *argv[] = { "/bin/rm", "-rf", run.dir, NULL };
		harness_run(argv, NULL, NULL, 30);
	}
	run.dir[0] = '\0';
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void need_snap(void)
{
	if (access(SNAP, X_OK) != 0 || access(ANALYZE, X_OK) != 0)
		cr_skip_test("tripod-snap or tripod-analyze is not built");
}

static void setup(struct launch *l, const struct interp *in)
{
	need_snap();
	memset(l, 0, sizeof(*l));
	const char *tmp = getenv("TMPDIR");
	snprintf(l->dir, sizeof(l->dir), "%s/tripod-launch-%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", in->id);
	cr_assert_not_null(mkdtemp(l->dir), "mkdtemp: %s", strerror(errno));
	snprintf(l->truth, sizeof(l->truth), "%s/truth.json", l->dir);
	snprintf(l->snaps, sizeof(l->snaps), "%s/snaps", l->dir);
	snprintf(l->log, sizeof(l->log), "%s/log.txt", l->dir);
	snprintf(l->python_env, sizeof(l->python_env),
		 "TRIPOD_FIXTURE_PYTHON=%s", in->path);
	if (in->debuginfo_dir[0]) {
		snprintf(l->di_buf, sizeof(l->di_buf), "--debuginfo-path=%s",
			 in->debuginfo_dir);
		snprintf(l->di_env, sizeof(l->di_env),
			 "TRIPOD_DEBUGINFO_PATH=%s", in->debuginfo_dir);
		l->di = l->di_buf;
	}
}

static char *slurp_log(const struct launch *l)
{
	char *s = harness_slurp(l->log);
	return s ? s : strdup("");
}

/*
 * Start `tripod-snap -q -i INTERVAL -o SNAPS OPTS... -- CMD...` in its own
 * process group (so that the test kills all of it), output to the log.
 */
static void snap_start(struct launch *l, char *const opts[],
		       char *const cmd[], char *const env[])
{
	char *argv[64];
	size_t n = 0;
	argv[n++] = SNAP;
	argv[n++] = "-q";
	argv[n++] = "-i";
	argv[n++] = INTERVAL;
	argv[n++] = "-o";
	argv[n++] = l->snaps;
	for (size_t i = 0; opts && opts[i]; i++)
		argv[n++] = opts[i];
	argv[n++] = "--";
	for (size_t i = 0; cmd[i]; i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	cr_assert_lt(n, 64);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(l->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		if (l->di)
			putenv(l->di_env);  /* for --log */
		putenv(l->python_env);
		execv(argv[0], argv);
		_exit(127);
	}
	l->snap = pid;
	l->group = pid;
}

static int count_tasks(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* An integer field of the truth file @path ("pid", "os_threads"), or -1. */
static long truth_field(const char *path, const char *key)
{
	char *text = harness_slurp(path);
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	const char *p = text ? strstr(text, pat) : NULL;
	long v = p ? strtol(p + strlen(pat), NULL, 10) : -1;
	free(text);
	return v;
}

/*
 * Wait until the truth @path is written and its process has only the
 * threads it recorded (the recorder thread is gone); returns its pid.
 */
static pid_t wait_truth(struct launch *l, const char *path)
{
	double end = now() + 90;
	while (access(path, F_OK) != 0) {
		int st;
		if (waitpid(l->snap, &st, WNOHANG) == l->snap) {
			l->snap = 0;
			char *log = slurp_log(l);
			if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
				cleanup();
				cr_skip_test("%s", log);
			}
			cr_assert_fail("tripod-snap ended (0x%x) before %s was written:\n%s",
				       st, path, log);
		}
		cr_assert_lt(now(), end, "no truth %s after 90 s", path);
		usleep(20000);
	}
	pid_t pid = (pid_t)truth_field(path, "pid");
	long threads = truth_field(path, "os_threads");
	cr_assert_gt(pid, 0, "%s: no pid", path);
	while (count_tasks(pid) != threads) {
		cr_assert_lt(now(), end, "%d threads in %d, the truth says %ld",
			     count_tasks(pid), (int)pid, threads);
		usleep(20000);
	}
	return pid;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The snapshot files in @dir, sorted (free_names()). */
static char **snapshots(const char *dir, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "snapshot-", 9) != 0 ||
		    !((len > 7 && !strcmp(de->d_name + len - 7, ".tripod")) ||
		      (len > 8 && !strcmp(de->d_name + len - 8, ".core.gz"))))
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		cr_assert_not_null(v);
		cr_assert_gt(asprintf(&v[n++], "%s/%s", dir, de->d_name), 0);
	}
	if (d)
		closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret_n = n;
	return v;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static size_t count_snapshots(const char *dir)
{
	size_t n;
	char **v = snapshots(dir, &n);
	free_names(v, n);
	return n;
}

/*
 * Wait until @dir holds @more snapshots beyond those there now, plus one:
 * a snapshot in progress when this is called may have started before it.
 * Then at least @more snapshots were taken entirely after the call.
 */
static void wait_snapshots(struct launch *l, const char *dir, size_t more)
{
	size_t want = count_snapshots(dir) + more + 1;
	double end = now() + 60;
	while (count_snapshots(dir) < want) {
		int st;
		if (waitpid(l->snap, &st, WNOHANG) == l->snap) {
			l->snap = 0;
			cr_assert_fail("tripod-snap ended (0x%x) with %zu snapshots in %s, %zu expected:\n%s",
				       st, count_snapshots(dir), dir, want,
				       slurp_log(l));
		}
		cr_assert_lt(now(), end, "%zu snapshots in %s after 60 s, %zu expected:\n%s",
			     count_snapshots(dir), dir, want, slurp_log(l));
		usleep(20000);
	}
}

/* wait_snapshots() for @n directories together. */
static void wait_snapshots_all(struct launch *l, const char *const dirs[],
			       size_t n, size_t more)
{
	size_t want[9];
	cr_assert_leq(n, 9);
	for (size_t i = 0; i < n; i++)
		want[i] = count_snapshots(dirs[i]) + more + 1;
	double end = now() + 90;
	for (size_t i = 0; i < n; i++) {
		while (count_snapshots(dirs[i]) < want[i]) {
			int st;
			if (waitpid(l->snap, &st, WNOHANG) == l->snap) {
				l->snap = 0;
				cr_assert_fail("tripod-snap ended (0x%x) with %zu snapshots in %s:\n%s",
					       st, count_snapshots(dirs[i]),
					       dirs[i], slurp_log(l));
			}
			cr_assert_lt(now(), end,
				     "%zu snapshots in %s after 90 s, %zu expected:\n%s",
				     count_snapshots(dirs[i]), dirs[i], want[i],
				     slurp_log(l));
			usleep(20000);
		}
	}
}

/*
 * Stop tripod-snap with SIGTERM: it passes the signal on to the command
 * and exits as the command did (128+15).  Returns its exit status.
 */
static int snap_stop(struct launch *l)
{
	kill(l->snap, SIGTERM);
	double end = now() + 60;
	int st;
	while (waitpid(l->snap, &st, WNOHANG) != l->snap) {
		if (now() > end) {
			kill(l->snap, SIGKILL);
			waitpid(l->snap, &st, 0);
			l->snap = 0;
			cr_assert_fail("tripod-snap did not end after SIGTERM:\n%s",
				       slurp_log(l));
		}
		usleep(10000);
	}
	l->snap = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Decode @snapshot (JSON and Dogslow text) and compare with @truth. */
static void check_snapshot(struct launch *l, const char *snapshot,
			   const char *truth)
{
	char json[400], text[400], out[400];
	static unsigned checked;  /* outputs beside the snapshots, not among */
	checked++;
	snprintf(json, sizeof(json), "%s/check-%u.jsonl", l->dir, checked);
	snprintf(text, sizeof(text), "%s/check-%u.txt", l->dir, checked);
	snprintf(out, sizeof(out), "%s/check-%u.compare", l->dir, checked);
	char *aj[] = { ANALYZE, "--format", "json", (char *)snapshot, l->di,
		       NULL };
	int st = harness_run(aj, json, l->log, 120);
	cr_assert_eq(st, 0, "tripod-analyze --format json %s exited %d:\n%s",
		     snapshot, st, slurp_log(l));
	char *at[] = { ANALYZE, "--no-header", (char *)snapshot, l->di, NULL };
	st = harness_run(at, text, l->log, 120);
	cr_assert_eq(st, 0, "tripod-analyze %s exited %d", snapshot, st);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_truth.py",
			(char *)truth, json, text, NULL };
	st = harness_run(cmp, out, out, 60);
	char *diff = harness_slurp(out);
	cr_assert_eq(st, 0, "%s differs from the truth %s:\n%s", snapshot,
		     truth, diff ? diff : "");
	free(diff);
}

/* Check the last @n snapshots in @dir against @truth. */
static void check_last(struct launch *l, const char *dir, size_t n,
		       const char *truth)
{
	size_t count;
	char **v = snapshots(dir, &count);
	cr_assert_geq(count, n, "%zu snapshots in %s", count, dir);
	for (size_t i = count - n; i < count; i++)
		check_snapshot(l, v[i], truth);
	free_names(v, count);
}

static char *fixture(const char *script)
{
	char *p;
	cr_assert_gt(asprintf(&p, "%s/scenarios/%s", FIXTURES_DIR, script), 0);
	return p;
}

/*
 * Run nested.py through @launcher (argv before the interpreter; "%I" in it
 * is replaced by the interpreter, "%S" by the script), sample it, and check
 * two snapshots taken after it parked.  setup() first.
 */
static void launched(struct interp *in, char *const launcher[],
		     char *const env[])
{
	char *script = fixture("nested.py");
	char *cmd[32];
	size_t n = 0;
	for (size_t i = 0; launcher[i]; i++) {
		if (!strcmp(launcher[i], "%I")) {
			cmd[n++] = in->path;
			cmd[n++] = script;
		} else if (!strcmp(launcher[i], "%S")) {
			cmd[n++] = script;
		} else {
			cmd[n++] = launcher[i];
		}
	}
	cmd[n++] = run.truth;
	cmd[n] = NULL;
	snap_start(&run, NULL, cmd, env);
	wait_truth(&run, run.truth);
	wait_snapshots(&run, run.snaps, 2);
	int st = snap_stop(&run);
	cr_assert_eq(st, 128 + SIGTERM, "tripod-snap exited %d:\n%s", st,
		     slurp_log(&run));
	check_last(&run, run.snaps, 2, run.truth);
	free(script);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void via_env(struct interp *in)
{
	setup(&run, in);
	launched(in, (char *[]){ "/usr/bin/env", "%I", NULL }, NULL);
}

static void via_sh_exec(struct interp *in)
{
	/* sh -c 'exec "$0" "$@"' INTERP SCRIPT TRUTH */
	setup(&run, in);
	launched(in, (char *[]){ "/bin/sh", "-c", "exec \"$0\" \"$@\"", "%I",
				 NULL },
		 NULL);
}

/* A stand-in for pyenv's shim: a shell script that execs the interpreter. */
static void via_shim(struct interp *in)
{
	char *shim, *text;
	setup(&run, in);
	cr_assert_gt(asprintf(&shim, "%s/python3", run.dir), 0);
	cr_assert_gt(asprintf(&text,
			      "#!/bin/sh\n"
			      "# like pyenv's shims: find the interpreter, exec it\n"
			      "program=\"%s\"\n"
			      "exec \"$program\" \"$@\"\n",
			      in->path), 0);
	write_file(shim, text, 0755);
	launched(in, (char *[]){ shim, "%S", NULL }, NULL);
	free(text);
	free(shim);
}

/* A script with a `#!/usr/bin/env python3` line, python3 found on PATH. */
static void via_shebang(struct interp *in)
{
	char *bin, *link, *script, *text, *path_env, *target;
	setup(&run, in);
	cr_assert_gt(asprintf(&bin, "%s/bin", run.dir), 0);
	cr_assert_eq(mkdir(bin, 0700), 0);
	cr_assert_gt(asprintf(&link, "%s/python3", bin), 0);
	cr_assert_eq(symlink(in->path, link), 0);
	target = fixture("nested.py");
	cr_assert_gt(asprintf(&script, "%s/app", run.dir), 0);
	cr_assert_gt(asprintf(&text,
			      "#!/usr/bin/env python3\n"
			      "import sys\n"
			      "sys.argv[0] = %s\n"
			      "__file__ = sys.argv[0]\n"
			      "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))\n",
			      "'" FIXTURES_DIR "/scenarios/nested.py'"), 0);
	write_file(script, text, 0755);
	cr_assert_gt(asprintf(&path_env, "PATH=%s:%s", bin,
			      getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"),
		     0);
	launched(in, (char *[]){ script, NULL }, (char *[]){ path_env, NULL });
	free(bin);
	free(link);
	free(script);
	free(text);
	free(path_env);
	free(target);
}

/* A Python program that os.execv()s another: snapshots on both sides. */
static void via_execv(struct interp *in)
{
	setup(&run, in);
	char *script = fixture("exec_chain.py"), truth2[300];
	snprintf(truth2, sizeof(truth2), "%s/truth2.json", run.dir);
	snap_start(&run, NULL,
		   (char *[]){ in->path, script, run.truth, truth2, NULL },
		   NULL);
	pid_t pid = wait_truth(&run, run.truth);
	wait_snapshots(&run, run.snaps, 2);
	size_t before = count_snapshots(run.snaps);
	check_last(&run, run.snaps, 2, run.truth);
	kill(pid, SIGUSR1);  /* exec nested.py */
	cr_assert_eq(wait_truth(&run, truth2), pid, "not the same process");
	wait_snapshots(&run, run.snaps, 2);
	int st = snap_stop(&run);
	cr_assert_eq(st, 128 + SIGTERM, "tripod-snap exited %d:\n%s", st,
		     slurp_log(&run));
	cr_assert_gt(count_snapshots(run.snaps), before + 2);
	check_last(&run, run.snaps, 2, truth2);
	free(script);
}

/* The truth files of the children: TRUTH.child-PID.json. */
static char **child_truths(const char *truth, size_t *ret_n)
{
	char pattern[400];
	snprintf(pattern, sizeof(pattern), "%s.child-*.json", truth);
	glob_t g;
	char **v = NULL;
	size_t n = 0;
	if (glob(pattern, 0, NULL, &g) == 0) {
		v = calloc(g.gl_pathc, sizeof(*v));
		for (size_t i = 0; i < g.gl_pathc; i++)
			v[n++] = strdup(g.gl_pathv[i]);
	}
	globfree(&g);
	*ret_n = n;
	return v;
}

/*
 * --subprocesses: the parent (truth in run.truth) and @nchildren children
 * (truth in TRUTH.child-PID.json) each have their own snapshots in
 * DIR/PID/; the last two of each equal its truth, and tripod-analyze DIR
 * reports every process with its parent.
 */
static void with_children(struct interp *in, char *const cmd[],
			  size_t nchildren)
{
	snap_start(&run, (char *[]){ "--subprocesses", NULL }, cmd, NULL);
	pid_t parent = wait_truth(&run, run.truth);
	size_t n;
	char **truths;
	double end = now() + 60;
	while ((truths = child_truths(run.truth, &n)), n < nchildren) {
		free_names(truths, n);
		cr_assert_lt(now(), end, "%zu child truths of %zu:\n%s", n,
			     nchildren, slurp_log(&run));
		usleep(20000);
	}
	pid_t kids[8];
	cr_assert_leq(n, 8);
	for (size_t i = 0; i < n; i++)
		kids[i] = wait_truth(&run, truths[i]);
	char pdir[400], kdirs[8][400];
	snprintf(pdir, sizeof(pdir), "%s/%d", run.snaps, (int)parent);
	const char *dirs[9] = { pdir };
	for (size_t i = 0; i < n; i++) {
		snprintf(kdirs[i], sizeof(kdirs[i]), "%s/%d", run.snaps,
			 (int)kids[i]);
		dirs[i + 1] = kdirs[i];
	}
	wait_snapshots_all(&run, dirs, n + 1, 2);
	int st = snap_stop(&run);
	cr_assert_eq(st, 128 + SIGTERM, "tripod-snap exited %d:\n%s", st,
		     slurp_log(&run));
	check_last(&run, pdir, 2, run.truth);
	for (size_t i = 0; i < n; i++)
		check_last(&run, kdirs[i], 2, truths[i]);

	/* tripod-analyze DIR: every process, each with its parent */
	char json[400], out[400], expect[200];
	snprintf(json, sizeof(json), "%s/all.jsonl", run.dir);
	snprintf(out, sizeof(out), "%s/all.check", run.dir);
	char *aj[] = { ANALYZE, "--format", "json", run.snaps, run.di, NULL };
	st = harness_run(aj, json, run.log, 300);
	cr_assert(st == 0 || st == 1, "tripod-analyze DIR exited %d", st);
	int len = snprintf(expect, sizeof(expect), "%d:0", (int)parent);
	for (size_t i = 0; i < n; i++)
		len += snprintf(expect + len, sizeof(expect) - (size_t)len,
				",%d:%d", (int)kids[i], (int)parent);
	char *check[] = {
		"/usr/bin/python3", "-c",
		"import json, sys\n"
		"want = dict((int(p), int(pp)) for p, pp in\n"
		"            (x.split(':') for x in sys.argv[2].split(',')))\n"
		"seen = {}\n"
		"for line in open(sys.argv[1]):\n"
		"    r = json.loads(line)\n"
		"    seen.setdefault(r['pid'], set()).add(r['ppid'])\n"
		"bad = [p for p, pp in want.items()\n"
		"       if p not in seen or (pp and seen[p] != {pp})]\n"
		"if bad:\n"
		"    print('missing or wrong parent: %r; seen %r' % (bad, seen))\n"
		"    sys.exit(1)\n"
		"print('ok: %d processes' % len(want))\n",
		json, expect, NULL
	};
	st = harness_run(check, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "%s", text ? text : "");
	free(text);
	free_names(truths, n);
}

static void forked_workers(struct interp *in)
{
	setup(&run, in);
	char *script = fixture("forkpool.py");
	with_children(in, (char *[]){ in->path, script, run.truth, NULL }, 2);
	free(script);
}

static void multiprocessing_children(struct interp *in, const char *method)
{
	setup(&run, in);
	char *script = fixture("mp_children.py");
	with_children(in,
		      (char *[]){ in->path, script, run.truth, (char *)method,
				  NULL },
		      2);
	free(script);
}

/* --log FILE: the live log equals tripod-analyze of the same snapshots. */
static void live_log(struct interp *in)
{
	setup(&run, in);
	char *script = fixture("nested.py"), logfile[300], report[300];
	snprintf(logfile, sizeof(logfile), "%s/live.log", run.dir);
	snprintf(report, sizeof(report), "%s/report.txt", run.dir);
	snap_start(&run, (char *[]){ "--log", logfile, NULL },
		   (char *[]){ in->path, script, run.truth, NULL }, NULL);
	wait_truth(&run, run.truth);
	wait_snapshots(&run, run.snaps, 2);
	/* the log grows while the target runs */
	struct stat sb;
	double end = now() + 60;
	while (stat(logfile, &sb) != 0 || sb.st_size == 0) {
		cr_assert_lt(now(), end, "the log stays empty while sampling");
		usleep(20000);
	}
	cr_assert_eq(sb.st_mode & 0777, 0600);
	int st = snap_stop(&run);
	cr_assert_eq(st, 128 + SIGTERM, "tripod-snap exited %d:\n%s", st,
		     slurp_log(&run));
	char *an[] = { ANALYZE, run.snaps, run.di, NULL };
	st = harness_run(an, report, run.log, 300);
	cr_assert(st == 0 || st == 1, "tripod-analyze exited %d", st);
	char *got = harness_slurp(logfile), *want = harness_slurp(report);
	cr_assert(got && want);
	cr_assert(strstr(got, "Full backtrace with local variables:"));
	cr_assert_str_eq(got, want, "the log differs from tripod-analyze's report");
	free(got);
	free(want);
	check_last(&run, run.snaps, 2, run.truth);
	free(script);
}

/* --pid P --count 1 takes its snapshot at once, not an interval later. */
static void pid_count_one_at_once(struct interp *in)
{
	setup(&run, in);
	char *script = fixture("nested.py"), pid[16];
	pid_t target = fork();
	cr_assert(target >= 0);
	if (target == 0) {
		int fd = open(run.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(in->path, in->path, script, run.truth, (char *)NULL);
		_exit(127);
	}
	run.snap = target;  /* so that cleanup() kills it */
	wait_truth(&run, run.truth);
	snprintf(pid, sizeof(pid), "%d", (int)target);
	double t0 = now();
	/*
	 * An interval of 60 s: a first snapshot taken an interval later
	 * would take a minute; one taken at once, a second or so (no bound
	 * on speed here, only on waiting, on a machine however busy).
	 */
	char *argv[] = { SNAP, "-q", "-i", "60", "--pid", pid, "--count", "1",
			 "-o", run.snaps, NULL };
	int st = harness_run(argv, NULL, run.log, 90);
	double took = now() - t0;
	cr_assert_eq(st, 0, "tripod-snap exited %d:\n%s", st, slurp_log(&run));
	cr_assert_lt(took, 45.0, "--pid --count 1 took %.2f s", took);
	cr_assert_eq(count_snapshots(run.snaps), 1);
	check_last(&run, run.snaps, 1, run.truth);
	free(script);
}

/*
 * A launcher that runs a while before it execs Python: its snapshots say
 * python=no and tripod-analyze reports them as "not a Python process at
 * this time", no error; the others decode, and their header and JSON say
 * how long the freeze took.
 */
static void launcher_snapshots(struct interp *in)
{
	setup(&run, in);
	char *script = fixture("nested.py"), err[400], text[400], json[400];
	snprintf(err, sizeof(err), "%s/analyze.err", run.dir);
	snprintf(text, sizeof(text), "%s/analyze.txt", run.dir);
	snprintf(json, sizeof(json), "%s/analyze.jsonl", run.dir);
	snap_start(&run, NULL,
		   (char *[]){ "/bin/sh", "-c", "sleep 0.7; exec \"$0\" \"$@\"",
			       in->path, script, run.truth, NULL },
		   NULL);
	wait_truth(&run, run.truth);
	wait_snapshots(&run, run.snaps, 2);
	pid_t snap = run.snap;  /* the parent of the command */
	int st = snap_stop(&run);
	cr_assert_eq(st, 128 + SIGTERM, "tripod-snap exited %d", st);
	cr_assert_geq(count_snapshots(run.snaps), 5);
	char *an[] = { ANALYZE, run.snaps, run.di, NULL };
	st = harness_run(an, text, err, 300);
	char *e = harness_slurp(err), *t = harness_slurp(text);
	cr_assert_eq(st, 0, "tripod-analyze exited %d:\n%s", st, e);
	cr_assert(strstr(e, "snapshot-000001.") && strstr(e, ": not a Python process at this time (running /"),
		  "%s", e);
	cr_assert(strstr(t, "Full backtrace with local variables:"), "%s", t);
	cr_assert(strstr(t, "\nFrozen for: "), "no freeze time in the header");
	char pp[64];
	snprintf(pp, sizeof(pp), "\nParent ID:  %d\n", (int)snap);
	cr_assert(strstr(t, pp), "no '%s' in the header", pp + 1);
	char *aj[] = { ANALYZE, "--format", "json", run.snaps, run.di, NULL };
	st = harness_run(aj, json, err, 300);
	cr_assert_eq(st, 0);
	char *j = harness_slurp(json);
	cr_assert(strstr(j, "\"freeze_us\": ") && !strstr(j, "\"freeze_us\": null"),
		  "%s", j);
	free(e);
	free(t);
	free(j);
	check_last(&run, run.snaps, 2, run.truth);
	free(script);
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
	if (dbg && !harness_has_debuginfo(in, dbg))
		cr_skip_test("%s", in->why);
	return in;
}

#define INTERP_SYSTEM(suite, ver, path, dbg)                                  \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		return system_interp(&in, path, dbg);                         \
	}

#define LAUNCHES(suite)                                                       \
	TestSuite(suite, .fini = cleanup, .timeout = 240);                    \
	Test(suite, env_python) { via_env(suite##_interp()); }                \
	Test(suite, sh_c_exec) { via_sh_exec(suite##_interp()); }             \
	Test(suite, shell_shim) { via_shim(suite##_interp()); }               \
	Test(suite, env_shebang) { via_shebang(suite##_interp()); }           \
	Test(suite, os_execv_into_python) { via_execv(suite##_interp()); }    \
	Test(suite, forked_workers) { forked_workers(suite##_interp()); }     \
	Test(suite, multiprocessing_fork)                                     \
	{                                                                     \
		multiprocessing_children(suite##_interp(), "fork");           \
	}                                                                     \
	Test(suite, multiprocessing_spawn)                                    \
	{                                                                     \
		multiprocessing_children(suite##_interp(), "spawn");          \
	}                                                                     \
	Test(suite, live_log) { live_log(suite##_interp()); }                 \
	Test(suite, launcher_snapshots_before_python)                         \
	{                                                                     \
		launcher_snapshots(suite##_interp());                         \
	}                                                                     \
	Test(suite, pid_count_one_at_once)                                    \
	{                                                                     \
		pid_count_one_at_once(suite##_interp());                      \
	}

INTERP_PYENV(launch_py2_7, "2.7")
LAUNCHES(launch_py2_7)
INTERP_PYENV(launch_py3_6, "3.6")
LAUNCHES(launch_py3_6)
INTERP_PYENV(launch_py3_7, "3.7")
LAUNCHES(launch_py3_7)
INTERP_PYENV(launch_py3_8, "3.8")
LAUNCHES(launch_py3_8)
INTERP_PYENV(launch_py3_9, "3.9")
LAUNCHES(launch_py3_9)
INTERP_PYENV(launch_py3_10, "3.10")
LAUNCHES(launch_py3_10)
INTERP_PYENV(launch_py3_11, "3.11")
LAUNCHES(launch_py3_11)
INTERP_PYENV(launch_py3_12, "3.12")
LAUNCHES(launch_py3_12)
INTERP_PYENV(launch_py3_13, "3.13")
LAUNCHES(launch_py3_13)
INTERP_SYSTEM(launch_debian_python3_11, "3.11", "/usr/bin/python3.11",
	      "python3.11-dbg")
LAUNCHES(launch_debian_python3_11)

/* Debian sid's, run through sid's loader (tools/fetch-sid-python.sh) */
#define INTERP_SID(suite, ver)                                                \
	static struct interp *suite##_interp(void)                            \
	{                                                                     \
		static struct interp in = { .id = #suite, .version = ver };   \
		if (!harness_find_sid(&in, ver))                              \
			cr_skip_test("%s", in.why);                           \
		return &in;                                                   \
	}
INTERP_SID(launch_debian_sid_python3_14, "3.14")
LAUNCHES(launch_debian_sid_python3_14)
INTERP_SID(launch_debian_sid_python3_15, "3.15")
LAUNCHES(launch_debian_sid_python3_15)
