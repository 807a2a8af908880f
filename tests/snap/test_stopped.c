/* SPDX-License-Identifier: MIT */
/*
 * The target is never left stopped: not on SIGINT or SIGTERM to
 * tripod-snap while the target is frozen, not on a write error, not when
 * the target exits or spawns threads during a snapshot.  The freeze is
 * widened with the test hook TRIPOD_TEST_FREEZE_DELAY_MS so that the
 * signal or the kill lands inside it for sure.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/store.h"
#include "helpers.h"
#include "snap/cow.h"

TestSuite(stopped, .init = skip_unless_ptrace, .timeout = 120);

static char *const delay_env[] = { "TRIPOD_TEST_FREEZE_DELAY_MS=1500", NULL };

static int exit_code(int status)
{
	cr_assert(WIFEXITED(status), "tripod-snap died (status %#x)", status);
	return WEXITSTATUS(status);
}

static size_t snapshots_in(const char *dir)
{
	size_t n;
	char **v = list_snapshots(dir, &n);
	free_list(v, n);
	return n;
}

/* Every byte of snapshot @name reads back (tripod-analyze exports it). */
static void whole_ok(const char *dir, const char *name)
{
	char *tmp = make_tmpdir(), *out;
	cr_assert_gt(asprintf(&out, "%s/core", tmp), 0);
	export_core(dir, name, out);
	remove_tree(tmp);
	free(tmp);
	free(out);
}

/* --pid mode: @sig while frozen; the snapshot completes, the target runs. */
static void signal_while_frozen_pid(int sig)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t snap = snap_start((char *[]){ "-i", "0.2", "-o", dir, "--pid",
					    pid, NULL },
				delay_env, NULL);
	cr_assert(wait_frozen(t.pid, 10000), "the target was never frozen");
	kill(snap, sig);
	usleep(100000);
	cr_assert(all_threads_traced(t.pid),
		  "the signal cut the freeze short: it must wait");
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	assert_target_runs(&t);
	/* acted on after the resume: the snapshot in hand was still written */
	cr_assert_eq(snapshots_in(dir), 1);
	whole_ok(dir, "snapshot-000001.tripod");
	cr_assert_eq(count_other_files(dir), 0);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(stopped, sigint_while_frozen_pid_mode)
{
	signal_while_frozen_pid(SIGINT);
}

Test(stopped, sigterm_while_frozen_pid_mode)
{
	signal_while_frozen_pid(SIGTERM);
}

/*
 * COMMAND mode: @sig while frozen is passed on to the command once it runs
 * again; the command (exiting 5 on SIGINT/SIGTERM from one of its running
 * threads) ends, and tripod-snap exits with its status.
 */
static void signal_while_frozen_command(int sig)
{
	char *dir = make_tmpdir(), *err;
	int out;
	pid_t snap = snap_start((char *[]){ "-q", "-i", "0.2", "-o", dir, "--",
					    TARGET_PARK, "2", "5", NULL },
				delay_env, &out);
	FILE *f = fdopen(out, "r");
	char line[512] = "";
	struct target t;
	cr_assert(fgets(line, sizeof(line), f) && target_parse(line, &t),
		  "no ready line: %s", line);
	fclose(f);
	cr_assert(wait_frozen(t.pid, 10000), "the target was never frozen");
	kill(snap, sig);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 5, "stderr: %s", err);
	cr_assert_eq(snapshots_in(dir), 1);
	cr_assert_eq(count_other_files(dir), 0);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(stopped, sigint_while_frozen_command_mode)
{
	signal_while_frozen_command(SIGINT);
}

Test(stopped, sigterm_while_frozen_command_mode)
{
	signal_while_frozen_command(SIGTERM);
}

/*
 * The target is SIGKILLed while frozen (--pid): no hang, no file, and
 * since nothing was sampled, exit 69 with one line that says so.
 */
