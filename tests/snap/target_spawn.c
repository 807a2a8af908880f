/* SPDX-License-Identifier: MIT */
/*
 * A target for the snap tests that never stops creating threads: each
 * short-lived thread bumps a counter and exits, while up to 16 live at a
 * time.  Prints "ready pid=P counter=0xADDR" when started.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

volatile unsigned long tripod_counter;
static volatile int live;

static void *short_life(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&tripod_counter, 1, __ATOMIC_RELAXED);
	usleep(200);
	__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	printf("ready pid=%d counter=%p\n", (int)getpid(),
	       (void *)&tripod_counter);
	fflush(stdout);
	for (;;) {
		pthread_t t;
		if (__atomic_load_n(&live, __ATOMIC_RELAXED) >= 16) {
			usleep(50);
			continue;
		}
		__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
		if (pthread_create(&t, &attr, short_life, NULL)) {
			__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
			usleep(1000);
		}
	}
}
