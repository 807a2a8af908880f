/* SPDX-License-Identifier: MIT */
/*
 * Mutated snapshots: seeded truncations and byte flips of real snapshots
 * of a Python process -- the plain ELF core (its headers, notes and memory:
 * Python objects and pointers), the BGZF .core.gz, and the stored index --
 * analysed in batches, each batch a directory that mixes the mutants with
 * good snapshots.  For every batch:
 *   - no crash, no sanitizer report, no hang (a deadline per batch);
 *   - bounded memory (peak RSS of tripod-analyze);
 *   - every good snapshot reported in full, whatever its neighbours;
 *   - every mutant accounted for: a record on stdout or a line on stderr;
 *   - the exit status says which: 0 with nothing on stderr, 1 otherwise
 *     (never 2: the good snapshots are there).
 * TRIPOD_MUTANTS (default 300) sets how many; TRIPOD_MUTANT_SEED the seed.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANALYZE TOP_BUILDDIR "/src/tripod-analyze"
#define SNAP TOP_BUILDDIR "/src/tripod-snap"
#define PYTHON "/usr/bin/python3.11"
#define BATCH 25
#define GOOD_PER_BATCH 3

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define MAX_RSS_KB (1536L * 1024)   /* ASan's shadow and quarantine */
#define DEADLINE 600
#else
#define MAX_RSS_KB (256L * 1024)
#define DEADLINE 180
#endif

static char scratch[64];
static pid_t target;

static void setup(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/tripod-mutants-XXXXXX");
	cr_assert_not_null(mkdtemp(scratch));
}

static void cleanup(void)
{
	if (target > 0) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		target = 0;
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", scratch);
}

TestSuite(mutants, .init = setup, .fini = cleanup, .timeout = 3000);

static uint64_t rng;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc((size_t)n + 1);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* system("cp -r A B") and the like, on two paths */
static int sh2(const char *verb, const char *a, const char *b)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "%s '%s' '%s'", verb, a, b ? b : "");
	return system(cmd);
}

struct run {
	int status;             /* -1: hung */
	long maxrss_kb;
	char *out, *err;
	size_t outlen, errlen;
};

static void run(char *const argv[], int seconds, struct run *r)
{
	char out[128], err[128];
	snprintf(out, sizeof(out), "%s/run.out", scratch);
	snprintf(err, sizeof(err), "%s/run.err", scratch);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	r->status = -1;
	for (int i = 0; i < seconds * 20; i++) {
		if (wait4(pid, &st, WNOHANG, &ru) == pid) {
			r->status = WIFEXITED(st) ? WEXITSTATUS(st)
						  : 128 + WTERMSIG(st);
			break;
		}
		usleep(50000);
	}
	if (r->status == -1) {
		kill(pid, SIGKILL);
		wait4(pid, &st, 0, &ru);
	}
	r->maxrss_kb = ru.ru_maxrss;
	r->out = (char *)slurp(out, &r->outlen);
	r->err = (char *)slurp(err, &r->errlen);
}

enum kind { PLAIN, GZ, INDEX };
static const char *const suffix[] = { ".core", ".core.gz", ".tripod" };

