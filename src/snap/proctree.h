/* SPDX-License-Identifier: MIT */
/*
 * Finding the descendants of a process (tripod-snap --subprocesses).
 *
 * Nothing is traced between snapshots, so children are found by reading
 * the parent of every process in /proc at each sampling tick: a process
 * joins the tree when its parent is in it.  A process stays in the tree
 * once found, whoever becomes its parent later (an orphan is reparented to
 * init or to a subreaper), as long as it is the same process: pids are
 * reused, so a process is known by its pid and its start time together.
 * A child that is born and dies between two ticks is never seen, as it
 * would never have been sampled anyway.
 */
#ifndef TRIPOD_SNAP_PROCTREE_H
#define TRIPOD_SNAP_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/** Cap on the processes of one tree tripod-snap follows. */
#define TP_PROCTREE_MAX 4096

struct tp_proc_id {
	pid_t pid;
	unsigned long long starttime;   /* clock ticks after boot */
	pid_t ppid;                     /* parent when last seen */
};

/** The start time of process @pid (TP_ERR_EXITED when it is gone). */
struct tp_error *tp_proc_starttime(pid_t pid, unsigned long long *ret);

/**
 * Find the processes that joined the tree since the last call.  The tree is
 * @known[0..@nknown) (processes already followed, alive or not) plus
 * @extra_root, a process whose children belong to the tree without it
 * belonging itself (tripod-snap as a subreaper: orphans come to it), or 0;
 * @exclude is a process never to add (tripod-snap's own helper), or 0.
 * The new processes, parents before children, go into a new array in *@ret
 * (free() it), their number in *@ret_n.  A process that exits during the
 * scan is left out.
 */
struct tp_error *tp_proctree_scan(const struct tp_proc_id *known,
				  size_t nknown, pid_t extra_root,
				  pid_t exclude, struct tp_proc_id **ret,
				  size_t *ret_n);

#endif /* TRIPOD_SNAP_PROCTREE_H */
