/* SPDX-License-Identifier: MIT */
/* Printing a report: the Dogslow text and JSON Lines (FORMAT.md 1, 2). */
#ifndef TRIPOD_ANALYZE_RENDER_H
#define TRIPOD_ANALYZE_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "analyze/source.h"
#include "common/strbuf.h"
#include "python/report.h"

struct tp_render_opts {
	bool header;          /* the Dogslow request header */
	bool locals;          /* arguments and locals */
	size_t max_repr;      /* --max-repr */
};

/** Append the Dogslow samples of every thread of @snap to @out. */
struct tp_error *tp_render_dogslow(const struct tp_rsnapshot *snap,
				   const struct tp_render_opts *opts,
				   struct tp_sources *sources,
				   struct tp_strbuf *out);

/** Append one JSON line for @snap to @out. */
struct tp_error *tp_render_json(const struct tp_rsnapshot *snap,
				const struct tp_render_opts *opts,
				struct tp_strbuf *out);

/** Append @s as a JSON string literal (invalid UTF-8 becomes U+FFFD). */
void tp_json_string(struct tp_strbuf *out, const char *s);

#endif /* TRIPOD_ANALYZE_RENDER_H */
