/* SPDX-License-Identifier: MIT */
/*
 * Running one system call in a stopped thread of the target, on its
 * behalf: the kernel then does for us what only the process itself may do
 * (clone a copy of its address space, reap its own children).  No code of
 * the target runs, nothing is written into its memory: the thread's
 * registers are pointed at a `syscall` instruction that already exists in
 * its address space, the thread is let through that one instruction under
 * PTRACE_SYSCALL, and its registers are put back.
 *
 * x86-64 only; elsewhere every call fails with TP_ERR_UNSUPPORTED.
 */
#ifndef TRIPOD_SNAP_INJECT_H
#define TRIPOD_SNAP_INJECT_H

#include <stdint.h>
#include <sys/procfs.h>
#include <sys/types.h>

#include "common/error.h"

/** The first bytes of a process's vDSO, read once per program it runs. */
struct tp_vdso_copy {
	uint64_t base;             /* AT_SYSINFO_EHDR */
	size_t len;                /* bytes read (a short vDSO: fewer) */
	unsigned char bytes[16384];
};

/**
 * Copy the vDSO of process @pid (@vdso: AT_SYSINFO_EHDR from its auxv)
 * into @ret.  TP_ERR_UNSUPPORTED when it has none or it cannot be read,
 * TP_ERR_EXITED when the process is gone.
 */
struct tp_error *tp_vdso_copy_read(pid_t pid, uint64_t vdso,
				   struct tp_vdso_copy *ret);

/**
 * The address of a `syscall` instruction (bytes 0f 05) in the vDSO
 * copied in @v (of process @pid, named in errors).  TP_ERR_UNSUPPORTED
 * when there is none.
 */
struct tp_error *tp_inject_find_gadget(const struct tp_vdso_copy *v,
				       pid_t pid, uint64_t *ret);

struct tp_inject_result {
	int64_t ret;        /* the system call's return value (-errno) */
	pid_t child;        /* PTRACE_EVENT_CLONE/FORK: the new task, else 0 */
};

/**
 * Run system call @nr with @args in thread @tid, which must be in a ptrace
 * stop of ours (seized with PTRACE_SEIZE) with registers @regs (as read in
 * that stop, NT_PRSTATUS layout).  @options are added to the thread's
 * ptrace options for the call (PTRACE_O_TRACECLONE to be given a clone's
 * child); they are reset after.  On return the thread is again stopped in
 * the kernel's signal delivery with its registers as they were: a system
 * call the freeze interrupted ends as it would have without us (made again,
 * or EINTR when a handler runs).  Signals that arrive meanwhile, and the
 * one in *@resend (a signal-delivery stop of the freeze), are queued to the
 * thread again (their siginfo then names tripod-snap, not the sender) and
 * *@resend is 0 unless the thread ends in a signal-delivery stop.  Errors:
 * TP_ERR_EXITED (the thread died), TP_ERR_OS.
 */
struct tp_error *tp_inject_syscall(pid_t tid, const elf_gregset_t regs,
				   uint64_t gadget, long nr,
				   const uint64_t args[6], unsigned options,
				   int *resend, struct tp_inject_result *ret);

#endif /* TRIPOD_SNAP_INJECT_H */
