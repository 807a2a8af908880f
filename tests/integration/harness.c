/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static bool is_exec(const char *p)
{
	return access(p, X_OK) == 0;
}

/* Compare "3.12.1" > "3.12.0" numerically by components. */
static int cmp_versions(const char *a, const char *b)
{
	while (*a && *b) {
		long x = strtol(a, (char **)&a, 10);
		long y = strtol(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return (*a != 0) - (*b != 0);
}

bool harness_find_pyenv(struct interp *in, const char *version)
{
	const char *root = getenv("PYENV_ROOT");
	char rootbuf[4096];
	if (!root) {
		const char *home = getenv("HOME");
		snprintf(rootbuf, sizeof(rootbuf), "%s/.pyenv",
			 home ? home : "/root");
		root = rootbuf;
	}
	char pattern[4200];
	snprintf(pattern, sizeof(pattern), "%s/versions/%s.*/bin/python%s",
		 root, version, version);
	glob_t g;
	in->path[0] = '\0';
	in->gdb_script[0] = '\0';
	if (glob(pattern, 0, NULL, &g) == 0) {
		const char *best = NULL, *bestv = NULL;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			const char *v = strstr(p, "/versions/") + 10;
			if (!is_exec(p))
				continue;
			/* skip free-threaded or odd builds: "3.13.0t" */
			const char *slash = strchr(v, '/');
			if (slash && slash[-1] == 't')
				continue;
			if (!best || cmp_versions(v, bestv) > 0) {
				best = p;
				bestv = v;
			}
		}
		if (best) {
			snprintf(in->path, sizeof(in->path), "%s", best);
			snprintf(in->gdb_script, sizeof(in->gdb_script),
				 "%s-gdb.py", best);
			if (!is_exec(in->path) || access(in->gdb_script, R_OK))
				in->gdb_script[0] = '\0';
		}
	}
	globfree(&g);
	if (!in->path[0]) {
		snprintf(in->why, sizeof(in->why),
			 "no Python %s under %s/versions", version, root);
		return false;
	}
	return true;
}

bool harness_find_system(struct interp *in, const char *path)
{
	in->gdb_script[0] = '\0';
	if (!is_exec(path)) {
		in->path[0] = '\0';
		snprintf(in->why, sizeof(in->why), "%s is not installed", path);
		return false;
	}
	snprintf(in->path, sizeof(in->path), "%s", path);
	/* Debian installs the gdb extension for auto-loading */
	snprintf(in->gdb_script, sizeof(in->gdb_script),
		 "/usr/share/gdb/auto-load%s-gdb.py", path);
	if (access(in->gdb_script, R_OK) != 0)
		in->gdb_script[0] = '\0';
	return true;
}

/* The cache of tools/fetch-sid-python.sh (same rule as the script). */
static void sid_cache(char *buf, size_t len)
{
	const char *c = getenv("TRIPOD_SID_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (c && *c)
		snprintf(buf, len, "%s", c);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/tripod/sid", xdg);
	else
		snprintf(buf, len, "%s/.cache/tripod/sid", home ? home : "/root");
}

bool harness_find_sid(struct interp *in, const char *version)
{
	char cache[3000], status_path[3100];
	sid_cache(cache, sizeof(cache));
	snprintf(status_path, sizeof(status_path), "%s/status", cache);
	in->path[0] = in->gdb_script[0] = in->gdb_exe[0] = '\0';
	in->debuginfo_dir[0] = '\0';
	char *status = harness_slurp(status_path);
	if (!status) {
		snprintf(in->why, sizeof(in->why),
			 "Debian sid's python%s is not fetched (no %s): run tools/fetch-sid-python.sh",
			 version, status_path);
		return false;
	}
	status[strcspn(status, "\n")] = '\0';
	if (strcmp(status, "ok") != 0) {
		snprintf(in->why, sizeof(in->why),
			 "Debian sid's python%s: %s", version, status);
		free(status);
		return false;
	}
	free(status);
	snprintf(in->path, sizeof(in->path), "%s/bin/python%s", cache,
		 version);
	if (!is_exec(in->path)) {
		snprintf(in->why, sizeof(in->why),
			 "%s is missing: run tools/fetch-sid-python.sh",
			 in->path);
		in->path[0] = '\0';
		return false;
	}
	snprintf(in->gdb_exe, sizeof(in->gdb_exe), "%s/root/usr/bin/python%s",
		 cache, version);
	snprintf(in->gdb_script, sizeof(in->gdb_script),
		 "%s/root/usr/share/gdb/auto-load/usr/bin/python%s-gdb.py",
		 cache, version);
	if (access(in->gdb_script, R_OK) != 0)
		in->gdb_script[0] = '\0';
	snprintf(in->debuginfo_dir, sizeof(in->debuginfo_dir),
		 "%s/root/usr/lib/debug", cache);
	return true;
}

int harness_gdb_major(void)
{
	char out[] = "/tmp/tripod-gdb-version-XXXXXX";
	int fd = mkstemp(out);
	if (fd < 0)
		return 0;
	close(fd);
	char *argv[] = { "/usr/bin/gdb", "--version", NULL };
	int major = 0;
	if (harness_run(argv, out, NULL, 30) == 0) {
		char *text = harness_slurp(out);
		/* "GNU gdb (Debian 13.1-3) 13.1": the last word of line 1 */
		if (text) {
			text[strcspn(text, "\n")] = '\0';
			char *last = strrchr(text, ' ');
			major = last ? atoi(last + 1) : 0;
		}
		free(text);
	}
	unlink(out);
	return major;
}

bool harness_version_between(const struct interp *in, const char *lo,
			     const char *hi)
{
	return cmp_versions(in->version, lo) >= 0 &&
	       cmp_versions(in->version, hi) <= 0;
}

/* The GNU build-id of an ELF64 file as hex, from its PT_NOTE segments. */
static bool elf_build_id(const char *path, char *hex, size_t hexlen)
{
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		goto out;
	for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			goto out;
		if (ph.p_type != PT_NOTE || ph.p_filesz > 65536)
			continue;
		unsigned char buf[65536];
		if (pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) !=
		    (ssize_t)ph.p_filesz)
			goto out;
		size_t off = 0;
		while (off + sizeof(Elf64_Nhdr) <= ph.p_filesz) {
			Elf64_Nhdr nh;
			memcpy(&nh, buf + off, sizeof(nh));
			size_t name = off + sizeof(nh);
			size_t desc = name + ((nh.n_namesz + 3) & ~3u);
			size_t next = desc + ((nh.n_descsz + 3) & ~3u);
			if (next > ph.p_filesz)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp(buf + name, "GNU", 4) &&
			    nh.n_descsz * 2 + 1 <= hexlen) {
				for (size_t k = 0; k < nh.n_descsz; k++)
					sprintf(hex + 2 * k, "%02x", buf[desc + k]);
				found = nh.n_descsz > 1;
				break;
			}
			off = next;
		}
	}
