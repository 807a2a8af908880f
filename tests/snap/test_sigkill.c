/* SPDX-License-Identifier: MIT */
/*
 * tripod-snap killed with SIGKILL -- which it cannot catch -- never leaves
 * its target stopped (issue 11 measured 120 such kills, 75 while the
 * target was frozen; these keep that as a test).  Kills inside the freeze
 * (made certain by the test hook TRIPOD_TEST_FREEZE_DELAY_MS) with both
 * capture methods, kills at seeded times with stop-and-copy (see
 * at_any_time); after each kill every thread of the target runs and its
 * counter grows.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(sigkill, .init = skip_unless_ptrace, .timeout = 240);

#define KILLS_FROZEN 12
#define KILLS_ANYTIME 24

static char *const delay_env[] = { "TRIPOD_TEST_FREEZE_DELAY_MS=1500", NULL };

static uint64_t rng = 0x6b696c6cULL;

static unsigned next(unsigned bound)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % bound);
}

static void kill_and_check(const struct target *t, pid_t snap)
{
	kill(snap, SIGKILL);
	int st = snap_finish(snap, 20000, NULL);
	cr_assert(WIFSIGNALED(st) || WIFEXITED(st));
	assert_target_runs(t);
}

/* Each kill lands while every thread of the target is in a ptrace stop. */
Test(sigkill, while_the_target_is_frozen)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	char *dir = make_tmpdir(), pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	for (int i = 0; i < KILLS_FROZEN; i++) {
		pid_t snap = snap_start((char *[]){ "-q", "-i", "0.05", "-o",
						    dir, "--pid", pid,
						    i % 2 ? "--capture=copy"
							  : "--capture=clone",
						    NULL },
					delay_env, NULL);
		cr_assert(wait_frozen(t.pid, 10000),
			  "kill %d: the target was never frozen", i);
		usleep(1000u * next(100));
		cr_assert(all_threads_traced(t.pid),
			  "kill %d: the freeze ended before the kill", i);
		kill_and_check(&t, snap);
	}
	target_kill(&t);
	remove_tree(dir);
	free(dir);
}

/*
 * Kills at seeded times: attaching, frozen, copying, writing, idle; with
 * stop-and-copy.  The copy-on-write capture has a window no test can make
 * safe: while the clone() it runs in a thread of the target is under way
 * (a few ms, as long as a fork() of the target), that thread's registers
 * are tripod-snap's; killed then, tripod-snap cannot put them back and the
 * target crashes (doc/tripod-snap.1, BUGS).  Kills inside the freeze but
 * outside that window are while_the_target_is_frozen's, for both methods.
 */
Test(sigkill, at_any_time)
{
	struct target t;
	target_start(&t, (char *[]){ TARGET_PARK, "3", NULL });
	char *dir = make_tmpdir(), pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	for (int i = 0; i < KILLS_ANYTIME; i++) {
		pid_t snap = snap_start((char *[]){ "-q", "-i", "0.01", "-o",
						    dir, "--pid", pid,
						    "--capture=copy", NULL },
					NULL, NULL);
		usleep(1000u * next(150));
		kill_and_check(&t, snap);
	}
	target_kill(&t);
	remove_tree(dir);
	free(dir);
}
