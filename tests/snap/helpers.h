/* SPDX-License-Identifier: MIT */
/* Shared by the snap tests: real targets, a real tripod-snap, real ptrace. */
#ifndef TRIPOD_TESTS_SNAP_HELPERS_H
#define TRIPOD_TESTS_SNAP_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SNAP_BIN TOP_BUILDDIR "/src/tripod-snap"
#define ANALYZE_BIN TOP_BUILDDIR "/src/tripod-analyze"
#define TARGET_PARK TOP_BUILDDIR "/tests/snap/target_park"
#define TARGET_SPAWN TOP_BUILDDIR "/tests/snap/target_spawn"
#define TARGET_VFORK TOP_BUILDDIR "/tests/snap/target_vfork"
#define TARGET_SLEEP TOP_BUILDDIR "/tests/snap/target_sleep"

/** A target program started by a test, and what it printed when ready. */
struct target {
	pid_t pid;
	uint64_t global, heap, heaplen, counter;
};

/** Skip the test (cr_skip_test) unless this process may ptrace a child. */
void skip_unless_ptrace(void);

/**
 * Start @argv (a target program) with stdout on a pipe and parse its ready
 * line into @t.  Fails the test if it does not start.
 */
void target_start(struct target *t, char *const argv[]);

/** Parse a "ready pid=..." line into @t; false if it is not one. */
bool target_parse(const char *line, struct target *t);

/** SIGKILL the target and reap it. */
void target_kill(struct target *t);

/** The target's counter, read with process_vm_readv. */
uint64_t target_counter(const struct target *t);

/**
 * Assert that no thread of @t is stopped (t or T in /proc/PID/task/N/stat)
 * and that its counter goes on growing.
 */
void assert_target_runs(const struct target *t);

/** True when every thread of @pid is in a ptrace stop ('t'). */
bool all_threads_traced(pid_t pid);

/**
 * Wait (up to @ms milliseconds) until all threads of @pid are in a ptrace
 * stop; false on timeout.
 */
bool wait_frozen(pid_t pid, int ms);

/** A new empty directory under /tmp (free() the path). */
char *make_tmpdir(void);

/** Remove @dir and everything in it (rm -rf). */
void remove_tree(const char *dir);

/**
 * Start tripod-snap with @args (NULL-terminated, without argv[0]) and extra
 * environment @env ("NAME=VALUE" strings, NULL-terminated, or NULL); its
 * stderr goes to a file read by snap_finish().  If @out_fd is not NULL its
 * stdout comes back as a pipe there.
 */
pid_t snap_start(char *const args[], char *const env[], int *out_fd);

/** snap_start() as user and group @uid (when not -1). */
pid_t snap_start_as(uid_t uid, char *const args[], char *const env[],
		    int *out_fd);

/**
 * Wait for tripod-snap @pid (up to @ms milliseconds, then the test fails)
 * and return its wait status; its stderr in *@err (free() it) if @err is
 * not NULL.
 */
int snap_finish(pid_t pid, int ms, char **err);

/** snap_start() + snap_finish(). */
int snap_run(char *const args[], char *const env[], int ms, char **err);

/** Names of snapshot-*.tripod and *.core.gz files in @dir, sorted, count
 * in *@n. */
char **list_snapshots(const char *dir, size_t *n);
void free_list(char **v, size_t n);

/** Entries of @dir other than snapshots and the block store (temporaries
 * left?). */
size_t count_other_files(const char *dir);

/** Read a whole file (NUL-terminated); NULL on error. */
char *read_file(const char *path, size_t *len);

/** Run a shell command, return its wait status; stdout in *@out if set. */
int run_shell(const char *cmd, char **out);

/** tripod-analyze --export-core @dir/@name -o @out (asserts success). */
void export_core(const char *dir, const char *name, const char *out);

#endif
