/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze: decode tripod snapshots (or ELF cores of CPython
 * processes) offline into tracebacks with local variables.
 *
 * Exit status (documented in tripod-analyze(1)):
 *   0   every snapshot was decoded completely
 *   1   output was produced, but some snapshot or thread had errors
 *   2   nothing usable: every input failed (missing debug info, unsupported
 *       Python version, corrupt snapshot, not a Python process, ...)
 *   64  usage error
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/dumplayout.h"
#include "analyze/render.h"
#include "common/strbuf.h"

#define EXIT_PARTIAL 1
#define EXIT_NOTHING 2
#define EXIT_USAGE 64

enum format { FORMAT_DOGSLOW, FORMAT_JSON };

struct options {
	enum format format;
	struct tp_render_opts render;
	struct tp_analyze_opts analyze;
	int verbose;
};

struct state {
	struct options opts;
	struct tp_sources *sources;
	size_t ok, failed, partial;
	size_t notpython;       /* not running Python at that time */
	char *last_error;       /* message of the previous failure */
	size_t repeats;         /* times it repeated since */
};

static const char *progname = "tripod-analyze";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... PATH...\n"
		"       %s --export-core SNAPSHOT -o FILE\n"
		"Decode tripod snapshots into tracebacks with local variables.\n"
		"\n"
		"PATH is a snapshot directory (its snapshots in time order), a snapshot\n"
		"(snapshot-NNNNNN.tripod or .core.gz), or an ELF core of a CPython\n"
		"process, plain or gzip'd.\n"
		"\n"
		"  -f, --format=FORMAT      dogslow (default) or json (JSON Lines)\n"
		"      --no-locals          leave out arguments and local variables\n"
		"      --no-header          leave out the per-thread header\n"
		"      --max-repr=N         longest value text, in characters (default 65536)\n"
		"      --max-frames=N       frames shown per thread (default 4096)\n"
		"      --native[=SOURCE]    C frames too, merged with the Python frames, and\n"
		"                           each thread's state; SOURCE: auto (default: the\n"
		"                           stacks tripod-snap --native recorded, else unwound\n"
		"                           from the snapshot), recorded, or core\n"
		"      --debuginfo-path=P   where to look for separate debug info\n"
		"                           (libdwfl syntax, e.g. -:.debug:/usr/lib/debug)\n"
		"      --layout-source=S    where the structure layout comes from: auto\n"
		"                           (default: DWARF, else _Py_DebugOffsets, else the\n"
		"                           built-in table), dwarf, debug-offsets, or table\n"
		"      --export-core=SNAP   write snapshot (or core) SNAP as a standalone ELF\n"
		"                           core to the file given with -o (gzip'd if its\n"
		"                           name ends in .gz; - for standard output)\n"
		"  -o, --output=FILE        where --export-core writes\n"
		"      --dump-layout        print the structure layout that the DWARF of each\n"
		"                           PATH (a libpython or python binary) gives\n"
		"  -v, --verbose            say what is being done on stderr\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"Exit status: 0 all decoded, 1 some errors, 2 nothing usable, 64 usage.\n"
		"See tripod-analyze(1).\n",
		progname, progname);
}

static bool parse_size(const char *s, size_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*ret = (size_t)v;
	return true;
}