/* One mutant of @src (@len bytes): a cut, a few flipped bytes, or words. */
static size_t mutate(const unsigned char *src, size_t len, unsigned char *dst,
		     char *what, size_t whatlen, bool *cut_short)
{
	memcpy(dst, src, len);
	unsigned how = (unsigned)(next() % 4);
	*cut_short = false;
	if (how == 0) {
		size_t cut = (size_t)(next() % len);
		snprintf(what, whatlen, "cut at %zu", cut);
		*cut_short = true;
		return cut;
	}
	if (how == 1) {
		/* the headers and notes: the first 64 KiB */
		size_t span = len < 65536 ? len : 65536;
		unsigned n = 1 + (unsigned)(next() % 4);
		for (unsigned i = 0; i < n; i++)
			dst[next() % span] ^= (unsigned char)(1 + next() % 255);
		snprintf(what, whatlen, "%u bytes flipped in the head", n);
		return len;
	}
	/* anywhere: bytes, or whole words made pointer-like */
	unsigned n = 1 + (unsigned)(next() % 64);
	for (unsigned i = 0; i < n && len >= 16; i++) {
		size_t at = (size_t)(next() % (len - 8)) & ~(size_t)7;
		if (how == 2) {
			dst[at] ^= (unsigned char)(1 + next() % 255);
		} else {
			/* another word of the file, a little off: a pointer
			 * that leads somewhere plausible but wrong */
			uint64_t w;
			memcpy(&w, src + ((size_t)(next() % (len - 8)) & ~(size_t)7), 8);
			w += (next() % 64) * 8 - 256;
			memcpy(dst + at, &w, 8);
		}
	}
	snprintf(what, whatlen, "%u %s changed", n, how == 2 ? "bytes" : "words");
	return len;
}

static bool in_json(const char *out, const char *path, bool need_wait)
{
	char key[512];
	snprintf(key, sizeof(key), "{\"file\": \"%s\"", path);
	const char *line = strstr(out, key);
	if (!line)
		return false;
	if (!need_wait)
		return true;
	const char *end = strchr(line, '\n');
	const char *w = strstr(line, "\"function\": \"wait\"");
	return w && (!end || w < end);
}

