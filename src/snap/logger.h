/* SPDX-License-Identifier: MIT */
/*
 * The live log (tripod-snap --log): each snapshot decoded into the Dogslow
 * report as soon as it is written, appended to a file, as the original
 * tripod's watchdog appended tracebacks while the script ran.
 *
 * Decoding costs far more than a snapshot and must never delay a sampling
 * tick, nor run while the target is frozen: it runs in a separate process
 * (forked at start, niced) that reads snapshot paths from a pipe.  Paths
 * queue in the pipe while the worker is busy.  The worker drains the queue
 * and exits when the pipe closes, also when tripod-snap itself dies, so
 * that every snapshot written is in the log.
 */
#ifndef TRIPOD_SNAP_LOGGER_H
#define TRIPOD_SNAP_LOGGER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

struct tp_logger {
	pid_t worker;    /* the decoding process, 0 when none */
	int fd;          /* write end of its queue */
	int done_fd;     /* read end: a byte per snapshot logged */
	unsigned long submitted, done;
	int status;      /* its wait status once reaped, else -1 */
};

/**
 * Open (create 0600, append) the log @path ("-": standard error) and start
 * the worker.  Errors: TP_ERR_OS when the file cannot be opened or the
 * process not started.  @debuginfo_path as tripod-analyze's (NULL: libdwfl's
 * default).
 */
struct tp_error *tp_logger_start(const char *path, const char *debuginfo_path,
				 struct tp_logger *ret);

/**
 * Queue @snapshot_path for the log.  Never blocks for long: the queue is a
 * pipe, and a full one (the worker far behind) drops the path with an
 * error (TP_ERR_LIMIT) rather than stall the sampler.
 */
struct tp_error *tp_logger_submit(struct tp_logger *lg,
				  const char *snapshot_path);

/**
 * How many snapshots queued are not logged yet (0 without a log).  They
 * must stay until they are (--keep counts them out).  Never blocks.
 */
unsigned long tp_logger_pending(struct tp_logger *lg);

/**
 * Record that the worker's wait status @status was collected by someone
 * else (a waitpid(-1) loop); true if @pid was the worker.
 */
bool tp_logger_reaped(struct tp_logger *lg, pid_t pid, int status);

/**
 * Close the queue and wait until the worker has logged every snapshot
 * queued.  Returns false if the worker failed (it said why on stderr).
 */
bool tp_logger_finish(struct tp_logger *lg);

#endif /* TRIPOD_SNAP_LOGGER_H */