Test(stopped, target_exits_mid_snapshot_pid_mode)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t snap = snap_start((char *[]){ "-i", "0.2", "-o", dir, "--pid",
					    pid, NULL },
				delay_env, NULL);
	cr_assert(wait_frozen(t.pid, 10000), "the target was never frozen");
	kill(t.pid, SIGKILL);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 69, "stderr: %s", err);
	char *want;  /* the target ending is no error, taking nothing is */
	cr_assert_gt(asprintf(&want, "[Tripod] Sampling every 0.200000 seconds\n"
				     "[Tripod] Writing output to: %s\n"
				     "tripod-snap: no snapshot taken: process %d exited\n",
			      dir, (int)t.pid), 0);
	cr_assert_str_eq(err, want);
	free(want);
	int ts;
	cr_assert_eq(waitpid(t.pid, &ts, 0), t.pid);
	cr_assert(WIFSIGNALED(ts) && WTERMSIG(ts) == SIGKILL);
	cr_assert_eq(snapshots_in(dir), 0);
	cr_assert_eq(count_other_files(dir), 0);
	free(err);
	remove_tree(dir);
	free(dir);
}

/* The same in COMMAND mode: tripod-snap exits 128+9 like a shell. */
Test(stopped, target_exits_mid_snapshot_command_mode)
{
	char *dir = make_tmpdir(), *err;
	int out;
	pid_t snap = snap_start((char *[]){ "-q", "-i", "0.2", "-o", dir, "--",
					    TARGET_PARK, "2", NULL },
				delay_env, &out);
	FILE *f = fdopen(out, "r");
	char line[512] = "";
	struct target t;
	cr_assert(fgets(line, sizeof(line), f) && target_parse(line, &t));
	fclose(f);
	cr_assert(wait_frozen(t.pid, 10000), "the target was never frozen");
	kill(t.pid, SIGKILL);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 128 + SIGKILL, "stderr: %s", err);
	cr_assert_eq(snapshots_in(dir), 0);
	cr_assert_eq(count_other_files(dir), 0);
	free(err);
	remove_tree(dir);
	free(dir);
}

/* Threads created and ending all the time while snapshots are taken. */
Test(stopped, target_spawns_threads_during_snapshots)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_SPAWN, NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	int st = snap_run((char *[]){ "-q", "-n", "20", "-i", "0.05", "-o",
				      dir, "--pid", pid, NULL },
			  NULL, 60000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	cr_assert_eq(snapshots_in(dir), 20);
	cr_assert_eq(count_other_files(dir), 0);
	whole_ok(dir, "snapshot-000020.tripod");
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

static bool has_line(const char *text, size_t want_lines)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n == want_lines;
}

/* A write that fails (file size limit): exit 74, no file left. */
Test(stopped, write_error_file_size_limit)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	struct rlimit old, small = { 4096, 4096 };
	getrlimit(RLIMIT_FSIZE, &old);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	pid_t snap = snap_start((char *[]){ "-q", "-i", "0.1", "-o", dir,
					    "--pid", pid, NULL },
				NULL, NULL);
	setrlimit(RLIMIT_FSIZE, &old);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 74, "stderr: %s", err);
	cr_assert(strstr(err, "snapshot-000001.tripod"), "%s", err);
	cr_assert(strstr(err, "File too large"), "%s", err);
	cr_assert(has_line(err, 1), "not one line: %s", err);
	cr_assert_eq(snapshots_in(dir), 0);
	cr_assert_eq(count_other_files(dir), 0);
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

/* the tmpfs of write_error_disk_full, unmounted even when it fails */
static char *full_mnt;

static void unmount_full(void)
{
	if (!full_mnt)
		return;
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "umount '%s' 2>/dev/null; rm -rf '%s'",
		 full_mnt, full_mnt);
	int r = system(cmd);
	(void)r;
	free(full_mnt);
	full_mnt = NULL;
}

/*
 * A disk that fills up after the first snapshot: the second write fails,
 * the first snapshot stays whole, nothing partial is left.
 */
