/* SPDX-License-Identifier: MIT */
/* tripod-snap's command line, output and exit statuses, run for real. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/store.h"
#include "helpers.h"

TestSuite(cli, .timeout = 60);

static int exit_code(int status)
{
	cr_assert(WIFEXITED(status), "tripod-snap died (status %#x)", status);
	return WEXITSTATUS(status);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

Test(cli, help_and_version)
{
	int out;
	pid_t p = snap_start((char *[]){ "--help", NULL }, NULL, &out);
	char buf[4096] = "";
	ssize_t n = read(out, buf, sizeof(buf) - 1);
	close(out);
	cr_assert_eq(exit_code(snap_finish(p, 5000, NULL)), 0);
	cr_assert_gt(n, 0);
	cr_assert(strstr(buf, "Usage: tripod-snap"), "%s", buf);
	cr_assert(strstr(buf, "--interval"));
	cr_assert(strstr(buf, "--pid"));
	p = snap_start((char *[]){ "--version", NULL }, NULL, &out);
	n = read(out, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(out);
	cr_assert_eq(exit_code(snap_finish(p, 5000, NULL)), 0);
	cr_assert(strstr(buf, "tripod-snap (tripod) "), "%s", buf);
}

Test(cli, bad_usage_is_64)
{
	char *err;
	int st = snap_run((char *[]){ "-i", "0", "--", "true", NULL }, NULL,
			  5000, &err);
	cr_assert_eq(exit_code(st), 64);
	cr_assert(strstr(err, "tripod-snap: invalid interval '0'"), "%s", err);
	free(err);
	st = snap_run((char *[]){ "-q", NULL }, NULL, 5000, &err);
	cr_assert_eq(exit_code(st), 64);
	cr_assert(strstr(err, "no COMMAND and no --pid"), "%s", err);
	free(err);
	st = snap_run((char *[]){ "--pid", "1", "--", "true", NULL }, NULL,
		      5000, &err);
	cr_assert_eq(exit_code(st), 64);
	free(err);
	st = snap_run((char *[]){ "--pid", "1", NULL },
		      (char *[]){ "TRIPOD_INTERVAL=never", NULL }, 5000, &err);
	cr_assert_eq(exit_code(st), 64);
	cr_assert(strstr(err, "TRIPOD_INTERVAL"), "%s", err);
	free(err);
}

Test(cli, default_interval_lines_and_outdir)
{
	char *tmp = make_tmpdir(), *dir, *err, *want;
	cr_assert_gt(asprintf(&dir, "%s/out", tmp), 0);
	int st = snap_run((char *[]){ "-o", dir, "--", "true", NULL },
			  (char *[]){ "TRIPOD_INTERVAL=", NULL }, 10000, &err);
	/* true ends long before the first snapshot: said, and not 0 */
	cr_assert_eq(exit_code(st), 69);
	cr_assert_gt(asprintf(&want,
			      "[Tripod] Sampling every 5.000000 seconds\n"
			      "[Tripod] Writing output to: %s\n"
			      "tripod-snap: no snapshot taken: the command ended after ",
			      dir), 0);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	cr_assert(strstr(err, "before the first snapshot at 5.000 s"), "%s", err);
	cr_assert_eq(mode_of(dir), 0700);
	free(err);
	free(want);
	free(dir);
	remove_tree(tmp);
	free(tmp);
}

