/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze and tripod-snap against hostile files and directories
 * (issue 11): FIFOs where files are expected, a device or a gzip bomb named
 * like a snapshot, a snapshot cut short, a snapshot read where the
 * interpreter's file is missing, source files the target could not read,
 * output directories that are not ours.  Every run has a deadline: a hang
 * is a failure, not a stuck suite.
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
#include <time.h>
#include <unistd.h>

#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
#define SNAP TOP_BUILDDIR "/src/tripod-snap"
#define SYSTEM_PYTHON "/usr/bin/python3.11"

struct result {
	int status;             /* exit status; 128 + signal; -1: timed out */
	long maxrss_kb;
	char out[65536];
	char err[16384];
};

static void slurp_fd(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run @argv for at most @seconds; capture stdout, stderr, peak RSS. */
static void run_for(char *const argv[], int seconds, struct result *r)
{
	char outp[] = "/tmp/tripod-hcli-out-XXXXXX";
	char errp[] = "/tmp/tripod-hcli-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	cr_assert(ofd >= 0 && efd >= 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	bool done = false;
	for (int i = 0; i < seconds * 20; i++) {
		if (wait4(pid, &st, WNOHANG, &ru) == pid) {
			done = true;
			break;
		}
		usleep(50000);
	}
	if (!done) {
		kill(pid, SIGKILL);
		wait4(pid, &st, 0, &ru);
	}
	r->status = !done ? -1 : WIFEXITED(st) ? WEXITSTATUS(st)
						 : 128 + WTERMSIG(st);
	r->maxrss_kb = ru.ru_maxrss;
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	slurp_fd(ofd, r->out, sizeof(r->out));
	slurp_fd(efd, r->err, sizeof(r->err));
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static char scratch[64];
static pid_t target;

static void make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/tripod-hcli-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch));
	/* a target running as nobody must reach its files here */
	chmod(scratch, 0755);
}

static void cleanup(void)
{
	if (target > 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		target = 0;
	}
	if (scratch[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", scratch);
	}
}

TestSuite(hostile_cli, .init = make_scratch, .fini = cleanup,
	  .timeout = 240);

/*
 * A Python process parked in wait(600): its code is compiled under the
 * file name @filename (NULL: "<string>"); @uid >= 0 runs it as that user.
 */
static pid_t start_python(const char *python, const char *filename, int uid)
{
	char code[1024];
	snprintf(code, sizeof(code),
		 "import time\n"
		 "src = 'import time\\ndef wait(seconds):\\n    time.sleep(seconds)\\n'\n"
		 "exec(compile(src, %s%s%s, 'exec'))\n"
		 "open('%s/ready', 'w').close()\n"
		 "wait(600)\n",
		 filename ? "'" : "", filename ? filename : "'<string>'",
		 filename ? "'" : "", scratch);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		if (uid >= 0 && (setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0))
			_exit(126);
		execl(python, python, "-c", code, (char *)NULL);
		_exit(127);
	}
	char ready[128];
	snprintf(ready, sizeof(ready), "%s/ready", scratch);
	for (int i = 0; i < 200 && access(ready, F_OK); i++)
		usleep(50000);
	cr_assert_eq(access(ready, F_OK), 0, "%s did not start", python);
	unlink(ready);
	usleep(100000);
	return pid;
}

static void snapshot(pid_t pid, const char *dir, bool standalone)
{
	char spid[32];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	struct result r;
	run_for((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-i", "0.05",
			    "-o", (char *)dir,
			    standalone ? "--standalone" : "--quiet", NULL },
		60, &r);
	cr_assert_eq(r.status, 0, "tripod-snap: %d %s", r.status, r.err);
}

static void need_python(void)
{
	if (access(SYSTEM_PYTHON, X_OK))
		cr_skip_test(SYSTEM_PYTHON " is not installed");
}

/* ---- files that are not what their names say ------------------------------ */

