/* SPDX-License-Identifier: MIT */
/*
 * One snapshot: captured inside a freeze (tp_snap_capture), then written
 * after the target runs again (tp_snap_write).  The session holds what lasts
 * across snapshots: the target's fixed facts, the output directory, the
 * sequence number, the build-id cache.
 */
#ifndef TRIPOD_SNAP_SNAPSHOT_H
#define TRIPOD_SNAP_SNAPSHOT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "core/nstacks.h"
#include "core/sockets.h"
#include "core/store.h"
#include "snap/buildid.h"
#include "snap/capture.h"
#include "snap/cow.h"
#include "snap/freeze.h"
#include "snap/target.h"

/*
 * Test hook: when the environment variable TRIPOD_TEST_FREEZE_DELAY_MS is
 * set to N > 0, every freeze lasts N milliseconds longer (the wait comes
 * after all threads are stopped, before memory is copied), so that tests
 * can deliver signals or kill the target while it is stopped.  Not for
 * users; not in the man page.
 */
#define TP_SNAP_TEST_DELAY_ENV "TRIPOD_TEST_FREEZE_DELAY_MS"
/* Likewise, after the freeze while the copy-on-write clone lives. */
#define TP_SNAP_TEST_CLONE_DELAY_ENV "TRIPOD_TEST_CLONE_DELAY_MS"

struct tp_snap_session {
	struct tp_snap_target target;
	char *dir;                 /* output directory */
	double interval;           /* for the note */
	unsigned long seq;         /* number of the last snapshot written */
	struct tp_buildid_cache buildids;
	unsigned test_delay_ms, test_clone_delay_ms;
	bool python;               /* the last snapshot written found Python */
	/*
	 * The block store of @dir (doc/snapshot-format.md), opened (and
	 * locked) by tp_snap_session_init(), or shared with another session
	 * of the same directory (one per process with --subprocesses).
	 */
	struct tp_store *store;
	bool own_store;
	char *subdir;              /* this process's series ("PID"), or NULL */
	/* Write single-file .core.gz snapshots instead (--standalone). */
	bool standalone;
	/* Copy memory while stopped instead of cloning (--capture=copy). */
	bool stop_and_copy;
	struct tp_cow cow;
	/* threads a freeze could not stop, still ours (freeze.h) */
	struct tp_freeze_stuck stuck;
	/* --native: record every thread's native stack (snap/native.h) */
	bool native;
};

/** A snapshot held in memory between capture and write. */
struct tp_snap {
	struct tp_freeze freeze;       /* threads and their registers */
	struct tp_capture mem;
	struct tp_proc_stat stat;      /* read just before the freeze */
	char *cwd;
	struct timespec time;          /* when the freeze started (UTC) */
	uint64_t freeze_us;            /* how long the target was stopped */
	/*
	 * The copy-on-write clone whose memory @mem reads (pull segments are
	 * read from it while the snapshot is written), killed by
	 * tp_snap_deinit(); 0 for a stop-and-copy snapshot.
	 */
	pid_t child, child_nspid;
	struct tp_cow *cow;            /* the session's, for the release */
	const char *method;            /* "clone" or "stop-and-copy" */
	char why_copy[160];            /* why not cloned, "" if asked so */
	/* --native: the stacks, unwound after the freeze from the copy */
	struct tp_nstacks native;
	bool have_native;
	uint64_t native_us;            /* how long unwinding them took */
	/* the sockets' addresses, read in the freeze (snap/sockets.h) */
	struct tp_sockets sockets;
	bool have_sockets;
};

/**
 * Start a session on process @pid writing into the existing directory
 * @dir, or into its existing subdirectory @subdir (NULL: @dir itself).
 * The block store of @dir is @shared's (a session of the same @dir that
 * outlives this one), or with @shared NULL opened and locked by this
 * session.  Numbering continues after the highest snapshot-NNNNNN.tripod
 * or .core.gz already in @dir/@subdir (from 1 in an empty one), so that no
 * snapshot is ever overwritten.  Errors as tp_snap_target_open(), and
 * TP_ERR_INVALID when another tripod-snap writes @dir.
 */
struct tp_error *tp_snap_session_init(struct tp_snap_session *s, pid_t pid,
				      const char *dir, const char *subdir,
				      const struct tp_snap_session *shared,
				      double interval);
void tp_snap_session_deinit(struct tp_snap_session *s);

/**
 * Freeze the target, copy its registers and memory, resume it.  The target
 * runs again when this returns, whatever it returns.  Errors: TP_ERR_EXITED
 * when the target is gone (*@leader_status then holds its wait status if
 * this call collected it, else -1); TP_ERR_OS with errnum EPERM when ptrace
 * is refused; others.  On error @ret holds nothing to free.
 */
struct tp_error *tp_snap_capture(struct tp_snap_session *s,
				 struct tp_snap *ret, int *leader_status);

/**
 * Write @snap as DIR/snapshot-NNNNNN.tripod (the next number; mode 0600)
 * and its new blocks in DIR/blocks, or with @s->standalone as
 * DIR/snapshot-NNNNNN.core.gz, through temporary files renamed into place
 * when complete: on error (a full disk) nothing of it is left behind and
 * earlier snapshots are untouched.  Its tripod note (doc/snapshot-format.md)
 * says in its key python whether the process ran a Python interpreter
 * (@s->python too).  The path written goes to *@ret_path (free() it) if
 * @ret_path is not NULL.
 */
struct tp_error *tp_snap_write(struct tp_snap_session *s,
			       const struct tp_snap *snap, char **ret_path);

/**
 * --keep and --max-size (doc/snapshot-format.md, "Retention"): keep the
 * newest @keep snapshots of each series (TP_STORE_KEEP_ALL: all), then
 * drop the oldest until the directory holds at most @max_size bytes (0: no
 * limit), never @newest (the snapshot just written).  *@over is set when
 * @newest alone is larger than @max_size.  Call it after each write.
 */
struct tp_error *tp_snap_retain(struct tp_snap_session *s, unsigned long keep,
				uint64_t max_size, const char *newest,
				bool *over);

void tp_snap_deinit(struct tp_snap *snap);

#endif /* TRIPOD_SNAP_SNAPSHOT_H */
