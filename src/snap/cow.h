/* SPDX-License-Identifier: MIT */
/*
 * The copy-on-write snapshot: a clone of the frozen target.
 *
 * Copying a large process while it is stopped costs the target as long as
 * the copy takes.  Instead, while every thread is stopped, one of them is
 * made to call clone() (inject.h): the kernel gives the clone a
 * copy-on-write view of the whole address space at that instant, in the
 * time fork() takes.  The target runs again at once, and the memory is
 * read from the clone at leisure; then the clone is killed.
 *
 * The clone never runs a single instruction of the target: it is created
 * traced by us (PTRACE_O_TRACECLONE), so it starts in a ptrace stop, and
 * PTRACE_O_EXITKILL kills it should tripod-snap die.  It is invisible to
 * the target: exit signal 0 (no SIGCHLD; only a wait with __WALL sees such
 * a "clone child", which a program's waitpid(-1) does not do), CLONE_FILES
 * (it shares the file table rather than holding references to every open
 * file, so no socket stays open because of it), no atfork handler runs
 * (the raw system call, not libc's fork()), no lock or signal mask of the
 * target is touched.  Its zombie, which only the target could reap, is
 * reaped by a wait4() injected into the target at the next freeze and at
 * the end of the session.  The clone is named (prctl(PR_SET_NAME)) after
 * a string of the vDSO, TP_COW_NAME, which no program is called: should
 * tripod-snap be killed (SIGKILL) while a clone lives, the clone dies with
 * it and its zombie stays the target's until the target exits or a later
 * session's first clone reaps every zombie child of that name.
 *
 * While the clone lives, every page the target writes costs it a
 * copy-on-write fault: the clone is kept only as long as the copy takes.
 */
#ifndef TRIPOD_SNAP_COW_H
#define TRIPOD_SNAP_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "snap/freeze.h"
#include "snap/target.h"

/** What a session keeps between copy-on-write snapshots. */
struct tp_cow {
	uint64_t gadget;            /* a syscall instruction, 0: not found */
	unsigned long gadget_execs; /* ... for this exec of the target */
	pid_t zombie;               /* a dead clone to reap, as the target
				       numbers it; 0 if none */
	uint64_t name;              /* TP_COW_NAME in the vDSO, 0: none */
	bool strays_reaped;         /* ... those of earlier sessions */
};

/** The name of a clone: the vDSO's soname, which every vDSO holds. */
#define TP_COW_NAME "linux-vdso.so.1"

/**
 * Why the target cannot be cloned at all, or NULL: a seccomp filter (it
 * might refuse or kill on clone, and we cannot know which).  Read before
 * the freeze.
 */
const char *tp_cow_refusal(pid_t pid);

/**
 * In the freeze @f of target @t: reap the previous clone's zombie, then
 * clone the target.  On success *@ret_child is the clone (a stopped
 * tracee of ours) and *@ret_nspid its pid as the target knows it.  When
 * the clone cannot be made for a reason that a stop-and-copy snapshot
 * survives (no syscall instruction, RLIMIT_NPROC, a refusal), *@ret_child
 * is 0 and @why (@whylen bytes) says why; errors are for the rest
 * (TP_ERR_EXITED...).
 */
struct tp_error *tp_cow_clone(struct tp_cow *c, const struct tp_snap_target *t,
			      struct tp_freeze *f, pid_t *ret_child,
			      pid_t *ret_nspid, char *why, size_t whylen);

/**
 * Name clone @child (stopped, from tp_cow_clone()) TP_COW_NAME, by running
 * prctl(PR_SET_NAME) in it; after the thaw, since it costs the target
 * nothing then.  Best effort: an unnamed clone is only not found again
 * should tripod-snap be killed while it lives.
 */
void tp_cow_name(const struct tp_cow *c, pid_t child);

/**
 * Kill the clone @child and collect it; its zombie (@nspid in the target)
 * is then the target's to reap: recorded in @c for the next freeze.
 */
void tp_cow_release(struct tp_cow *c, pid_t child, pid_t nspid);

/**
 * At the end of a session: if a zombie is left, freeze the target @pid a
 * moment to reap it.  Best effort (the target may be gone).
 */
void tp_cow_finish(struct tp_cow *c, pid_t pid);

#endif /* TRIPOD_SNAP_COW_H */
