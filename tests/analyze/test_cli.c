/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze as a user meets it: options, exit statuses, one-line
 * errors, bad inputs next to good ones.  Good snapshots are made of real
 * processes with tripod-snap (gcore's cores for the foreign-core case).
 */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
#define SNAP TOP_BUILDDIR "/src/tripod-snap"

struct result {
	int status;
	char out[65536];
	char err[16384];
};

static void slurp_fd(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run @argv; capture stdout and stderr (each truncated to its buffer). */
static void run(char *const argv[], struct result *r)
{
	char outp[] = "/tmp/tripod-cli-out-XXXXXX";
	char errp[] = "/tmp/tripod-cli-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	cr_assert(ofd >= 0 && efd >= 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	slurp_fd(ofd, r->out, sizeof(r->out));
	slurp_fd(efd, r->err, sizeof(r->err));
	close(ofd);
	close(efd);
	unlink(outp);
	unlink(errp);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static char scratch[64];

static void make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/tripod-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch));
}

static void remove_scratch(void)
{
	if (scratch[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", scratch);
	}
}

TestSuite(analyze_cli, .init = make_scratch, .fini = remove_scratch,
	  .timeout = 120);

Test(analyze_cli, help_and_version)
{
	struct result r;
	run((char *[]){ ANALYZE, "--help", NULL }, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "Usage: tripod-analyze"), "%s", r.out);
	cr_assert(strstr(r.out, "--format"));
	run((char *[]){ ANALYZE, "--version", NULL }, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, PACKAGE_VERSION));
}

Test(analyze_cli, usage_errors_exit_64)
{
	struct result r;
	run((char *[]){ ANALYZE, NULL }, &r);
	cr_assert_eq(r.status, 64, "no PATH: %d", r.status);
	run((char *[]){ ANALYZE, "--format", "xml", "x", NULL }, &r);
	cr_assert_eq(r.status, 64);
	cr_assert(strstr(r.err, "unknown format"), "%s", r.err);
	run((char *[]){ ANALYZE, "--bogus", "x", NULL }, &r);
	cr_assert_eq(r.status, 64);
}

Test(analyze_cli, missing_file_is_one_line_exit_2)
{
	struct result r;
	run((char *[]){ ANALYZE, "/nonexistent/snapshot.core.gz", NULL }, &r);
	cr_assert_eq(r.status, 2);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, "/nonexistent/snapshot.core.gz"), "%s", r.err);
	cr_assert_str_empty(r.out);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

Test(analyze_cli, garbage_and_empty_inputs)
{
	char path[128], buf[4096];
	struct result r;
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)rand();
	snprintf(path, sizeof(path), "%s/random.core.gz", scratch);
	write_file(path, buf, sizeof(buf));
	run((char *[]){ ANALYZE, path, NULL }, &r);
	cr_assert_eq(r.status, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "random.core.gz"), "%s", r.err);

	/* a gzip stream that is not an ELF core */
	snprintf(path, sizeof(path), "%s/text.core.gz", scratch);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "echo hello | gzip > %s", path);
	cr_assert_eq(system(cmd), 0);
	run((char *[]){ ANALYZE, path, NULL }, &r);
	cr_assert_eq(r.status, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);

	/* an empty directory */
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/empty", scratch);
	cr_assert_eq(mkdir(dir, 0700), 0);
	run((char *[]){ ANALYZE, dir, NULL }, &r);
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "no snapshots"), "%s", r.err);

	/* the executable itself: an ELF file, but not a core */
	run((char *[]){ ANALYZE, ANALYZE, NULL }, &r);
	cr_assert_eq(r.status, 2);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
}

/* A sleeping Python process and one tripod-snap snapshot of it. */
static pid_t start_python(const char *python)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(python, python, "-c",
		      "import time\ndef wait(seconds):\n    time.sleep(seconds)\n"
		      "print('ready', flush=True)\nwait(600)\n",
		      (char *)NULL);
		_exit(127);
	}
	/* let it reach the sleep */
	usleep(700000);
	return pid;
}

/* One snapshot, stored (an index and blocks) or --standalone (.core.gz). */
static void snapshot_as(pid_t pid, const char *dir, bool standalone)
{
	char spid[32];
	snprintf(spid, sizeof(spid), "%d", (int)pid);
	struct result r;
	run((char *[]){ SNAP, "-q", "--pid", spid, "-n", "1", "-i", "0.05",
			"-o", (char *)dir,
			standalone ? "--standalone" : "--quiet", NULL },
	    &r);
	cr_assert_eq(r.status, 0, "tripod-snap: %d %s", r.status, r.err);
}

static void snapshot(pid_t pid, const char *dir)
{
	snapshot_as(pid, dir, false);
}

