/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fdio.h"
#include "snap/target.h"

static struct tp_error *proc_error(int errnum, pid_t pid, const char *path,
				   const char *what)
{
	if (errnum == ENOENT || errnum == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "no such process: %d",
				       (int)pid);
	return tp_error_os(errnum, path, "cannot read %s of process %d", what,
			   (int)pid);
}

struct tp_error *tp_proc_read(pid_t pid, const char *name, char **ret,
			      size_t *ret_len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return proc_error(errno, pid, path, name);
	int e = tp_fd_read_all(fd, TP_PROC_FILE_MAX, ret, ret_len);
	close(fd);
	if (e == ENOMEM)
		return &tp_error_nomem;
	if (e)
		return proc_error(e, pid, path, name);
	return NULL;
}

struct tp_error *tp_proc_readlink(pid_t pid, const char *name, char **ret)
{
	char path[64], buf[PATH_MAX + 1];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return proc_error(errno, pid, path, name);
	buf[n] = '\0';
	if (!(*ret = strdup(buf)))
		return &tp_error_nomem;
	return NULL;
}

/* Parse the stat file @name of process @pid ("stat", "task/N/stat"). */
static struct tp_error *stat_read(pid_t pid, const char *name,
				  struct tp_proc_stat *ret)
{
	char *buf;
	size_t len;
	struct tp_error *err = tp_proc_read(pid, name, &buf, &len);
	if (err)
		return err;
	/* "pid (comm) S ppid pgrp sid ...": comm may hold ')' and spaces. */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	struct tp_proc_stat st = { 0 };
	int n = 0;
	if (open && close && close > open) {
		size_t clen = (size_t)(close - open - 1);
		if (clen >= sizeof(st.comm))
			clen = sizeof(st.comm) - 1;
		memcpy(st.comm, open + 1, clen);
		int ppid, pgrp, sid;
		/* Fields 3..22: state ppid pgrp session tty_nr tpgid flags
		 * minflt cminflt majflt cmajflt utime stime cutime cstime
		 * priority nice num_threads itrealvalue starttime */
		n = sscanf(close + 1,
			   " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u"
			   " %*d %*d %*d %*d %*d %*d %llu",
			   &st.state, &ppid, &pgrp, &sid, &st.starttime);
		st.ppid = ppid;
		st.pgrp = pgrp;
		st.sid = sid;
	}
	free(buf);
	if (n != 5)
		return tp_error_create(TP_ERR_FORMAT, "cannot parse /proc/%d/%s",
				       (int)pid, name);
	*ret = st;
	return NULL;
}

struct tp_error *tp_proc_stat_read(pid_t pid, struct tp_proc_stat *ret)
{
	return stat_read(pid, "stat", ret);
}

struct tp_error *tp_proc_task_stat_read(pid_t pid, pid_t tid,
					struct tp_proc_stat *ret)
{
	char name[40];
	snprintf(name, sizeof(name), "task/%d/stat", (int)tid);
	return stat_read(pid, name, ret);
}

void tp_format_time(const struct timespec *ts, char buf[32])
{
	struct tm tm;
	time_t s = ts->tv_sec;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

/* Boot time in seconds since the epoch, from /proc/stat's btime. */
static struct tp_error *boot_time(long long *ret)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return tp_error_os(errno, "/proc/stat", "cannot open");
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "btime %lld", ret) == 1;
	fclose(f);
	if (!found)
		return tp_error_create(TP_ERR_FORMAT,
				       "no btime in /proc/stat");
	return NULL;
}

static struct tp_error *split_cmdline(char *buf, size_t len,
				      struct tp_snap_target *t)
{
	size_t argc = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0' || i + 1 == len)
			argc++;
	t->argv = calloc(argc + 1, sizeof(*t->argv));
	if (!t->argv)
		return &tp_error_nomem;
	/* buf ends in '\0' (tp_proc_read adds one past a missing final NUL) */
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
		if (!(t->argv[t->argc] = strdup(buf + i)))
			return &tp_error_nomem;
		t->argc++;
	}
	return NULL;
}

/*
 * The facts an exec replaces, read into @t after its auxv (already in @auxv,
 * @auxv_len; taken over on success).
 */
