/* SPDX-License-Identifier: MIT */
/*
 * Views over many snapshots (tripod-analyze --format collapsed, svg, html,
 * --summary, --diff, progress), end to end: a fixture parks in a known
 * state, tripod-snap takes several snapshots, tripod-analyze's views of
 * them are checked by tests/integration/check_views.py against the JSON
 * records of the same snapshots and against the truth the fixture
 * recorded inside the target.  The views do not depend on the Python
 * version: one interpreter is enough (the newest pyenv build found, else
 * Debian's python3.11).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
#define CHECK TOP_SRCDIR "/tests/integration/check_views.py"
#define NSNAP 5

static struct scenario_run run;

static void cleanup(void)
{
	if (!getenv("TRIPOD_KEEP_TEST_DIRS"))
		harness_finish(&run);
	else if (run.pid > 0)
		harness_finish(&(struct scenario_run){ .pid = run.pid });
}

TestSuite(views, .fini = cleanup, .timeout = 300);

static struct interp *pick_interp(void)
{
	static struct interp in;
	static const char *versions[] = { "3.13", "3.12", "3.11", "3.10" };
	if (access(TOP_BUILDDIR "/src/tripod-snap", X_OK) != 0)
		cr_skip_test("tripod-snap is not built");
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		memset(&in, 0, sizeof(in));
		in.id = "views";
		in.version = versions[i];
		if (harness_find_pyenv(&in, versions[i]))
			return &in;
	}
	memset(&in, 0, sizeof(in));
	in.id = "views";
	in.version = "3.11";
	if (harness_find_system(&in, "/usr/bin/python3.11"))
		return &in;
	cr_skip_test("no Python 3.10+ (pyenv or /usr/bin/python3.11)");
	return NULL;
}

/* tripod-snap @n snapshots of the target into @dir, within @timeout s. */
static void snap_within(const char *dir, int n, int timeout)
{
	char pid[32], count[16];
	snprintf(pid, sizeof(pid), "%d", (int)run.pid);
	snprintf(count, sizeof(count), "%d", n);
	char *argv[] = { TOP_BUILDDIR "/src/tripod-snap", "-q", "--pid", pid,
			 "-n", count, "-i", "0.05", "-o", (char *)dir, NULL };
	int st = harness_run(argv, NULL, run.log, timeout);
	if (st != 0) {
		char *log = harness_slurp(run.log);
		cr_assert_fail("tripod-snap exited %d:\n%s", st, log ? log : "");
	}
}

static void snap(const char *dir, int n)
{
	snap_within(dir, n, 120);
}

/* tripod-analyze @args... > @out; the exit status. */
static int analyze(const char *out, char *const args[])
{
	char *argv[16] = { ANALYZE };
	size_t n = 1;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	return harness_run(argv, out, run.log, 300);
}

static void analyze_ok(const char *out, char *const args[])
{
	int st = analyze(out, args);
	if (st != 0) {
		char *log = harness_slurp(run.log);
		cr_assert_fail("tripod-analyze %s ... exited %d:\n%s", args[0],
			       st, log ? log : "");
	}
}

/* check_views.py @args...; fails the test with its report. */
static void check(const char *what, char *const args[])
{
	char out[400];
	snprintf(out, sizeof(out), "%s/check-%s.txt", run.dir, what);
	char *argv[16] = { "/usr/bin/python3", CHECK };
	size_t n = 2;
	for (; args[n - 2] && n < 15; n++)
		argv[n] = args[n - 2];
	argv[n] = NULL;
	int st = harness_run(argv, out, out, 300);
	char *text = harness_slurp(out);
	if (st == 77)
		cr_skip_test("%s", text ? text : what);
	cr_assert_eq(st, 0, "%s (%s):\n%s", what, run.dir, text ? text : "");
	cr_log_info("%s: %s", what, text ? text : "");
	free(text);
}

static void path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", run.dir, name);
}

/* threads.py parked, NSNAP snapshots, and their JSON records. */
static void parked_threads(char *jsonl, size_t size)
{
	harness_start(&run, pick_interp(), "threads.py");
	snap(run.snaps, NSNAP);
	path(jsonl, size, "all.jsonl");
	analyze_ok(jsonl, (char *[]){ "--format", "json", run.snaps, NULL });
}

