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

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Wait until every task in f->tasks[from..] has stopped or gone, or until
 * monotonic time @deadline_ms (0: no deadline); false on the deadline.
 *
 * A blocking waitpid() on one task at a time can deadlock: a thread group
 * leader that has exited is not reported while other threads live, and
 * those threads, if killed while stopped, wait for us to reap them.  So we
 * sweep all pending tasks with WNOHANG and sleep on SIGCHLD (blocked here so
 * it stays pending; a short timeout covers a SIGCHLD that is ignored) until
 * the sweep finds none left.
 */
static bool wait_tasks(struct tp_freeze *f, size_t from, uint64_t deadline_ms)
{
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	bool done;
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
		if ((done = !pending) ||
		    (deadline_ms && mono_ms() >= deadline_ms))
			break;
		struct timespec ts = { 0, 1000000 };
		sigtimedwait(&chld, NULL, &ts);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return done;
}

/* A task of f->tasks that is seized but has not stopped, or NULL. */
static const struct tp_freeze_task *unstopped(const struct tp_freeze *f)
{
	for (size_t i = 0; i < f->ntasks; i++)
		if (f->tasks[i].tid && !f->tasks[i].stopped)
			return &f->tasks[i];
	return NULL;
}

/*
 * The threads an earlier freeze left seized (o->stuck): those that exited
 * are dropped, the others become tasks of this freeze, already seized and
 * interrupted (stopped by now, or still on their way).
 */
static struct tp_error *take_stuck(struct tp_freeze *f)
{
	struct tp_freeze_stuck *st = f->stuck;
	struct tp_error *err = NULL;
	pid_t still = 0;
	for (size_t i = 0; st && i < st->n && !err; i++) {
		int status;
		pid_t r = waitpid(st->tids[i], &status, __WALL | WNOHANG);
		if (r < 0)
			continue;  /* ECHILD: gone and reaped */
		if ((err = add_task(f, st->tids[i])))
			break;
		struct tp_freeze_task *t = &f->tasks[f->ntasks - 1];
		if (r == st->tids[i])
			task_waited(f, t, status);
		else
			still = t->tid;
	}
	if (st)
		st->n = 0;
	/*
	 * One that still has not stopped would hold the others stopped for
	 * the whole deadline again, every tick: give up at once (tp_thaw()
	 * keeps it for the next try).
	 */
	if (!err && still)
		err = tp_error_create(TP_ERR_LIMIT,
				      "thread %d of process %d still cannot be stopped: snapshot skipped",
				      (int)still, (int)f->pid);
	return err;
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
	return tp_freeze_with(pid, NULL, ret);
}

struct tp_error *tp_freeze_with(pid_t pid, const struct tp_freeze_opts *o,
				struct tp_freeze *ret)
{
	struct tp_freeze *f = ret;
	memset(f, 0, sizeof(*f));
	f->pid = pid;
	unsigned timeout = o && o->timeout_ms ? o->timeout_ms
					      : TP_FREEZE_TIMEOUT_MS;
	uint64_t deadline = mono_ms() + timeout;
	f->stuck = o ? o->stuck : NULL;
	struct tp_error *err = take_stuck(f);
	if (err)
		return err;
	for (int scan = 0;; scan++) {
		if (scan == MAX_SCANS)
			return tp_error_create(TP_ERR_LIMIT,
					       "the threads of process %d did not settle after %d scans",
					       (int)pid, MAX_SCANS);
		pid_t *tids = NULL;
		size_t n = 0;
		err = list_new_tasks(f, &tids, &n);
		if (err)
			return err;
		for (size_t i = 0; i < n && !err; i++)
			err = seize(f, tids[i]);
		free(tids);
		/*
		 * Even on error: what was seized must stop before detaching.
		 * Every task, not only this scan's: the ones an earlier freeze
		 * left may still be on their way.
		 */
		bool all = wait_tasks(f, 0, deadline);
		if (err)
			return err;
		if (f->leader_reaped)
			return tp_error_create(TP_ERR_EXITED,
					       "process %d exited", (int)pid);
		if (!all) {
			const struct tp_freeze_task *t = unstopped(f);
			pid_t tid = t ? t->tid : 0;
			struct tp_proc_stat ts = { .state = '?' };
			tp_error_destroy(tp_proc_task_stat_read(pid, tid, &ts));
			return tp_error_create(TP_ERR_LIMIT,
					       "thread %d of process %d did not stop within %.1f s (state %c%s): snapshot skipped",
					       (int)tid, (int)pid,
					       timeout / 1000.0, ts.state,
					       ts.state == 'D' ? ", uninterruptible sleep" : "");
		}
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
	/*
	 * What is left: threads killed while stopped, about to be reaped,
	 * and threads that never stopped (a freeze that timed out).  Those
	 * cannot be detached until they stop: with somewhere to keep them,
	 * give them a moment, then keep the rest for the next freeze.
	 */
	if (!f->stuck) {
		wait_tasks(f, 0, 0);
	} else if (!wait_tasks(f, 0, mono_ms() + 100)) {
		for (size_t i = 0; i < f->ntasks; i++) {
			struct tp_freeze_task *t = &f->tasks[i];
			if (!t->tid || t->stopped)
				continue;
			pid_t *v = realloc(f->stuck->tids,
					   (f->stuck->n + 1) * sizeof(*v));
			if (!v)
				break;  /* the kernel lets go of them at exit */
			f->stuck->tids = v;
			f->stuck->tids[f->stuck->n++] = t->tid;
		}
	}
	/* stopped meanwhile: let them go too */
	for (size_t i = 0; f->stuck && i < f->ntasks; i++) {
		struct tp_freeze_task *t = &f->tasks[i];
		if (t->tid && t->stopped)
			ptrace(PTRACE_DETACH, t->tid, NULL,
			       (void *)(uintptr_t)t->resend);
	}
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
