/* SPDX-License-Identifier: MIT */
/*
 * tripod-snap: run a command (or watch a running process) and write a
 * snapshot of it, a gzip'd ELF core, every interval.
 *
 * Exit status:
 *   0    --pid mode: sampling ended normally (COUNT snapshots taken,
 *        --duration passed, the target exited, or SIGINT/SIGTERM/SIGHUP)
 *        after at least one snapshot
 *   N    COMMAND mode: the command's exit status, 128+S if signal S
 *        killed it (as a shell reports it)
 *   1    a snapshot could not be taken for another reason (out of memory,
 *        an unexpected system error, the target lost track of)
 *   64   bad usage
 *   66   --pid: no such process
 *   69   no snapshot was taken (the target ended, or sampling was
 *        interrupted, before the first one); in COMMAND mode only when the
 *        command itself exited with status 0
 *   73   the output directory cannot be created or written, or the --log
 *        file cannot be opened
 *   74   a snapshot could not be written (e.g. the disk is full); earlier
 *        snapshots stay, no partial file is left
 *   75   the target is already traced by another process (a debugger,
 *        strace): ptrace allows one tracer at a time
 *   77   permission denied: tracing needs CAP_SYS_PTRACE or the target's
 *        user
 *   126  COMMAND cannot be executed
 *   127  COMMAND not found
 * In COMMAND mode an error after the command started (1, 74, 75, 77) stops
 * sampling at once; tripod-snap still waits for the command, then exits
 * with the error's status.  Whenever sampling stops for a reason other
 * than the target's exit, COUNT, --duration or a signal, one line on
 * stderr says why.  The target is never left stopped.
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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "snap/logger.h"
#include "snap/options.h"
#include "snap/proctree.h"
#include "snap/snapshot.h"

enum {
	EXIT_ERROR = 1,
	EXIT_USAGE = 64,
	EXIT_NOPROC = 66,
	EXIT_NOSNAP = 69,
	EXIT_OUTDIR = 73,
	EXIT_WRITE = 74,
	EXIT_TRACED = 75,
	EXIT_PERM = 77,
	EXIT_NOEXEC = 126,
	EXIT_NOTFOUND = 127,
};

/* How long a process that failed a snapshot as "exited" may take to go. */
#define EXIT_GRACE_MS 500

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

/*
 * If process @pid is traced by another process, say so (one line) and
 * return true.  ptrace allows one tracer per process: a debugger or strace
 * holding the target makes every attach fail with EPERM, which would
 * otherwise read as a permission problem.
 */
static bool report_traced(pid_t pid)
{
	pid_t tracer;
	struct tp_error *err = tp_proc_tracer(pid, &tracer);
	if (err) {
		tp_error_destroy(err);
		return false;
	}
	if (!tracer || tracer == getpid())
		return false;
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tracer);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	report("process %d is already traced by process %d%s%s%s; ptrace allows one tracer at a time: detach the debugger or strace first",
	       (int)pid, (int)tracer, comm[0] ? " (" : "", comm,
	       comm[0] ? ")" : "");
	return true;
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
		if (report_traced(pid)) {
			code = EXIT_TRACED;
		} else {
			report("%s (tracing process %d needs CAP_SYS_PTRACE or the same user)",
			       tp_error_message(err), (int)pid);
			code = EXIT_PERM;
		}
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

/*
 * Make (or check) the output directory @want (NULL: a new one under
 * $TMPDIR); its path in *@ret (free() it).
 */
/*
 * An existing output directory must be ours alone: its owner, or anyone
 * who can write it, could read the snapshots' secrets through files they
 * plant, remove them, or fill the directory so that no snapshot is ever
 * written.  A symbolic link is not followed (its target is someone's
 * choice).  @force accepts such a directory.
 */
