/* SPDX-License-Identifier: MIT */
/*
 * Source lines for the report, as linecache.getline() gives them: the file
 * is read at analysis time, looked up as recorded and, when relative,
 * against the snapshot's working directory.  Files are cached.
 */
#ifndef TRIPOD_ANALYZE_SOURCE_H
#define TRIPOD_ANALYZE_SOURCE_H

#include <stdbool.h>
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

/**
 * The reader of the snapshot: tp_sources_line() for the lines a report
 * shows.  The analyst may have privileges the target had not (root reading
 * a snapshot of `nobody`): a file that the target's user @uid (group @gid)
 * could not read -- a directory on its path it could not search, or the
 * file's read bit for owner, group or others as they apply -- is not shown,
 * and *@hidden says so.  Supplementary groups are not recorded in a
 * snapshot: a file readable only through one is not shown either.  uid 0
 * reads everything; @uid -1 (unknown) checks nothing.
 */
const char *tp_sources_line_as(struct tp_sources *s, const char *filename,
			       const char *cwd, int lineno, long long uid,
			       long long gid, bool *hidden);

#endif /* TRIPOD_ANALYZE_SOURCE_H */