/*
 * A FIFO named like a snapshot, in a directory and on the command line:
 * never opened for reading as a snapshot (it would block), the good
 * snapshot next to it reported in full.
 */
Test(hostile_cli, fifo_named_like_a_snapshot)
{
	need_python();
	char dir[128], fifo[256], fifo2[256];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON, NULL, -1);
	snapshot(target, dir, false);
	snprintf(fifo, sizeof(fifo), "%s/snapshot-000000.tripod", dir);
	snprintf(fifo2, sizeof(fifo2), "%s/snapshot-000000.core.gz", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(mkfifo(fifo2, 0600), 0);
	struct result r;
	run_for((char *[]){ ANALYZE, dir, NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "Arguments: wait(seconds=600)"), "%s", r.out);
	run_for((char *[]){ ANALYZE, fifo2, NULL }, 20, &r);
	cr_assert_eq(r.status, 2, "exit %d (-1: hung): %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "FIFO"), "%s", r.err);
}

/* A block of the store replaced by a FIFO: that block is damaged, no hang. */
Test(hostile_cli, fifo_in_the_block_store)
{
	need_python();
	char dir[128], cmd[512];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON, NULL, -1);
	snapshot(target, dir, false);
	/* every block a FIFO */
	snprintf(cmd, sizeof(cmd),
		 "cd %s/blocks && for f in */*; do rm \"$f\" && mkfifo \"$f\"; done",
		 dir);
	cr_assert_eq(system(cmd), 0);
	struct result r;
	run_for((char *[]){ ANALYZE, dir, NULL }, 60, &r);
	cr_assert_neq(r.status, -1, "hung");
	cr_assert_neq(r.status, 0, "%s", r.out);
}

/* A *.core symlink to /dev/zero: refused at its first bytes, not read. */
Test(hostile_cli, dev_zero_named_like_a_core)
{
	char link[128];
	snprintf(link, sizeof(link), "%s/zero.core", scratch);
	cr_assert_eq(symlink("/dev/zero", link), 0);
	struct result r;
	run_for((char *[]){ ANALYZE, link, NULL }, 20, &r);
	cr_assert_eq(r.status, 2, "exit %d (-1: hung): %s", r.status, r.err);
	cr_assert(strstr(r.err, "not an ELF file"), "%s", r.err);
	cr_assert_lt(r.maxrss_kb, 64 * 1024, "%ld KiB", r.maxrss_kb);
}

/*
 * A gzip bomb (not BGZF): 256 MiB of zeros in 256 KiB.  Refused at its
 * first megabyte as not an ELF file, in bounded memory (before: inflated
 * whole).
 */
Test(hostile_cli, gzip_bomb)
{
	char path[128], cmd[256];
	snprintf(path, sizeof(path), "%s/bomb.core.gz", scratch);
	snprintf(cmd, sizeof(cmd), "head -c 256M /dev/zero | gzip -1 > %s",
		 path);
	cr_assert_eq(system(cmd), 0);
	struct result r;
	run_for((char *[]){ ANALYZE, path, NULL }, 60, &r);
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "not an ELF file"), "%s", r.err);
	cr_assert_lt(r.maxrss_kb, 64 * 1024, "%ld KiB", r.maxrss_kb);
}

/* ---- partial snapshots ---------------------------------------------------- */

/*
 * A .core.gz cut short: what its whole members hold is decoded, the report
 * says in one line that the snapshot is incomplete, stderr says the report
 * is partial, exit 1 (before: one error, nothing decoded).
 */
