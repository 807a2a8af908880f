/* SPDX-License-Identifier: MIT */
/*
 * The memory source: the one seam between the CPython decoder and where the
 * target's bytes come from (a tripod snapshot, a kernel or gdb core, a live
 * process).  The decoder only ever calls tp_memsrc_read(); it never knows
 * which implementation is behind it.
 */
#ifndef TRIPOD_CORE_MEMSRC_H
#define TRIPOD_CORE_MEMSRC_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct tp_memsrc;

struct tp_memsrc_ops {
	/**
	 * Read exactly @len bytes at target address @addr into @buf.  On any
	 * byte that is not available return a TP_ERR_FAULT error whose
	 * `address` is @addr; @buf contents are then unspecified.
	 */
	struct tp_error *(*read)(struct tp_memsrc *src, uint64_t addr,
				 void *buf, size_t len);
};

struct tp_memsrc {
	const struct tp_memsrc_ops *ops;
};

static inline struct tp_error *tp_memsrc_read(struct tp_memsrc *src,
					      uint64_t addr, void *buf,
					      size_t len)
{
	return src->ops->read(src, addr, buf, len);
}

#endif /* TRIPOD_CORE_MEMSRC_H */
