/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <sys/uio.h>

#include "core/livemem.h"

static struct tp_error *livemem_read(struct tp_memsrc *src, uint64_t addr,
				     void *buf, size_t len)
{
	struct tp_livemem *lm = (struct tp_livemem *)src;
	size_t done = 0;
	while (done < len) {
		struct iovec local = { (char *)buf + done, len - done };
		struct iovec remote = { (void *)(uintptr_t)(addr + done),
					len - done };
		ssize_t n = process_vm_readv(lm->pid, &local, 1, &remote, 1, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return tp_error_fault(addr + done,
					      "cannot read target memory at 0x%llx",
					      (unsigned long long)(addr + done));
		}
		done += (size_t)n;
	}
	return NULL;
}

static const struct tp_memsrc_ops livemem_ops = { .read = livemem_read };

void tp_livemem_init(struct tp_livemem *lm, pid_t pid)
{
	lm->src.ops = &livemem_ops;
	lm->pid = pid;
}
