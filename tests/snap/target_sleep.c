/* SPDX-License-Identifier: MIT */
/*
 * A target for the signal tests: one thread blocks in one system call,
 * with handlers for SIGUSR1 and SIGUSR2 installed without SA_RESTART, as
 * CPython installs its own.  When the call returns it prints what it
 * returned and which signals were handled, and exits.
 *
 *   target_sleep nanosleep|select|read RESULT
 *
 * Prints when ready (the fields other than pid are 0):
 *   ready pid=P global=0x0 heap=0x0 heaplen=0 counter=0x0
 * and when the call returns, writes to the file RESULT:
 *   ret=R errno=E usr1=N usr2=N
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		usr1++;
	else
		usr2++;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	int fds[2];
	if (pipe(fds))
		return 1;
	printf("ready pid=%d global=0x0 heap=0x0 heaplen=0 counter=0x0\n",
	       (int)getpid());
	fflush(stdout);
	long r;
	if (!strcmp(argv[1], "nanosleep")) {
		struct timespec ts = { 600, 0 };
		r = nanosleep(&ts, NULL);
	} else if (!strcmp(argv[1], "select")) {
		struct timeval tv = { 600, 0 };
		r = select(0, NULL, NULL, NULL, &tv);
	} else {
		char c;
		r = read(fds[0], &c, 1);
	}
	int e = r < 0 ? errno : 0;
	FILE *out = fopen(argv[2], "w");
	if (!out)
		return 1;
	fprintf(out, "ret=%ld errno=%d usr1=%d usr2=%d\n", r, e, (int)usr1,
		(int)usr2);
	return fclose(out) ? 1 : 0;
}