Test(cli, env_interval_and_default_directory)
{
	char *tmp = make_tmpdir(), *err, *env;
	cr_assert_gt(asprintf(&env, "TMPDIR=%s", tmp), 0);
	int st = snap_run((char *[]){ "--", "true", NULL },
			  (char *[]){ "TRIPOD_INTERVAL=0.25", env, NULL },
			  10000, &err);
	cr_assert_eq(exit_code(st), 69);
	char path[512];
	int n = sscanf(err,
		       "[Tripod] Sampling every 0.250000 seconds\n"
		       "[Tripod] Writing output to: %511s\n", path);
	cr_assert_eq(n, 1, "stderr: %s", err);
	cr_assert_eq(strncmp(path, tmp, strlen(tmp)), 0, "%s", path);
	cr_assert_eq(strncmp(path + strlen(tmp), "/tripod_", 8), 0, "%s", path);
	cr_assert_eq(strlen(path + strlen(tmp)), strlen("/tripod_XXXXXX"));
	cr_assert_eq(mode_of(path), 0700);
	/* --interval wins over the environment */
	free(err);
	st = snap_run((char *[]){ "-i", "7", "--", "true", NULL },
		      (char *[]){ "TRIPOD_INTERVAL=0.25", env, NULL }, 10000,
		      &err);
	cr_assert_eq(exit_code(st), 69);
	cr_assert(strstr(err, "[Tripod] Sampling every 7.000000 seconds\n"),
		  "%s", err);
	free(err);
	free(env);
	remove_tree(tmp);
	free(tmp);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(cli, pid_count_three_then_leaves_it_running)
{
	skip_unless_ptrace();
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	double t0 = now();
	int st = snap_run((char *[]){ "-n", "3", "-i", "0.2", "-o", dir,
				      "--pid", pid, NULL },
			  NULL, 20000, &err);
	double took = now() - t0;
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	cr_assert(strstr(err, "[Tripod] Sampling every 0.200000 seconds\n"),
		  "%s", err);
	/* three snapshots one interval apart, the first at once */
	cr_assert_geq(took, 0.4 - 0.01, "took %f s", took);
	size_t n;
	char **v = list_snapshots(dir, &n);
	cr_assert_eq(n, 3);
	const char *names[] = { "snapshot-000001.tripod",
				"snapshot-000002.tripod",
				"snapshot-000003.tripod" };
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(v[i], names[i]);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]);
		cr_assert_eq(mode_of(path), 0600, "%s", path);
	}
	cr_assert_eq(count_other_files(dir), 0);
	free_list(v, n);
	assert_target_runs(&t);

	/* the block store: 0700 */
	char blocks[512];
	snprintf(blocks, sizeof(blocks), "%s/blocks", dir);
	cr_assert_eq(mode_of(blocks), 0700);

	/* a second run into the same directory goes on numbering, in
	 * either form; a single-file snapshot is a gzip'd core, the very
	 * core tripod-analyze --export-core makes of it */
	free(err);
	st = snap_run((char *[]){ "-q", "-n", "1", "-i", "0.1", "-o", dir,
				  "--standalone", "--pid", pid, NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	cr_assert_str_eq(err, "");  /* -q */
	v = list_snapshots(dir, &n);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(v[3], "snapshot-000004.core.gz");
	free_list(v, n);
	char *cmd, *out;
	cr_assert_gt(asprintf(&cmd, "cd '%s' && gunzip -c snapshot-000004.core.gz > g && "
			      "'%s' --export-core snapshot-000004.core.gz -o e && "
			      "cmp g e && '%s' --export-core snapshot-000004.core.gz -o e.gz && "
			      "gunzip -c e.gz | cmp - g && rm g e e.gz && echo same",
			      dir, ANALYZE_BIN, ANALYZE_BIN), 0);
	run_shell(cmd, &out);
	cr_assert_str_eq(out, "same\n");
	free(out);
	free(cmd);
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(cli, duration_limits_sampling)
{
	skip_unless_ptrace();
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	int st = snap_run((char *[]){ "--duration", "1.2", "-i", "0.5", "-o",
				      dir, "--pid", pid, NULL },
			  NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	size_t n;
	char **names = list_snapshots(dir, &n);
	free_list(names, n);
	cr_assert_eq(n, 3);  /* at 0, 0.5 s and 1 s; 1.5 s is past 1.2 */
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(cli, command_exit_status)
{
	skip_unless_ptrace();
	char *dir = make_tmpdir(), *err;
	int st = snap_run((char *[]){ "-q", "-i", "0.1", "-o", dir, "--", "sh",
				      "-c", "sleep 0.35; exit 7", NULL },
			  NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 7, "stderr: %s", err);
	size_t n;
	char **names = list_snapshots(dir, &n);
	free_list(names, n);
	cr_assert_geq(n, 1, "no snapshot of the command");
	free(err);
	st = snap_run((char *[]){ "-q", "-o", dir, "--", "sh", "-c",
				  "exit 7", NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 7, "stderr: %s", err);
	free(err);
	st = snap_run((char *[]){ "-q", "-o", dir, "--", "sh", "-c",
				  "kill -TERM $$", NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 128 + 15, "stderr: %s", err);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(cli, command_not_found_or_not_executable)
{
	char *dir = make_tmpdir(), *err, *file;
	int st = snap_run((char *[]){ "-q", "-o", dir, "--",
				      "no-such-command-tripod", NULL },
			  NULL, 10000, &err);
	cr_assert_eq(exit_code(st), 127);
	cr_assert_str_eq(err,
			 "tripod-snap: no-such-command-tripod: command not found\n");
	free(err);
	cr_assert_gt(asprintf(&file, "%s/not-exec", dir), 0);
	FILE *f = fopen(file, "w");
	fputs("#!/bin/sh\n", f);
	fclose(f);
	chmod(file, 0644);
	/* root may execute anything with an x bit: this one has none */
	st = snap_run((char *[]){ "-q", "-o", dir, "--", file, NULL }, NULL,
		      10000, &err);
	cr_assert_eq(exit_code(st), 126);
	cr_assert(strstr(err, "Permission denied"), "%s", err);
	free(err);
	free(file);
	remove_tree(dir);
	free(dir);
}

Test(cli, no_such_pid)
{
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);  /* a pid that was just freed */
	char pid[16], *err, *want, *dir = make_tmpdir(), *env;
	snprintf(pid, sizeof(pid), "%d", (int)child);
	cr_assert_gt(asprintf(&env, "TMPDIR=%s", dir), 0);
	int st = snap_run((char *[]){ "--pid", pid, NULL },
			  (char *[]){ env, NULL }, 10000, &err);
	cr_assert_eq(exit_code(st), 66);
	cr_assert_gt(asprintf(&want, "tripod-snap: no such process: %s\n",
			      pid), 0);
	cr_assert_str_eq(err, want);
	/* told before anything was made: no tripod_XXXXXX left behind */
	cr_assert_eq(count_other_files(dir), 0);
	free(want);
	free(env);
	free(err);
	remove_tree(dir);
	free(dir);
}

Test(cli, output_directory_not_writable)
{
	char *err;
	/* root ignores permission bits: use a path under a regular file */
	int st = snap_run((char *[]){ "-o", "/etc/passwd/snaps", "--", "true",
				      NULL },
			  NULL, 10000, &err);
	cr_assert_eq(exit_code(st), 73);
	cr_assert(strstr(err, "tripod-snap: cannot create output directory: "
			      "/etc/passwd/snaps: Not a directory"),
		  "%s", err);
	size_t lines = 0;
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 1, "not one line: %s", err);
	free(err);

	/* and a read-only mount, where the directory exists */
	char *mnt = make_tmpdir(), *cmd;
	cr_assert_gt(asprintf(&cmd, "mount -t tmpfs -o ro,size=1m,mode=0700 tripod-ro '%s' 2>&1",
			      mnt), 0);
	int r = run_shell(cmd, NULL);
	free(cmd);
	if (r == 0) {
		st = snap_run((char *[]){ "-o", mnt, "--", "true", NULL }, NULL,
			      10000, &err);
		cr_assert_eq(exit_code(st), 73);
		cr_assert(strstr(err, "Read-only file system"), "%s", err);
		free(err);
		cr_assert_gt(asprintf(&cmd, "umount '%s'", mnt), 0);
		run_shell(cmd, NULL);
		free(cmd);
	} else {
		cr_log_warn("cannot mount a tmpfs here: read-only case not run");
	}
	remove_tree(mnt);
	free(mnt);
}

Test(cli, permission_denied)
{
	skip_unless_ptrace();
	if (geteuid() != 0)
		cr_skip_test("needs root, to run tripod-snap as nobody against a root process");
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	/* nobody's own directory: another's is refused (outdir_not_ours) */
	cr_assert_eq(chown(dir, 65534, 65534), 0);
	chmod(dir, 0700);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	int st = snap_finish(snap_start_as(65534,
					   (char *[]){ "-o", dir, "--pid", pid,
						       NULL },
					   NULL, NULL),
			     10000, &err);
	cr_assert_neq(exit_code(st), 125, "could not become nobody");
	cr_assert_eq(exit_code(st), 77, "stderr: %s", err);
	cr_assert(strstr(err, "CAP_SYS_PTRACE"), "%s", err);
	cr_assert(strstr(err, "tripod-snap: "), "%s", err);
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	remove_tree(dir);
	free(dir);
}

/*
 * A target already under a tracer (a debugger, strace): one line naming the
 * tracer, exit 75, nothing written, the target untouched.
 */
Test(cli, already_traced)
{
	skip_unless_ptrace();
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t tracer = fork();
	cr_assert(tracer >= 0);
	if (tracer == 0) {
		char ok = ptrace(PTRACE_SEIZE, t.pid, NULL, NULL) == 0;
		ssize_t w = write(ready[1], &ok, 1);
		(void)w;
		pause();  /* holds the target until killed */
		_exit(0);
	}
	char ok = 0;
	cr_assert_eq(read(ready[0], &ok, 1), 1);
	close(ready[0]);
	close(ready[1]);
	cr_assert(ok, "the test could not trace its target");
	char *dir = make_tmpdir(), *out, pid[16], *err, want[128];
	cr_assert_gt(asprintf(&out, "%s/out", dir), 0);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	int st = snap_run((char *[]){ "-o", out, "--pid", pid, NULL }, NULL,
			  10000, &err);
	cr_assert_eq(exit_code(st), 75, "stderr: %s", err);
	snprintf(want, sizeof(want),
		 "tripod-snap: process %d is already traced by process %d",
		 (int)t.pid, (int)tracer);
	cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1,
		     "not one line: %s", err);
	struct stat sb;
	cr_assert_neq(stat(out, &sb), 0, "%s was created", out);
	kill(tracer, SIGKILL);
	waitpid(tracer, NULL, 0);
	assert_target_runs(&t);
	target_kill(&t);
	free(err);
	free(out);
	remove_tree(dir);
	free(dir);
}

/* Distinct blocks the indexes of @dir name; every one must be on disk. */
static size_t blocks_named(const char *dir)
{
	size_t n;
	char **v = list_snapshots(dir, &n);
	struct tp_hash *seen = NULL;
	size_t nseen = 0;
	for (size_t i = 0; i < n; i++) {
		char *p;
		cr_assert_gt(asprintf(&p, "%s/%s", dir, v[i]), 0);
		struct tp_index *ix;
		struct tp_error *err = tp_index_load(p, &ix);
		cr_assert_null(err, "%s", tp_error_message(err));
		for (uint64_t k = 0; k < ix->nrefs; k++) {
			struct tp_hash h;
			memcpy(&h, &ix->refs[k], sizeof(h));
			bool dup = tp_hash_is_zero(&h);
			for (size_t j = 0; j < nseen && !dup; j++)
				dup = tp_hash_eq(&seen[j], &h);
			if (dup)
				continue;
			seen = realloc(seen, (nseen + 1) * sizeof(*seen));
			seen[nseen++] = h;
			char hex[TP_HASH_HEX_LEN + 1], *bp;
			tp_hash_hex(&h, hex);
			cr_assert_gt(asprintf(&bp, "%s/blocks/%.2s/%s", dir, hex,
					      hex), 0);
			cr_assert_eq(access(bp, F_OK), 0, "%s: %s missing", p, bp);
			free(bp);
		}
		tp_index_destroy(ix);
		free(p);
	}
	free(seen);
	free_list(v, n);
	return nseen;
}

static size_t block_files(const char *dir)
{
	char *cmd, *out;
	cr_assert_gt(asprintf(&cmd, "find '%s/blocks' -type f | wc -l", dir), 0);
	run_shell(cmd, &out);
	size_t n = strtoul(out, NULL, 10);
	free(cmd);
	free(out);
	return n;
}

/* Bytes of the snapshot files and block files of @dir (du -b, files only). */
static uint64_t dir_size(const char *dir)
{
	char *cmd, *out;
	cr_assert_gt(asprintf(&cmd, "find '%s' -type f -printf '%%s\\n' | "
			      "awk '{ s += $1 } END { print s + 0 }'", dir), 0);
	run_shell(cmd, &out);
	uint64_t n = strtoull(out, NULL, 10);
	free(cmd);
	free(out);
	return n;
}

/* --keep and --max-size after every snapshot; shared blocks stay as long
 * as a snapshot names them, no longer. */
Test(cli, keep_and_max_size)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	int st = snap_run((char *[]){ "-q", "-n", "6", "-i", "0.1", "--keep",
				      "3", "-o", dir, "--pid", pid, NULL },
			  NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	free(err);
	size_t n;
	char **v = list_snapshots(dir, &n);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(v[0], "snapshot-000004.tripod");
	cr_assert_str_eq(v[2], "snapshot-000006.tripod");
	free_list(v, n);
	cr_assert_eq(block_files(dir), blocks_named(dir));
	remove_tree(dir);
	free(dir);

	/* the size of one snapshot, then room for one and a half */
	dir = make_tmpdir();
	st = snap_run((char *[]){ "-q", "-n", "1", "-i", "0.1", "-o", dir,
				  "--pid", pid, NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	free(err);
	uint64_t one = dir_size(dir);
	remove_tree(dir);
	free(dir);
	dir = make_tmpdir();
	char limit[32];
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)(one + one / 2));
	st = snap_run((char *[]){ "-q", "-n", "5", "-i", "0.1", "--max-size",
				  limit, "-o", dir, "--pid", pid, NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	/* (a slow machine may say it cannot keep up; nothing more) */
	cr_assert_null(strstr(err, "--max-size"), "%s", err);
	free(err);
	/* under the limit (how many fit depends on how much the target
	 * changed between snapshots; test_store.c checks the count exactly) */
	cr_assert_leq(dir_size(dir), one + one / 2);
	v = list_snapshots(dir, &n);
	cr_assert_geq(n, 1);
	cr_assert_str_eq(v[n - 1], "snapshot-000005.tripod");
	free_list(v, n);
	cr_assert_eq(block_files(dir), blocks_named(dir));
	/* a limit under one snapshot: the newest stays, said once */
	st = snap_run((char *[]){ "-n", "2", "-i", "0.1", "--max-size", "1k",
				  "-o", dir, "--pid", pid, NULL },
		      NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	cr_assert(strstr(err, "--max-size is smaller than the newest snapshot"),
		  "%s", err);
	cr_assert_null(strstr(strstr(err, "--max-size") + 1, "--max-size"),
		       "said more than once: %s", err);
	free(err);
	v = list_snapshots(dir, &n);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0], "snapshot-000007.tripod");
	free_list(v, n);
	cr_assert_eq(block_files(dir), blocks_named(dir));
	assert_target_runs(&t);
	target_kill(&t);
	remove_tree(dir);
	free(dir);
}

/* Two tripod-snaps cannot write one directory. */
Test(cli, one_writer_per_directory)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "1", NULL });
	char *dir = make_tmpdir(), pid[16], *err;
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	pid_t first = snap_start((char *[]){ "-q", "-i", "0.2", "-o", dir,
					     "--duration", "2", "--pid", pid,
					     NULL },
				 NULL, NULL);
	usleep(500000);
	int st = snap_run((char *[]){ "-q", "-n", "1", "-i", "0.1", "-o", dir,
				      "--pid", pid, NULL },
			  NULL, 20000, &err);
	cr_assert_eq(exit_code(st), 1, "stderr: %s", err);
	cr_assert(strstr(err, "in use by another tripod-snap"), "%s", err);
	free(err);
	st = snap_finish(first, 20000, &err);
	cr_assert_eq(exit_code(st), 0, "stderr: %s", err);
	free(err);
	assert_target_runs(&t);
	target_kill(&t);
	remove_tree(dir);
	free(dir);
}
