/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snap/options.h"

const char tp_snap_usage[] =
"Usage: tripod-snap [OPTION...] -- COMMAND [ARG...]\n"
"       tripod-snap [OPTION...] --pid PID\n"
"Run COMMAND (or watch the running process PID) and write a snapshot of it\n"
"every interval until it exits.  A process that runs another program\n"
"(execve: env, a shell, a launcher) is followed into it.\n"
"\n"
"  -i, --interval=SECONDS  time between snapshots (default: $TRIPOD_INTERVAL,\n"
"                          else 5); fractions allowed\n"
"  -o, --output=DIR        write snapshots to DIR (created 0700 if missing;\n"
"                          default: a new tripod_XXXXXX under $TMPDIR or /tmp)\n"
"  -n, --count=COUNT       stop sampling after COUNT snapshots\n"
"      --duration=SECONDS  stop sampling after SECONDS\n"
"  -p, --pid=PID           snapshot the running process PID and leave it running\n"
"                          (the first snapshot at once)\n"
"  -s, --subprocesses      snapshot its child processes too, each in DIR/PID/\n"
"  -l, --log=FILE          decode each snapshot as it is written and append the\n"
"                          report to FILE (- for standard error)\n"
"      --keep=N            keep only the newest N snapshots of each process\n"
"                          (0: none; with --log, each once it is logged)\n"
"      --max-size=SIZE     drop the oldest snapshots to keep DIR under SIZE\n"
"                          bytes (suffixes k, M, G, T: powers of 1024)\n"
"      --capture=METHOD    clone (default: the target is stopped only while a\n"
"                          copy-on-write clone of it is made, then read) or\n"
"                          copy (the target stays stopped while its memory\n"
"                          is copied)\n"
"      --standalone        write each snapshot as one gzip'd ELF core\n"
"                          (snapshot-NNNNNN.core.gz) instead of an index\n"
"                          into DIR's shared block store\n"
"      --native            record each thread's native (C) stack too, unwound\n"
"                          with libunwind after the target runs again\n"
"      --force-outdir      use an existing DIR that another user owns or can\n"
"                          write (refused otherwise: they could read or block\n"
"                          the snapshots)\n"
"  -q, --quiet             do not print the [Tripod] lines\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"In COMMAND mode tripod-snap exits with the command's exit status.\n"
"See tripod-snap(1) for the exit statuses.\n";

/* A number of seconds: finite, > 0, and small enough for a timespec. */
static struct tp_error *parse_seconds(const char *what, const char *s,
				      double *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || errno || !isfinite(v) || v <= 0 ||
	    v > 1e9)
		return tp_error_create(TP_ERR_INVALID,
				       "invalid %s '%s' (want a number of seconds > 0)",
				       what, s);
	*ret = v;
	return NULL;
}

static struct tp_error *parse_ulong(const char *what, const char *s,
				    unsigned long max, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || errno || s[0] == '-' || v == 0 ||
	    v > max)
		return tp_error_create(TP_ERR_INVALID,
				       "invalid %s '%s' (want a whole number from 1 to %lu)",
				       what, s, max);
	*ret = v;
	return NULL;
}

/* A size in bytes: digits, then nothing or one of k, M, G, T (1024^n). */
static struct tp_error *parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "kMGT";
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	bool digits = end != s;
	unsigned shift = 0;
	const char *u = *end ? strchr(units, *end == 'K' ? 'k' : *end) : NULL;
	if (u) {
		shift = 10 * (unsigned)(u - units + 1);
		end++;
	}
	if (!digits || *end || errno || s[0] == '-' || v == 0 ||
	    (shift && v > (UINT64_MAX >> shift)))
		return tp_error_create(TP_ERR_INVALID,
				       "invalid size '%s' (want a number of bytes > 0, with k, M, G or T for 1024^1..4)",
				       s);
	*ret = (uint64_t)v << shift;
	return NULL;
}

enum { OPT_DURATION = 256, OPT_KEEP, OPT_MAX_SIZE, OPT_STANDALONE,
       OPT_FORCE_OUTDIR, OPT_CAPTURE, OPT_NATIVE };

