/* SPDX-License-Identifier: MIT */
/*
 * A target one of whose threads cannot be stopped: it called vfork(), and
 * a vfork() parent sleeps uninterruptibly (state D) until its child execs
 * or exits; this child waits for SIGKILL instead.  The main thread goes on
 * bumping a counter.  Prints "ready pid=P counter=0xADDR" once the vfork
 * child exists.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

volatile unsigned long tripod_counter;
static volatile int forked;

static void *vforker(void *arg)
{
	(void)arg;
	forked = 1;
	pid_t child = vfork();
	if (child == 0) {
		/* borrows the parent's memory: only async-signal-safe calls */
		for (;;)
			pause();
	}
	/* back when the child was killed */
	for (;;)
		sleep(1);
	return NULL;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, vforker, NULL))
		return 1;
	while (!forked)
		usleep(1000);
	usleep(100000);  /* let it reach vfork()'s wait */
	printf("ready pid=%d counter=%p\n", (int)getpid(),
	       (void *)&tripod_counter);
	fflush(stdout);
	for (;;) {
		__atomic_add_fetch(&tripod_counter, 1, __ATOMIC_RELAXED);
		usleep(1000);
	}
}