out:
	close(fd);
	return found;
}

bool harness_has_debuginfo(struct interp *in, const char *package)
{
	char id[130], path[300];
	if (!elf_build_id(in->path, id, sizeof(id))) {
		snprintf(in->why, sizeof(in->why), "%s has no build-id",
			 in->path);
		return false;
	}
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug",
		 id, id + 2);
	if (access(path, R_OK) != 0) {
		snprintf(in->why, sizeof(in->why),
			 "no debug info for %s (%s missing: install %s)",
			 in->path, path, package);
		return false;
	}
	return true;
}

int harness_run(char *const argv[], const char *out_path,
		const char *err_path, int timeout_s)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC,
				      0600);
			if (fd >= 0)
				dup2(fd, 1);
		}
		if (err_path) {
			int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND,
				      0600);
			if (fd >= 0)
				dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	time_t end = time(NULL) + timeout_s;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		if (time(NULL) > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -2;
		}
		usleep(10000);
	}
}

char *harness_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 >= cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static int count_tasks(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* utime + stime of process @pid, in clock ticks, or -1. */
static long long process_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* fields 14 and 15, counted after the comm's closing parenthesis */
	const char *p = strrchr(buf, ')');
	for (int i = 0; p && i < 12; i++) {
		p = strchr(p + 1, ' ');
	}
	unsigned long long ut, st;
	if (!p || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* "os_threads": N in the truth file, -1 if absent. */
static int truth_os_threads(const char *path)
{
	char *text = harness_slurp(path);
	const char *p = text ? strstr(text, "\"os_threads\": ") : NULL;
	int n = p ? atoi(p + strlen("\"os_threads\": ")) : -1;
	free(text);
	return n;
}

void harness_start(struct scenario_run *r, const struct interp *in,
		   const char *script)
{
	memset(r, 0, sizeof(*r));
	const char *tmp = getenv("TMPDIR");
	snprintf(r->dir, sizeof(r->dir), "%s/tripod-test-%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", in->id);
	cr_assert_not_null(mkdtemp(r->dir), "mkdtemp %s: %s", r->dir,
			   strerror(errno));
	snprintf(r->truth, sizeof(r->truth), "%s/truth.json", r->dir);
	snprintf(r->snaps, sizeof(r->snaps), "%s/snaps", r->dir);
	snprintf(r->json, sizeof(r->json), "%s/analyze.jsonl", r->dir);
	snprintf(r->text, sizeof(r->text), "%s/analyze.txt", r->dir);
	snprintf(r->log, sizeof(r->log), "%s/log.txt", r->dir);
	snprintf(r->nodebug, sizeof(r->nodebug), "%s/no-debuginfo", r->dir);
	r->hide_debuginfo = in->hide_debuginfo;
	snprintf(r->debuginfo_dir, sizeof(r->debuginfo_dir), "%s",
		 in->debuginfo_dir);
	if (r->hide_debuginfo)
		cr_assert_eq(mkdir(r->nodebug, 0700), 0, "mkdir %s: %s",
			     r->nodebug, strerror(errno));
	char spath[4096];
	snprintf(spath, sizeof(spath), "%s/scenarios/%s", FIXTURES_DIR, script);

	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		setpgid(0, 0);
		int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* how a fixture starts its interpreter again (random_values) */
		setenv("TRIPOD_FIXTURE_PYTHON", in->path, 1);
		execl(in->path, in->path, spath, r->truth, (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	time_t end = time(NULL) + 90;
	while (access(r->truth, F_OK) != 0) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->pid = 0;
			char *log = harness_slurp(r->log);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
				/* a skipped test does not run the suite's .fini */
				harness_finish(r);
				cr_skip_test("%s", log ? log : script);
			}
			cr_assert_fail("%s %s exited (status 0x%x) before recording its truth:\n%s",
				       in->path, script, status, log ? log : "");
		}
		if (time(NULL) > end)
			cr_assert_fail("%s %s: no truth after 90 s", in->path, script);
		usleep(20000);
	}
	/* the recorder threads exit after writing: wait for them to be gone */
	int nthreads = truth_os_threads(r->truth);
	cr_assert_gt(nthreads, 0, "%s: no os_threads in the truth", r->truth);
	end = time(NULL) + 30;
	while (count_tasks(pid) != nthreads) {
		if (time(NULL) > end)
			cr_assert_fail("%s %s: %d threads, expected %d", in->path,
				 script, count_tasks(pid), nthreads);
		usleep(20000);
	}
	/*
	 * A CPU-bound thread gave the GIL up to the exiting recorder: it
	 * holds it again once it runs again.  On a busy machine that can
	 * take a while after the recorder is gone; CPU time the process
	 * spends from now on is that thread running, with the GIL.
	 */
	char *text = harness_slurp(r->truth);
	bool cpu_bound = text && strstr(text, "\"cpu_bound\": true");
	free(text);
	long long t0 = cpu_bound ? process_cpu_ticks(pid) : -1;
	while (t0 >= 0 && process_cpu_ticks(pid) < t0 + 3) {
		if (time(NULL) > end)
			cr_assert_fail("%s %s: its CPU-bound thread does not run",
				       in->path, script);
		usleep(5000);
	}
}

void harness_snapshot_and_analyze(struct scenario_run *r)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	/*
	 * Two snapshots of the same parked state: the first through a
	 * copy-on-write clone (the default), the second copied while the
	 * target is stopped; both must equal the truth.  tripod-analyze
	 * decodes the second with the libdwfl session and layout it kept from
	 * the first (the per-build cache).
	 */
	const char *methods[] = { "--capture=clone", "--capture=copy" };
	for (size_t i = 0; i < 2; i++) {
		char *snap[] = { TOP_BUILDDIR "/src/tripod-snap", "-q",
				 (char *)methods[i], "--pid", pid, "-n", "1",
				 "-o", r->snaps, NULL };
		int st = harness_run(snap, NULL, r->log, 60);
		if (st != 0) {
			char *log = harness_slurp(r->log);
			cr_assert_fail("tripod-snap %s exited %d:\n%s",
				       methods[i], st, log ? log : "");
		}
	}
	int st;
	/* without debug info: search an empty directory only */
	char dipath[4200];
	snprintf(dipath, sizeof(dipath), "--debuginfo-path=%s",
		 r->hide_debuginfo ? r->nodebug : r->debuginfo_dir);
	char *di = r->hide_debuginfo || r->debuginfo_dir[0] ? dipath : NULL;
	/* argv ends at the first NULL: the optional ones go last */
	char *extra = (char *)r->analyze_arg;
	char *json[] = { TOP_BUILDDIR "/src/tripod-analyze", "--format", "json",
			 r->snaps, extra ? extra : di, extra ? di : NULL,
			 NULL };
	st = harness_run(json, r->json, r->log, 120);
	if (st != 0) {
		char *log = harness_slurp(r->log);
		cr_assert_fail("tripod-analyze --format json%s%s exited %d:\n%s",
			       di ? " " : "", di ? di : "", st, log ? log : "");
	}
	char first[400];
	snprintf(first, sizeof(first), "%s/snapshot-000001.tripod", r->snaps);
	char *text[] = { TOP_BUILDDIR "/src/tripod-analyze", "--no-header",
			 first, extra ? extra : di, extra ? di : NULL, NULL };
	st = harness_run(text, r->text, r->log, 120);
	if (st != 0) {
		char *log = harness_slurp(r->log);
		cr_assert_fail("tripod-analyze exited %d:\n%s", st, log ? log : "");
	}
}

