/* SPDX-License-Identifier: MIT */
/*
 * Source lines for the report, as linecache.getline() gives them: the file
 * is read at analysis time, looked up as recorded and, when relative,
 * against the snapshot's working directory.  Files are cached.
 */
#ifndef TRIPOD_ANALYZE_SOURCE_H
#define TRIPOD_ANALYZE_SOURCE_H

#include <stddef.h>

struct tp_sources;

struct tp_sources *tp_sources_create(void);
void tp_sources_destroy(struct tp_sources *s);

/**
 * Line @lineno (1-based) of @filename, stripped of white space at both ends;
 * NULL when the file cannot be read, the line does not exist or is blank.
 * @cwd (may be NULL) is tried for relative names.  The text is owned by @s.
 */
const char *tp_sources_line(struct tp_sources *s, const char *filename,
			    const char *cwd, int lineno);

#endif /* TRIPOD_ANALYZE_SOURCE_H */
