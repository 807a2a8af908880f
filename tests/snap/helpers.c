/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void skip_unless_ptrace(void)
{
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	long r = ptrace(PTRACE_SEIZE, child, NULL, NULL);
	int e = errno;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (r < 0)
		cr_skip_test("ptrace is not permitted here: %s", strerror(e));
}

bool target_parse(const char *line, struct target *t)
{
	unsigned long long g = 0, h = 0, hl = 0, c = 0;
	int pid;
	memset(t, 0, sizeof(*t));
	if (sscanf(line, "ready pid=%d global=%llx heap=%llx heaplen=%llu counter=%llx",
		   &pid, &g, &h, &hl, &c) == 5 ||
	    sscanf(line, "ready pid=%d counter=%llx", &pid, &c) == 2) {
		t->pid = pid;
		t->global = g;
		t->heap = h;
		t->heaplen = hl;
		t->counter = c;
		return true;
	}
	return false;
}

void target_start(struct target *t, char *const argv[])
{
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* never outlive the test, even one that fails half-way */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[512] = "";
	bool ok = fgets(line, sizeof(line), f) && target_parse(line, t);
	fclose(f);
	cr_assert(ok, "target %s did not start (said: %s)", argv[0], line);
	cr_assert_eq(t->pid, pid);
}

void target_kill(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
}

uint64_t target_counter(const struct target *t)
{
	uint64_t v = 0;
	unsigned long c = 0;
	struct iovec l = { &c, sizeof(c) };
	struct iovec r = { (void *)(uintptr_t)t->counter, sizeof(c) };
	cr_assert_eq(process_vm_readv(t->pid, &l, 1, &r, 1, 0),
		     (ssize_t)sizeof(c), "cannot read the target's counter: %s",
		     strerror(errno));
	v = c;
	return v;
}

/* State letters of all threads of @pid into @buf; count returned. */
static size_t thread_states(pid_t pid, char *buf, size_t max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		char p[320], s[512];
		snprintf(p, sizeof(p), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t k = read(fd, s, sizeof(s) - 1);
		close(fd);
		if (k <= 0)
			continue;
		s[k] = '\0';
		char *q = strrchr(s, ')');
		if (q && q[1] == ' ')
			buf[n++] = q[2];
	}
	closedir(d);
	return n;
}

bool all_threads_traced(pid_t pid)
{
	char st[4096];
	size_t n = thread_states(pid, st, sizeof(st));
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (st[i] != 't')
			return false;
	return true;
}

bool wait_frozen(pid_t pid, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (all_threads_traced(pid))
			return true;
		sleep_ms(1);
	}
	return false;
}

void assert_target_runs(const struct target *t)
{
	char st[4096];
	size_t n = 0, stopped = 0;
	/*
	 * A thread left stopped stays stopped: waiting a little here only
	 * lets a detach in flight finish, it cannot hide a real leak.
	 */
	for (int tries = 0; tries < 50; tries++) {
		n = thread_states(t->pid, st, sizeof(st));
		stopped = 0;
		for (size_t i = 0; i < n; i++)
			stopped += st[i] == 't' || st[i] == 'T';
		if (!stopped)
			break;
		sleep_ms(10);
	}
	cr_assert_gt(n, 0, "target %d has no threads", (int)t->pid);
	cr_assert_eq(stopped, 0, "%zu of %zu threads of %d are stopped",
		     stopped, n, (int)t->pid);
	uint64_t a = target_counter(t);
	sleep_ms(100);
	uint64_t b = target_counter(t);
	cr_assert_gt(b, a, "target %d makes no progress (counter %llu)",
		     (int)t->pid, (unsigned long long)a);
}

