/* SPDX-License-Identifier: MIT */
/* Private to the views (views.c, flame.c, html.c). */
#ifndef TRIPOD_ANALYZE_VIEWS_INTERNAL_H
#define TRIPOD_ANALYZE_VIEWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyze/views.h"
#include "common/strbuf.h"

/* A string -> count table (open addressing over an insertion-ordered
 * vector). */
struct tp_count {
	char *key;
	uint64_t count;
};

struct tp_counter {
	struct tp_count *v;
	size_t n, cap;
	size_t *index;            /* SIZE_MAX: empty slot */
	size_t index_cap;         /* a power of 2 */
};

/** Add @n to @key's count; false when out of memory. */
bool tp_counter_add(struct tp_counter *c, const char *key, uint64_t n);
void tp_counter_deinit(struct tp_counter *c);

/* A node of the stack tree: a frame label under its caller's node. */
struct tp_fnode {
	char *label;
	uint64_t total;           /* samples through this node */
	uint64_t self;            /* samples ending here */
	struct tp_fnode **kids;
	size_t nkids, capkids;
};

/** Sort the children of @n and below by label. */
void tp_fnode_sort(struct tp_fnode *n);

/* Per thread (or task) label: --summary's counts. */
struct tp_tsum {
	char *label;
	uint64_t samples;         /* snapshots in which it was seen */
	uint64_t idle;            /* ... without a Python frame */
	struct tp_counter frames, funcs;
};

/** The stack tree (children sorted) and its depth, root excluded. */
const struct tp_fnode *tp_views_root(const struct tp_views *v,
				     size_t *max_depth);
/** The JSON records kept (opts.keep_records). */
const struct tp_strbuf *tp_views_records(const struct tp_views *v);
const struct tp_views_opts *tp_views_options(const struct tp_views *v);

/**
 * The flame graph's <svg> element (no XML prolog): frames as <g
 * class="f"> with a <title>, a <rect> and a <text>, and the data the
 * script needs in data- attributes.  @script: include the script (a
 * standalone SVG file); the HTML page includes tp_flame_js itself.
 */
struct tp_error *tp_flame_svg(const struct tp_views *v, const char *title,
			      bool script, struct tp_strbuf *out);

/** The flame graph's script: zoom on click, search, details on hover. */
extern const char tp_flame_js[];

/** @s with &, <, >, " and ' escaped for XML and HTML text/attributes. */
void tp_xml_escape(struct tp_strbuf *out, const char *s);

#endif /* TRIPOD_ANALYZE_VIEWS_INTERNAL_H */