static pid_t target;

static void kill_target(void)
{
	if (target > 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		target = 0;
	}
	remove_scratch();
}

#define SYSTEM_PYTHON "/usr/bin/python3"

Test(analyze_cli, truncated_snapshot_next_to_good_ones, .fini = kill_target)
{
	if (access(SYSTEM_PYTHON, X_OK))
		cr_skip_test(SYSTEM_PYTHON " is not installed");
	char dir[128], good[256], bad[256], cmd[600];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON);
	snapshot_as(target, dir, true);
	snprintf(good, sizeof(good), "%s/snapshot-000001.core.gz", dir);
	snprintf(bad, sizeof(bad), "%s/snapshot-000002.core.gz", dir);
	struct stat st;
	cr_assert_eq(stat(good, &st), 0);
	/* the same snapshot cut in the middle */
	snprintf(cmd, sizeof(cmd), "head -c %lld %s > %s",
		 (long long)st.st_size / 2, good, bad);
	cr_assert_eq(system(cmd), 0);

	struct result r;
	run((char *[]){ ANALYZE, dir, NULL }, &r);
	cr_assert_eq(r.status, 1, "exit %d, stderr %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, "snapshot-000002.core.gz"), "%s", r.err);
	cr_assert(strstr(r.err, "truncated"), "%s", r.err);
	/* the good snapshot is reported in full */
	cr_assert(strstr(r.out, "in wait"), "%s", r.out);
	cr_assert(strstr(r.out, "Arguments: wait(seconds=600)"), "%s", r.out);

	/* and alone it is fine */
	run((char *[]){ ANALYZE, good, NULL }, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_empty(r.err);
}

/*
 * The stored form: a damaged index is refused in one line naming it; a
 * block missing from the store makes the threads that need it partial
 * (exit 1) while the snapshots around it decode in full.
 */
Test(analyze_cli, damaged_store_next_to_good_ones, .fini = kill_target)
{
	if (access(SYSTEM_PYTHON, X_OK))
		cr_skip_test(SYSTEM_PYTHON " is not installed");
	char dir[128], good[256], bad[256], cmd[1200];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = start_python(SYSTEM_PYTHON);
	snapshot(target, dir);
	snapshot(target, dir);
	snprintf(good, sizeof(good), "%s/snapshot-000001.tripod", dir);
	snprintf(bad, sizeof(bad), "%s/snapshot-000002.tripod", dir);
	struct stat st;
	cr_assert_eq(stat(bad, &st), 0);
	snprintf(cmd, sizeof(cmd), "head -c %lld %s > %s.cut && mv %s.cut %s",
		 (long long)st.st_size / 2, bad, bad, bad, bad);
	cr_assert_eq(system(cmd), 0);
	struct result r;
	run((char *[]){ ANALYZE, dir, NULL }, &r);
	cr_assert_eq(r.status, 1, "exit %d, stderr %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, "snapshot-000002.tripod"), "%s", r.err);
	cr_assert(strstr(r.err, "truncated"), "%s", r.err);
	cr_assert(strstr(r.out, "Arguments: wait(seconds=600)"), "%s", r.out);

	/* every block gone: the index still opens, nothing decodes */
	snprintf(cmd, sizeof(cmd), "rm -r %s/blocks", dir);
	cr_assert_eq(system(cmd), 0);
	run((char *[]){ ANALYZE, good, NULL }, &r);
	cr_assert_neq(r.status, 0, "%s", r.out);
	cr_assert(strstr(r.err, "snapshot-000001.tripod"), "%s", r.err);
	cr_assert(strstr(r.err, "block store"), "%s", r.err);
}

Test(analyze_cli, not_a_python_process, .fini = kill_target)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	target = fork();
	cr_assert(target >= 0);
	if (target == 0) {
		execl("/bin/sleep", "sleep", "600", (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	snapshot(target, dir);
	struct result r;
	run((char *[]){ ANALYZE, dir, NULL }, &r);
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "not a Python process"), "%s", r.err);
}

/*
 * "unsupported Python X.Y": no interpreter of an unsupported version is
 * installed here, so make one.  Py_Version is only a constant that the
 * interpreter reports; a copy of libpython3.12 with Py_Version changed to
 * 3.16.0 runs as usual (through LD_LIBRARY_PATH), and the snapshot of that
 * process must be refused, not decoded with the wrong layout.
 */
#include <gelf.h>

static bool patch_py_version(const char *path, uint64_t value)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	bool done = false;
	Elf_Scn *scn = NULL;
	while (elf && !done && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; data && i < n && !done; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (!name || strcmp(name, "Py_Version"))
				continue;
			Elf_Scn *tscn = elf_getscn(elf, sym.st_shndx);
			GElf_Shdr tsh;
			if (!tscn || !gelf_getshdr(tscn, &tsh))
				break;
			off_t off = (off_t)(sym.st_value - tsh.sh_addr +
					    tsh.sh_offset);
			done = pwrite(fd, &value, 8, off) == 8;
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return done;
}

Test(analyze_cli, unsupported_python_version, .fini = kill_target)
{
	const char *home = getenv("HOME");
	char base[512], lib[700], python[700], libdir[128], copy[256];
	snprintf(base, sizeof(base), "%s/.pyenv/versions/3.12.1",
		 home ? home : "/root");
	snprintf(lib, sizeof(lib), "%s/lib/libpython3.12.so.1.0", base);
	snprintf(python, sizeof(python), "%s/bin/python3.12", base);
	if (access(lib, R_OK) || access(python, X_OK))
		cr_skip_test("needs the pyenv build of Python 3.12.1 (%s)", lib);
	snprintf(libdir, sizeof(libdir), "%s/lib", scratch);
	cr_assert_eq(mkdir(libdir, 0700), 0);
	snprintf(copy, sizeof(copy), "%s/libpython3.12.so.1.0", libdir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp %s %s", lib, copy);
	cr_assert_eq(system(cmd), 0);
	cr_assert(patch_py_version(copy, 0x031000f0), "cannot patch %s", copy);

	setenv("LD_LIBRARY_PATH", libdir, 1);
	target = start_python(python);
	unsetenv("LD_LIBRARY_PATH");
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)target);
	snprintf(cmd, sizeof(cmd), "grep -q %s %s", copy, maps);
	cr_assert_eq(system(cmd), 0, "the target did not load the copy");

	char dir[128];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	snapshot(target, dir);
	struct result r;
	run((char *[]){ ANALYZE, dir, NULL }, &r);
	cr_assert_eq(r.status, 2, "%d %s", r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "unsupported Python 3.16"), "%s", r.err);
	cr_assert_str_empty(r.out);
}

