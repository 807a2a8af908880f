/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "snap/freeze.h"
#include "snap/target.h"

/* Give up on a process whose thread list does not settle in this many scans. */
#define MAX_SCANS 1000

/* State letter of task @tid ('R', 'S', 'Z', ...), or 0 when it is gone. */
static char task_state(pid_t pid, pid_t tid)
{
	struct tp_proc_stat st;
	struct tp_error *err = tp_proc_task_stat_read(pid, tid, &st);
	if (err) {
		tp_error_destroy(err);
		return 0;
	}
	return st.state;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/*
 * The tids in /proc/@pid/task that tp_freeze has not seized yet, sorted, in
 * a new array.  A missing directory means the process is gone.
 */
static struct tp_error *list_new_tasks(struct tp_freeze *f, pid_t **ret,
				       size_t *ret_n)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)f->pid);
	DIR *dir = opendir(path);
	if (!dir) {
		if (errno == ENOENT || errno == ESRCH)
			return tp_error_create(TP_ERR_EXITED,
					       "process %d exited", (int)f->pid);
		return tp_error_os(errno, path, "cannot list threads");
	}
	/* f->tasks sorted by tid makes the "already seized?" test a bsearch. */
	pid_t *known = NULL;
	if (f->ntasks) {
		known = malloc(f->ntasks * sizeof(*known));
		if (!known) {
			closedir(dir);
			return &tp_error_nomem;
		}
		for (size_t i = 0; i < f->ntasks; i++)
			known[i] = f->tasks[i].tid;
		qsort(known, f->ntasks, sizeof(*known), cmp_pid);
	}
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct tp_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		pid_t t = (pid_t)tid;
		if (known && bsearch(&t, known, f->ntasks, sizeof(*known),
				     cmp_pid))
			continue;
		if (f->ntasks + n >= TP_FREEZE_MAX_THREADS) {
			err = tp_error_create(TP_ERR_LIMIT,
					      "process %d has more than %d threads",
					      (int)f->pid, TP_FREEZE_MAX_THREADS);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			pid_t *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				err = &tp_error_nomem;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = t;
	}
	closedir(dir);
	free(known);
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = n;
	return NULL;
}

static struct tp_error *add_task(struct tp_freeze *f, pid_t tid)
{
	if (f->ntasks == f->cap) {
		size_t ncap = f->cap ? 2 * f->cap : 16;
		struct tp_freeze_task *nv =
			realloc(f->tasks, ncap * sizeof(*nv));
		if (!nv)
			return &tp_error_nomem;
		f->tasks = nv;
		f->cap = ncap;
	}
	f->tasks[f->ntasks++] = (struct tp_freeze_task){ .tid = tid };
	return NULL;
}

/*
 * Handle one wait status of seized task @t.  Returns true when @t is done:
 * stopped, or gone.
 */
static bool task_waited(struct tp_freeze *f, struct tp_freeze_task *t,
			int status)
{
	if (WIFSTOPPED(status)) {
		t->stopped = true;
		/*
		 * PTRACE_EVENT_STOP (status>>16) is the stop we asked for, or a
		 * group stop; either way there is nothing to give back.  A
		 * plain stop is a signal-delivery stop: the signal arrived
		 * during the freeze, and goes back on detach.
		 */
		if ((status >> 16) == 0)
			t->resend = WSTOPSIG(status);
		return true;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (t->tid == f->pid) {
			f->leader_reaped = true;
			f->leader_status = status;
		}
		t->tid = 0;  /* gone: nothing to detach */
		return true;
	}
	return false;
}

/*
 * Wait until every task in f->tasks[from..] has stopped or gone.
 *
 * A blocking waitpid() on one task at a time can deadlock: a thread group
 * leader that has exited is not reported while other threads live, and
 * those threads, if killed while stopped, wait for us to reap them.  So we
 * sweep all pending tasks with WNOHANG and sleep on SIGCHLD (blocked here so
 * it stays pending; a short timeout covers a SIGCHLD that is ignored) until
 * the sweep finds none left.
 */
