/* SPDX-License-Identifier: MIT */
/*
 * tripod-snap: run a command (or watch a running process) and write a
 * snapshot of it, a gzip'd ELF core, every interval.
 *
 * Exit status:
 *   0    --pid mode: sampling ended normally (COUNT snapshots taken,
 *        --duration passed, the target exited, or SIGINT/SIGTERM/SIGHUP)
 *   N    COMMAND mode: the command's exit status, 128+S if signal S
 *        killed it (as a shell reports it)
 *   1    a snapshot could not be taken for another reason (out of memory,
 *        an unexpected system error)
 *   64   bad usage
 *   66   --pid: no such process
 *   73   the output directory cannot be created or written
 *   74   a snapshot could not be written (e.g. the disk is full); earlier
 *        snapshots stay, no partial file is left
 *   77   permission denied: tracing needs CAP_SYS_PTRACE or the target's
 *        user
 *   126  COMMAND cannot be executed
 *   127  COMMAND not found
 * In COMMAND mode an error after the command started (1, 74, 77) stops
 * sampling at once; tripod-snap still waits for the command, then exits
 * with the error's status.  The target is never left stopped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "snap/options.h"
#include "snap/snapshot.h"

enum {
	EXIT_ERROR = 1,
	EXIT_USAGE = 64,
	EXIT_NOPROC = 66,
	EXIT_OUTDIR = 73,
	EXIT_WRITE = 74,
	EXIT_PERM = 77,
	EXIT_NOEXEC = 126,
	EXIT_NOTFOUND = 127,
};

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tripod-snap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Report @err (and destroy it); return the exit status it calls for. */
static int report_error(struct tp_error *err, pid_t pid)
{
	int code = EXIT_ERROR;
	if (err->code == TP_ERR_EXITED) {
		report("no such process: %d", (int)pid);
		code = EXIT_NOPROC;
	} else if (err->code == TP_ERR_OS &&
		   (err->errnum == EPERM || err->errnum == EACCES)) {
		report("%s (tracing process %d needs CAP_SYS_PTRACE or the same user)",
		       tp_error_message(err), (int)pid);
		code = EXIT_PERM;
	} else {
		report("%s", tp_error_message(err));
	}
	tp_error_destroy(err);
	return code;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Make (or check) the output directory; its path in *@ret (free() it). */
static struct tp_error *prepare_outdir(const char *want, char **ret)
{
	char *dir;
	if (!want) {
		const char *tmp = getenv("TMPDIR");
		if (!tmp || !tmp[0])
			tmp = "/tmp";
		if (asprintf(&dir, "%s/tripod_XXXXXX", tmp) < 0)
			return &tp_error_nomem;
		if (!mkdtemp(dir)) {  /* mode 0700 */
			struct tp_error *err = tp_error_os(
				errno, NULL,
				"cannot create an output directory in %s", tmp);
			free(dir);
			return err;
		}
		*ret = dir;
		return NULL;
	}
	if (!(dir = strdup(want)))
		return &tp_error_nomem;
	if (mkdir(dir, 0700) == 0) {
		chmod(dir, 0700);  /* whatever the umask */
	} else if (errno != EEXIST) {
		struct tp_error *err = tp_error_os(
			errno, dir, "cannot create output directory");
		free(dir);
		return err;
	}
	/*
	 * Try a file in it: access() would say yes to root on a read-only
	 * mount, and says nothing about a full disk's inode table.
	 */
	char *probe;
	if (asprintf(&probe, "%s/.tripod-probe-XXXXXX", dir) < 0) {
		free(dir);
		return &tp_error_nomem;
	}
	int fd = mkostemp(probe, O_CLOEXEC);
	if (fd < 0) {
		struct tp_error *err = tp_error_os(
			errno, dir, "cannot write to output directory");
		free(probe);
		free(dir);
		return err;
	}
	close(fd);
	unlink(probe);
	free(probe);
	*ret = dir;
	return NULL;
}

/*
 * Start @argv with the signal mask @mask.  Returns the child, or -1 with
 * the exit status for a command that could not be run in *@ret_status
 * (after reporting it).
 */
static pid_t start_command(char **argv, const sigset_t *mask, int *ret_status)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		report("cannot start %s: %s", argv[0], strerror(errno));
		*ret_status = EXIT_ERROR;
		return -1;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		report("cannot start %s: %s", argv[0], strerror(errno));
		*ret_status = EXIT_ERROR;
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (child == 0) {
		/* Ignored signals stay ignored across exec: undo ours. */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGXFSZ, SIG_DFL);
		sigprocmask(SIG_SETMASK, mask, NULL);
		execvp(argv[0], argv);
		int e = errno;
		ssize_t w = write(fds[1], &e, sizeof(e));
		(void)w;
		_exit(EXIT_NOTFOUND);
	}
	close(fds[1]);
	int e;
	ssize_t n;
	while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(fds[0]);
	if (n != (ssize_t)sizeof(e))
		return child;  /* the pipe closed on exec: it runs */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (e == ENOENT) {
		report("%s: command not found", argv[0]);
		*ret_status = EXIT_NOTFOUND;
	} else {
		report("%s: %s", argv[0], strerror(e));
		*ret_status = EXIT_NOEXEC;
	}
	return -1;
}