Test(hostile_cli, truncated_core_gz_decodes_what_it_holds)
{
	need_python();
	char dir[128], good[256], bad[256], cmd[600];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON, NULL, -1);
	snapshot(target, dir, true);
	snprintf(good, sizeof(good), "%s/snapshot-000001.core.gz", dir);
	snprintf(bad, sizeof(bad), "%s/cut.core.gz", scratch);
	struct stat st;
	cr_assert_eq(stat(good, &st), 0);
	/* the last 64 KiB gone: the stack and the end-of-stream marker */
	snprintf(cmd, sizeof(cmd), "head -c %lld %s > %s",
		 (long long)st.st_size - 65536, good, bad);
	cr_assert_eq(system(cmd), 0);
	struct result r;
	run_for((char *[]){ ANALYZE, bad, NULL }, 60, &r);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "partial report"), "%s", r.err);
	cr_assert(strstr(r.err, "core truncated"), "%s", r.err);
	cr_assert(strstr(r.out, "  (partial: snapshot incomplete: core truncated"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "Process ID:"), "%s", r.out);
}

/* ---- the analysing machine is not the target's ---------------------------- */

/*
 * The interpreter's file is gone (and no debug info): the error names it
 * with its build-id and says how to get it; replaced by a FIFO, it is not
 * opened (libdwfl would block on it).
 */
Test(hostile_cli, interpreter_file_missing_or_a_fifo)
{
	need_python();
	char copy[128], dir[128], cmd[512];
	snprintf(copy, sizeof(copy), "%s/python3.11", scratch);
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	snprintf(cmd, sizeof(cmd), "cp %s %s", SYSTEM_PYTHON, copy);
	cr_assert_eq(system(cmd), 0);
	target = start_python(copy, NULL, -1);
	snapshot(target, dir, false);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	target = 0;
	cr_assert_eq(unlink(copy), 0);
	char empty[128];
	snprintf(empty, sizeof(empty), "%s/nodebug", scratch);
	cr_assert_eq(mkdir(empty, 0700), 0);
	char dbg[160];
	snprintf(dbg, sizeof(dbg), "--debuginfo-path=%s", empty);
	struct result r;
	run_for((char *[]){ ANALYZE, dbg, dir, NULL }, 60, &r);
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, copy), "%s", r.err);
	cr_assert(strstr(r.err, "build-id "), "%s", r.err);
	cr_assert(strstr(r.err, "not on this machine"), "%s", r.err);

	cr_assert_eq(mkfifo(copy, 0600), 0);
	run_for((char *[]){ ANALYZE, dbg, dir, NULL }, 20, &r);
	cr_assert_eq(r.status, 2, "exit %d (-1: hung): %s", r.status, r.err);
	cr_assert(strstr(r.err, "FIFO"), "%s", r.err);
}

/* A source file name that is a FIFO on this machine: no line, no hang. */
Test(hostile_cli, source_file_is_a_fifo)
{
	need_python();
	char fifo[128], dir[128];
	snprintf(fifo, sizeof(fifo), "%s/code.py", scratch);
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	target = start_python(SYSTEM_PYTHON, fifo, -1);
	snapshot(target, dir, false);
	struct result r;
	run_for((char *[]){ ANALYZE, dir, NULL }, 30, &r);
	cr_assert_eq(r.status, 0, "exit %d (-1: hung): %s", r.status, r.err);
	cr_assert(strstr(r.out, "line 3, in wait"), "%s", r.out);
}

/*
 * The analyst's privileges do not leak: a target running as nobody whose
 * code names root-only files shows none of their lines to root.
 */
Test(hostile_cli, source_lines_the_target_could_not_read)
{
	need_python();
	if (geteuid() != 0)
		cr_skip_test("needs root: a target as nobody, analysed by root");
	char secret[128], dir[128];
	snprintf(secret, sizeof(secret), "%s/secret.py", scratch);
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	FILE *f = fopen(secret, "w");
	cr_assert_not_null(f);
	fputs("import time\ndef wait(seconds):\n    SECRET_LINE = 1\n", f);
	fclose(f);
	chmod(secret, 0600);
	/* nobody must be able to write its ready file */
	chmod(scratch, 0777);
	target = start_python(SYSTEM_PYTHON, secret, 65534);
	chmod(scratch, 0755);
	snapshot(target, dir, false);
	struct result r;
	run_for((char *[]){ ANALYZE, dir, NULL }, 30, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "line 3, in wait"), "%s", r.out);
	cr_assert_null(strstr(r.out, "SECRET_LINE"), "%s", r.out);
	cr_assert(strstr(r.out, "(source not shown: not readable by uid 65534)"),
		  "%s", r.out);
	/* readable by the target: shown */
	chmod(secret, 0644);
	run_for((char *[]){ ANALYZE, dir, NULL }, 30, &r);
	cr_assert(strstr(r.out, "SECRET_LINE = 1"), "%s", r.out);
}

