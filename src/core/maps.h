/* SPDX-License-Identifier: MIT */
/* Parsing /proc/PID/maps. */
#ifndef TRIPOD_CORE_MAPS_H
#define TRIPOD_CORE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct tp_mapping {
	uint64_t start, end;   /* [start, end) */
	uint64_t offset;       /* file offset in bytes */
	bool read, write, exec, shared;  /* "rwxs"/"rwxp" */
	unsigned dev_major, dev_minor;
	uint64_t inode;
	/*
	 * Path as the kernel prints it, or NULL for an anonymous mapping.
	 * Pseudo paths keep their brackets ("[heap]", "[stack]", "[vdso]",
	 * "[vvar]", "[vsyscall]", "[anon:name]").  A deleted file keeps the
	 * kernel's " (deleted)" suffix and has `deleted` set.
	 */
	char *path;
	bool deleted;
};

struct tp_maps {
	struct tp_mapping *v;
	size_t n;
};

/**
 * Parse the text of a /proc/PID/maps file.  Lines that do not parse give a
 * TP_ERR_FORMAT error naming the line number.  Paths may contain spaces.
 */
struct tp_error *tp_maps_parse(const char *text, size_t len,
			       struct tp_maps *ret);

/**
 * Read and parse /proc/@pid/maps.  A process that does not exist (or exits
 * while its maps are read) gives TP_ERR_EXITED; other failures TP_ERR_OS.
 */
struct tp_error *tp_maps_read(pid_t pid, struct tp_maps *ret);

/**
 * The mapping that contains @addr, or NULL.  Binary search: @maps must be in
 * address order, as the kernel prints them.
 */
const struct tp_mapping *tp_maps_find(const struct tp_maps *maps,
				      uint64_t addr);

/** True for a mapping backed by a regular file (path not NULL, not "[...]"). */
bool tp_mapping_is_file(const struct tp_mapping *m);

void tp_maps_deinit(struct tp_maps *maps);

#endif /* TRIPOD_CORE_MAPS_H */
