/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snap/proctree.h"
#include "snap/target.h"

struct tp_error *tp_proc_starttime(pid_t pid, unsigned long long *ret)
{
	struct tp_proc_stat st;
	struct tp_error *err = tp_proc_stat_read(pid, &st);
	if (!err)
		*ret = st.starttime;
	return err;
}

/* Every process on the system, as (pid, ppid, start time). */
static struct tp_error *list_all(struct tp_proc_id **ret, size_t *ret_n)
{
	DIR *d = opendir("/proc");
	if (!d)
		return tp_error_os(errno, "/proc", "cannot list processes in");
	struct tp_proc_id *v = NULL;
	size_t n = 0, cap = 0;
	struct tp_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		struct tp_proc_stat st;
		struct tp_error *e = tp_proc_stat_read((pid_t)pid, &st);
		if (e) {
			/* gone since readdir, or not ours to read: skip */
			tp_error_destroy(e);
			continue;
		}
		/* dead: nothing to sample (a copy-on-write clone of the
		 * target, whose zombie waits for the next snapshot, too) */
		if (st.state == 'Z' || st.state == 'X')
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 256;
			struct tp_proc_id *nv = realloc(v, ncap * sizeof(*nv));
			if (!nv) {
				err = &tp_error_nomem;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = (struct tp_proc_id){ (pid_t)pid, st.starttime,
					      st.ppid };
	}
	closedir(d);
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = n;
	return NULL;
}

static bool same(const struct tp_proc_id *a, const struct tp_proc_id *b)
{
	return a->pid == b->pid && a->starttime == b->starttime;
}

struct tp_error *tp_proctree_scan(const struct tp_proc_id *known,
				  size_t nknown, pid_t extra_root,
				  pid_t exclude, struct tp_proc_id **ret,
				  size_t *ret_n)
{
	struct tp_proc_id *all = NULL;
	size_t nall = 0;
	struct tp_error *err = list_all(&all, &nall);
	if (err)
		return err;
	/* in_tree[i]: all[i] is followed already (0), or new (2), or not (1) */
	unsigned char *state = calloc(nall ? nall : 1, 1);
	struct tp_proc_id *v = NULL;
	size_t n = 0;
	if (!state) {
		free(all);
		return &tp_error_nomem;
	}
	for (size_t i = 0; i < nall; i++) {
		state[i] = 1;
		for (size_t k = 0; k < nknown; k++)
			if (same(&all[i], &known[k]))
				state[i] = 0;
	}
	/*
	 * Add children of the tree until a pass adds none.  Each pass adds
	 * at least one process or ends, and a process is added once: at most
	 * nall passes, and parents come before their children.
	 */
	for (bool added = true; added;) {
		added = false;
		for (size_t i = 0; i < nall; i++) {
			if (state[i] != 1 || all[i].pid == exclude)
				continue;
			bool parent_in = extra_root && all[i].ppid == extra_root;
			for (size_t k = 0; k < nall && !parent_in; k++)
				parent_in = state[k] != 1 &&
					    all[k].pid == all[i].ppid;
			if (!parent_in)
				continue;
			if (nknown + n >= TP_PROCTREE_MAX) {
				err = tp_error_create(TP_ERR_LIMIT,
						      "more than %d processes to follow",
						      TP_PROCTREE_MAX);
				goto out;
			}
			struct tp_proc_id *nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				err = &tp_error_nomem;
				goto out;
			}
			v = nv;
			v[n++] = all[i];
			state[i] = 2;
			added = true;
		}
	}
out:
	free(state);
	free(all);
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*ret_n = n;
	return NULL;
}
