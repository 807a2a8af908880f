/* SPDX-License-Identifier: MIT */
/* One snapshot (or core) from file to report model. */
#ifndef TRIPOD_ANALYZE_ANALYZE_H
#define TRIPOD_ANALYZE_ANALYZE_H

#include "common/error.h"
#include "python/python.h"
#include "python/report.h"

struct tp_analyze_opts {
	struct tp_python_opts python;
	const char *debuginfo_path;  /* NULL: libdwfl's default */
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

#endif /* TRIPOD_ANALYZE_ANALYZE_H */