Test(views, collapsed_counts_equal_the_json_records)
{
	char jsonl[400], c1[400], c2[400], c3[400];
	parked_threads(jsonl, sizeof(jsonl));
	path(c1, sizeof(c1), "collapsed.txt");
	path(c2, sizeof(c2), "collapsed-by-thread.txt");
	path(c3, sizeof(c3), "collapsed-some.txt");
	analyze_ok(c1, (char *[]){ "--format", "collapsed", run.snaps, NULL });
	analyze_ok(c2, (char *[]){ "--format", "collapsed", "--by-thread",
				   run.snaps, NULL });
	analyze_ok(c3, (char *[]){ "--format", "collapsed", "--by-thread",
				   "--threads", "sleeper,locker", run.snaps,
				   NULL });
	check("collapsed", (char *[]){ "collapsed", jsonl, c1, NULL });
	check("collapsed-by-thread",
	      (char *[]){ "collapsed", jsonl, c2, "--by-thread", NULL });
	check("collapsed-some",
	      (char *[]){ "collapsed", jsonl, c3, "--by-thread", "--threads",
			  "sleeper,locker", NULL });
}

Test(views, summary_counts_the_recorded_innermost_frames)
{
	char jsonl[400], sum[400], late[400], since[400];
	parked_threads(jsonl, sizeof(jsonl));
	path(sum, sizeof(sum), "summary.txt");
	analyze_ok(sum, (char *[]){ "--summary", run.snaps, NULL });
	check("summary", (char *[]){ "summary", run.truth, jsonl, sum, NULL });

	/* --since the third snapshot: the last NSNAP - 2 */
	char *text = harness_slurp(jsonl);
	cr_assert_not_null(text);
	const char *p = text;
	for (int i = 0; i < 2; i++)
		p = strchr(p, '\n') + 1;
	const char *t = strstr(p, "\"time\": \"");
	cr_assert_not_null(t);
	t += strlen("\"time\": \"");
	snprintf(since, sizeof(since), "--since=%.*s", (int)strcspn(t, "\""),
		 t);
	free(text);
	char jsonl3[400];
	path(jsonl3, sizeof(jsonl3), "since.jsonl");
	path(late, sizeof(late), "summary-since.txt");
	analyze_ok(jsonl3, (char *[]){ "--format", "json", since, run.snaps,
				       NULL });
	analyze_ok(late, (char *[]){ "--summary", since, run.snaps, NULL });
	text = harness_slurp(jsonl3);
	int n = 0;
	for (const char *q = text; q && *q; q++)
		n += *q == '\n';
	free(text);
	cr_assert_eq(n, NSNAP - 2, "%s: %d records", since, n);
	check("summary-since",
	      (char *[]){ "summary", run.truth, jsonl3, late, NULL });
	/* a range that holds no snapshot: nothing usable */
	cr_assert_eq(analyze(late, (char *[]){ "--summary",
					       "--until=2000-01-01T00:00:00Z",
					       run.snaps, NULL }),
		     2);
}

Test(views, svg_and_html_parse_and_hold_the_stacks)
{
	char jsonl[400], col[400], svg[400], page[400];
	parked_threads(jsonl, sizeof(jsonl));
	path(col, sizeof(col), "collapsed.txt");
	path(svg, sizeof(svg), "flame.svg");
	path(page, sizeof(page), "page.html");
	analyze_ok(col, (char *[]){ "--format", "collapsed", run.snaps, NULL });
	analyze_ok(svg, (char *[]){ "--format", "svg", "--title",
				    "threads & <locks>", run.snaps, NULL });
	analyze_ok(page, (char *[]){ "--format", "html", run.snaps, NULL });
	check("svg", (char *[]){ "svg", svg, col, NULL });
	check("html", (char *[]){ "html", page, jsonl, NULL });
	check("svg-browser", (char *[]){ "svg-browser", svg, col, run.dir,
					 NULL });
}

Test(views, html_in_headless_chromium)
{
	char jsonl[400], page[400];
	parked_threads(jsonl, sizeof(jsonl));
	path(page, sizeof(page), "page.html");
	analyze_ok(page, (char *[]){ "--format", "html", run.snaps, NULL });
	check("browser", (char *[]){ "browser", page, jsonl, run.dir, NULL });
}

Test(views, progress_only_on_a_terminal)
{
	char jsonl[400], count[16];
	parked_threads(jsonl, sizeof(jsonl));
	snprintf(count, sizeof(count), "%d", NSNAP);
	check("progress", (char *[]){ "progress", ANALYZE, run.snaps, count,
				      NULL });
}