Test(mutants, seeded_truncations_and_flips)
{
	if (access(PYTHON, X_OK))
		cr_skip_test(PYTHON " is not installed");
	const char *env = getenv("TRIPOD_MUTANTS");
	int total = env ? atoi(env) : 300;
	env = getenv("TRIPOD_MUTANT_SEED");
	rng = env ? strtoull(env, NULL, 0) : 0x7269706f64ULL;
	if (!rng)
		rng = 1;

	/* a small Python process, one snapshot of each kind */
	target = fork();
	cr_assert(target >= 0);
	if (target == 0) {
		execl(PYTHON, PYTHON, "-S", "-c",
		      "import time\ndef wait(seconds):\n    time.sleep(seconds)\n"
		      "wait(600)\n", (char *)NULL);
		_exit(127);
	}
	usleep(800000);
	char pid[32], stored[128], single[128], plain[256], gz[256], ix[256];
	snprintf(pid, sizeof(pid), "%d", (int)target);
	snprintf(stored, sizeof(stored), "%s/stored", scratch);
	snprintf(single, sizeof(single), "%s/single", scratch);
	struct run r;
	run((char *[]){ SNAP, "-q", "--pid", pid, "-n", "1", "-o", stored,
			NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run((char *[]){ SNAP, "-q", "--pid", pid, "-n", "1", "-o", single,
			"--standalone", NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	target = 0;
	snprintf(gz, sizeof(gz), "%s/snapshot-000001.core.gz", single);
	snprintf(ix, sizeof(ix), "%s/snapshot-000001.tripod", stored);
	snprintf(plain, sizeof(plain), "%s/plain.core", scratch);
	run((char *[]){ ANALYZE, "--export-core", gz, "-o", plain, NULL }, 60, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	size_t len[3];
	unsigned char *orig[3] = { slurp(plain, &len[0]), slurp(gz, &len[1]),
				   slurp(ix, &len[2]) };
	size_t maxlen = len[0] > len[1] ? len[0] : len[1];
	unsigned char *buf = malloc(maxlen > len[2] ? maxlen : len[2]);

	int made = 0, batches = 0, partial_or_failed = 0;
	long peak = 0;
	while (made < total) {
		/* a batch: a copy of the store (for the indexes), good
		 * snapshots between the mutants */
		char dir[128], path[256], what[BATCH][96];
		snprintf(dir, sizeof(dir), "%s/batch%d", scratch, batches);
		cr_assert_eq(sh2("cp -r", stored, dir), 0);
		snprintf(path, sizeof(path), "%s/snapshot-000001.tripod", dir);
		unlink(path);
		int n = total - made < BATCH ? total - made : BATCH;
		char good[GOOD_PER_BATCH][256];
		for (int g = 0; g < GOOD_PER_BATCH; g++) {
			int seq = g * (n + 1) / GOOD_PER_BATCH;
			snprintf(good[g], sizeof(good[g]),
				 "%s/snapshot-%06d-good%s", dir, seq * 2,
				 g % 2 ? ".tripod" : ".core.gz");
			cr_assert_eq(sh2("cp", g % 2 ? ix : gz, good[g]), 0);
		}
		char mpath[BATCH][256];
		bool must_say[BATCH];
		for (int i = 0; i < n; i++) {
			enum kind k = (enum kind)(next() % 3);
			size_t ml = mutate(orig[k], len[k], buf, what[i],
					   sizeof(what[i]), &must_say[i]);
			/*
			 * A snapshot cut short is never reported as whole:
			 * stderr names it (failed or partial).  Only the
			 * BGZF end-of-stream marker (28 bytes) may go
			 * unnoticed: every byte of the core is still there.
			 */
			if (k == GZ && ml + 28 >= len[k])
				must_say[i] = false;
			snprintf(mpath[i], sizeof(mpath[i]),
				 "%s/snapshot-%06d%s", dir, i * 2 + 1, suffix[k]);
			spit(mpath[i], buf, ml);
		}
		run((char *[]){ ANALYZE, "--format", "json", dir, NULL },
		    DEADLINE, &r);
		cr_assert_neq(r.status, -1, "batch %d hung (%s)", batches, dir);
		cr_assert(r.status == 0 || r.status == 1,
			  "batch %d: exit %d\nstderr: %s", batches, r.status,
			  r.err);
		cr_assert(!strstr(r.err, "Sanitizer") &&
			  !strstr(r.err, "runtime error"),
			  "batch %d: %s", batches, r.err);
		cr_assert_lt(r.maxrss_kb, MAX_RSS_KB, "batch %d: %ld KiB",
			     batches, r.maxrss_kb);
		if (r.maxrss_kb > peak)
			peak = r.maxrss_kb;
		for (int g = 0; g < GOOD_PER_BATCH; g++)
			cr_assert(in_json(r.out, good[g], true),
				  "batch %d: good snapshot %s not reported in full\nstderr: %s",
				  batches, good[g], r.err);
		int unnamed = 0;
		for (const char *p = strstr(r.err, "(the same error for "); p;
		     p = strstr(p + 1, "(the same error for "))
			unnamed += atoi(p + strlen("(the same error for "));
		int missing = 0;
		for (int i = 0; i < n; i++) {
			if (!in_json(r.out, mpath[i], false) &&
			    !strstr(r.err, mpath[i]))
				missing++;
			/* decoded, it must be said to be partial (a failure
			 * may be one of "the same error for N more") */
			cr_assert(!must_say[i] || !in_json(r.out, mpath[i], false) ||
				  strstr(r.err, mpath[i]),
				  "batch %d: %s (%s) reported as whole\nstderr: %s",
				  batches, mpath[i], what[i], r.err);
		}
		cr_assert_leq(missing, unnamed,
			      "batch %d: %d mutants neither reported nor named on stderr\n%s",
			      batches, missing, r.err);
		/* the exit status says which */
		cr_assert_eq(r.status == 0, r.errlen == 0,
			     "batch %d: exit %d with stderr: %s", batches,
			     r.status, r.err);
		partial_or_failed += r.errlen > 0;
		free(r.out);
		free(r.err);
		cr_assert_eq(sh2("rm -rf", dir, NULL), 0);
		made += n;
		batches++;
	}
	cr_log_info("%d mutants in %d batches, peak RSS %ld KiB", made,
		    batches, peak);
	for (int k = 0; k < 3; k++)
		free(orig[k]);
	free(buf);
}
