/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <elf.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "snap/cow.h"
#include "snap/inject.h"

/* clone(2) flags: share the file table, exit signal 0 (see cow.h). */
#define CLONE_FLAGS 0x00000400UL  /* CLONE_FILES */
#define WALL 0x40000000UL         /* __WALL */

const char *tp_cow_refusal(pid_t pid)
{
	char *buf;
	size_t len;
	struct tp_error *err = tp_proc_read(pid, "status", &buf, &len);
	if (err) {
		tp_error_destroy(err);
		return NULL;  /* the freeze will say what is wrong */
	}
	const char *p = strstr(buf, "\nSeccomp:");
	long mode = p ? strtol(p + 9, NULL, 10) : 0;
	free(buf);
	/*
	 * 1: strict mode allows read, write, exit and sigreturn only; 2: a
	 * filter, which might answer clone() with an error (fine) or kill
	 * the whole process (not fine), and we cannot tell which.
	 */
	return mode ? "the target has a seccomp filter" : NULL;
}

/* AT_SYSINFO_EHDR of auxv @a (@len bytes): where the vDSO is. */
static uint64_t vdso_base(const void *a, size_t len)
{
	const uint64_t *v = a;
	for (size_t i = 0; i + 1 < len / 8; i += 2) {
		if (v[i] == AT_NULL)
			break;
		if (v[i] == AT_SYSINFO_EHDR)
			return v[i + 1];
	}
	return 0;
}

/*
 * The thread to run system calls in: the first whose registers the freeze
 * read (the leader when it lives), with its task entry for signals; one
 * the freeze did not stop in a signal's delivery if there is one (that
 * signal would be queued again without its siginfo).
 */
static bool pick_thread(struct tp_freeze *f, const struct tp_core_thread **th,
			int **resend)
{
	*th = NULL;
	for (size_t i = 0; i < f->nthreads; i++) {
		for (size_t k = 0; k < f->ntasks; k++) {
			struct tp_freeze_task *t = &f->tasks[k];
			if (t->tid != f->threads[i].tid || !t->stopped ||
			    (*th && t->resend))
				continue;
			*th = &f->threads[i];
			*resend = &t->resend;
			if (!t->resend)
				return true;
		}
	}
	return *th != NULL;
}

/* wait4(@nspid, __WALL | WNOHANG) in the target: true when it is gone. */
static struct tp_error *reap_one(struct tp_cow *c, struct tp_freeze *f,
				 pid_t nspid, bool *ret_gone)
{
	const struct tp_core_thread *th;
	int *resend;
	*ret_gone = false;
	if (!pick_thread(f, &th, &resend))
		return NULL;
	uint64_t args[6] = { (uint64_t)(int64_t)nspid, 0, WALL | WNOHANG, 0,
			     0, 0 };
	struct tp_inject_result r;
	struct tp_error *err = tp_inject_syscall(th->tid, th->regs, c->gadget,
						 SYS_wait4, args, 0, resend,
						 &r);
	/* reaped, or nothing to reap (ECHILD: someone else did) */
	*ret_gone = !err && r.ret != 0;
	return err;
}

static struct tp_error *reap(struct tp_cow *c, struct tp_freeze *f)
{
	if (!c->zombie || !c->gadget)
		return NULL;
	bool gone;
	struct tp_error *err = reap_one(c, f, c->zombie, &gone);
	if (gone)
		c->zombie = 0;
	return err;
}

/*
 * The pid, as the target numbers it, of @child if that is a zombie clone
 * of an earlier session (named TP_COW_NAME, exit signal 0), else 0.
 */
