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
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "analyze/dumplayout.h"
#include "analyze/progress.h"
#include "analyze/render.h"
#include "analyze/views.h"
#include "common/strbuf.h"

#define EXIT_PARTIAL 1
#define EXIT_NOTHING 2
#define EXIT_USAGE 64

enum format { FORMAT_DOGSLOW, FORMAT_JSON, FORMAT_COLLAPSED, FORMAT_SVG,
	      FORMAT_HTML };

/* What is written: one report per snapshot, or one view of them all. */
enum mode { MODE_REPORT, MODE_VIEW, MODE_SUMMARY, MODE_DIFF };

#define MAX_THREAD_NAMES 256

struct options {
	enum format format;
	enum mode mode;
	struct tp_render_opts render;
	struct tp_analyze_opts analyze;
	struct tp_views_opts views;
	const char *thread_names[MAX_THREAD_NAMES];
	double since, until;    /* seconds since the epoch; 0: no limit */
	const char *title;
	int verbose;
};

struct state {
	struct options opts;
	struct tp_sources *sources;
	struct tp_views *views;         /* MODE_VIEW, MODE_SUMMARY */
	struct tp_rsnapshot *prev;      /* MODE_DIFF: the snapshot before */
	struct tp_progress progress;
	size_t out_of_range;            /* left out by --since/--until */
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
		"  -f, --format=FORMAT      dogslow (default), json (JSON Lines), or a view\n"
		"                           of all the snapshots: collapsed (folded stacks),\n"
		"                           svg (flame graph), html (timeline, flame graph,\n"
		"                           stacks with locals, search)\n"
		"      --by-thread          collapsed, svg: the thread or task is the root\n"
		"      --threads=NAME[,...] only these threads and tasks (\"Task NAME\")\n"
		"      --summary            the most frequent innermost frames and functions\n"
		"      --diff               what changed from each snapshot to the next\n"
		"      --since=TIME, --until=TIME\n"
		"                           only snapshots taken in this range (UTC,\n"
		"                           YYYY-MM-DDTHH:MM:SS[.fff][Z])\n"
		"      --title=TEXT         title of the svg and html views\n"
		"      --tasks=HOW          asyncio tasks in the dogslow report: full (a block\n"
		"                           per task, the default), tree (the awaited-by\n"
		"                           tree, compact), none\n"
		"      --no-locals          leave out arguments and local variables\n"
		"      --no-header          leave out the per-thread header\n"
		"      --max-repr=N         longest value text, in characters (default 65536)\n"
		"      --max-frames=N       frames shown per thread (default 4096)\n"
		"      --attributes[=DEPTH] print instances with their attributes, DEPTH\n"
		"                           nested instances deep (default 1)\n"
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

/* --attributes=DEPTH, at most (values nest at most 200 deep anyway) */
#define MAX_ATTRIBUTES_DEPTH 100

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
	tp_progress_clear(&st->progress);
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

/*
 * "2026-11-25T17:33:05.123Z" (also with a space for the T, without the
 * fraction or the Z; always UTC) as seconds since the epoch; false when
 * it is no such time.
 */
static bool parse_time(const char *s, double *ret)
{
	struct tm tm = { 0 };
	int n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year,
			 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &n) != 6)
		return false;
	double frac = 0;
	const char *p = s + n;
	if (*p == '.') {
		char *end;
		frac = strtod(p, &end);
		p = end;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ret = (double)timegm(&tm) + frac;
	return true;
}

/* Is @snap inside --since/--until?  A snapshot of unknown time is not. */
static bool in_range(const struct options *o, const struct tp_rsnapshot *snap)
{
	if (!o->since && !o->until)
		return true;
	double t;
	if (!parse_time(snap->time, &t))
		return false;
	return (!o->since || t >= o->since) && (!o->until || t <= o->until);
}

/* Render @snap in the chosen mode; it is freed or kept (--diff). */
static struct tp_error *render(struct state *st, struct tp_rsnapshot *snap,
			       struct tp_strbuf *out)
{
	struct tp_error *err = NULL;
	switch (st->opts.mode) {
	case MODE_VIEW:
	case MODE_SUMMARY:
		err = tp_views_add(st->views, snap);
		break;
	case MODE_DIFF:
		if (st->prev)
			err = tp_views_diff(st->prev, snap, &st->opts.views,
					    out);
		tp_analyze_free(st->prev);
		st->prev = snap;
		return err;
	case MODE_REPORT:
		if (st->opts.format == FORMAT_JSON)
			err = tp_render_json(snap, &st->opts.render, out);
		else
			err = tp_render_dogslow(snap, &st->opts.render,
						st->sources, out);
		break;
	}
	tp_analyze_free(snap);
	return err;
}

