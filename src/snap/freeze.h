/* SPDX-License-Identifier: MIT */
/*
 * Stopping every thread of a process together, and letting them all go.
 *
 * tp_freeze() seizes (PTRACE_SEIZE) and interrupts (PTRACE_INTERRUPT) every
 * task in /proc/PID/task, waits until each has stopped, and scans the task
 * list again until a scan finds no thread it has not stopped: a stopped
 * thread cannot create threads, so when a full scan adds none, the whole
 * process is still.  Threads that exit meanwhile are dropped.  It reads each
 * stopped thread's registers.
 *
 * tp_thaw() detaches (PTRACE_DETACH) every thread it stopped, giving back any
 * signal that arrived during the freeze.  It cannot fail: a thread that died
 * meanwhile is reaped.  It must be called after every tp_freeze(), whatever
 * that returned; the registers stay until tp_freeze_deinit().
 *
 * Should tripod-snap die while threads are stopped, the kernel detaches
 * them when the tracer exits and they run on: a seized and interrupted
 * thread is not left in a group stop.
 */
#ifndef TRIPOD_SNAP_FREEZE_H
#define TRIPOD_SNAP_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/corewrite.h"

/** Cap on the threads of one process tripod-snap will stop. */
#define TP_FREEZE_MAX_THREADS 65536

/** How long tp_freeze() waits for the threads to stop by default. */
#define TP_FREEZE_TIMEOUT_MS 1000

/*
 * Threads seized by an earlier freeze that never reached their stop (a
 * thread in uninterruptible sleep: a vfork() parent, a stuck NFS read).
 * ptrace cannot let go of a tracee that is not stopped, so they stay ours
 * until they stop; the next freeze lets them go or takes them in.
 */
struct tp_freeze_stuck {
	pid_t *tids;
	size_t n;
};

struct tp_freeze_opts {
	unsigned timeout_ms;            /* 0: TP_FREEZE_TIMEOUT_MS */
	struct tp_freeze_stuck *stuck;  /* carried between freezes, or NULL */
};

struct tp_freeze_task {
	pid_t tid;
	bool stopped;   /* in a ptrace stop, to be detached */
	int resend;     /* signal to give back on detach, or 0 */
};

struct tp_freeze {
	pid_t pid;
	struct tp_freeze_task *tasks;   /* every task seized, in seize order */
	size_t ntasks, cap;
	/* Registers of the stopped threads, the thread group leader first. */
	struct tp_core_thread *threads;
	size_t nthreads;
	/*
	 * Set when a wait by the freeze collected the leader's exit: the
	 * process is gone, and @leader_status is its wait status.  In COMMAND
	 * mode tripod-snap is both tracer and parent, so this is the only
	 * place the command's exit status is seen.
	 */
	bool leader_reaped;
	int leader_status;
	/*
	 * Set by tp_thaw() when a stopped thread could not be detached: it
	 * was killed while stopped.  Only a SIGKILL, which ends the whole
	 * process, does that to a stopped thread: what was captured belongs
	 * to a process that is gone.
	 */
	bool killed;
	struct tp_freeze_stuck *stuck;  /* from the options */
};

/**
 * Stop every thread of process @pid.  Errors: TP_ERR_EXITED when the
 * process is gone (or exits during the freeze); TP_ERR_OS with errnum EPERM
 * when ptrace is not permitted; TP_ERR_LIMIT past TP_FREEZE_MAX_THREADS.
 * On error some threads may be stopped: call tp_thaw() in every case.
 */
struct tp_error *tp_freeze(pid_t pid, struct tp_freeze *ret);

/**
 * tp_freeze() with options: a thread that has not stopped @o->timeout_ms
 * after the freeze began fails it with TP_ERR_LIMIT ("did not stop
 * within"): call tp_thaw(), which resumes every thread that did stop and
 * keeps the others in @o->stuck (without it, tp_thaw() waits for them).
 */
struct tp_error *tp_freeze_with(pid_t pid, const struct tp_freeze_opts *o,
				struct tp_freeze *ret);

/** Resume every thread stopped by tp_freeze(). */
void tp_thaw(struct tp_freeze *f);

/** Free the registers (and anything tp_thaw() left). */
void tp_freeze_deinit(struct tp_freeze *f);

#endif /* TRIPOD_SNAP_FREEZE_H */
