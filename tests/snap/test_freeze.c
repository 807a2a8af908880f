/* SPDX-License-Identifier: MIT */
/* Freezing and capture, through the library, on real processes. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include <sys/uio.h>

#include "snap/capture.h"
#include "snap/cow.h"
#include "snap/freeze.h"
#include "snap/target.h"

TestSuite(freeze, .init = skip_unless_ptrace, .timeout = 60);

Test(freeze, stops_every_thread_and_lets_go)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "4", NULL });
	struct tp_freeze f;
	struct tp_error *err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert(all_threads_traced(t.pid), "not every thread is stopped");
	cr_assert_eq(f.nthreads, 5);
	cr_assert_eq(f.threads[0].tid, t.pid, "the leader comes first");
	for (size_t i = 0; i < f.nthreads; i++) {
		cr_assert_neq(f.threads[i].regs[16], 0, "no pc");  /* rip */
		cr_assert(f.threads[i].have_fpregs);
	}
	uint64_t a = target_counter(&t);
	usleep(50000);
	cr_assert_eq(target_counter(&t), a, "the target ran while frozen");
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	assert_target_runs(&t);
	target_kill(&t);
}

Test(freeze, no_such_process)
{
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	struct tp_freeze f;
	struct tp_error *err = tp_freeze(child, &f);
	cr_assert_not_null(err);
	cr_assert_eq(err->code, TP_ERR_EXITED);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	tp_error_destroy(err);
}

/* Threads come and go all the time: none may escape, none stay stopped. */
Test(freeze, threads_spawned_during_freeze)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_SPAWN, NULL });
	for (int i = 0; i < 100; i++) {
		struct tp_freeze f;
		struct tp_error *err = tp_freeze(t.pid, &f);
		cr_assert_null(err, "%s", tp_error_message(err));
		cr_assert(all_threads_traced(t.pid),
			  "a thread escaped freeze %d", i);
		uint64_t a = target_counter(&t);
		usleep(2000);
		cr_assert_eq(target_counter(&t), a);
		tp_thaw(&f);
		tp_freeze_deinit(&f);
		usleep(3000);
	}
	assert_target_runs(&t);
	target_kill(&t);
}

/* SIGKILL while stopped: the thaw reaps, and does not hang. */
Test(freeze, killed_while_frozen)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	struct tp_freeze f;
	struct tp_error *err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	kill(t.pid, SIGKILL);
	struct tp_capture c;
	err = tp_capture_memory(t.pid, -1, 0, &c);
	if (!err)
		tp_capture_deinit(&c);
	tp_error_destroy(err);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	cr_assert(f.killed, "the thaw should have seen the kill");
	cr_assert(f.leader_reaped, "the thaw should have reaped the leader");
	cr_assert(WIFSIGNALED(f.leader_status));
	cr_assert_eq(WTERMSIG(f.leader_status), SIGKILL);
	cr_assert_eq(kill(t.pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
}

/* A signal that arrives during the freeze is delivered after it. */
Test(freeze, signal_during_freeze_is_kept)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", "9", NULL });
	struct tp_freeze f;
	struct tp_error *err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	kill(t.pid, SIGTERM);
	usleep(20000);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	int st;
	cr_assert_eq(waitpid(t.pid, &st, 0), t.pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9,
		  "the target did not handle its SIGTERM (status %#x)", st);
}

static const struct tp_core_segment *seg_of(const struct tp_capture *c,
					    uint64_t addr)
{
	for (size_t i = 0; i < c->nsegs; i++)
		if (addr >= c->segs[i].vaddr &&
		    addr < c->segs[i].vaddr + c->segs[i].memsz)
			return &c->segs[i];
	return NULL;
}

