/* SPDX-License-Identifier: MIT */
/*
 * Corrupt memory, made by the process itself: fixtures/corrupt/corrupt_self.py
 * damages its own objects through ctypes (a list item into unmapped memory,
 * a dict with a bogus size, a str with a huge length, a type pointer to
 * garbage, a frame chain that loops), writes what the report must and must
 * not contain (reprs computed before the damage, and the placeholders), and
 * parks.  One snapshot, one tripod-analyze run: each damaged value is
 * <unreadable ...> where the damage is, the other values print as usual, the
 * looping thread says it is partial, stderr says so in one line, exit 1.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
#define SNAP TOP_BUILDDIR "/src/tripod-snap"
#define SCRIPT FIXTURES_DIR "/corrupt/corrupt_self.py"

static char scratch[64];
static pid_t target;

static void setup(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/tripod-corrupt-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch));
}

static void cleanup(void)
{
	if (target > 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		target = 0;
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch);
}

TestSuite(corrupt, .init = setup, .fini = cleanup, .timeout = 120);

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Run @argv with stdout and stderr into files; its exit status (-1: hung). */
static int run(char *const argv[], const char *out, const char *err,
	       int seconds)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	for (int i = 0; i < seconds * 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void check(const char *python)
{
	if (access(python, X_OK))
		cr_skip_test("%s is not installed", python);
	char expect[128], snaps[128], out[128], err[128], spid[32];
	snprintf(expect, sizeof(expect), "%s/expect", scratch);
	snprintf(snaps, sizeof(snaps), "%s/snaps", scratch);
	snprintf(out, sizeof(out), "%s/out", scratch);
	snprintf(err, sizeof(err), "%s/err", scratch);
	target = fork();
	cr_assert(target >= 0);
	if (target == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		execl(python, python, SCRIPT, expect, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300 && access(expect, F_OK); i++)
		usleep(50000);
	cr_assert_eq(access(expect, F_OK), 0, "%s did not park", python);
	snprintf(spid, sizeof(spid), "%d", (int)target);
	int st = run((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-o",
				 snaps, NULL }, out, err, 60);
	cr_assert_eq(st, 0, "tripod-snap: %d", st);
	st = run((char *[]){ ANALYZE, snaps, NULL }, out, err, 60);
	char *text = slurp(out), *errs = slurp(err), *want = slurp(expect);
	cr_assert_eq(st, 1, "exit %d (1: partial); stderr: %s", st, errs);
	cr_assert(strstr(errs, "partial report") &&
		  strstr(errs, "frame chain loops"), "%s", errs);
	int lines = 0;
	for (const char *p = errs; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 1, "%s", errs);
	bool must = true;
	for (char *line = strtok(want, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strcmp(line, "--")) {
			must = false;
			continue;
		}
		if (must)
			cr_expect(strstr(text, line), "missing: %s", line);
		else
			cr_expect(!strstr(text, line), "present: %s", line);
	}
	free(text);
	free(errs);
	free(want);
}

/* A pyenv interpreter: $PYENV_ROOT (default ~/.pyenv)/versions/@rel */
static void check_pyenv(const char *rel)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char path[512];
	if (root && root[0])
		snprintf(path, sizeof(path), "%s/versions/%s", root, rel);
	else
		snprintf(path, sizeof(path), "%s/.pyenv/versions/%s",
			 home ? home : "/root", rel);
	check(path);
}

Test(corrupt, debian_python3_11) { check("/usr/bin/python3.11"); }
Test(corrupt, py2_7) { check_pyenv("2.7.18/bin/python2.7"); }
Test(corrupt, py3_6) { check_pyenv("3.6.15/bin/python3.6"); }
Test(corrupt, py3_8) { check_pyenv("3.8.18/bin/python3.8"); }
Test(corrupt, py3_10) { check_pyenv("3.10.13/bin/python3.10"); }
Test(corrupt, py3_12) { check_pyenv("3.12.1/bin/python3.12"); }
Test(corrupt, py3_13) { check_pyenv("3.13.0/bin/python3.13"); }