static void report_failure(struct state *st, const char *path,
			   const struct tp_error *err)
{
	const char *msg = tp_error_message(err);
	if (st->last_error && !strcmp(st->last_error, msg)) {
		st->repeats++;
		return;
	}
	if (st->repeats)
		fprintf(stderr, "%s: (the same error for %zu more snapshot%s)\n",
			progname, st->repeats, st->repeats == 1 ? "" : "s");
	st->repeats = 0;
	size_t plen = strlen(path);
	if (!strncmp(msg, path, plen) && msg[plen] == ':')
		fprintf(stderr, "%s: %s\n", progname, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", progname, path, msg);
	free(st->last_error);
	st->last_error = strdup(msg);
}

static bool write_all(const char *s, size_t len)
{
	if (len && fwrite(s, 1, len, stdout) != len)
		return false;
	return fflush(stdout) == 0;
}

/*
 * Whether the report of @snap is partial, and the first reason why: the
 * snapshot's own (a core cut short, a thread list that loops), a thread's
 * stack that stopped early or hit --max-frames, a frame whose locals could
 * not all be read.  *@nreasons counts them all.
 */
static bool snapshot_partial(const struct tp_rsnapshot *snap,
			     char *why, size_t whylen, size_t *nreasons)
{
	size_t n = 0;
	why[0] = '\0';
#define REASON(...) do { if (!n++) snprintf(why, whylen, __VA_ARGS__); } while (0)
	if (snap->error)
		REASON("%s", snap->error);
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct tp_rthread *t = &snap->threads[i];
		if (t->error)
			REASON("thread %d: older frames not read: %s",
			       (int)t->tid, t->error);
		if (t->truncated)
			REASON("thread %d: older frames not shown: frame limit reached (--max-frames)",
			       (int)t->tid);
		for (size_t k = 0; k < t->nframes; k++)
			if (t->frames[k].error)
				REASON("thread %d: %s: locals incomplete: %s",
				       (int)t->tid, t->frames[k].function,
				       t->frames[k].error);
	}
#undef REASON
	*nreasons = n;
	return n > 0;
}

/* Returns false only when writing the output failed. */
static bool analyze_one(struct state *st, const char *path)
{
	struct tp_rsnapshot *snap;
	if (st->opts.verbose)
		fprintf(stderr, "%s: reading %s\n", progname, path);
	struct tp_error *err = tp_analyze_file(path, &st->opts.analyze, &snap);
	if (err) {
		report_failure(st, path, err);
		/*
		 * A launcher before its exec of Python, a worker that is not
		 * Python: said on stderr, but not a failure of the report.
		 */
		if (err->code == TP_ERR_NOTPYTHON)
			st->notpython++;
		else
			st->failed++;
		tp_error_destroy(err);
		return true;
	}
	if (st->opts.verbose)
		fprintf(stderr, "%s: %s: Python %s, layout from %s, %zu thread%s\n",
			progname, path, snap->python_version,
			snap->layout_source, snap->nthreads,
			snap->nthreads == 1 ? "" : "s");
	struct tp_strbuf out = TP_STRBUF_INIT;
	if (st->opts.format == FORMAT_JSON)
		err = tp_render_json(snap, &st->opts.render, &out);
	else
		err = tp_render_dogslow(snap, &st->opts.render, st->sources,
					&out);
	bool written = true;
	if (err) {
		report_failure(st, path, err);
		tp_error_destroy(err);
		st->failed++;
	} else {
		written = write_all(tp_strbuf_str(&out), out.len);
		char why[512];
		size_t nreasons;
		if (snapshot_partial(snap, why, sizeof(why), &nreasons)) {
			/* the report says where; stderr says that it is partial */
			if (nreasons > 1)
				fprintf(stderr, "%s: %s: partial report: %s (and %zu more)\n",
					progname, path, why, nreasons - 1);
			else
				fprintf(stderr, "%s: %s: partial report: %s\n",
					progname, path, why);
			st->partial++;
		} else {
			st->ok++;
		}
	}
	tp_strbuf_deinit(&out);
	tp_analyze_free(snap);
	return written;
}

/* A snapshot file found in a directory, and when it was written. */
struct found {
	char *path;
	struct timespec mtime;
	bool subdir;    /* in a DIR/PID/ subdirectory */
};

struct found_list {
	struct found *v;
	size_t n, cap;
};

static bool is_snapshot_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false;
	return (n > 8 && !strcmp(name + n - 8, ".core.gz")) ||
	       (n > 5 && !strcmp(name + n - 5, ".core")) ||
	       (n > 7 && !strcmp(name + n - 7, ".tripod"));
}