static pid_t stray_clone(pid_t child)
{
	char *buf;
	size_t len;
	struct tp_error *err = tp_proc_read(child, "stat", &buf, &len);
	if (err) {
		tp_error_destroy(err);
		return 0;
	}
	/* "pid (comm) S ...": the comm may hold spaces and parentheses */
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	bool ours = false;
	if (open && close && close > open && close[1] == ' ' &&
	    (size_t)(close - open - 1) == strlen(TP_COW_NAME) &&
	    !memcmp(open + 1, TP_COW_NAME, strlen(TP_COW_NAME)) &&
	    close[2] == 'Z') {
		/* field 38 (exit_signal) is 35 fields after the state */
		const char *p = close + 2;
		for (int i = 0; i < 35 && p; i++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		ours = p && strtol(p, NULL, 10) == 0;
	}
	free(buf);
	if (!ours || (err = tp_proc_read(child, "status", &buf, &len))) {
		tp_error_destroy(err);
		return 0;
	}
	/* NSpid: the last number is the pid in the innermost namespace */
	pid_t nspid = child;
	const char *p = strstr(buf, "\nNSpid:");
	if (p) {
		p += 7;
		char *end;
		for (long v; (v = strtol(p, &end, 10)), end != p; p = end)
			nspid = (pid_t)v;
	}
	free(buf);
	return nspid;
}

/*
 * Reap the zombies that killed sessions left (see cow.h): the target's
 * children named TP_COW_NAME with exit signal 0.  Once per session.
 */
static struct tp_error *reap_strays(struct tp_cow *c, pid_t pid,
				    struct tp_freeze *f)
{
	c->strays_reaped = true;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	struct tp_error *err = NULL;
	struct dirent *de;
	while (!err && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char name[300], *kids;
		size_t len;
		snprintf(name, sizeof(name), "task/%s/children", de->d_name);
		struct tp_error *e = tp_proc_read(pid, name, &kids, &len);
		if (e) {
			tp_error_destroy(e);
			continue;
		}
		char *p = kids, *end;
		for (long v; !err && ((v = strtol(p, &end, 10)), end != p);
		     p = end) {
			pid_t nspid = stray_clone((pid_t)v);
			bool gone;
			if (nspid)
				err = reap_one(c, f, nspid, &gone);
		}
		free(kids);
	}
	closedir(d);
	return err;
}

/* Where the vDSO copied in @v holds TP_COW_NAME, or 0. */
static uint64_t find_name(const struct tp_vdso_copy *v)
{
	size_t want = strlen(TP_COW_NAME) + 1;
	for (size_t i = 0; i + want <= v->len; i++)
		if (!memcmp(v->bytes + i, TP_COW_NAME, want))
			return v->base + (uint64_t)i;
	return 0;
}

void tp_cow_name(const struct tp_cow *c, pid_t child)
{
	elf_gregset_t regs;
	struct iovec iov = { &regs, sizeof(regs) };
	if (!c->name || ptrace(PTRACE_GETREGSET, child,
			       (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0)
		return;
	uint64_t args[6] = { PR_SET_NAME, c->name, 0, 0, 0, 0 };
	int resend = 0;
	struct tp_inject_result r;
	tp_error_destroy(tp_inject_syscall(child, regs, c->gadget, SYS_prctl,
					   args, 0, &resend, &r));
}

struct tp_error *tp_cow_clone(struct tp_cow *c, const struct tp_snap_target *t,
			      struct tp_freeze *f, pid_t *ret_child,
			      pid_t *ret_nspid, char *why, size_t whylen)
{
	*ret_child = 0;
	*ret_nspid = 0;
	if (!c->gadget || c->gadget_execs != t->execs) {
		/* one copy serves both searches (static: 16 KiB) */
		static struct tp_vdso_copy vdso;
		struct tp_error *err = tp_vdso_copy_read(
			t->pid, vdso_base(t->auxv, t->auxv_len), &vdso);
		if (!err)
			err = tp_inject_find_gadget(&vdso, t->pid, &c->gadget);
		if (err && err->code == TP_ERR_EXITED)
			return err;
		if (err) {
			snprintf(why, whylen, "%s", tp_error_message(err));
			tp_error_destroy(err);
			c->gadget = 0;
			return NULL;
		}
		c->gadget_execs = t->execs;
		c->name = find_name(&vdso);
		/* an exec left no zombie to reap: the new program has none */
		c->zombie = 0;
	}
	struct tp_error *err = reap(c, f);
	if (!err && !c->strays_reaped)
		err = reap_strays(c, t->pid, f);
	if (err)
		return err;
	const struct tp_core_thread *th;
	int *resend;
	if (!pick_thread(f, &th, &resend)) {
		snprintf(why, whylen, "no stopped thread to run clone()");
		return NULL;
	}
	uint64_t args[6] = { CLONE_FLAGS, 0, 0, 0, 0, 0 };
	struct tp_inject_result r;
	err = tp_inject_syscall(th->tid, th->regs, c->gadget, SYS_clone, args,
				PTRACE_O_TRACECLONE, resend, &r);
	if (err)
		return err;
	if (r.ret < 0) {
		snprintf(why, whylen, "clone() refused: %s",
			 strerror((int)-r.ret));
		return NULL;
	}
	if (!r.child) {
		/* cannot happen with PTRACE_O_TRACECLONE; never leave it */
		snprintf(why, whylen, "clone() made no traced child");
		return NULL;
	}
	/*
	 * The clone starts in a ptrace stop (auto-attached): collect that
	 * stop, then make sure it dies with us should we die first.
	 */
	int st;
	pid_t p;
	while ((p = waitpid(r.child, &st, __WALL)) < 0 && errno == EINTR)
		;
	if (p != r.child || !WIFSTOPPED(st) ||
	    ptrace(PTRACE_SETOPTIONS, r.child, NULL,
		   (void *)(uintptr_t)PTRACE_O_EXITKILL) < 0) {
		tp_cow_release(c, r.child, (pid_t)r.ret);
		snprintf(why, whylen, "the clone did not stop");
		return NULL;
	}
	*ret_child = r.child;
	*ret_nspid = (pid_t)r.ret;
	return NULL;
}

void tp_cow_release(struct tp_cow *c, pid_t child, pid_t nspid)
{
	if (!child)
		return;
	kill(child, SIGKILL);
	int st;
	/* the tracer's share of its exit; the zombie stays the target's */
	while (waitpid(child, &st, __WALL) < 0 && errno == EINTR)
		;
	c->zombie = nspid;
}

void tp_cow_finish(struct tp_cow *c, pid_t pid)
{
	if (!c->zombie)
		return;
	struct tp_freeze f;
	struct tp_error *err = tp_freeze(pid, &f);
	if (!err)
		err = reap(c, &f);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	tp_error_destroy(err);
}
