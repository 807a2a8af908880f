/* SPDX-License-Identifier: MIT */
/*
 * Integration test support: find interpreters, run a fixture scenario in a
 * real interpreter, snapshot it with tripod-snap, analyze it with
 * tripod-analyze, and compare with the truth the fixture recorded.
 */
#ifndef TRIPOD_TESTS_HARNESS_H
#define TRIPOD_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct interp {
	const char *id;        /* test suite name: "py3_12" */
	const char *version;   /* "3.12" */
	char path[4096];       /* the interpreter, "" if absent */
	char why[8448];         /* why absent */
	char gdb_script[4096]; /* pythonX.Y-gdb.py, "" if absent */
	/* the ELF file gdb opens, when @path is a wrapper script; "" = path */
	char gdb_exe[4096];
	/*
	 * Separate debug info outside /usr/lib/debug (tripod-analyze
	 * --debuginfo-path, gdb's debug-file-directory); "" = the default.
	 */
	char debuginfo_dir[4096];
	/*
	 * Analyze without the interpreter's separate debug info: point
	 * tripod-analyze's --debuginfo-path at an empty directory.
	 */
	bool hide_debuginfo;
};

/** Look for @version: pyenv (highest patch release) or a system path. */
bool harness_find_pyenv(struct interp *in, const char *version);
bool harness_find_system(struct interp *in, const char *path);
/**
 * Debian sid's Python @version as tools/fetch-sid-python.sh leaves it in
 * its cache ($TRIPOD_SID_CACHE, else ~/.cache/tripod/sid): the wrapper that
 * runs it through sid's loader, the real binary for gdb, its debug info
 * directory.  When the helper could not fetch it, @in->why is the helper's
 * one-line reason.
 */
bool harness_find_sid(struct interp *in, const char *version);
/** The major version of /usr/bin/gdb, 0 if unknown. */
int harness_gdb_major(void);
/**
 * For a stripped system interpreter: is its separate debug info installed
 * (/usr/lib/debug/.build-id/XX/YYYY.debug)?  If not, @in->why says so.
 */
bool harness_has_debuginfo(struct interp *in, const char *package);
/** Does @in's version lie in [@lo, @hi] ("3.6", "3.8")? */
bool harness_version_between(const struct interp *in, const char *lo,
			     const char *hi);

/** Run @argv, stdout to @out_path (or NULL), stderr appended to the log.
 *  Returns the exit status (128+sig on a signal, -1 when it cannot run). */
int harness_run(char *const argv[], const char *out_path,
		const char *err_path, int timeout_s);

struct scenario_run {
	char dir[256];         /* scratch directory, unique per test */
	pid_t pid;             /* the target */
	char truth[300], snaps[300], json[300], text[300];
	char log[300];
	char nodebug[300];     /* an empty directory (hide_debuginfo) */
	bool hide_debuginfo;
	char debuginfo_dir[4096]; /* --debuginfo-path, "" = default */
	/* one more tripod-analyze option for both runs, or NULL */
	const char *analyze_arg;
};

/**
 * Start @script (fixtures/scenarios/...) under @in and wait until it has
 * recorded its truth and its recorder threads are gone (the truth says
 * how many OS threads remain: "os_threads").  A script that exits with
 * status 77 before recording lacks a feature of this version: the test is
 * skipped with the script's message.  Fails the test on other errors.
 */
void harness_start(struct scenario_run *r, const struct interp *in,
		   const char *script);
/**
 * tripod-snap two snapshots, tripod-analyze both (json: the second is
 * decoded with what tripod-analyze kept from the first) and the first
 * (dogslow).
 */
void harness_snapshot_and_analyze(struct scenario_run *r);
/** Compare with the truth (tests/integration/compare_truth.py). */
void harness_compare(struct scenario_run *r, bool dogslow);
/**
 * Export the snapshot to a core (tripod-analyze --export-core), run gdb
 * with the interpreter's pythonX.Y-gdb.py
 * (`thread apply all py-bt`) and check it lists the same Python frames as
 * tripod-analyze (tests/integration/compare_gdb.py).
 */
void harness_gdb_crosscheck(struct scenario_run *r, const struct interp *in,
			    bool lines);
/** Kill the target and remove the scratch directory. */
void harness_finish(struct scenario_run *r);

/** Contents of a small text file (malloc'd), or NULL. */
char *harness_slurp(const char *path);

#endif /* TRIPOD_TESTS_HARNESS_H */