static void wait_tasks(struct tp_freeze *f, size_t from)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	for (;;) {
		size_t pending = 0;
		for (size_t i = from; i < f->ntasks; i++) {
			struct tp_freeze_task *t = &f->tasks[i];
			if (!t->tid || t->stopped)
				continue;
			int status;
			pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
			if (r == t->tid && task_waited(f, t, status))
				continue;
			if (r < 0 && errno == ECHILD) {
				t->tid = 0;  /* not ours to wait for: gone */
				continue;
			}
			pending++;
		}
		if (!pending)
			break;
		struct timespec ts = { 0, 1000000 };
		sigtimedwait(&chld, NULL, &ts);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static struct tp_error *seize(struct tp_freeze *f, pid_t tid)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) == 0) {
		struct tp_error *err = add_task(f, tid);
		if (err) {
			/* We cannot track it: let it go at once. */
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			int status;
			while (waitpid(tid, &status, __WALL) < 0 &&
			       errno == EINTR)
				;
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
			return err;
		}
		/* ESRCH here: it is exiting, and the wait will say so. */
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		return NULL;
	}
	int e = errno;
	/*
	 * A thread that exited since the scan gives ESRCH; one that is
	 * exiting, or a group leader that exited before its other threads
	 * (a zombie), gives EPERM.  Neither has anything to freeze.
	 */
	char state = task_state(f->pid, tid);
	if (e == ESRCH || state == 0 || state == 'Z' || state == 'X')
		return NULL;
	return tp_error_os(e, NULL, "cannot attach to thread %d of process %d",
			   (int)tid, (int)f->pid);
}

static struct tp_error *read_registers(struct tp_freeze *f)
{
	f->threads = calloc(f->ntasks ? f->ntasks : 1, sizeof(*f->threads));
	if (!f->threads)
		return &tp_error_nomem;
	/* The leader first (if it still lives), then seize order. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->ntasks; i++) {
			struct tp_freeze_task *t = &f->tasks[i];
			if (!t->tid || !t->stopped ||
			    (t->tid == f->pid) != (pass == 0))
				continue;
			struct tp_core_thread *th = &f->threads[f->nthreads];
			struct iovec iov = { &th->regs, sizeof(th->regs) };
			if (ptrace(PTRACE_GETREGSET, t->tid,
				   (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0) {
				if (errno == ESRCH)
					continue;  /* killed while stopped */
				return tp_error_os(errno, NULL,
						   "cannot read registers of thread %d",
						   (int)t->tid);
			}
			iov = (struct iovec){ &th->fpregs, sizeof(th->fpregs) };
			th->have_fpregs =
				ptrace(PTRACE_GETREGSET, t->tid,
				       (void *)(uintptr_t)NT_FPREGSET, &iov) == 0;
			th->tid = t->tid;
			th->signo = t->resend;
			f->nthreads++;
		}
	}
	if (!f->nthreads)
		return tp_error_create(TP_ERR_EXITED, "process %d exited",
				       (int)f->pid);
	return NULL;
}

struct tp_error *tp_freeze(pid_t pid, struct tp_freeze *ret)
{
	struct tp_freeze *f = ret;
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	for (int scan = 0;; scan++) {
		if (scan == MAX_SCANS)
			return tp_error_create(TP_ERR_LIMIT,
					       "the threads of process %d did not settle after %d scans",
					       (int)pid, MAX_SCANS);
		pid_t *tids = NULL;
		size_t n = 0;
		struct tp_error *err = list_new_tasks(f, &tids, &n);
		if (err)
			return err;
		size_t from = f->ntasks;
		for (size_t i = 0; i < n && !err; i++)
			err = seize(f, tids[i]);
		free(tids);
		/* Even on error: what was seized must stop before detaching. */
		wait_tasks(f, from);
		if (err)
			return err;
		if (f->leader_reaped)
			return tp_error_create(TP_ERR_EXITED,
					       "process %d exited", (int)pid);
		if (!n)
			break;
	}
	return read_registers(f);
}

void tp_thaw(struct tp_freeze *f)
{
	for (size_t i = 0; i < f->ntasks; i++) {
		struct tp_freeze_task *t = &f->tasks[i];
		if (!t->tid || !t->stopped)
			continue;
		if (ptrace(PTRACE_DETACH, t->tid, NULL,
			   (void *)(uintptr_t)t->resend) == 0)
			t->tid = 0;
		/*
		 * ESRCH: the thread was killed while stopped (SIGKILL ends a
		 * ptrace stop) and is no longer in one.  It is still our
		 * tracee until we reap it; the wait below does that.
		 */
		else {
			t->stopped = false;
			f->killed = true;
		}
	}
	wait_tasks(f, 0);
	free(f->tasks);
	f->tasks = NULL;
	f->ntasks = f->cap = 0;
}

void tp_freeze_deinit(struct tp_freeze *f)
{
	free(f->tasks);
	free(f->threads);
	f->tasks = NULL;
	f->threads = NULL;
	f->ntasks = f->cap = f->nthreads = 0;
}
