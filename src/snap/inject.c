/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "snap/inject.h"

#if defined(__x86_64__)
#include <sys/syscall.h>
#include <sys/user.h>

/* How much of the vDSO is searched for a syscall instruction. */
#define VDSO_SCAN 16384

/* Kernel-internal errors a system call interrupted by a stop returns. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

struct tp_error *tp_inject_find_gadget(pid_t pid, uint64_t vdso,
				       uint64_t *ret)
{
	if (!vdso)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "process %d has no vDSO", (int)pid);
	static unsigned char buf[VDSO_SCAN];
	struct iovec local = { buf, sizeof(buf) };
	struct iovec remote = { (void *)(uintptr_t)vdso, sizeof(buf) };
	/* a short read: the vDSO is smaller; search what was read */
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0 && errno == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "process %d exited",
				       (int)pid);
	/*
	 * Any 0f 05 in the executable vDSO will do, even one inside another
	 * instruction or in data: the processor decodes from where rip
	 * points, and only that one instruction runs.
	 */
	for (ssize_t i = 0; i + 1 < n; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			*ret = vdso + (uint64_t)i;
			return NULL;
		}
	}
	return tp_error_create(TP_ERR_UNSUPPORTED,
			       "no syscall instruction in the vDSO of process %d",
			       (int)pid);
}

/*
 * The registers to put back: @r as stopped, but a system call the stop
 * interrupted rolled back to its `syscall` instruction, to be made again.
 *
 * A thread stopped inside a blocking call (futex, read, nanosleep...) has
 * orig_rax = the call and rax = one of the kernel's restart codes.  Left
 * alone, the kernel's signal-return path restarts the call when the thread
 * resumes -- but only on the way out of that very stop, and the injection
 * leaves it through a syscall-exit stop instead.  So we do what that path
 * would have done with no handler to run: rax = the call (or
 * restart_syscall for a call that saved its state in the restart block,
 * like nanosleep), rip back over the 2-byte instruction; and orig_rax = -1
 * so that nothing restarts twice.
 */
static void rolled_back(struct user_regs_struct *r)
{
	if ((int64_t)r->orig_rax >= 0) {
		switch (-(int64_t)r->rax) {
		case ERESTARTSYS:
		case ERESTARTNOINTR:
		case ERESTARTNOHAND:
			r->rax = r->orig_rax;
			r->rip -= 2;
			break;
		case ERESTART_RESTARTBLOCK:
			r->rax = SYS_restart_syscall;
			r->rip -= 2;
			break;
		default:
			break;
		}
	}
	r->orig_rax = (uint64_t)-1;
}

static struct tp_error *ptrace_error(pid_t tid, const char *what)
{
	if (errno == ESRCH)
		return tp_error_create(TP_ERR_EXITED, "thread %d exited",
				       (int)tid);
	return tp_error_os(errno, NULL, "cannot %s thread %d", what, (int)tid);
}

/*
 * Let @tid run to its next ptrace stop that is not a signal (which is kept
 * in *@resend and suppressed) and return that stop's wait status.
 */
static struct tp_error *next_stop(pid_t tid, int *resend, int *ret)
{
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tid, NULL, (void *)(uintptr_t)sig) < 0)
			return ptrace_error(tid, "resume");
		sig = 0;
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
		/* a signal-delivery stop: give it back on detach */
		if (!*resend)
			*resend = s;
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
	rolled_back(&saved);
	r = saved;
	r.rip = gadget;
	r.rax = (uint64_t)nr;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	*ret = (struct tp_inject_result){ 0 };

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
		if ((err = next_stop(tid, resend, &st)))
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
	return err;
}

#else /* not x86-64 */

struct tp_error *tp_inject_find_gadget(pid_t pid, uint64_t vdso,
				       uint64_t *ret)
{
	(void)pid;
	(void)vdso;
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