/* A process's directory of tripod-snap --subprocesses: DIR/PID. */
static bool is_pid_name(const char *name)
{
	if (!name[0])
		return false;
	for (const char *p = name; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static bool found_add(struct found_list *l, char *path, bool subdir)
{
	struct stat sb;
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		free(path);
		return true;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 64;
		struct found *v = realloc(l->v, ncap * sizeof(*v));
		if (!v) {
			free(path);
			return false;
		}
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = (struct found){ path, sb.st_mtim, subdir };
	return true;
}

/*
 * The snapshots in @dir, and (@top) in its DIR/PID/ subdirectories, where
 * tripod-snap --subprocesses puts each process's own.
 */
static void find_snapshots(const char *dir, bool top, struct found_list *l)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *path;
		bool snap = is_snapshot_name(de->d_name);
		if (!snap && !(top && is_pid_name(de->d_name)))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			break;
		if (snap) {
			if (!found_add(l, path, !top))
				break;
			continue;
		}
		find_snapshots(path, false, l);
		free(path);
	}
	closedir(d);
}

/*
 * Time order: the snapshots of one process are numbered in order, and
 * tripod-snap writes them one after the other, so the order in which the
 * files were written is time order across the processes too.
 */
static int cmp_found(const void *pa, const void *pb)
{
	const struct found *a = pa, *b = pb;
	if (a->subdir || b->subdir) {
		if (a->mtime.tv_sec != b->mtime.tv_sec)
			return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
		if (a->mtime.tv_nsec != b->mtime.tv_nsec)
			return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	}
	/* snapshot-NNNNNN: name order is time order */
	return strcmp(a->path, b->path);
}

/* Returns false only when writing the output failed. */
static bool analyze_dir(struct state *st, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		struct tp_error *err = tp_error_os(errno, dir,
						   "cannot open directory");
		report_failure(st, dir, err);
		tp_error_destroy(err);
		st->failed++;
		return true;
	}
	closedir(d);
	struct found_list l = { 0 };
	find_snapshots(dir, true, &l);
	if (!l.n) {
		struct tp_error *err = tp_error_create(
			TP_ERR_INVALID, "no snapshots (*.tripod, *.core.gz, *.core) in this directory");
		report_failure(st, dir, err);
		tp_error_destroy(err);
		st->failed++;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_found);
	bool ok = true;
	for (size_t i = 0; i < l.n; i++) {
		if (ok)
			ok = analyze_one(st, l.v[i].path);
		free(l.v[i].path);
	}
	free(l.v);
	return ok;
}