Test(freeze, capture_copies_data_and_skips_untouched_pages)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	int pm = -1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t.pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	struct tp_freeze f;
	struct tp_capture c;
	struct tp_error *err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	err = tp_capture_memory(t.pid, pm, 0, &c);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	cr_assert_null(err, "%s", tp_error_message(err));

	/* the global, in the executable's writable data: copied whole */
	const struct tp_core_segment *s = seg_of(&c, t.global);
	cr_assert_not_null(s);
	cr_assert_lt(t.global - s->vaddr, s->filesz);
	cr_assert_str_eq((const char *)s->data + (t.global - s->vaddr),
			 "tripod-global-marker: the quick brown fox");
	/* the heap buffer, written by the target: present, copied */
	for (uint64_t off = 0; off < t.heaplen; off += 997) {
		s = seg_of(&c, t.heap + off);
		cr_assert_not_null(s);
		cr_assert_lt(t.heap + off - s->vaddr, s->filesz);
		unsigned char b = ((const unsigned char *)s->data)
			[t.heap + off - s->vaddr];
		cr_assert_eq(b, (unsigned char)(off * 7 + 3));
	}
	/* segments sorted, disjoint; [vvar] left out; some holes present */
	uint64_t holes = 0, end = 0;
	for (size_t i = 0; i < c.nsegs; i++) {
		cr_assert_geq(c.segs[i].vaddr, end);
		cr_assert_leq(c.segs[i].filesz, c.segs[i].memsz);
		end = c.segs[i].vaddr + c.segs[i].memsz;
		holes += c.segs[i].memsz - c.segs[i].filesz;
	}
	cr_assert_gt(holes, 0);
	bool vdso = false;
	for (size_t i = 0; i < c.maps.n; i++) {
		const struct tp_mapping *m = &c.maps.v[i];
		if (m->path && strcmp(m->path, "[vvar]") == 0)
			cr_assert_null(seg_of(&c, m->start));
		if (m->path && strcmp(m->path, "[vdso]") == 0) {
			s = seg_of(&c, m->start);
			cr_assert_not_null(s);
			cr_assert_eq(s->filesz, m->end - m->start);
			vdso = true;
		}
		/*
		 * read-only file mappings: the ELF header page (and pages the
		 * process changed), never all of the code
		 */
		if (tp_mapping_is_file(m) && !m->write && m->read &&
		    m->offset == 0) {
			s = seg_of(&c, m->start);
			cr_assert_not_null(s);
			cr_assert_eq(s->vaddr, m->start);
			cr_assert_geq(s->filesz, (uint64_t)sysconf(_SC_PAGESIZE));
			cr_assert_eq(memcmp(s->data, "\177ELF", 4), 0);
		}
		if (tp_mapping_is_file(m) && m->exec && !m->write) {
			uint64_t copied = 0;
			for (size_t j = 0; j < c.nsegs; j++)
				if (c.segs[j].vaddr >= m->start &&
				    c.segs[j].vaddr < m->end)
					copied += c.segs[j].filesz;
			cr_assert_lt(copied, m->end - m->start,
				     "code of %s copied whole", m->path);
		}
	}
	cr_assert(vdso);
	/* NT_FILE: every file-backed mapping */
	size_t nfile = 0;
	for (size_t i = 0; i < c.maps.n; i++)
		nfile += tp_mapping_is_file(&c.maps.v[i]);
	cr_assert_eq(c.nfiles, nfile);
	cr_assert_gt(nfile, 0);
	tp_capture_deinit(&c);
	close(pm);
	assert_target_runs(&t);
	target_kill(&t);
}

Test(freeze, classify)
{
	struct tp_mapping m = { .read = true };
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_PRESENT);
	m.shared = true;
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_ALL);
	m = (struct tp_mapping){ .read = true, .path = "[heap]" };
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_PRESENT);
	m.path = "[vvar]";
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_SKIP);
	m.path = "[vsyscall]";
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_SKIP);
	m.path = "[vdso]";
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_ALL);
	m.path = "/usr/lib/libc.so.6";
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_CHANGED);
	m.write = true;
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_ALL);
	m = (struct tp_mapping){ .read = true, .shared = true,
				 .path = "/srv/data.bin" };
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_HEAD);
	m.offset = 0x1000;
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_NONE);
	m = (struct tp_mapping){ .read = true, .shared = true,
				 .path = "/dev/zero (deleted)", .deleted = true };
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_ALL);
	m = (struct tp_mapping){ .read = false, .path = "/usr/lib/x.so" };
	cr_assert_eq(tp_capture_classify(&m), TP_DUMP_NONE);
}