Test(stopped, write_error_disk_full, .fini = unmount_full)
{
	char *mnt = full_mnt = make_tmpdir(), *cmd;
	cr_assert_gt(asprintf(&cmd, "mount -t tmpfs -o size=4m tripod-full '%s' 2>&1",
			      mnt), 0);
	int mounted = run_shell(cmd, NULL);
	free(cmd);
	if (mounted != 0)
		cr_skip_test("cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN)");
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	char *dir, pid[16], *err, *first;
	cr_assert_gt(asprintf(&dir, "%s/out", mnt), 0);
	cr_assert_gt(asprintf(&first, "%s/snapshot-000001.tripod", dir), 0);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t snap = snap_start((char *[]){ "-q", "-i", "0.5", "-o", dir,
					    "--pid", pid, NULL },
				NULL, NULL);
	struct stat sb;
	int i;
	for (i = 0; i < 5000 && stat(first, &sb) != 0; i++)
		usleep(1000);
	cr_assert_lt(i, 5000, "no first snapshot");
	/* fill the file system */
	char *fill;
	cr_assert_gt(asprintf(&fill, "%s/filler", mnt), 0);
	int fd = open(fill, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	static char block[65536];
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 512) > 0)
		;
	close(fd);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 74, "stderr: %s", err);
	cr_assert(strstr(err, "snapshot-000002.tripod"), "%s", err);
	cr_assert(strstr(err, "No space left on device"), "%s", err);
	cr_assert(has_line(err, 1), "not one line: %s", err);
	cr_assert_eq(snapshots_in(dir), 1);
	cr_assert_eq(count_other_files(dir), 0);
	whole_ok(dir, "snapshot-000001.tripod");
	/* no temporary block left, and no block the failed snapshot alone
	 * had stored: every block file is one the first snapshot names */
	char *out;
	cr_assert_gt(asprintf(&cmd, "find '%s/blocks' -type f -name '.*' | wc -l",
			      dir), 0);
	run_shell(cmd, &out);
	cr_assert_str_eq(out, "0\n");
	free(out);
	free(cmd);
	struct tp_index *ix;
	cr_assert_gt(asprintf(&cmd, "%s/snapshot-000001.tripod", dir), 0);
	struct tp_error *ierr = tp_index_load(cmd, &ix);
	cr_assert_null(ierr, "%s", tp_error_message(ierr));
	free(cmd);
	size_t named = 0;
	for (uint64_t k = 0; k < ix->nrefs; k++) {
		struct tp_hash h;
		memcpy(&h, &ix->refs[k], sizeof(h));
		bool dup = tp_hash_is_zero(&h);
		for (uint64_t j = 0; j < k && !dup; j++)
			dup = tp_hash_eq((const struct tp_hash *)&ix->refs[j], &h);
		named += !dup;
	}
	tp_index_destroy(ix);
	cr_assert_gt(asprintf(&cmd, "find '%s/blocks' -type f | wc -l", dir), 0);
	run_shell(cmd, &out);
	cr_assert_eq(strtoul(out, NULL, 10), named, "%s block files, %zu named",
		     out, named);
	free(out);
	free(cmd);
	assert_target_runs(&t);
	target_kill(&t);
	free(fill);
	free(first);
	free(err);
	free(dir);
}

/* The child that target_vfork's vfork() made (its parent is the target). */
static pid_t vfork_child(pid_t target)
{
	for (int i = 0; i < 2000; i++) {
		char cmd[128], *out;
		snprintf(cmd, sizeof(cmd), "ps -o pid= --ppid %d", (int)target);
		run_shell(cmd, &out);
		pid_t child = (pid_t)atoi(out);
		free(out);
		if (child > 0)
			return child;
		usleep(1000);
	}
	return 0;
}

/*
 * The freeze deadline: a thread that cannot stop (a vfork() parent in
 * uninterruptible sleep) makes tripod-snap resume the others within the
 * deadline, skip that snapshot with one line, and go on; once the thread
 * can stop again, snapshots are taken and it is let go.
 */
