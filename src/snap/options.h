/* SPDX-License-Identifier: MIT */
/* tripod-snap's command line. */
#ifndef TRIPOD_SNAP_OPTIONS_H
#define TRIPOD_SNAP_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/** Interval when neither --interval nor TRIPOD_INTERVAL is given. */
#define TP_SNAP_DEFAULT_INTERVAL 5.0
/** keep without --keep: every snapshot (TP_STORE_KEEP_ALL). */
#define TP_SNAP_KEEP_ALL ULONG_MAX

struct tp_snap_options {
	double interval;        /* seconds between snapshot starts, > 0 */
	const char *outdir;     /* -o DIR, or NULL for a new tripod_XXXXXX */
	unsigned long count;    /* stop after this many snapshots; 0: no limit */
	double duration;        /* stop sampling after this many seconds; 0: none */
	pid_t pid;              /* --pid, or 0 in COMMAND mode */
	char **command;         /* COMMAND [ARG...], NULL-terminated (COMMAND mode) */
	bool subprocesses;      /* follow child processes too */
	const char *log;        /* --log FILE ("-": stderr), or NULL */
	unsigned long keep;     /* --keep N; TP_SNAP_KEEP_ALL without it */
	uint64_t max_size;      /* --max-size, bytes; 0: no limit */
	bool standalone;        /* --standalone: single-file .core.gz */
	bool force_outdir;      /* --force-outdir: DIR may be another's */
	bool stop_and_copy;     /* --capture=copy */
	bool native;            /* --native: record native stacks */
	bool quiet;
	bool help;
	bool version;
};

/**
 * Parse @argv.  @env_interval is the value of TRIPOD_INTERVAL (or NULL); it
 * is used when --interval is not given.  The result points into @argv.  A bad
 * command line gives a TP_ERR_INVALID error whose message is one line fit for
 * "tripod-snap: <message>".  With --help or --version set, nothing else is
 * checked.
 */
struct tp_error *tp_snap_options_parse(int argc, char **argv,
				       const char *env_interval,
				       struct tp_snap_options *ret);

/** The usage text printed by --help. */
extern const char tp_snap_usage[];

#endif /* TRIPOD_SNAP_OPTIONS_H */
