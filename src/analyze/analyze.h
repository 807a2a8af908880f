/* SPDX-License-Identifier: MIT */
/* One snapshot (or core) from file to report model. */
#ifndef TRIPOD_ANALYZE_ANALYZE_H
#define TRIPOD_ANALYZE_ANALYZE_H

#include "analyze/native.h"
#include "common/error.h"
#include "python/python.h"
#include "python/report.h"

/*
 * What tripod-analyze keeps from one snapshot to the next (the opts must
 * not change while it is used):
 * - decompressed blocks, shared by the snapshots of a directory: a block
 *   many snapshots hold is decompressed once (bounded memory: least
 *   recently used blocks go);
 * - per interpreter build (the tripod note's interpreter and its
 *   build-id), the libdwfl session and the decoder made for the first
 *   snapshot of that build: its modules, symbols, opened debug files and
 *   the layout derived from DWARF.  Later snapshots of the build are
 *   decoded with them (tp_target_rebind(), tp_python_rebind()), so a
 *   directory of 1,000 snapshots opens libdwfl and DWARF once.  At most
 *   TP_ANALYZE_CACHE_BUILDS builds are kept.
 */
struct tp_analyze_cache;

#define TP_ANALYZE_CACHE_BUILDS 8

struct tp_error *tp_analyze_cache_create(struct tp_analyze_cache **ret);
void tp_analyze_cache_destroy(struct tp_analyze_cache *cache);

struct tp_analyze_opts {
	struct tp_python_opts python;
	const char *debuginfo_path;  /* NULL: libdwfl's default */
	struct tp_analyze_cache *cache;  /* NULL: none */
	/* --native: native stacks merged with the Python frames */
	bool native;
	struct tp_native_opts native_opts;
};

/**
 * Decode the snapshot or core at @path into a new report (free with
 * tp_analyze_free()).  Errors name what is wrong; the code says how bad
 * (TP_ERR_NODEBUG, TP_ERR_UNSUPPORTED, TP_ERR_FORMAT, ...).
 */
struct tp_error *tp_analyze_file(const char *path,
				 const struct tp_analyze_opts *opts,
				 struct tp_rsnapshot **ret);
void tp_analyze_free(struct tp_rsnapshot *snap);

/**
 * Write the snapshot or core at @path as a standalone ELF core
 * (tp_core_export()) to the file @out, made mode 0600 through a temporary
 * file renamed into place, or to standard output when @out is "-";
 * gzip'd (BGZF, what gunzip and tripod-analyze read) when @out ends in
 * ".gz".  *@ret_unread gets the number of bytes that could not be read
 * (written as zeros).
 */
struct tp_error *tp_analyze_export(const char *path, const char *out,
				   uint64_t *ret_unread);

#endif /* TRIPOD_ANALYZE_ANALYZE_H */