/* PAGEMAP_SCAN and reading pagemap page by page choose the same pages. */
Test(freeze, scan_and_pagemap_agree)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t.pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(pm, 0);
	struct tp_freeze f;
	struct tp_capture a, b;
	struct tp_error *err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	err = tp_capture_memory(t.pid, pm, 0, &a);
	struct tp_error *err2 = tp_capture_memory(t.pid, pm, TP_CAPTURE_NO_SCAN,
						  &b);
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_null(err2, "%s", tp_error_message(err2));
	cr_assert_eq(a.copied, b.copied);
	cr_assert_eq(a.nsegs, b.nsegs);
	for (size_t i = 0; i < a.nsegs; i++) {
		cr_assert_eq(a.segs[i].vaddr, b.segs[i].vaddr, "segment %zu", i);
		cr_assert_eq(a.segs[i].memsz, b.segs[i].memsz, "segment %zu", i);
		cr_assert_eq(a.segs[i].filesz, b.segs[i].filesz, "segment %zu", i);
		if (a.segs[i].filesz)
			cr_assert_eq(memcmp(a.segs[i].data, b.segs[i].data,
					    a.segs[i].filesz), 0);
	}
	tp_capture_deinit(&a);
	tp_capture_deinit(&b);
	close(pm);
	target_kill(&t);
}

/* The byte ranges of @c that hold (or will pull) data, merged. */
static size_t data_ranges(const struct tp_capture *c, uint64_t (*r)[2])
{
	size_t n = 0;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct tp_core_segment *s = &c->segs[i];
		uint64_t len = s->pull ? s->memsz : s->filesz;
		if (!len)
			continue;
		if (n && r[n - 1][1] == s->vaddr)
			r[n - 1][1] += len;
		else {
			r[n][0] = s->vaddr;
			r[n][1] = s->vaddr + len;
			n++;
		}
	}
	return n;
}

static char *children_of(pid_t pid)
{
	char cmd[128], *out;
	snprintf(cmd, sizeof(cmd), "ps -o stat= --ppid %d | cut -c1 | tr -d '\\n'",
		 (int)pid);
	run_shell(cmd, &out);
	return out;
}

/*
 * A copy-on-write clone of the frozen target is asked for exactly the
 * ranges a stop-and-copy capture copies, and holds the same bytes; its
 * zombie is reaped in the target afterwards.
 */
Test(freeze, clone_holds_what_a_copy_copies)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "2", NULL });
	struct tp_snap_target tt;
	struct tp_error *err = tp_snap_target_open(t.pid, &tt);
	cr_assert_null(err, "%s", tp_error_message(err));
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)t.pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	struct tp_freeze f;
	err = tp_freeze(t.pid, &f);
	cr_assert_null(err, "%s", tp_error_message(err));
	struct tp_capture a, b;
	struct tp_maps maps;
	err = tp_capture_memory(t.pid, pm, 0, &a);
	cr_assert_null(err, "%s", tp_error_message(err));
	err = tp_maps_read(t.pid, &maps);
	cr_assert_null(err, "%s", tp_error_message(err));
	struct tp_cow cow = { 0 };
	pid_t child, nspid;
	char why[160] = "";
	err = tp_cow_clone(&cow, &tt, &f, &child, &nspid, why, sizeof(why));
	tp_thaw(&f);
	tp_freeze_deinit(&f);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_gt(child, 0, "no clone: %s", why);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)child);
	int pmc = open(path, O_RDONLY | O_CLOEXEC);
	err = tp_capture_clone(&maps, child, pmc, TP_CAPTURE_DEFER, NULL, NULL,
			       &b);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(b.copied, 0, "a deferred capture copies nothing");
	static uint64_t ra[65536][2], rb[65536][2];
	size_t na = data_ranges(&a, ra), nb = data_ranges(&b, rb);
	cr_assert_eq(na, nb, "%zu ranges copied, %zu to pull", na, nb);
	for (size_t i = 0; i < na; i++) {
		cr_assert_eq(ra[i][0], rb[i][0], "range %zu", i);
		cr_assert_eq(ra[i][1], rb[i][1], "range %zu", i);
	}
	/* the heap buffer, read from the clone, as the target wrote it */
	unsigned char *h = malloc(t.heaplen);
	struct iovec l = { h, t.heaplen }, rm = { (void *)(uintptr_t)t.heap,
						  t.heaplen };
	cr_assert_eq(process_vm_readv(child, &l, 1, &rm, 1, 0),
		     (ssize_t)t.heaplen);
	for (size_t i = 0; i < t.heaplen; i++)
		cr_assert_eq(h[i], (unsigned char)(i * 7 + 3), "byte %zu", i);
	free(h);
	char *states = children_of(t.pid);
	cr_assert_eq(strcmp(states, "t"), 0, "the clone, stopped: '%s'", states);
	free(states);
	tp_cow_release(&cow, child, nspid);
	states = children_of(t.pid);
	cr_assert_eq(strcmp(states, "Z"), 0, "its zombie: '%s'", states);
	free(states);
	tp_cow_finish(&cow, t.pid);
	states = children_of(t.pid);
	cr_assert_str_empty(states, "reaped in the target: '%s'", states);
	free(states);
	assert_target_runs(&t);
	tp_capture_deinit(&a);
	tp_capture_deinit(&b);
	close(pm);
	close(pmc);
	tp_snap_target_close(&tt);
	target_kill(&t);
}