Test(stopped, freeze_deadline)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_VFORK, NULL });
	pid_t child = vfork_child(t.pid);
	cr_assert_gt(child, 0, "no vfork child");
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t snap = snap_start((char *[]){ "-i", "0.3", "--duration", "3.5",
					    "-o", dir, "--pid", pid, NULL },
				NULL, NULL);
	/*
	 * The first freeze holds the others stopped until the deadline (1 s);
	 * after it, the target runs, and later ticks give up at once.
	 */
	usleep(1300000);
	uint64_t c0 = target_counter(&t);
	usleep(500000);
	uint64_t c1 = target_counter(&t);
	cr_assert_gt(c1, c0 + 100,
		     "the target stood still while a thread would not stop (%llu -> %llu)",
		     (unsigned long long)c0, (unsigned long long)c1);
	kill(child, SIGKILL);  /* the vfork parent can stop again */
	waitpid(child, NULL, 0);
	int st = snap_finish(snap, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	cr_assert(strstr(err, "did not stop within 1.0 s (state D"), "%s", err);
	cr_assert_eq(strstr(strstr(err, "did not stop") + 1, "did not stop"),
		     NULL, "said more than once: %s", err);
	cr_assert(strstr(err, "still cannot be stopped"), "%s", err);
	cr_assert_geq(snapshots_in(dir), 1, "no snapshot after the thread "
					    "could stop again: %s", err);
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

/* The state letters of the children of @pid ("t", "Z"...), in a string. */
static char *child_states(pid_t pid)
{
	char cmd[128], *out;
	snprintf(cmd, sizeof(cmd), "ps -o stat= --ppid %d | cut -c1 | tr -d '\\n'",
		 (int)pid);
	run_shell(cmd, &out);
	return out;
}

/*
 * tripod-snap killed (SIGKILL) while its copy-on-write clone of the target
 * exists: the clone dies with it (PTRACE_O_EXITKILL) and never runs, and
 * the target runs on.
 */
Test(stopped, sigkill_while_the_clone_lives)
{
	skip_unless_ptrace();
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	char *dir = make_tmpdir(), pid[16], *states = NULL;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t snap = snap_start((char *[]){ "-q", "-i", "0.1", "-o", dir,
					    "--pid", pid, NULL },
				(char *[]){ "TRIPOD_TEST_CLONE_DELAY_MS=5000",
					    NULL },
				NULL);
	/* the clone: a child of the target in a ptrace stop */
	int i;
	for (i = 0; i < 5000; i++) {
		free(states);
		states = child_states(t.pid);
		if (strchr(states, 't'))
			break;
		usleep(1000);
	}
	cr_assert_lt(i, 5000, "no clone of the target appeared");
	kill(snap, SIGKILL);
	snap_finish(snap, 20000, NULL);
	/* it dies with its tracer: no child of the target is left alive */
	for (i = 0; i < 2000; i++) {
		free(states);
		states = child_states(t.pid);
		if (!strpbrk(states, "tTRSD"))
			break;
		usleep(1000);
	}
	cr_assert_eq(strpbrk(states, "tTRSD"), NULL,
		     "a live child of the target is left: states '%s'", states);
	assert_target_runs(&t);
	/* its zombie, named for the next session to find */
	char cmd[160], *names;
	snprintf(cmd, sizeof(cmd), "ps -o comm= --ppid %d | tr -d '\n'",
		 (int)t.pid);
	run_shell(cmd, &names);
	cr_assert_str_eq(names, TP_COW_NAME, "the target's children: '%s'",
			 names);
	free(names);
	/* which reaps it at its first snapshot */
	snap = snap_start((char *[]){ "-q", "-n", "1", "-o", dir, "--pid",
				      pid, NULL },
			  NULL, NULL);
	int st = snap_finish(snap, 20000, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	free(states);
	states = child_states(t.pid);
	cr_assert_str_empty(states, "children of the target left: '%s'",
			    states);
	assert_target_runs(&t);
	target_kill(&t);
	free(states);
	remove_tree(dir);
	free(dir);
}