static struct tp_error *check_outdir(const char *dir, bool force)
{
	struct stat sb;
	if (lstat(dir, &sb) < 0)
		return tp_error_os(errno, dir, "cannot use output directory");
	if (S_ISLNK(sb.st_mode))
		return tp_error_create(TP_ERR_INVALID,
				       "%s: output directory is a symbolic link: give its target",
				       dir);
	if (!S_ISDIR(sb.st_mode))
		return tp_error_os(ENOTDIR, dir, "cannot use output directory");
	if (force)
		return NULL;
	if (sb.st_uid != geteuid())
		return tp_error_create(TP_ERR_INVALID,
				       "%s: output directory is owned by uid %u, not by this user (uid %u): refused (--force-outdir to use it anyway)",
				       dir, (unsigned)sb.st_uid,
				       (unsigned)geteuid());
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return tp_error_create(TP_ERR_INVALID,
				       "%s: output directory is writable by %s (mode %04o): refused (chmod go-w, or --force-outdir to use it anyway)",
				       dir,
				       (sb.st_mode & S_IWOTH) ? "others" : "its group",
				       (unsigned)(sb.st_mode & 07777));
	return NULL;
}

static struct tp_error *prepare_outdir(const char *want, bool force,
				       char **ret)
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
	} else {
		struct tp_error *err = check_outdir(dir, force);
		if (err) {
			free(dir);
			return err;
		}
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

/* One process sampled: the target, or (--subprocesses) one of its children. */
struct proc {
	struct tp_proc_id id;
	int pidfd;                 /* says when it has exited; -1 if none */
	struct tp_snap_session s;
	bool open;                 /* s is initialised */
	bool gone;                 /* exited, or no longer followed */
	unsigned long taken;       /* snapshots written */
	unsigned long python;      /* ... of them while it ran Python */
};

struct run {
	struct tp_snap_options o;
	char *dir;
	bool command;              /* COMMAND mode: procs[0] is our child */
	int sigfd;
	struct proc *procs;        /* procs[0]: the target */
	size_t nprocs;
	bool subreaper;            /* orphans of the tree come to us */
	int child_status;          /* wait status once collected, else -1 */
	int error;                 /* exit status of an error, or 0 */
	bool interrupted;          /* SIGINT/SIGTERM/SIGHUP stopped sampling */
	unsigned long taken;       /* snapshots written, all processes */
	unsigned long rounds;      /* ticks at which some snapshot was taken */
	double started;            /* CLOCK_MONOTONIC at the start */
	double ended;              /* ... when the target was seen gone */
	bool behind_said;
	unsigned warned_size;      /* --max-size warnings given */
	char *last_skip;           /* the last reason a snapshot was skipped */
	struct tp_logger log;
};

static struct proc *target_proc(struct run *r)
{
	return &r->procs[0];
}

/* Collect the exit of any child (subreaper mode): the command's, the
 * log writer's, or an orphan's that was reparented to us. */
static void reap(struct run *r)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (r->command && p == target_proc(r)->id.pid)
			r->child_status = st;
		else
			tp_logger_reaped(&r->log, p, st);
	}
}

/*
 * Handle the signals waiting in the signalfd; true when one asks to stop.
 * A signal the terminal sent (Ctrl-C) already went to the whole foreground
 * process group, the command too; only one sent to us alone (kill,
 * si_code <= 0) is passed on.
 */
static bool take_signals(struct run *r)
{
	struct signalfd_siginfo si;
	bool stop = false;
	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(r);
			continue;
		}
		stop = true;
		struct proc *t = target_proc(r);
		if (r->command && !t->gone && (int32_t)si.ssi_code <= 0)
			kill(t->id.pid, (int)si.ssi_signo);
	}
	return stop;
}

static void mark_gone(struct run *r, struct proc *p)
{
	if (p->gone)
		return;
	p->gone = true;
	if (p == target_proc(r))
		r->ended = mono_now();
}

enum wait_result { WAIT_TIMEOUT, WAIT_EXITED, WAIT_SIGNAL };

