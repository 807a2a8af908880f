/* SPDX-License-Identifier: MIT */
/*
 * A target for the snap tests: NTHREADS threads (and the main thread) loop
 * in park_here(), each bumping a shared counter every millisecond, so a
 * test can see the process make progress and gdb can find park_here in
 * every thread's stack.  A global and a heap buffer hold known bytes.
 *
 *   target_park [NTHREADS [EXIT_CODE]]
 *
 * Prints one line when ready:
 *   ready pid=P global=0xADDR heap=0xADDR heaplen=N counter=0xADDR
 * With EXIT_CODE, SIGINT and SIGTERM make it exit with that code (from a
 * running thread: proof that it runs).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAPLEN 100000

char tripod_global[64] = "tripod-global-marker: the quick brown fox";
volatile unsigned long tripod_counter;
static volatile sig_atomic_t got_signal;
static int exit_code = -1;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

__attribute__((noinline)) void park_here(int n);
__attribute__((noinline)) void park_here(int n)
{
	for (;;) {
		__atomic_add_fetch(&tripod_counter, 1, __ATOMIC_RELAXED);
		if (got_signal && exit_code >= 0)
			_exit(exit_code);  /* exit() is not for several threads at once */
		usleep(1000 + (unsigned)n);
	}
}

static void *thread_main(void *arg)
{
	park_here((int)(long)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	if (argc > 2) {
		exit_code = atoi(argv[2]);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
	}
	unsigned char *heap = malloc(HEAPLEN);
	if (!heap)
		return 1;
	for (size_t i = 0; i < HEAPLEN; i++)
		heap[i] = (unsigned char)(i * 7 + 3);
	for (int i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, (void *)(long)(i + 1)))
			return 1;
	}
	printf("ready pid=%d global=%p heap=%p heaplen=%d counter=%p\n",
	       (int)getpid(), (void *)tripod_global, (void *)heap, HEAPLEN,
	       (void *)&tripod_counter);
	fflush(stdout);
	park_here(0);
}