/* ---- tripod-snap's output directory --------------------------------------- */

/*
 * An output directory another user owns, or others can write, is refused
 * (exit 73, one line) unless --force-outdir.
 */
Test(hostile_cli, outdir_not_ours)
{
	need_python();
	if (geteuid() != 0)
		cr_skip_test("needs root, to give a directory to nobody");
	char dir[128], spid[32];
	snprintf(dir, sizeof(dir), "%s/theirs", scratch);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chown(dir, 65534, 65534), 0);
	target = start_python(SYSTEM_PYTHON, NULL, -1);
	snprintf(spid, sizeof(spid), "%d", (int)target);
	struct result r;
	run_for((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-o", dir,
			    NULL }, 30, &r);
	cr_assert_eq(r.status, 73, "exit %d: %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "owned by uid 65534"), "%s", r.err);

	cr_assert_eq(chown(dir, 0, 0), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	run_for((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-o", dir,
			    NULL }, 30, &r);
	cr_assert_eq(r.status, 73, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "writable by others"), "%s", r.err);

	run_for((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-o", dir,
			    "--force-outdir", NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
}

/*
 * Temporary files a killed tripod-snap left (a snapshot being written, a
 * block being written) are removed by the next run in the directory.
 */
Test(hostile_cli, leftovers_of_a_killed_run_are_removed)
{
	need_python();
	char dir[128], path[256], spid[32];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON, NULL, -1);
	snapshot(target, dir, false);
	const char *left[] = { ".snapshot-000002.core.gz.Ab3dEf",
			       ".snapshot-000002.tripod.x1Y2z3",
			       "blocks/00/.tmp-0000000000000000000000000000" };
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/blocks/00", dir);
	cr_assert_eq(system(cmd), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, left[i]);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f, "%s", path);
		fclose(f);
	}
	snprintf(spid, sizeof(spid), "%d", (int)target);
	struct result r;
	run_for((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-o", dir,
			    NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, left[i]);
		cr_assert_neq(access(path, F_OK), 0, "%s is still there", path);
	}
}

/* ---- one record per thread state ------------------------------------------ */

/*
 * A thread state made for a thread that has not run yet: the process makes
 * one itself (PyThreadState_New through ctypes, as threading.Thread.start()
 * does before the new thread runs) and parks.  Its ids are the main
 * thread's (before 3.12; from 3.12 PyThreadState_New binds it to the
 * caller too).  The report has the main thread once -- the ident and name
 * the process itself recorded -- and the other state once, as starting;
 * nothing is partial.
 */
