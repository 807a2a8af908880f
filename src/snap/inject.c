/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snap/inject.h"

#if defined(__x86_64__)
#include <sys/syscall.h>
#include <sys/user.h>

struct tp_error *tp_inject_find_gadget(const struct tp_vdso_copy *v,
				       pid_t pid, uint64_t *ret)
{
	/*
	 * Any 0f 05 in the executable vDSO will do, even one inside another
	 * instruction or in data: the processor decodes from where rip
	 * points, and only that one instruction runs.
	 */
	for (size_t i = 0; i + 1 < v->len; i++) {
		if (v->bytes[i] == 0x0f && v->bytes[i + 1] == 0x05) {
			*ret = v->base + (uint64_t)i;
			return NULL;
		}
	}
	return tp_error_create(TP_ERR_UNSUPPORTED,
			       "no syscall instruction in the vDSO of process %d",
			       (int)pid);
}

static struct tp_error *ptrace_error(pid_t tid, const char *what)
{
	if (errno == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "thread %d exited",
				       (int)tid);
	return tp_error_os(errno, NULL, "cannot %s thread %d", what, (int)tid);
}

/*
 * Let @tid run to its next ptrace stop that is not a signal-delivery stop
 * and return that stop's wait status.  Resuming a thread from the stop the
 * freeze left it in goes on through the kernel's signal delivery, which
 * hands us every pending signal first: those are suppressed here, added to
 * *@caught, and queued again before the thread is let go (requeue()).
 */
static struct tp_error *next_stop(pid_t tid, uint64_t *caught, int *ret)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL) < 0)
			return ptrace_error(tid, "resume");
		int st;
		pid_t p;
		while ((p = waitpid(tid, &st, __WALL)) < 0 && errno == EINTR)
			;
		if (p != tid)
			return ptrace_error(tid, "wait for");
		if (!WIFSTOPPED(st))
			return tp_error_create(TP_ERR_EXITED, "thread %d exited",
					       (int)tid);
		int s = WSTOPSIG(st);
		if (s == (SIGTRAP | 0x80) || (st >> 16) != 0) {
			*ret = st;
			return NULL;
		}
		if (s > 0 && s <= 64)
			*caught |= 1ull << (s - 1);
	}
}

/*
 * Put @tid, back at its own registers, into the stop it was in before the
 * call: queue again the signals the call took from it (@caught), interrupt
 * it and let it go: it stops in the kernel's signal delivery before it
 * takes any signal, where the freeze had stopped it.  When it is let go
 * from there, the kernel delivers those signals and finishes a system call
 * the freeze interrupted as it would have without us: made again when no
 * handler runs, EINTR when one does (the thread's own rax and orig_rax say
 * which call and how to restart it).  A signal-delivery stop that comes
 * first (there should be none) is kept in *@resend for the detach.
 */
static struct tp_error *requeue(pid_t tid, uint64_t caught, int *resend)
{
	for (int s = 1; s <= 64; s++)
		if ((caught & (1ull << (s - 1))) &&
		    syscall(SYS_tkill, tid, s) < 0)
			return ptrace_error(tid, "signal");
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 ||
	    ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		return ptrace_error(tid, "resume");
	for (;;) {
		int st;
		pid_t p;
		while ((p = waitpid(tid, &st, __WALL)) < 0 && errno == EINTR)
			;
		if (p != tid)
			return ptrace_error(tid, "wait for");
		if (!WIFSTOPPED(st))
			return tp_error_create(TP_ERR_EXITED, "thread %d exited",
					       (int)tid);
		if ((st >> 16) == PTRACE_EVENT_STOP)
			return NULL;
		if ((st >> 16) == 0 && WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			*resend = WSTOPSIG(st);
			return NULL;
		}
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return ptrace_error(tid, "resume");
	}
}

struct tp_error *tp_inject_syscall(pid_t tid, const elf_gregset_t regs,
				   uint64_t gadget, long nr,
				   const uint64_t args[6], unsigned options,
				   int *resend, struct tp_inject_result *ret)
{
	struct user_regs_struct saved, r;
	_Static_assert(sizeof(saved) == sizeof(elf_gregset_t),
		       "user_regs_struct is the NT_PRSTATUS register set");
	memcpy(&saved, regs, sizeof(saved));
	r = saved;
	/* no restart of an interrupted call on the way to the gadget */
	r.orig_rax = (uint64_t)-1;
	r.rip = gadget;
	r.rax = (uint64_t)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	*ret = (struct tp_inject_result){ 0 };
	/* a signal the freeze took is queued again with the others */
	uint64_t caught = 0;
	if (*resend > 0 && *resend <= 64)
		caught |= 1ull << (*resend - 1);

	if (ptrace(PTRACE_SETOPTIONS, tid, NULL,
		   (void *)(uintptr_t)(PTRACE_O_TRACESYSGOOD | options)) < 0)
		return ptrace_error(tid, "set options of");
	struct tp_error *err = NULL;
	if (ptrace(PTRACE_SETREGS, tid, NULL, &r) < 0) {
		err = ptrace_error(tid, "set registers of");
		goto out;
	}
	/* entry stop, then event stops (a clone's), then the exit stop */
	int st = 0;
	bool entered = false;
	for (;;) {
		if ((err = next_stop(tid, &caught, &st)))
			goto restore;
		int event = st >> 16;
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long msg;
			if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
				ret->child = (pid_t)msg;
			continue;
		}
		if (event)
			continue;  /* a group stop or an interrupt: go on */
		if (entered)
			break;
		entered = true;
	}
	struct user_regs_struct after;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &after) < 0) {
		err = ptrace_error(tid, "read registers of");
		goto restore;
	}
	ret->ret = (int64_t)after.rax;
restore:
	if (ptrace(PTRACE_SETREGS, tid, NULL, &saved) < 0 && !err)
		err = ptrace_error(tid, "restore registers of");
out:
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, NULL) < 0 && !err)
		err = ptrace_error(tid, "reset options of");
	if (!err) {
		*resend = 0;
		err = requeue(tid, caught, resend);
	}
	return err;
}

#else /* not x86-64 */

struct tp_error *tp_inject_find_gadget(const struct tp_vdso_copy *v,
				       pid_t pid, uint64_t *ret)
{
	(void)v;
	(void)pid;
	(void)ret;
	return tp_error_create(TP_ERR_UNSUPPORTED,
			       "system call injection is x86-64 only");
}

struct tp_error *tp_inject_syscall(pid_t tid, const elf_gregset_t regs,
				   uint64_t gadget, long nr,
				   const uint64_t args[6], unsigned options,
				   int *resend, struct tp_inject_result *ret)
{
	(void)tid, (void)regs, (void)gadget, (void)nr, (void)args;
	(void)options, (void)resend, (void)ret;
	return tp_error_create(TP_ERR_UNSUPPORTED,
			       "system call injection is x86-64 only");
}

#endif

struct tp_error *tp_vdso_copy_read(pid_t pid, uint64_t vdso,
				   struct tp_vdso_copy *ret)
{
	ret->base = vdso;
	ret->len = 0;
	if (!vdso)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "process %d has no vDSO", (int)pid);
	struct iovec local = { ret->bytes, sizeof(ret->bytes) };
	struct iovec remote = { (void *)(uintptr_t)vdso, sizeof(ret->bytes) };
	/* a short read: the vDSO is smaller; the rest is not searched */
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0 && errno == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "process %d exited",
				       (int)pid);
	if (n <= 0)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "the vDSO of process %d cannot be read",
				       (int)pid);
	ret->len = (size_t)n;
	return NULL;
}