/* Wait until monotonic time @deadline (NAN: no deadline). */
static enum wait_result wait_until(struct run *r, double deadline)
{
	struct proc *t = target_proc(r);
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
			{ .fd = t->pidfd, .events = POLLIN },
		};
		int n = poll(pfd, t->pidfd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && (pfd[0].revents & POLLIN) && take_signals(r)) {
			r->interrupted = true;
			return WAIT_SIGNAL;
		}
		if (t->pidfd >= 0 && n > 0 && pfd[1].revents) {
			mark_gone(r, t);
			return WAIT_EXITED;
		}
		if (!isnan(deadline) && mono_now() >= deadline)
			return WAIT_TIMEOUT;
	}
}

/* Has process @p exited?  Waits up to @ms milliseconds for it to. */
static bool has_exited(struct proc *p, int ms)
{
	if (p->pidfd < 0) {
		unsigned long long st;
		struct tp_error *err = tp_proc_starttime(p->id.pid, &st);
		bool gone = err || st != p->id.starttime;
		tp_error_destroy(err);
		return gone;
	}
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
	int n;
	while ((n = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
		;
	return n > 0;
}

/*
 * The series of process @pid within DIR: NULL (DIR itself), or with
 * --subprocesses its own subdirectory "PID", created 0700.
 */
static struct tp_error *proc_series(struct run *r, pid_t pid, char **ret)
{
	*ret = NULL;
	if (!r->o.subprocesses)
		return NULL;
	char *sub, *path;
	if (asprintf(&sub, "%d", (int)pid) < 0)
		return &tp_error_nomem;
	if (asprintf(&path, "%s/%s", r->dir, sub) < 0) {
		free(sub);
		return &tp_error_nomem;
	}
	struct tp_error *err = NULL;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		err = tp_error_os(errno, path, "cannot create directory");
	free(path);
	if (err)
		free(sub);
	else
		*ret = sub;
	return err;
}

/*
 * Start following process @id: its session, writing into its series of
 * DIR (proc_series()), sharing the block store of the target's session.
 * The target's own errors are the caller's to report.
 */
static struct tp_error *proc_open(struct run *r, const struct tp_proc_id *id,
				  struct proc **ret)
{
	*ret = NULL;
	char *series;
	struct tp_error *err = proc_series(r, id->pid, &series);
	if (err)
		return err;
	struct proc *v = realloc(r->procs, (r->nprocs + 1) * sizeof(*v));
	if (!v) {
		free(series);
		return &tp_error_nomem;
	}
	r->procs = v;
	struct proc *p = &v[r->nprocs];
	*p = (struct proc){ .id = *id, .pidfd = -1 };
	/* pidfd: poll() says when it ends, child or not. */
	p->pidfd = (int)pidfd_open(id->pid, 0);
	if (p->pidfd < 0 && errno != ESRCH) {
		free(series);
		return tp_error_os(errno, NULL, "cannot watch process %d",
				   (int)id->pid);
	}
	r->nprocs++;
	*ret = p;
	if (p->pidfd < 0) {
		free(series);
		return tp_error_create(TP_ERR_EXITED, "process %d exited",
				       (int)id->pid);
	}
	const struct tp_snap_session *shared =
		p != &r->procs[0] && r->procs[0].open ? &r->procs[0].s : NULL;
	err = tp_snap_session_init(&p->s, id->pid, r->dir, series, shared,
				   r->o.interval);
	free(series);
	p->open = !err;
	p->s.standalone = r->o.standalone;
	p->s.stop_and_copy = r->o.stop_and_copy;
	p->s.native = r->o.native;
	return err;
}

/* --subprocesses: start following the children born since the last tick. */
static void follow_children(struct run *r)
{
	struct tp_proc_id *known = calloc(r->nprocs, sizeof(*known));
	if (!known)
		return;
	for (size_t i = 0; i < r->nprocs; i++)
		known[i] = r->procs[i].id;
	struct tp_proc_id *found;
	size_t n;
	struct tp_error *err = tp_proctree_scan(
		known, r->nprocs, r->subreaper ? getpid() : 0, r->log.worker,
		&found, &n);
	free(known);
	if (err) {
		report("cannot look for child processes: %s",
		       tp_error_message(err));
		tp_error_destroy(err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct proc *p;
		err = proc_open(r, &found[i], &p);
		if (err && err->code != TP_ERR_EXITED && !r->o.quiet)
			report("not following process %d: %s",
			       (int)found[i].pid, tp_error_message(err));
		if (err && p)
			p->gone = true;
		tp_error_destroy(err);
	}
	free(found);
}

/*
 * --keep and --max-size after a snapshot of @p (@newest, or NULL at the
 * end).  Snapshots still queued for the log stay until they are logged:
 * they are the newest, so --keep counts them out.
 */
static struct tp_error *retain(struct run *r, struct proc *p,
			       const char *newest)
{
	unsigned long keep = r->o.keep;
	if (keep != TP_SNAP_KEEP_ALL) {
		unsigned long pending = tp_logger_pending(&r->log);
		keep = pending > TP_SNAP_KEEP_ALL - keep ? TP_SNAP_KEEP_ALL
							 : keep + pending;
	}
	bool over = false;
	struct tp_error *err = tp_snap_retain(&p->s, keep, r->o.max_size,
					      newest, &over);
	if (over && !r->warned_size++)
		report("--max-size is smaller than the newest snapshot: keeping it alone");
	return err;
}

enum snap_result { SNAP_OK, SNAP_GONE, SNAP_DROPPED, SNAP_STOP };

/* One snapshot of process @p. */
static enum snap_result take_snapshot(struct run *r, struct proc *p)
{
	bool is_target = p == target_proc(r);
	struct tp_snap snap;
	struct tp_error *err = NULL;
	/*
	 * "Exited" from a capture while the process lives on (its pidfd
	 * silent) would stop sampling for no reason the user could see: try
	 * once more, then call it an error.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		tp_error_destroy(err);
		int leader_status;
		err = tp_snap_capture(&p->s, &snap, &leader_status);
		if (leader_status != -1 && is_target && r->command)
			r->child_status = leader_status;
		if (!err || err->code != TP_ERR_EXITED)
			break;
		if (has_exited(p, EXIT_GRACE_MS)) {
			tp_error_destroy(err);
			mark_gone(r, p);
			return SNAP_GONE;
		}
	}
	if (err && err->code == TP_ERR_LIMIT) {
		/* a thread that would not stop, too many threads: skip this
		 * one and go on (said once per kind of message) */
		const char *msg = tp_error_message(err);
		if (!r->last_skip || strcmp(r->last_skip, msg)) {
			report("process %d: %s", (int)p->id.pid, msg);
			free(r->last_skip);
			r->last_skip = strdup(msg);
		}
		tp_error_destroy(err);
		return SNAP_DROPPED;
	}
	if (err && !is_target) {
		report("stopped following process %d: %s", (int)p->id.pid,
		       tp_error_message(err));
		tp_error_destroy(err);
		p->gone = true;
		return SNAP_DROPPED;
	}
	if (err && err->code == TP_ERR_EXITED) {
		report("lost process %d, which still runs: %s", (int)p->id.pid,
		       tp_error_message(err));
		tp_error_destroy(err);
		r->error = EXIT_ERROR;
		return SNAP_STOP;
	}
	if (err) {
		r->error = report_error(err, p->id.pid);
		return SNAP_STOP;
	}
	char *path = NULL;
	err = tp_snap_write(&p->s, &snap, &path);
	tp_snap_deinit(&snap);
	if (err) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		r->error = EXIT_WRITE;
		return SNAP_STOP;
	}
	p->taken++;
	p->python += p->s.python;
	r->taken++;
	if ((err = tp_logger_submit(&r->log, path))) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
	}
	err = retain(r, p, path);
	free(path);
	if (err) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		r->error = EXIT_WRITE;
		return SNAP_STOP;
	}
	return SNAP_OK;
}