static void new_thread_state(const char *python)
{
	if (access(python, X_OK))
		cr_skip_test("%s is not installed", python);
	char ready[128], dir[128];
	snprintf(ready, sizeof(ready), "%s/ident", scratch);
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	char code[1024];
	snprintf(code, sizeof(code),
		 "import ctypes, threading, time\n"
		 "api = ctypes.pythonapi\n"
		 "api.PyInterpreterState_Head.restype = ctypes.c_void_p\n"
		 "api.PyThreadState_New.restype = ctypes.c_void_p\n"
		 "api.PyThreadState_New.argtypes = [ctypes.c_void_p]\n"
		 "assert api.PyThreadState_New(api.PyInterpreterState_Head())\n"
		 "t = threading.current_thread()\n"
		 "ident = getattr(threading, 'get_ident', None) or threading._get_ident\n"
		 "open('%s.tmp', 'w').write('%%d %%s' %% (ident(), t.name))\n"
		 "import os; os.rename('%s.tmp', '%s')\n"
		 "def wait(seconds):\n    time.sleep(seconds)\n"
		 "wait(600)\n", ready, ready, ready);
	target = fork();
	cr_assert(target >= 0);
	if (target == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execl(python, python, "-c", code, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && access(ready, F_OK); i++)
		usleep(50000);
	FILE *f = fopen(ready, "r");
	cr_assert_not_null(f, "%s did not start", python);
	unsigned long long ident = 0;
	char name[64] = "";
	cr_assert_eq(fscanf(f, "%llu %63s", &ident, name), 2);
	fclose(f);
	snapshot(target, dir, false);
	struct result r;
	run_for((char *[]){ ANALYZE, "--format", "json", dir, NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	char key[96];
	snprintf(key, sizeof(key), "\"ident\": %llu,", ident);
	int idents = 0, names = 0, starting = 0, threads = 0;
	for (const char *p = r.out; (p = strstr(p, key)); p++)
		idents++;
	snprintf(key, sizeof(key), "\"name\": \"%s\"", name);
	for (const char *p = r.out; (p = strstr(p, key)); p++)
		names++;
	for (const char *p = r.out; (p = strstr(p, "\"state\": \"starting")); p++)
		starting++;
	for (const char *p = r.out; (p = strstr(p, "{\"tid\": ")); p++)
		threads++;
	cr_assert_eq(threads, 2, "%s", r.out);
	cr_assert_eq(idents, 1, "%s", r.out);
	cr_assert_eq(names, 1, "%s", r.out);
	cr_assert_eq(starting, 1, "%s", r.out);
	run_for((char *[]){ ANALYZE, dir, NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\n  (starting: "), "%s", r.out);
	/*
	 * --native (issue 10): the main thread's native stack is merged with
	 * the main thread's record, never with the starting state that
	 * carries the same tid; that one keeps its state and no frame.
	 */
	run_for((char *[]){ ANALYZE, "--native", "--format", "json", dir,
			    NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
	threads = starting = 0;
	for (const char *p = r.out; (p = strstr(p, "{\"tid\": ")); p++)
		threads++;
	for (const char *p = r.out; (p = strstr(p, "\"state\": \"starting")); p++)
		starting++;
	cr_assert_eq(threads, 2, "%s", r.out);
	cr_assert_eq(starting, 1, "%s", r.out);
	snprintf(key, sizeof(key), "\"ident\": %llu,", ident);
	const char *main_rec = strstr(r.out, key);
	cr_assert_not_null(main_rec, "%s", r.out);
	const char *next = strstr(main_rec, "{\"tid\": ");
	size_t len = next ? (size_t)(next - main_rec) : strlen(main_rec);
	char *rec = strndup(main_rec, len);
	cr_assert(rec && strstr(rec, "\"kind\": \"native\"") &&
		  strstr(rec, "\"kind\": \"python\""),
		  "the main thread has no merged stack: %s", r.out);
	free(rec);
}

Test(hostile_cli, thread_state_not_run_yet_3_11)
{
	new_thread_state(SYSTEM_PYTHON);
}

Test(hostile_cli, thread_state_not_run_yet_2_7)
{
	const char *home = getenv("HOME");
	char py[256];
	snprintf(py, sizeof(py), "%s/.pyenv/versions/2.7.18/bin/python2.7",
		 home ? home : "/root");
	new_thread_state(py);
}

Test(hostile_cli, thread_state_not_run_yet_3_12)
{
	const char *home = getenv("HOME");
	char py[256];
	snprintf(py, sizeof(py), "%s/.pyenv/versions/3.12.1/bin/python3.12",
		 home ? home : "/root");
	new_thread_state(py);
}
