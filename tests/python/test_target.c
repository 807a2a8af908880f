/* SPDX-License-Identifier: MIT */
/*
 * The target model over a live interpreter: the module holding CPython is
 * found, its symbols resolve, and on 3.13+ the runtime is found by its
 * _Py_DebugOffsets cookie alone, at the address the symbol table gives.
 */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/livemem.h"
#include "python/target.h"

static pid_t child;

static void stop_child(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

static pid_t start(const char *python)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		execl(python, python, "-c", "import time; time.sleep(600)",
		      (char *)NULL);
		_exit(127);
	}
	usleep(500000);
	return pid;
}

TestSuite(target, .fini = stop_child, .timeout = 60);

Test(target, runtime_found_by_cookie_on_3_13)
{
	const char *home = getenv("HOME");
	char python[512];
	snprintf(python, sizeof(python), "%s/.pyenv/versions/3.13.0/bin/python3.13",
		 home ? home : "/root");
	if (access(python, X_OK))
		cr_skip_test("needs Python 3.13 (%s)", python);
	child = start(python);
	struct tp_livemem lm;
	tp_livemem_init(&lm, child);
	struct tp_target *t;
	struct tp_error *err = tp_target_open_pid(child, &lm.src, NULL, &t);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert(strstr(t->pymod_name, "libpython3.13"), "%s", t->pymod_name);
	cr_assert_neq(t->sym[TP_SYM__PyRuntime], 0);
	cr_assert_eq(tp_target_find_cookie(t, "xdebugpy"),
		     t->sym[TP_SYM__PyRuntime]);
	cr_assert_eq(tp_target_section(t, ".PyRuntime"),
		     t->sym[TP_SYM__PyRuntime]);
	tp_target_destroy(t);
}

Test(target, no_cookie_before_3_13)
{
	const char *home = getenv("HOME");
	char python[512];
	snprintf(python, sizeof(python), "%s/.pyenv/versions/3.12.1/bin/python3.12",
		 home ? home : "/root");
	if (access(python, X_OK))
		cr_skip_test("needs Python 3.12 (%s)", python);
	child = start(python);
	struct tp_livemem lm;
	tp_livemem_init(&lm, child);
	struct tp_target *t;
	struct tp_error *err = tp_target_open_pid(child, &lm.src, NULL, &t);
	cr_assert_null(err, "%s", tp_error_message(err));
	cr_assert_eq(tp_target_find_cookie(t, "xdebugpy"), 0);
	tp_target_destroy(t);
}