char *make_tmpdir(void)
{
	char *d = strdup("/tmp/tripod-snap-test-XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	return d;
}

void remove_tree(const char *dir)
{
	char *cmd;
	if (asprintf(&cmd, "rm -rf '%s'", dir) > 0) {
		int r = system(cmd);
		(void)r;
		free(cmd);
	}
}

/* stderr files of running tripod-snaps, by pid */
static struct {
	pid_t pid;
	char path[64];
} errfiles[16];

pid_t snap_start(char *const args[], char *const env[], int *out_fd)
{
	return snap_start_as((uid_t)-1, args, env, out_fd);
}

pid_t snap_start_as(uid_t uid, char *const args[], char *const env[],
		    int *out_fd)
{
	char *argv[64];
	size_t n = 0;
	argv[n++] = (char *)SNAP_BIN;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(n, 62);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	char errpath[64] = "/tmp/tripod-snap-stderr-XXXXXX";
	int efd = mkostemp(errpath, O_CLOEXEC);
	cr_assert_geq(efd, 0);
	int fds[2] = { -1, -1 };
	if (out_fd)
		cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(efd, 2);
		if (out_fd)
			dup2(fds[1], 1);
		for (size_t i = 0; env && env[i]; i++)
			putenv(env[i]);
		if (uid != (uid_t)-1 &&
		    (setgroups(0, NULL) < 0 || setgid(uid) < 0 ||
		     setuid(uid) < 0))
			_exit(125);
		execv(SNAP_BIN, argv);
		_exit(126);
	}
	close(efd);
	if (out_fd) {
		close(fds[1]);
		*out_fd = fds[0];
	}
	size_t i;
	for (i = 0; i < 16 && errfiles[i].pid; i++)
		;
	cr_assert_lt(i, 16);
	errfiles[i].pid = pid;
	strcpy(errfiles[i].path, errpath);
	return pid;
}

int snap_finish(pid_t pid, int ms, char **err)
{
	int status = -1;
	pid_t r = 0;
	for (int t = 0; t < ms && r == 0; t++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == 0)
			sleep_ms(1);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	char *text = NULL;
	for (size_t i = 0; i < 16; i++) {
		if (errfiles[i].pid != pid)
			continue;
		text = read_file(errfiles[i].path, NULL);
		unlink(errfiles[i].path);
		errfiles[i].pid = 0;
	}
	cr_assert_neq(r, 0, "tripod-snap did not finish within %d ms; stderr: %s",
		      ms, text ? text : "");
	if (err)
		*err = text ? text : strdup("");
	else
		free(text);
	return status;
}

int snap_run(char *const args[], char *const env[], int ms, char **err)
{
	return snap_finish(snap_start(args, env, NULL), ms, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_snapshots(const char *dir, size_t *n)
{
	char **v = calloc(1024, sizeof(*v));
	*n = 0;
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "cannot open %s", dir);
	struct dirent *de;
	while ((de = readdir(d)) && *n < 1024) {
		size_t len = strlen(de->d_name);
		if (strncmp(de->d_name, "snapshot-", 9) == 0 &&
		    ((len > 8 && strcmp(de->d_name + len - 8, ".core.gz") == 0) ||
		     (len > 7 && strcmp(de->d_name + len - 7, ".tripod") == 0)))
			v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

size_t count_other_files(const char *dir)
{
	size_t n = 0, total = 0;
	char **v = list_snapshots(dir, &n);
	free_list(v, n);
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		total += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
			 strcmp(de->d_name, "blocks");
	if (d)
		closedir(d);
	return total - n;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t k;
	while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int run_shell(const char *cmd, char **out)
{
	fflush(NULL);
	FILE *p = popen(cmd, "re");
	cr_assert_not_null(p);
	size_t cap = 4096, n = 0, k;
	char *buf = malloc(cap);
	while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += k;
		if (cap - n < 2)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	int st = pclose(p);
	if (out)
		*out = buf;
	else
		free(buf);
	return st;
}

void export_core(const char *dir, const char *name, const char *out)
{
	char *cmd, *text;
	cr_assert_gt(asprintf(&cmd, "'%s' --export-core '%s/%s' -o '%s' 2>&1",
			      ANALYZE_BIN, dir, name, out), 0);
	int st = run_shell(cmd, &text);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", cmd, text);
	free(text);
	free(cmd);
}