/* One tick: a snapshot of every process followed.  False: stop sampling. */
static bool tick(struct run *r)
{
	if (r->o.subprocesses) {
		if (r->subreaper)
			reap(r);
		follow_children(r);
	}
	bool any = false;
	for (size_t i = 0; i < r->nprocs; i++) {
		struct proc *p = &r->procs[i];
		if (p->gone || !p->open)
			continue;
		if (i > 0 && has_exited(p, 0)) {
			p->gone = true;
			continue;
		}
		enum snap_result res = take_snapshot(r, p);
		if (res == SNAP_STOP)
			return false;
		any |= res == SNAP_OK;
	}
	r->rounds += any;
	return !target_proc(r)->gone;
}

static void sample(struct run *r)
{
	double start = mono_now(), interval = r->o.interval;
	/*
	 * COMMAND mode waits one interval first (FORMAT.md: the original
	 * tool did); --pid samples at once: the process already runs.
	 */
	double next = r->command ? start + interval : start;
	for (;;) {
		if (r->o.count && r->rounds >= r->o.count)
			return;
		/* 1 ms of slack: --duration 1 -i 0.5 takes the snapshot at 1 s */
		if (r->o.duration && next - start > r->o.duration + 1e-3)
			return;
		if (wait_until(r, next) != WAIT_TIMEOUT)
			return;
		double t = mono_now();
		if (!tick(r))
			return;
		next = t + interval;
		double now = mono_now();
		if (now > next) {
			/* Behind: skip the ticks already missed, never queue. */
			double missed = floor((now - next) / interval) + 1;
			next += missed * interval;
			if (!r->behind_said)
				report("cannot keep up: snapshots took %.3f s, longer than the %f s interval; skipping ticks",
				       now - t, interval);
			r->behind_said = true;
		}
	}
}

