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
};

/** Look for @version: pyenv (highest patch release) or a system path. */
bool harness_find_pyenv(struct interp *in, const char *version);
bool harness_find_system(struct interp *in, const char *path);

/** Run @argv, stdout to @out_path (or NULL), stderr appended to the log.
 *  Returns the exit status (128+sig on a signal, -1 when it cannot run). */
int harness_run(char *const argv[], const char *out_path,
		const char *err_path, int timeout_s);

struct scenario_run {
	char dir[256];         /* scratch directory */
	pid_t pid;             /* the target */
	char truth[300], snaps[300], json[300], text[300];
	char log[300];
};

/**
 * Start @script (fixtures/scenarios/...) under @in and wait until it has
 * recorded its truth and has @nthreads threads.  Fails the test on error.
 */
void harness_start(struct scenario_run *r, const struct interp *in,
		   const char *script, int nthreads);
/** tripod-snap one snapshot, tripod-analyze it (json and dogslow). */
void harness_snapshot_and_analyze(struct scenario_run *r);
/** Compare with the truth (tests/integration/compare_truth.py). */
void harness_compare(struct scenario_run *r, bool dogslow);
/**
 * gunzip the snapshot, run gdb with the interpreter's pythonX.Y-gdb.py
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