int main(int argc, char **argv)
{
	enum { OPT_NO_LOCALS = 256, OPT_NO_HEADER, OPT_MAX_REPR,
	       OPT_MAX_FRAMES, OPT_DEBUGINFO, OPT_DUMP_LAYOUT,
	       OPT_LAYOUT_SOURCE, OPT_EXPORT_CORE, OPT_NATIVE };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "no-locals", no_argument, NULL, OPT_NO_LOCALS },
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "max-repr", required_argument, NULL, OPT_MAX_REPR },
		{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
		{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO },
		{ "dump-layout", no_argument, NULL, OPT_DUMP_LAYOUT },
		{ "layout-source", required_argument, NULL, OPT_LAYOUT_SOURCE },
		{ "export-core", required_argument, NULL, OPT_EXPORT_CORE },
		{ "native", optional_argument, NULL, OPT_NATIVE },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct state st = { 0 };
	st.opts.format = FORMAT_DOGSLOW;
	st.opts.render.header = true;
	st.opts.render.locals = true;
	tp_python_opts_default(&st.opts.analyze.python);
	st.opts.render.max_repr = st.opts.analyze.python.max_repr;
	st.opts.analyze.debuginfo_path = getenv("TRIPOD_DEBUGINFO_PATH");

	int c;
	size_t v;
	bool dump_layout = false;
	const char *export_core = NULL, *output = NULL;
	while ((c = getopt_long(argc, argv, "f:o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "dogslow"))
				st.opts.format = FORMAT_DOGSLOW;
			else if (!strcmp(optarg, "json"))
				st.opts.format = FORMAT_JSON;
			else {
				fprintf(stderr, "%s: unknown format '%s' (dogslow, json)\n",
					progname, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NO_LOCALS:
			st.opts.render.locals = false;
			st.opts.analyze.python.locals = false;
			break;
		case OPT_NO_HEADER:
			st.opts.render.header = false;
			break;
		case OPT_MAX_REPR:
			if (!parse_size(optarg, &v) || v < 16) {
				fprintf(stderr, "%s: --max-repr wants a number >= 16\n",
					progname);
				return EXIT_USAGE;
			}
			st.opts.render.max_repr = v;
			st.opts.analyze.python.max_repr = v;
			break;
		case OPT_MAX_FRAMES:
			if (!parse_size(optarg, &v) || v < 1) {
				fprintf(stderr, "%s: --max-frames wants a positive number\n",
					progname);
				return EXIT_USAGE;
			}
			st.opts.analyze.python.max_frames = v;
			break;
		case OPT_DEBUGINFO:
			st.opts.analyze.debuginfo_path = optarg;
			break;
		case OPT_DUMP_LAYOUT:
			dump_layout = true;
			break;
		case OPT_NATIVE:
			st.opts.analyze.native = true;
			if (!optarg || !strcmp(optarg, "auto")) {
				st.opts.analyze.native_opts.source = TP_NATIVE_AUTO;
			} else if (!strcmp(optarg, "recorded")) {
				st.opts.analyze.native_opts.source = TP_NATIVE_RECORDED;
			} else if (!strcmp(optarg, "core")) {
				st.opts.analyze.native_opts.source = TP_NATIVE_CORE;
			} else {
				fprintf(stderr, "%s: unknown native stack source '%s' (auto, recorded, core)\n",
					progname, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_EXPORT_CORE:
			export_core = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_LAYOUT_SOURCE:
			if (!tp_layout_pref_parse(
				    optarg, &st.opts.analyze.python.layout_source)) {
				fprintf(stderr, "%s: unknown layout source '%s' (auto, dwarf, debug-offsets, table)\n",
					progname, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			st.opts.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", progname, PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try '%s --help'.\n", progname);
			return EXIT_USAGE;
		}
	}
	if (export_core || output) {
		if (!export_core || !output || !output[0] || optind < argc) {
			fprintf(stderr, "%s: --export-core SNAPSHOT -o FILE, nothing else\nTry '%s --help'.\n",
				progname, progname);
			return EXIT_USAGE;
		}
		uint64_t unread;
		struct tp_error *err = tp_analyze_export(export_core, output,
							 &unread);
		if (err) {
			report_failure(&st, export_core, err);
			tp_error_destroy(err);
			free(st.last_error);
			return EXIT_NOTHING;
		}
		free(st.last_error);
		if (unread) {
			fprintf(stderr, "%s: %s: %llu bytes could not be read (damaged or missing blocks); written as zeros\n",
				progname, export_core,
				(unsigned long long)unread);
			return EXIT_PARTIAL;
		}
		return 0;
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no PATH given\nTry '%s --help'.\n",
			progname, progname);
		return EXIT_USAGE;
	}
	if (dump_layout) {
		int status = 0;
		for (int i = optind; i < argc; i++) {
			struct tp_error *err = tp_dump_layout(
				argv[i], st.opts.analyze.debuginfo_path, stdout);
			if (err) {
				fprintf(stderr, "%s: %s\n", progname,
					tp_error_message(err));
				tp_error_destroy(err);
				status = EXIT_NOTHING;
			}
		}
		return status;
	}
	st.sources = tp_sources_create();
	struct tp_error *cerr = st.sources
		? tp_analyze_cache_create(&st.opts.analyze.cache) : NULL;
	if (!st.sources || cerr) {
		tp_error_destroy(cerr);
		tp_sources_destroy(st.sources);
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_NOTHING;
	}
	bool written = true;
	for (int i = optind; i < argc && written; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			written = analyze_dir(&st, argv[i]);
		else
			written = analyze_one(&st, argv[i]);
	}
	if (st.repeats)
		fprintf(stderr, "%s: (the same error for %zu more snapshot%s)\n",
			progname, st.repeats, st.repeats == 1 ? "" : "s");
	free(st.last_error);
	tp_sources_destroy(st.sources);
	tp_analyze_cache_destroy(st.opts.analyze.cache);
	if (!written) {
		fprintf(stderr, "%s: cannot write the report: %s\n", progname,
			strerror(errno));
		return EXIT_NOTHING;
	}
	if (st.ok + st.partial == 0)
		return EXIT_NOTHING;
	if (st.failed || st.partial)
		return EXIT_PARTIAL;
	return 0;
}