static struct tp_error *read_exec_facts(pid_t pid, char *auxv, size_t auxv_len,
					struct tp_snap_target *t)
{
	struct tp_snap_target n = { .pid = pid, .auxv = auxv,
				    .auxv_len = auxv_len };
	char *buf;
	size_t len;
	struct tp_error *err = tp_proc_read(pid, "cmdline", &buf, &len);
	if (!err) {
		err = split_cmdline(buf, len, &n);
		free(buf);
	}
	if (!err && (err = tp_proc_readlink(pid, "exe", &n.exe))) {
		if (err->code != TP_ERR_EXITED) {
			/* A kernel thread or a gone binary: not fatal. */
			tp_error_destroy(err);
			err = (n.exe = strdup("")) ? NULL : &tp_error_nomem;
		}
	}
	char path[64];
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (!err && stat(path, &sb) < 0)
		err = proc_error(errno, pid, path, "owner");
	if (err) {
		n.auxv = NULL;  /* still the caller's */
		tp_snap_target_close(&n);
		return err;
	}
	for (size_t i = 0; i < t->argc; i++)
		free(t->argv[i]);
	free(t->argv);
	free(t->exe);
	free(t->auxv);
	t->argv = n.argv;
	t->argc = n.argc;
	t->exe = n.exe;
	t->auxv = n.auxv;
	t->auxv_len = n.auxv_len;
	t->uid = sb.st_uid;
	t->gid = sb.st_gid;
	return NULL;
}

struct tp_error *tp_snap_target_open(pid_t pid, struct tp_snap_target *ret)
{
	struct tp_snap_target *t = ret;
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	struct tp_error *err;
	char *buf = NULL;
	size_t len;

	/*
	 * auxv first: reading it needs the same ptrace access as the freeze,
	 * so a permission problem shows here, before anything else.
	 */
	if ((err = tp_proc_read(pid, "auxv", &buf, &len)))
		goto fail;
	if ((err = read_exec_facts(pid, buf, len, t))) {
		free(buf);
		goto fail;
	}

	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (!(t->hostname = strdup(host))) {
		err = &tp_error_nomem;
		goto fail;
	}

	struct tp_proc_stat st;
	long long btime;
	if ((err = tp_proc_stat_read(pid, &st)) || (err = boot_time(&btime)))
		goto fail;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	t->start.tv_sec = (time_t)(btime + (long long)(st.starttime / (unsigned long long)hz));
	t->start.tv_nsec = (long)(st.starttime % (unsigned long long)hz) *
			   (1000000000L / hz);
	return NULL;

fail:
	tp_snap_target_close(t);
	return err;
}

struct tp_error *tp_snap_target_refresh(struct tp_snap_target *t,
					bool *ret_changed)
{
	char *auxv;
	size_t len;
	struct tp_error *err = tp_proc_read(t->pid, "auxv", &auxv, &len);
	if (err)
		return err;
	/*
	 * The kernel builds a new auxiliary vector for every exec, and it
	 * points into the new stack (AT_RANDOM, AT_EXECFN) and names the new
	 * program (AT_ENTRY, AT_PHDR): with address space randomisation two
	 * execs never leave the same bytes.
	 */
	bool changed = len != t->auxv_len || memcmp(auxv, t->auxv, len) != 0;
	if (changed) {
		if ((err = read_exec_facts(t->pid, auxv, len, t))) {
			free(auxv);
			return err;
		}
		t->execs++;
	} else {
		free(auxv);
	}
	if (ret_changed)
		*ret_changed = changed;
	return NULL;
}

struct tp_error *tp_proc_tracer(pid_t pid, pid_t *ret)
{
	char *buf;
	size_t len;
	struct tp_error *err = tp_proc_read(pid, "status", &buf, &len);
	if (err)
		return err;
	const char *p = strstr(buf, "\nTracerPid:");
	long tracer = p ? strtol(p + 12, NULL, 10) : 0;
	free(buf);
	*ret = (pid_t)tracer;
	return NULL;
}

void tp_snap_target_close(struct tp_snap_target *t)
{
	for (size_t i = 0; i < t->argc; i++)
		free(t->argv[i]);
	free(t->argv);
	free(t->exe);
	free(t->auxv);
	free(t->hostname);
	memset(t, 0, sizeof(*t));
}
