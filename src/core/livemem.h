/* SPDX-License-Identifier: MIT */
/* A memory source over a live process (process_vm_readv). */
#ifndef TRIPOD_CORE_LIVEMEM_H
#define TRIPOD_CORE_LIVEMEM_H

#include <sys/types.h>

#include "core/memsrc.h"

struct tp_livemem {
	struct tp_memsrc src;
	pid_t pid;
};

/** Initialise @lm to read process @pid. */
void tp_livemem_init(struct tp_livemem *lm, pid_t pid);

#endif /* TRIPOD_CORE_LIVEMEM_H */