Test(views, diff_between_two_recorded_phases)
{
	harness_start(&run, pick_interp(), "phases.py");
	char s1[400], s2[400], truth2[400], go[400], out[400], j1[400],
		j2[400], cmp[400];
	path(s1, sizeof(s1), "phase1");
	path(s2, sizeof(s2), "phase2");
	snap(s1, 1);
	snprintf(truth2, sizeof(truth2), "%s.2", run.truth);
	snprintf(go, sizeof(go), "%s.go", run.truth);
	int fd = open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", go, strerror(errno));
	close(fd);
	time_t end = time(NULL) + 60;
	while (access(truth2, F_OK) != 0) {
		cr_assert_lt(time(NULL), end, "no second truth after 60 s");
		usleep(20000);
	}
	/* the second recorder and the phase-two thread are gone */
	sleep(1);
	snap(s2, 1);
	char f1[500], f2[500];
	snprintf(f1, sizeof(f1), "%s/snapshot-000001.tripod", s1);
	snprintf(f2, sizeof(f2), "%s/snapshot-000001.tripod", s2);
	path(j1, sizeof(j1), "phase1.jsonl");
	path(j2, sizeof(j2), "phase2.jsonl");
	analyze_ok(j1, (char *[]){ "--format", "json", f1, NULL });
	analyze_ok(j2, (char *[]){ "--format", "json", f2, NULL });
	/* each snapshot is the state its truth recorded */
	path(cmp, sizeof(cmp), "compare.txt");
	char *c1[] = { "/usr/bin/python3",
		       TOP_SRCDIR "/tests/integration/compare_truth.py",
		       run.truth, j1, NULL };
	char *c2[] = { "/usr/bin/python3",
		       TOP_SRCDIR "/tests/integration/compare_truth.py",
		       truth2, j2, NULL };
	int st = harness_run(c1, cmp, cmp, 60);
	char *text = harness_slurp(cmp);
	cr_assert_eq(st, 0, "phase one differs from its truth:\n%s",
		     text ? text : "");
	free(text);
	st = harness_run(c2, cmp, cmp, 60);
	text = harness_slurp(cmp);
	cr_assert_eq(st, 0, "phase two differs from its truth:\n%s",
		     text ? text : "");
	free(text);
	path(out, sizeof(out), "diff.txt");
	analyze_ok(out, (char *[]){ "--diff", f1, f2, NULL });
	check("diff", (char *[]){ "diff", run.truth, truth2, out, NULL });

	/* the page of both: a thread of one phase is absent from the other's
	 * column, and a search marks no absent cell */
	char both[400], page[400];
	path(both, sizeof(both), "both.jsonl");
	path(page, sizeof(page), "phases.html");
	analyze_ok(both, (char *[]){ "--format", "json", f1, f2, NULL });
	analyze_ok(page, (char *[]){ "--format", "html", f1, f2, NULL });
	check("html-phases", (char *[]){ "html", page, both, NULL });
	check("browser-phases",
	      (char *[]){ "browser", page, both, run.dir, NULL });
}

Test(views, task_tree_as_the_scenario_built_it)
{
	harness_start(&run, pick_interp(), "asyncio_tasks.py");
	snap(run.snaps, 1);
	char tree[400], first[500];
	path(tree, sizeof(tree), "tree.txt");
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", run.snaps);
	analyze_ok(tree, (char *[]){ "--no-header", "--no-locals", "--tasks",
				     "tree", first, NULL });
	check("tree", (char *[]){ "tree", run.truth, tree, NULL });
}

/* The views of an asyncio program: its tasks are stacks as its threads
 * are (a row each in the timeline, a "Task NAME" root in the folds). */