/* Exit status for wait status @st, as a shell computes it. */
static int shell_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_ERROR;
}

struct run {
	struct tp_snap_options o;
	pid_t pid;
	bool command;           /* COMMAND mode: pid is our child */
	int pidfd, sigfd;
	int child_status;       /* wait status once collected, else -1 */
	bool gone;              /* the target exited */
	int error;              /* exit status of an error, or 0 */
	unsigned warned_size;   /* --max-size warnings given */
};

/*
 * Handle one signal from the signalfd.  A signal the terminal sent (Ctrl-C)
 * already went to the whole foreground process group, the command too;
 * only one sent to us alone (kill, si_code <= 0) is passed on.
 */
static void take_signal(struct run *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (r->command && !r->gone && (int32_t)si.ssi_code <= 0)
			kill(r->pid, (int)si.ssi_signo);
}

enum wait_result { WAIT_TIMEOUT, WAIT_EXITED, WAIT_SIGNAL };

/* Wait until monotonic time @deadline (NAN: no deadline). */
static enum wait_result wait_until(struct run *r, double deadline)
{
	for (;;) {
		int timeout = -1;
		if (!isnan(deadline)) {
			double left = deadline - mono_now();
			if (left <= 0)
				left = 0;
			timeout = (int)ceil(left * 1000);
		}
		struct pollfd pfd[2] = {
			{ .fd = r->sigfd, .events = POLLIN },
			{ .fd = r->pidfd, .events = POLLIN },
		};
		int n = poll(pfd, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && (pfd[0].revents & POLLIN)) {
			take_signal(r);
			return WAIT_SIGNAL;
		}
		if (n > 0 && pfd[1].revents) {
			r->gone = true;
			return WAIT_EXITED;
		}
		if (!isnan(deadline) && mono_now() >= deadline)
			return WAIT_TIMEOUT;
	}
}

/* One snapshot; false when sampling must stop. */
static bool take_snapshot(struct run *r, struct tp_snap_session *s)
{
	struct tp_snap snap;
	int leader_status;
	struct tp_error *err = tp_snap_capture(s, &snap, &leader_status);
	if (leader_status != -1 && r->command)
		r->child_status = leader_status;
	if (err && err->code == TP_ERR_EXITED) {
		/* It ended on its own: not an error. */
		tp_error_destroy(err);
		r->gone = true;
		return false;
	}
	if (err) {
		r->error = report_error(err, r->pid);
		return false;
	}
	char *path = NULL;
	bool over = false;
	err = tp_snap_write(s, &snap, &path);
	tp_snap_deinit(&snap);
	if (!err)
		err = tp_snap_retain(s, r->o.keep, r->o.max_size, path, &over);
	if (over && !r->warned_size++)
		report("--max-size is smaller than the newest snapshot: keeping it alone");
	free(path);
	if (err) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		r->error = EXIT_WRITE;
		return false;
	}
	return true;
}

static void sample(struct run *r, struct tp_snap_session *s)
{
	double start = mono_now(), next = start + r->o.interval;
	for (unsigned long n = 0; !r->o.count || n < r->o.count; n++) {
		/* 1 ms of slack: --duration 1 -i 0.5 takes the snapshot at 1 s */
		if (r->o.duration && next - start > r->o.duration + 1e-3)
			return;
		if (wait_until(r, next) != WAIT_TIMEOUT)
			return;
		double t = mono_now();
		if (!take_snapshot(r, s))
			return;
		next = t + r->o.interval;
	}
}