Test(analyze_cli, attributes_option_usage)
{
	struct result r;
	run((char *[]){ ANALYZE, "--attributes=0", "x", NULL }, &r);
	cr_assert_eq(r.status, 64, "--attributes=0: %d", r.status);
	cr_assert(strstr(r.err, "--attributes wants a depth"), "%s", r.err);
	run((char *[]){ ANALYZE, "--attributes=deep", "x", NULL }, &r);
	cr_assert_eq(r.status, 64);
	run((char *[]){ ANALYZE, "--attributes=101", "x", NULL }, &r);
	cr_assert_eq(r.status, 64);
	run((char *[]){ ANALYZE, "--help", NULL }, &r);
	cr_assert(strstr(r.out, "--attributes[=DEPTH]"), "%s", r.out);
}

/*
 * The checker of doc/tripod-analyze.schema.json that every integration
 * scenario runs its records through accepts a good record and refuses
 * records spoiled one way each (so that its passing means something).
 */
Test(analyze_cli, json_schema_checker_refuses_bad_records)
{
	if (access("/usr/bin/python3", X_OK))
		cr_skip_test("/usr/bin/python3 is not installed");
	struct result r;
	run((char *[]){ "/usr/bin/python3",
			TOP_SRCDIR "/tests/integration/schema_check.py",
			"--self-test", NULL },
	    &r);
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "refuses"), "%s", r.out);
}

/* The JSON of a real process, with and without --attributes, is what
 * the schema says. */
Test(analyze_cli, json_of_a_real_process_matches_the_schema,
     .fini = kill_target)
{
	if (access(SYSTEM_PYTHON, X_OK))
		cr_skip_test(SYSTEM_PYTHON " is not installed");
	char dir[128], out[256];
	snprintf(dir, sizeof(dir), "%s/snaps", scratch);
	snprintf(out, sizeof(out), "%s/out.jsonl", scratch);
	target = start_python(SYSTEM_PYTHON);
	snapshot(target, dir);
	static char *const variants[][2] = { { NULL, NULL },
					     { "--attributes=3", NULL } };
	for (size_t i = 0; i < 2; i++) {
		struct result r;
		run((char *[]){ ANALYZE, "--format", "json", dir,
				variants[i][0], NULL },
		    &r);
		cr_assert_eq(r.status, 0, "%s", r.err);
		FILE *f = fopen(out, "w");
		cr_assert_not_null(f);
		fputs(r.out, f);
		fclose(f);
		run((char *[]){ "/usr/bin/python3",
				TOP_SRCDIR "/tests/integration/schema_check.py",
				out, NULL },
		    &r);
		cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	}
}
