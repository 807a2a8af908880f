/* SPDX-License-Identifier: MIT */
/*
 * What tripod-snap knows about its target apart from the freeze: facts that
 * last as long as the process (hostname, start time), facts that an exec
 * replaces (command line, auxv, executable, owner), and facts read before
 * each freeze (working directory, /proc/PID/stat).
 */
#ifndef TRIPOD_SNAP_TARGET_H
#define TRIPOD_SNAP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"

/** Cap on any /proc file tripod-snap reads whole (cmdline, auxv, stat...). */
#define TP_PROC_FILE_MAX (16u << 20)

struct tp_snap_target {
	pid_t pid;
	char **argv;             /* /proc/PID/cmdline split at NULs */
	size_t argc;
	char *exe;               /* /proc/PID/exe, "" if unreadable */
	void *auxv;              /* raw /proc/PID/auxv */
	size_t auxv_len;
	char *hostname;
	struct timespec start;   /* process start, CLOCK_REALTIME */
	uid_t uid;
	gid_t gid;
	unsigned long execs;     /* execs seen since tp_snap_target_open() */
};

/** Fields of /proc/PID/stat. */
struct tp_proc_stat {
	char state;
	pid_t ppid, pgrp, sid;
	char comm[16];
	unsigned long long starttime;  /* clock ticks after boot */
};

/**
 * Read the facts about process @pid that do not change.  Errors:
 * TP_ERR_EXITED when there is no such process; TP_ERR_OS with errnum EACCES
 * or EPERM when this user may not inspect it; other TP_ERR_OS.
 */
struct tp_error *tp_snap_target_open(pid_t pid, struct tp_snap_target *ret);
void tp_snap_target_close(struct tp_snap_target *t);

/**
 * Check whether the target has run execve() since its facts were read (its
 * auxiliary vector, which every exec writes anew, differs) and if so read
 * the facts an exec replaces again and count the exec in @t->execs.
 * *@ret_changed (if not NULL) says whether it did.  Called while the
 * target is stopped, the facts match the memory then copied.  Errors as
 * tp_snap_target_open(); on error @t keeps its previous facts.
 */
struct tp_error *tp_snap_target_refresh(struct tp_snap_target *t,
					bool *ret_changed);

/**
 * The pid of the process tracing @pid (TracerPid in /proc/PID/status), 0
 * when none.  TP_ERR_EXITED if the process is gone.
 */
struct tp_error *tp_proc_tracer(pid_t pid, pid_t *ret);

/** Parse /proc/@pid/stat.  TP_ERR_EXITED if the process is gone. */
struct tp_error *tp_proc_stat_read(pid_t pid, struct tp_proc_stat *ret);

/** Parse /proc/@pid/task/@tid/stat.  TP_ERR_EXITED if the thread is gone. */
struct tp_error *tp_proc_task_stat_read(pid_t pid, pid_t tid,
					struct tp_proc_stat *ret);

/** Target of the link /proc/@pid/@name (cwd, exe) in a new string. */
struct tp_error *tp_proc_readlink(pid_t pid, const char *name, char **ret);

/**
 * Read /proc/@pid/@name whole into a new NUL-terminated buffer (free() it),
 * its length in *@ret_len.  ENOENT/ESRCH give TP_ERR_EXITED.
 */
struct tp_error *tp_proc_read(pid_t pid, const char *name, char **ret,
			      size_t *ret_len);

/** Format @ts as UTC ISO 8601 with milliseconds: 2026-11-25T17:33:05.123Z */
void tp_format_time(const struct timespec *ts, char buf[32]);

#endif /* TRIPOD_SNAP_TARGET_H */