/* What target_sleep wrote when its call returned ("" while it has not). */
static void sleep_result(const char *path, char *buf, size_t len)
{
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
}

/* Wait (up to 10 s) for target_sleep @t to exit 0; its result in @buf. */
static void sleep_ends(struct target *t, const char *path, char *buf,
		       size_t len)
{
	int st = 0;
	pid_t p = 0;
	for (int i = 0; i < 1000 && (p = waitpid(t->pid, &st, WNOHANG)) == 0;
	     i++)
		usleep(10000);
	cr_assert_eq(p, t->pid, "the target is still in its call");
	t->pid = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	sleep_result(path, buf, len);
}

/*
 * A clone made while the target's only thread blocks in @call, with
 * handlers installed without SA_RESTART.  Signals sent during the freeze
 * (before the clone's system call runs in that thread) are all delivered
 * and the call ends in EINTR, as it would have without tripod; with no
 * signal, the call goes on (it is made again, it does not return the
 * kernel's restart code).
 */
static void clone_keeps_signals(const char *call)
{
	char *dir = make_tmpdir(), out[512], res[128];
	snprintf(out, sizeof(out), "%s/result", dir);
	for (int with_signals = 0; with_signals < 2; with_signals++) {
		unlink(out);
		struct target t;
		target_start(&t, (char *[]){ TARGET_SLEEP, (char *)call, out,
					     NULL });
		usleep(100000);  /* in its call */
		struct tp_snap_target tt;
		struct tp_error *err = tp_snap_target_open(t.pid, &tt);
		cr_assert_null(err, "%s", tp_error_message(err));
		struct tp_freeze f;
		err = tp_freeze(t.pid, &f);
		cr_assert_null(err, "%s", tp_error_message(err));
		if (with_signals) {
			kill(t.pid, SIGUSR1);
			kill(t.pid, SIGUSR2);
			usleep(20000);
		}
		struct tp_cow cow = { 0 };
		pid_t child, nspid;
		char why[160] = "";
		err = tp_cow_clone(&cow, &tt, &f, &child, &nspid, why,
				   sizeof(why));
		tp_thaw(&f);
		tp_freeze_deinit(&f);
		cr_assert_null(err, "%s", tp_error_message(err));
		cr_assert_gt(child, 0, "no clone: %s", why);
		tp_cow_release(&cow, child, nspid);
		if (!with_signals) {
			usleep(300000);
			sleep_result(out, res, sizeof(res));
			cr_assert_str_empty(res, "%s returned by itself: %s",
					    call, res);
			kill(t.pid, SIGUSR1);
		}
		sleep_ends(&t, out, res, sizeof(res));
		char want[128];
		snprintf(want, sizeof(want), "ret=-1 errno=%d usr1=1 usr2=%d\n",
			 EINTR, with_signals);
		cr_assert_str_eq(res, want, "%s, %s signals during the freeze",
				 call, with_signals ? "two" : "no");
		tp_snap_target_close(&tt);
	}
	remove_tree(dir);
	free(dir);
}

Test(freeze, clone_keeps_signals_nanosleep) { clone_keeps_signals("nanosleep"); }
Test(freeze, clone_keeps_signals_select) { clone_keeps_signals("select"); }
Test(freeze, clone_keeps_signals_read) { clone_keeps_signals("read"); }