/* COMMAND mode: wait for the command to end, passing signals on. */
static void wait_command(struct run *r)
{
	struct proc *t = target_proc(r);
	if (!t->gone)
		while (wait_until(r, NAN) != WAIT_EXITED)
			;
	if (r->child_status != -1)
		return;
	int st;
	pid_t p;
	while ((p = waitpid(t->id.pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (p == t->id.pid)
		r->child_status = st;
}

/*
 * Say why a run took no snapshot (a run that samples nothing must not look
 * like one that went well).
 */
static void report_nothing(const struct run *r)
{
	const struct proc *t = &r->procs[0];
	if (r->interrupted) {
		report("no snapshot taken: interrupted before the first one");
	} else if (t->gone && r->command) {
		report("no snapshot taken: the command ended after %.3f s, before the first snapshot at %.3f s (see --interval)",
		       r->ended - r->started, r->o.interval);
	} else if (t->gone) {
		report("no snapshot taken: process %d exited", (int)t->id.pid);
	} else {
		report("no snapshot taken");
	}
}

/* Say when a target was sampled but never ran Python (a wrong command?). */
static void report_no_python(const struct run *r)
{
	const struct proc *t = &r->procs[0];
	if (!t->taken || t->python)
		return;
	report("note: process %d ran no Python in any of its %lu snapshot%s (it ran %s)",
	       (int)t->id.pid, t->taken, t->taken == 1 ? "" : "s",
	       t->open && t->s.target.exe[0] ? t->s.target.exe : "?");
}

static void print_banner(const struct run *r)
{
	if (r->o.quiet)
		return;
	fprintf(stderr, "[Tripod] Sampling every %f seconds\n", r->o.interval);
	if (r->o.log) {
		fprintf(stderr, "[Tripod] Writing output to: %s\n",
			strcmp(r->o.log, "-") ? r->o.log : "standard error");
		fprintf(stderr, "[Tripod] Snapshots in: %s\n", r->dir);
	} else {
		fprintf(stderr, "[Tripod] Writing output to: %s\n", r->dir);
	}
	fflush(stderr);
}

int main(int argc, char **argv)
{
	struct run r = { .sigfd = -1, .child_status = -1,
			 .log = { .fd = -1, .done_fd = -1, .status = -1 } };
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
	r.started = mono_now();

	/*
	 * SIGINT, SIGTERM and SIGHUP stay blocked and are read from a
	 * signalfd between snapshots: one that arrives while the target is
	 * stopped waits until the target runs again.  Write errors must come
	 * back as errors, not kill us (SIGPIPE, SIGXFSZ).  With
	 * --subprocesses, SIGCHLD too: orphans of the tree come to us.
	 */
	sigset_t stop_sigs, old_mask;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigset_t fd_sigs = stop_sigs;
	if (r.o.subprocesses && !r.o.pid)
		sigaddset(&fd_sigs, SIGCHLD);
	sigprocmask(SIG_BLOCK, &fd_sigs, &old_mask);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	r.sigfd = signalfd(-1, &fd_sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sigfd < 0) {
		report("signalfd: %s", strerror(errno));
		return EXIT_ERROR;
	}

	/*
	 * --pid: a process that is not there, not ours to trace, or already
	 * traced, is told before anything is created.  (Reading auxv needs
	 * the same access as ptrace.)
	 */
	if (r.o.pid) {
		char *auxv;
		size_t len;
		if ((err = tp_proc_read(r.o.pid, "auxv", &auxv, &len)))
			return report_error(err, r.o.pid);
		free(auxv);
		if (report_traced(r.o.pid))
			return EXIT_TRACED;
	}

	if ((err = prepare_outdir(r.o.outdir, r.o.force_outdir, &r.dir))) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		return EXIT_OUTDIR;
	}
	/* The log writer first, so that it is nobody's sibling but ours. */
	if (r.o.log &&
	    (err = tp_logger_start(r.o.log, getenv("TRIPOD_DEBUGINFO_PATH"),
				   &r.log))) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		free(r.dir);
		return EXIT_OUTDIR;
	}

	int status = 0;
	struct tp_proc_id id = { .pid = r.o.pid };
	if (!r.o.pid) {
		r.command = true;
		/*
		 * Orphans of the command (a daemon's double fork, a worker
		 * whose parent died) are reparented to us instead of init, so
		 * that --subprocesses still sees them in the tree.
		 */
		if (r.o.subprocesses)
			r.subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
		print_banner(&r);
		id.pid = start_command(r.o.command, &old_mask, &status);
		if (id.pid < 0) {
			tp_logger_finish(&r.log);
			free(r.dir);
			return status;
		}
	}
	/* Known by pid and start time (pids are reused). */
	tp_error_destroy(tp_proc_starttime(id.pid, &id.starttime));
	struct proc *t;
	err = proc_open(&r, &id, &t);
	if (err && !t) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
		r.error = EXIT_OUTDIR;
	} else {
		if (err && err->code == TP_ERR_EXITED && r.command) {
			tp_error_destroy(err);  /* done before we looked */
			mark_gone(&r, t);
		} else if (err) {
			r.error = report_error(err, id.pid);
		}
	}
	if (r.o.pid && !r.error)
		print_banner(&r);

	if (r.nprocs && !target_proc(&r)->gone && !r.error)
		sample(&r);
	if (r.command && r.nprocs)
		wait_command(&r);
	bool logged = tp_logger_finish(&r.log);
	/*
	 * With --log, --keep could only now drop what was still queued (one
	 * call: retention covers every series of the store).
	 */
	if (r.o.log && r.o.keep != TP_SNAP_KEEP_ALL && r.nprocs &&
	    r.procs[0].open && (err = retain(&r, &r.procs[0], NULL))) {
		report("%s", tp_error_message(err));
		tp_error_destroy(err);
	}

	if (!r.taken && !r.error && r.nprocs)
		report_nothing(&r);
	if (r.nprocs && !r.error && !r.o.quiet)
		report_no_python(&r);
	if (r.error)
		status = r.error;
	else if (r.command)
		status = r.child_status != -1 ? shell_status(r.child_status)
					      : EXIT_ERROR;
	if (!r.error && !r.taken && status == 0)
		status = EXIT_NOSNAP;
	if (!logged && status == 0) {
		report("the log is incomplete");
		status = EXIT_ERROR;
	}

	for (size_t i = 0; i < r.nprocs; i++) {
		if (r.procs[i].open)
			tp_snap_session_deinit(&r.procs[i].s);
		if (r.procs[i].pidfd >= 0)
			close(r.procs[i].pidfd);
	}
	free(r.procs);
	free(r.last_skip);
	close(r.sigfd);
	free(r.dir);
	return status;
}
