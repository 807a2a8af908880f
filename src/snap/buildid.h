/* SPDX-License-Identifier: MIT */
/*
 * Facts about mapped files, cached by (device, inode): a file's build-id
 * and whether it holds a Python interpreter do not change, so each file is
 * read once per tripod-snap run however many snapshots name it.
 */
#ifndef TRIPOD_SNAP_BUILDID_H
#define TRIPOD_SNAP_BUILDID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "core/maps.h"

struct tp_buildid_entry;

struct tp_buildid_cache {
	struct tp_buildid_entry *v;
	size_t n, cap;
};

#define TP_BUILDID_CACHE_INIT { NULL, 0, 0 }

/**
 * The build-id of the file mapped by @m in process @pid, as lowercase hex
 * in *@ret (owned by the cache; "" when the file has none or cannot be
 * read).  The file is opened through /proc/PID/map_files (the very inode the
 * process maps, even if replaced or in another mount namespace), else
 * through /proc/PID/root.  Fails only for lack of memory.
 */
struct tp_error *tp_buildid_get(struct tp_buildid_cache *c, pid_t pid,
				const struct tp_mapping *m, const char **ret);

/**
 * Whether the file mapped by @m exports CPython's C API (defines
 * Py_InitializeEx in its dynamic symbols): a libpython, or an executable
 * with the interpreter linked in.  False when it cannot be read.  Fails
 * only for lack of memory.
 */
struct tp_error *tp_buildid_is_python(struct tp_buildid_cache *c, pid_t pid,
				      const struct tp_mapping *m, bool *ret);

/**
 * The build-id (NT_GNU_BUILD_ID) of the ELF file open on @fd, as lowercase
 * hex in a new string (free() it), or "" when it has none or is not ELF.
 */
struct tp_error *tp_buildid_read_fd(int fd, char **ret);

void tp_buildid_cache_deinit(struct tp_buildid_cache *c);

#endif /* TRIPOD_SNAP_BUILDID_H */