void harness_compare(struct scenario_run *r, bool dogslow)
{
	char out[300];
	snprintf(out, sizeof(out), "%s/compare.txt", r->dir);
	char *argv[] = { "/usr/bin/python3",
			 TOP_SRCDIR "/tests/integration/compare_truth.py",
			 r->truth, r->json, dogslow ? r->text : NULL, NULL };
	int st = harness_run(argv, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "output differs from the truth (%s):\n%s", r->dir,
		     text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}

void harness_finish(struct scenario_run *r)
{
	if (r->pid > 0) {
		kill(-r->pid, SIGKILL);
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	if (r->dir[0]) {
		char *argv[] = { "/bin/rm", "-rf", r->dir, NULL };
		harness_run(argv, NULL, NULL, 30);
	}
}

void harness_gdb_crosscheck(struct scenario_run *r, const struct interp *in,
			    bool lines)
{
	char core[300], snap[400], gdbout[300], out[300], src[4200];
	snprintf(core, sizeof(core), "%s/core", r->dir);
	snprintf(snap, sizeof(snap), "%s/snapshot-000001.tripod", r->snaps);
	snprintf(gdbout, sizeof(gdbout), "%s/gdb.txt", r->dir);
	snprintf(out, sizeof(out), "%s/compare-gdb.txt", r->dir);
	/* the snapshot as a standalone core: what a user hands to gdb */
	char *export[] = { TOP_BUILDDIR "/src/tripod-analyze", "--export-core",
			   snap, "-o", core, NULL };
	int st = harness_run(export, NULL, r->log, 120);
	cr_assert_eq(st, 0, "tripod-analyze --export-core %s failed (%d)", snap,
		     st);
	snprintf(src, sizeof(src), "source %s", in->gdb_script);
	char dfd[4200];
	snprintf(dfd, sizeof(dfd), "set debug-file-directory %s",
		 in->debuginfo_dir[0] ? in->debuginfo_dir : "/usr/lib/debug");
	char *gdb[] = { "/usr/bin/gdb", "-nx", "-batch", "-iex",
			"set auto-load safe-path /", "-iex", dfd, "-ex", src,
			"-ex", "thread apply all py-bt",
			(char *)(in->gdb_exe[0] ? in->gdb_exe : in->path), core,
			NULL };
	st = harness_run(gdb, gdbout, gdbout, 300);
	cr_assert_eq(st, 0, "gdb failed (%d)", st);
	char *cmp[] = { "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/compare_gdb.py", gdbout,
			r->json, lines ? "--lines" : NULL, NULL };
	st = harness_run(cmp, out, out, 60);
	char *text = harness_slurp(out);
	cr_assert_eq(st, 0, "gdb and tripod-analyze disagree (%s):\n%s",
		     r->dir, text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
}