/* Returns false only when writing the output failed. */
static bool analyze_one(struct state *st, const char *path)
{
	struct tp_rsnapshot *snap;
	if (st->opts.verbose) {
		tp_progress_clear(&st->progress);
		fprintf(stderr, "%s: reading %s\n", progname, path);
	}
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
	if (!in_range(&st->opts, snap)) {
		st->out_of_range++;
		tp_analyze_free(snap);
		return true;
	}
	/* before render(): the views keep what they need and free @snap */
	char why[512];
	size_t nreasons;
	bool partial = snapshot_partial(snap, why, sizeof(why), &nreasons);
	struct tp_strbuf out = TP_STRBUF_INIT;
	err = render(st, snap, &out);
	bool written = true;
	if (err) {
		report_failure(st, path, err);
		tp_error_destroy(err);
		st->failed++;
	} else {
		written = write_all(tp_strbuf_str(&out), out.len);
		if (partial) {
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

static bool found_push(struct found_list *l, char *path);

/*
 * Append the snapshots of directory @dir to @all, in time order (so that
 * the whole list is known before the first is read: progress counts it).
 * Returns false when out of memory.
 */
static bool collect_dir(struct state *st, const char *dir,
			struct found_list *all)
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
			ok = found_push(all, l.v[i].path);
		else
			free(l.v[i].path);
	}
	free(l.v);
	return ok;
}

/* A path given as it is (a snapshot or a core). */
static bool found_push(struct found_list *l, char *path)
{
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
	l->v[l->n++] = (struct found){ .path = path };
	return true;
}

/* Split "a,b,c" into --threads names (the string is kept and cut). */
static bool add_thread_names(struct options *o, char *list)
{
	for (char *save = NULL, *name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (o->views.nthreads == MAX_THREAD_NAMES)
			return false;
		o->thread_names[o->views.nthreads++] = name;
	}
	return true;
}

/* Write the view of all the snapshots read (MODE_VIEW, MODE_SUMMARY). */
static struct tp_error *write_view(struct state *st)
{
	struct tp_strbuf out = TP_STRBUF_INIT;
	struct tp_error *err;
	if (st->opts.mode == MODE_SUMMARY)
		err = tp_views_summary(st->views, &out);
	else if (st->opts.format == FORMAT_COLLAPSED)
		err = tp_views_collapsed(st->views, &out);
	else if (st->opts.format == FORMAT_SVG)
		err = tp_views_svg(st->views, st->opts.title, &out);
	else
		err = tp_views_html(st->views, st->opts.title, &out);
	if (!err && !write_all(tp_strbuf_str(&out), out.len))
		err = tp_error_os(errno, NULL, "cannot write the report");
	tp_strbuf_deinit(&out);
	return err;
}

int main(int argc, char **argv)
{
	enum { OPT_NO_LOCALS = 256, OPT_NO_HEADER, OPT_MAX_REPR,
	       OPT_MAX_FRAMES, OPT_DEBUGINFO, OPT_DUMP_LAYOUT,
	       OPT_LAYOUT_SOURCE, OPT_EXPORT_CORE, OPT_ATTRIBUTES, OPT_BY_THREAD,
	       OPT_THREADS, OPT_SUMMARY, OPT_DIFF, OPT_SINCE, OPT_UNTIL,
	       OPT_TITLE, OPT_TASKS, OPT_NATIVE };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "no-locals", no_argument, NULL, OPT_NO_LOCALS },
		{ "no-header", no_argument, NULL, OPT_NO_HEADER },
		{ "max-repr", required_argument, NULL, OPT_MAX_REPR },
		{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
		{ "attributes", optional_argument, NULL, OPT_ATTRIBUTES },
		{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO },
		{ "dump-layout", no_argument, NULL, OPT_DUMP_LAYOUT },
		{ "layout-source", required_argument, NULL, OPT_LAYOUT_SOURCE },
		{ "export-core", required_argument, NULL, OPT_EXPORT_CORE },
		{ "native", optional_argument, NULL, OPT_NATIVE },
		{ "output", required_argument, NULL, 'o' },
		{ "by-thread", no_argument, NULL, OPT_BY_THREAD },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "tasks", required_argument, NULL, OPT_TASKS },
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
	bool dump_layout = false, format_given = false;
	int modes = 0;
	const char *export_core = NULL, *output = NULL;
	while ((c = getopt_long(argc, argv, "f:o:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "dogslow"))
				st.opts.format = FORMAT_DOGSLOW;
			else if (!strcmp(optarg, "json"))
				st.opts.format = FORMAT_JSON;
			else if (!strcmp(optarg, "collapsed"))
				st.opts.format = FORMAT_COLLAPSED;
			else if (!strcmp(optarg, "svg"))
				st.opts.format = FORMAT_SVG;
			else if (!strcmp(optarg, "html"))
				st.opts.format = FORMAT_HTML;
			else {
				fprintf(stderr, "%s: unknown format '%s' (dogslow, json, collapsed, svg, html)\n",
					progname, optarg);
				return EXIT_USAGE;
			}
			format_given = true;
			break;
		case OPT_BY_THREAD:
			st.opts.views.by_thread = true;
			break;
		case OPT_THREADS:
			if (!add_thread_names(&st.opts, optarg)) {
				fprintf(stderr, "%s: more than %d --threads names\n",
					progname, MAX_THREAD_NAMES);
				return EXIT_USAGE;
			}
			break;
		case OPT_SUMMARY:
			st.opts.mode = MODE_SUMMARY;
			modes++;
			break;
		case OPT_DIFF:
			st.opts.mode = MODE_DIFF;
			modes++;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (!parse_time(optarg, c == OPT_SINCE ? &st.opts.since
							       : &st.opts.until)) {
				fprintf(stderr, "%s: --%s wants a UTC time YYYY-MM-DDTHH:MM:SS[.fff][Z], not '%s'\n",
					progname,
					c == OPT_SINCE ? "since" : "until",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_TITLE:
			st.opts.title = optarg;
			break;
		case OPT_TASKS:
			if (!strcmp(optarg, "full"))
				st.opts.render.tasks = TP_TASKS_FULL;
			else if (!strcmp(optarg, "tree"))
				st.opts.render.tasks = TP_TASKS_TREE;
			else if (!strcmp(optarg, "none"))
				st.opts.render.tasks = TP_TASKS_HIDE;
			else {
				fprintf(stderr, "%s: --tasks is full, tree or none, not '%s'\n",
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
		case OPT_ATTRIBUTES:
			v = 1;
			if (optarg && (!parse_size(optarg, &v) || v < 1 ||
				       v > MAX_ATTRIBUTES_DEPTH)) {
				fprintf(stderr, "%s: --attributes wants a depth from 1 to %d\n",
					progname, MAX_ATTRIBUTES_DEPTH);
				return EXIT_USAGE;
			}
			st.opts.analyze.python.attributes = (unsigned)v;
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
	/* the JSON record carries each instance's attributes (FORMAT.md);
	 * so do the records the HTML page embeds */
	st.opts.analyze.python.local_attributes =
		st.opts.format == FORMAT_JSON || st.opts.format == FORMAT_HTML;
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
	if (modes > 1 || (modes && format_given)) {
		fprintf(stderr, "%s: --summary, --diff and --format exclude each other\nTry '%s --help'.\n",
			progname, progname);
		return EXIT_USAGE;
	}
	st.opts.views.threads = st.opts.thread_names;
	st.opts.views.render = st.opts.render;
	if (st.opts.format == FORMAT_COLLAPSED || st.opts.format == FORMAT_SVG ||
	    st.opts.format == FORMAT_HTML)
		st.opts.mode = MODE_VIEW;
	st.opts.views.keep_records = st.opts.format == FORMAT_HTML;
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
	if ((st.opts.mode == MODE_VIEW || st.opts.mode == MODE_SUMMARY) &&
	    (cerr = tp_views_create(&st.opts.views, &st.views))) {
		tp_error_destroy(cerr);
		tp_sources_destroy(st.sources);
		tp_analyze_cache_destroy(st.opts.analyze.cache);
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_NOTHING;
	}
	struct found_list all = { 0 };
	bool written = true, listed = true;
	for (int i = optind; i < argc && listed; i++) {
		struct stat sb;
		char *path = NULL;
		if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
			listed = collect_dir(&st, argv[i], &all);
		else
			listed = (path = strdup(argv[i])) && found_push(&all, path);
	}
	tp_progress_start(&st.progress, stderr, all.n);
	for (size_t i = 0; i < all.n; i++) {
		if (written && listed) {
			written = analyze_one(&st, all.v[i].path);
			tp_progress_step(&st.progress);
		}
		free(all.v[i].path);
	}
	free(all.v);
	tp_progress_end(&st.progress);
	if (!listed) {
		fprintf(stderr, "%s: out of memory\n", progname);
		st.failed++;
	}
	if (written && st.views && st.ok + st.partial) {
		struct tp_error *err = write_view(&st);
		if (err) {
			written = err->code != TP_ERR_OS;
			if (written) {
				report_failure(&st, "view", err);
				st.failed++;
			}
			tp_error_destroy(err);
		}
	}
	if (st.repeats)
		fprintf(stderr, "%s: (the same error for %zu more snapshot%s)\n",
			progname, st.repeats, st.repeats == 1 ? "" : "s");
	if (st.out_of_range && !st.ok && !st.partial)
		fprintf(stderr, "%s: no snapshot in the --since/--until range (%zu outside)\n",
			progname, st.out_of_range);
	else if (st.out_of_range && st.opts.verbose)
		fprintf(stderr, "%s: %zu snapshot%s outside --since/--until\n",
			progname, st.out_of_range,
			st.out_of_range == 1 ? "" : "s");
	free(st.last_error);
	tp_views_destroy(st.views);
	tp_analyze_free(st.prev);
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