Test(views, views_hold_the_asyncio_tasks)
{
	harness_start(&run, pick_interp(), "asyncio_tasks.py");
	snap(run.snaps, 3);
	char jsonl[400], col[400], page[400];
	path(jsonl, sizeof(jsonl), "all.jsonl");
	path(col, sizeof(col), "collapsed-by-thread.txt");
	path(page, sizeof(page), "page.html");
	analyze_ok(jsonl, (char *[]){ "--format", "json", run.snaps, NULL });
	analyze_ok(col, (char *[]){ "--format", "collapsed", "--by-thread",
				    run.snaps, NULL });
	analyze_ok(page, (char *[]){ "--format", "html", run.snaps, NULL });
	/* the records hold the tasks the target recorded */
	char cmp[400];
	path(cmp, sizeof(cmp), "compare.txt");
	char *c[] = { "/usr/bin/python3",
		      TOP_SRCDIR "/tests/integration/compare_truth.py",
		      run.truth, jsonl, NULL };
	int st = harness_run(c, cmp, cmp, 60);
	char *text = harness_slurp(cmp);
	cr_assert_eq(st, 0, "the records differ from the truth:\n%s",
		     text ? text : "");
	free(text);
	check("collapsed-tasks",
	      (char *[]){ "collapsed", jsonl, col, "--by-thread", NULL });
	check("html-tasks", (char *[]){ "html", page, jsonl, NULL });
	check("browser-tasks", (char *[]){ "browser", page, jsonl, run.dir,
					   NULL });
}

/*
 * Issue 12's "done when": the views of a 100-snapshot directory of a
 * program at work (an asyncio server and its clients, a thread rendering
 * pydoc), each checked against the JSON records of the same snapshots.
 */
#define NBUSY 100
Test(views, hundred_snapshots_of_a_program_at_work, .timeout = 1200)
{
	harness_start(&run, pick_interp(), "busy_program.py");
	char go[400];
	snprintf(go, sizeof(go), "%s.go", run.truth);
	int fd = open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", go, strerror(errno));
	close(fd);
	/* at work: the pydoc thread has started */
	sleep(1);
	/* (a loaded machine takes seconds per snapshot of it) */
	snap_within(run.snaps, NBUSY, 600);
	char jsonl[400], c1[400], svg[400], page[400], sum[400], count[16];
	path(jsonl, sizeof(jsonl), "all.jsonl");
	path(c1, sizeof(c1), "collapsed.txt");
	path(svg, sizeof(svg), "flame.svg");
	path(page, sizeof(page), "page.html");
	path(sum, sizeof(sum), "summary.txt");
	analyze_ok(jsonl, (char *[]){ "--format", "json", run.snaps, NULL });
	char *text = harness_slurp(jsonl);
	cr_assert_not_null(text);
	int n = 0;
	for (const char *q = text; *q; q++)
		n += *q == '\n';
	free(text);
	cr_assert_eq(n, NBUSY, "%d records of %d snapshots", n, NBUSY);
	analyze_ok(c1, (char *[]){ "--format", "collapsed", run.snaps, NULL });
	analyze_ok(svg, (char *[]){ "--format", "svg", run.snaps, NULL });
	analyze_ok(page, (char *[]){ "--format", "html", run.snaps, NULL });
	analyze_ok(sum, (char *[]){ "--summary", run.snaps, NULL });
	check("collapsed", (char *[]){ "collapsed", jsonl, c1, NULL });
	check("svg", (char *[]){ "svg", svg, c1, NULL });
	check("svg-browser", (char *[]){ "svg-browser", svg, c1, run.dir,
					 NULL });
	check("html", (char *[]){ "html", page, jsonl, NULL });
	check("summary",
	      (char *[]){ "summary-records", jsonl, sum, NULL });
	check("browser", (char *[]){ "browser", page, jsonl, run.dir, NULL });
	snprintf(count, sizeof(count), "%d", NBUSY);
	check("progress", (char *[]){ "progress", ANALYZE, run.snaps, count,
				      "--eta", NULL });
}

Test(views, usage_errors_exit_64)
{
	char out[] = "/tmp/tripod-views-usage-XXXXXX";
	int fd = mkstemp(out);
	cr_assert_geq(fd, 0);
	close(fd);
	struct { char *args[6]; } bad[] = {
		{ { "--summary", "--diff", "x", NULL } },
		{ { "--summary", "--format", "svg", "x", NULL } },
		{ { "--since", "yesterday", "x", NULL } },
		{ { "--until=2026-13-01", "x", NULL } },
		{ { "--format", "flame", "x", NULL } },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[8] = { ANALYZE };
		for (size_t k = 0; bad[i].args[k]; k++)
			argv[k + 1] = bad[i].args[k];
		int st = harness_run(argv, out, out, 30);
		cr_assert_eq(st, 64, "tripod-analyze %s %s: exit %d", argv[1],
			     argv[2], st);
	}
	unlink(out);
}