struct tp_error *tp_snap_options_parse(int argc, char **argv,
				       const char *env_interval,
				       struct tp_snap_options *ret)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "pid", required_argument, NULL, 'p' },
		{ "subprocesses", no_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "standalone", no_argument, NULL, OPT_STANDALONE },
		{ "force-outdir", no_argument, NULL, OPT_FORCE_OUTDIR },
		{ "capture", required_argument, NULL, OPT_CAPTURE },
		{ "native", no_argument, NULL, OPT_NATIVE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct tp_snap_options o = { .keep = TP_SNAP_KEEP_ALL };
	const char *interval = NULL;
	struct tp_error *err;

	/*
	 * "+": stop at the first non-option, so that the command's own options
	 * are never taken for ours even without "--".  ":" first: report
	 * errors ourselves (getopt would print them).
	 */
	optind = 0;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "+:i:o:n:p:sl:qhV", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'i':
			interval = optarg;
			break;
		case 'o':
			if (!optarg[0])
				return tp_error_create(TP_ERR_INVALID,
						       "empty output directory");
			o.outdir = optarg;
			break;
		case 'n':
			err = parse_ulong("count", optarg, 999999, &o.count);
			if (err)
				return err;
			break;
		case OPT_DURATION:
			err = parse_seconds("duration", optarg, &o.duration);
			if (err)
				return err;
			break;
		case 'p': {
			unsigned long pid;
			err = parse_ulong("pid", optarg, INT_MAX, &pid);
			if (err)
				return err;
			o.pid = (pid_t)pid;
			break;
		}
		case 's':
			o.subprocesses = true;
			break;
		case 'l':
			if (!optarg[0])
				return tp_error_create(TP_ERR_INVALID,
						       "empty log file name");
			o.log = optarg;
			break;
		case OPT_KEEP: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || errno || optarg[0] == '-' ||
			    v > 999999)
				return tp_error_create(TP_ERR_INVALID,
						       "invalid keep '%s' (want a whole number from 0 to 999999)",
						       optarg);
			o.keep = v;
			break;
		}
		case OPT_MAX_SIZE:
			err = parse_size(optarg, &o.max_size);
			if (err)
				return err;
			break;
		case OPT_CAPTURE:
			if (!strcmp(optarg, "copy"))
				o.stop_and_copy = true;
			else if (strcmp(optarg, "clone"))
				return tp_error_create(TP_ERR_INVALID,
						       "unknown capture method '%s' (clone, copy)",
						       optarg);
			break;
		case OPT_STANDALONE:
			o.standalone = true;
			break;
		case OPT_NATIVE:
			o.native = true;
			break;
		case OPT_FORCE_OUTDIR:
			o.force_outdir = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			o.help = true;
			break;
		case 'V':
			o.version = true;
			break;
		case ':':
			return tp_error_create(TP_ERR_INVALID,
					       "option '%s' needs an argument",
					       argv[optind - 1]);
		default:
			if (optopt)
				return tp_error_create(TP_ERR_INVALID,
						       "unknown option '-%c'",
						       optopt);
			return tp_error_create(TP_ERR_INVALID,
					       "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (o.help || o.version) {
		*ret = o;
		return NULL;
	}

	if (interval) {
		err = parse_seconds("interval", interval, &o.interval);
	} else if (env_interval && env_interval[0]) {
		err = parse_seconds("TRIPOD_INTERVAL", env_interval,
				    &o.interval);
	} else {
		o.interval = TP_SNAP_DEFAULT_INTERVAL;
		err = NULL;
	}
	if (err)
		return err;

	if (optind < argc)
		o.command = &argv[optind];
	if (o.pid && o.command)
		return tp_error_create(TP_ERR_INVALID,
				       "give either --pid or a COMMAND, not both");
	if (!o.pid && !o.command)
		return tp_error_create(TP_ERR_INVALID,
				       "no COMMAND and no --pid given");
	*ret = o;
	return NULL;
}