/* COMMAND mode: wait for the command to end, passing signals on. */
static void wait_command(struct run *r)
{
	if (!r->gone)
		while (wait_until(r, NAN) != WAIT_EXITED)
			;
	if (r->child_status != -1)
		return;
	int st;
	pid_t p;
	while ((p = waitpid(r->pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (p == r->pid)
		r->child_status = st;
}

int main(int argc, char **argv)
{
	struct run r = { .pidfd = -1, .sigfd = -1, .child_status = -1 };
	struct tp_error *err = tp_snap_options_parse(
		argc, argv, getenv("TRIPOD_INTERVAL"), &r.o);
	if (err) {
		report("%s", tp_error_message(err));
		fputs("Try 'tripod-snap --help' for more information.\n",
		      stderr);
		tp_error_destroy(err);
		return EXIT_USAGE;
	}
	if (r.o.help) {
		fputs(tp_snap_usage, stdout);
		return 0;
	}
	if (r.o.version) {
		puts("tripod-snap (" PACKAGE_NAME ") " PACKAGE_VERSION);
		return 0;
	}
	bool quiet = r.o.quiet;

	/*
	 * SIGINT, SIGTERM and SIGHUP stay blocked and are read from a
	 * signalfd between snapshots: one that arrives while the target is
	 * stopped waits until the target runs again.  Write errors must come
	 * back as errors, not kill us (SIGPIPE, SIGXFSZ).
	 */
	sigset_t stop_sigs, old_mask;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop_sigs, &old_mask);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	r.sigfd = signalfd(-1, &stop_sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sigfd < 0) {
		report("signalfd: %s", strerror(errno));
		return EXIT_ERROR;
	}

	/*
	 * --pid: a process that is not there, or not ours to trace, is told
	 * before anything is created.  (Reading auxv needs the same access
	 * as ptrace.)
	 */
	if (r.o.pid) {
		char *auxv;
		size_t len;
		if ((err = tp_proc_read(r.o.pid, "auxv", &auxv, &len)))
			return report_error(err, r.o.pid);
		free(auxv);
	}

	char *dir = NULL;
	if ((err = prepare_outdir(r.o.outdir, &dir))) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		return EXIT_OUTDIR;
	}

	struct tp_snap_session s;
	int status = 0;
	if (r.o.pid) {
		r.pid = r.o.pid;
		if ((err = tp_snap_session_init(&s, r.pid, dir, r.o.interval))) {
			status = report_error(err, r.pid);
			free(dir);
			return status;
		}
		s.standalone = r.o.standalone;
	} else {
		r.command = true;
		if (!quiet)
			fprintf(stderr,
				"[Tripod] Sampling every %f seconds\n"
				"[Tripod] Writing output to: %s\n",
				r.o.interval, dir);
		r.pid = start_command(r.o.command, &old_mask, &status);
		if (r.pid < 0) {
			free(dir);
			return status;
		}
		err = tp_snap_session_init(&s, r.pid, dir, r.o.interval);
		s.standalone = r.o.standalone;
		if (err && err->code == TP_ERR_EXITED) {
			tp_error_destroy(err);  /* done before we looked */
			r.gone = true;
		} else if (err) {
			r.error = report_error(err, r.pid);
		}
	}

	/* pidfd: poll() says when the target ends, child or not. */
	r.pidfd = (int)pidfd_open(r.pid, 0);
	if (r.pidfd < 0) {
		if (errno != ESRCH) {
			report("cannot watch process %d: %s", (int)r.pid,
			       strerror(errno));
			r.error = EXIT_ERROR;
		}
		r.gone = true;  /* ESRCH: it has already gone */
	}
	if (r.o.pid && !quiet && !r.error)
		fprintf(stderr,
			"[Tripod] Sampling every %f seconds\n"
			"[Tripod] Writing output to: %s\n",
			r.o.interval, dir);
	fflush(stderr);

	if (!r.gone && !r.error)
		sample(&r, &s);
	if (r.command)
		wait_command(&r);
	if (r.command && !r.error)
		status = r.child_status != -1 ? shell_status(r.child_status)
					      : EXIT_ERROR;
	else
		status = r.error;

	tp_snap_session_deinit(&s);
	if (r.pidfd >= 0)
		close(r.pidfd);
	close(r.sigfd);
	free(dir);
	return status;
}
