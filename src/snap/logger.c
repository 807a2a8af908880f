/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/render.h"
#include "common/strbuf.h"
#include "snap/logger.h"

/* How much nicer than tripod-snap the worker runs. */
#define WORKER_NICE 10

static bool write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Decode @path and append its report to @out_fd, as tripod-analyze PATH
 * would print it.  Problems go to stderr once per kind of message.
 */
static bool log_one(const char *path, const struct tp_analyze_opts *aopts,
		    const struct tp_render_opts *ropts,
		    struct tp_sources *sources, int out_fd, char **last_error)
{
	struct tp_rsnapshot *snap;
	struct tp_error *err = tp_analyze_file(path, aopts, &snap);
	struct tp_strbuf out = TP_STRBUF_INIT;
	if (!err) {
		err = tp_render_dogslow(snap, ropts, sources, &out);
		tp_analyze_free(snap);
	}
	if (err) {
		const char *msg = tp_error_message(err);
		if (!*last_error || strcmp(*last_error, msg)) {
			fprintf(stderr, "tripod-snap: log: %s: %s\n", path, msg);
			free(*last_error);
			*last_error = strdup(msg);
		}
		tp_error_destroy(err);
		tp_strbuf_deinit(&out);
		return true;
	}
	bool ok = write_all(out_fd, tp_strbuf_str(&out), out.len);
	if (!ok)
		fprintf(stderr, "tripod-snap: log: cannot write: %s\n",
			strerror(errno));
	tp_strbuf_deinit(&out);
	return ok;
}

/*
 * The worker: one snapshot path per line on @in_fd until end of file; a
 * byte on @done_fd for each one logged.
 */
static int worker_main(int in_fd, int out_fd, int done_fd,
		       const char *debuginfo_path)
{
	struct tp_analyze_opts aopts = { .debuginfo_path = debuginfo_path };
	tp_python_opts_default(&aopts.python);
	struct tp_render_opts ropts = {
		.header = true,
		.locals = true,
		.max_repr = aopts.python.max_repr,
	};
	struct tp_sources *sources = tp_sources_create();
	if (!sources)
		return 1;
	/* libdwfl and DWARF once for the whole run, not per snapshot */
	struct tp_error *err = tp_analyze_cache_create(&aopts.cache);
	if (err) {
		tp_error_destroy(err);
		tp_sources_destroy(sources);
		return 1;
	}
	FILE *in = fdopen(in_fd, "r");
	if (!in)
		return 1;
	char *line = NULL, *last_error = NULL;
	size_t cap = 0;
	ssize_t n;
	bool ok = true;
	while (ok && (n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		ok = log_one(line, &aopts, &ropts, sources, out_fd,
			     &last_error);
		/* the sampler may now drop it (--keep) */
		if (ok) {
			/* fails only when the sampler is gone: go on */
			ssize_t w = write(done_fd, "", 1);
			(void)w;
		}
	}
	free(line);
	free(last_error);
	fclose(in);
	tp_sources_destroy(sources);
	tp_analyze_cache_destroy(aopts.cache);
	return ok ? 0 : 1;
}

struct tp_error *tp_logger_start(const char *path, const char *debuginfo_path,
				 struct tp_logger *ret)
{
	*ret = (struct tp_logger){ .fd = -1, .done_fd = -1, .status = -1 };
	int out_fd;
	if (strcmp(path, "-") == 0) {
		out_fd = dup(STDERR_FILENO);
	} else {
		/* the log holds the target's values, secrets too: 0600 */
		out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
				    O_NOFOLLOW, 0600);
	}
	if (out_fd < 0)
		return tp_error_os(errno, path, "cannot open the log");
	int fds[2], done[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		int e = errno;
		close(out_fd);
		return tp_error_os(e, NULL, "cannot start the log writer");
	}
	if (pipe2(done, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = errno;
		close(out_fd);
		close(fds[0]);
		close(fds[1]);
		return tp_error_os(e, NULL, "cannot start the log writer");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out_fd);
		close(fds[0]);
		close(fds[1]);
		close(done[0]);
		close(done[1]);
		return tp_error_os(e, NULL, "cannot start the log writer");
	}
	if (pid == 0) {
		close(fds[1]);
		close(done[0]);
		/*
		 * The signal mask is inherited: SIGINT, SIGTERM and SIGHUP stay
		 * blocked, so a Ctrl-C that stops sampling lets the worker
		 * finish the queue.  It ends when the pipe closes.
		 */
		/* not fatal if refused: it only runs at normal priority */
		int niced = nice(WORKER_NICE);
		(void)niced;
		_exit(worker_main(fds[0], out_fd, done[1], debuginfo_path));
	}
	close(fds[0]);
	close(done[1]);
	close(out_fd);
	/* a full queue must not block the sampler */
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	ret->worker = pid;
	ret->fd = fds[1];
	ret->done_fd = done[0];
	return NULL;
}

unsigned long tp_logger_pending(struct tp_logger *lg)
{
	char buf[256];
	ssize_t n;
	if (!lg->worker && lg->done_fd < 0)
		return 0;
	while (lg->done_fd >= 0 &&
	       (n = read(lg->done_fd, buf, sizeof(buf))) > 0)
		lg->done += (unsigned long)n;
	return lg->submitted > lg->done ? lg->submitted - lg->done : 0;
}

struct tp_error *tp_logger_submit(struct tp_logger *lg,
				  const char *snapshot_path)
{
	if (lg->fd < 0)
		return NULL;
	size_t len = strlen(snapshot_path);
	/* one write of at most PIPE_BUF bytes is atomic: no half lines */
	if (len + 1 > PIPE_BUF)
		return tp_error_create(TP_ERR_LIMIT,
				       "%s: path too long for the log queue",
				       snapshot_path);
	char buf[PIPE_BUF];
	memcpy(buf, snapshot_path, len);
	buf[len] = '\n';
	ssize_t n;
	while ((n = write(lg->fd, buf, len + 1)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)(len + 1)) {
		lg->submitted++;
		return NULL;
	}
	if (n < 0 && errno == EAGAIN)
		return tp_error_create(TP_ERR_LIMIT,
				       "the log is far behind: %s not logged",
				       snapshot_path);
	return tp_error_os(errno, NULL, "the log writer stopped");
}

bool tp_logger_reaped(struct tp_logger *lg, pid_t pid, int status)
{
	if (!lg->worker || pid != lg->worker)
		return false;
	lg->status = status;
	return true;
}

bool tp_logger_finish(struct tp_logger *lg)
{
	if (!lg->worker)
		return true;
	if (lg->fd >= 0)
		close(lg->fd);
	lg->fd = -1;
	if (lg->status == -1) {
		int st;
		pid_t p;
		while ((p = waitpid(lg->worker, &st, 0)) < 0 && errno == EINTR)
			;
		if (p == lg->worker)
			lg->status = st;
	}
	lg->worker = 0;
	tp_logger_pending(lg);
	if (lg->done_fd >= 0)
		close(lg->done_fd);
	lg->done_fd = -1;
	return lg->status != -1 && WIFEXITED(lg->status) &&
	       WEXITSTATUS(lg->status) == 0;
}
