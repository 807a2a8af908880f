/* SPDX-License-Identifier: MIT */
/*
 * The flame graph, written by tripod itself: the stack tree of views.c
 * laid out as flamegraph.pl lays it out (the root at the bottom, a frame
 * as wide as the samples that pass through it, its callees above it in
 * label order), as one SVG element whose frames carry their sample range
 * and depth, so that a small script can zoom into a frame on click and
 * find frames by name without any other file.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "analyze/views_internal.h"

#define FLAME_PAD 10            /* left and right margins, pixels */
#define FLAME_TOP 44            /* title and controls */
#define FLAME_BOTTOM 28         /* the details line */
#define FLAME_CHAR_WIDTH 7      /* of the 12px monospace font */

void tp_xml_escape(struct tp_strbuf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': tp_strbuf_puts(out, "&amp;"); break;
		case '<': tp_strbuf_puts(out, "&lt;"); break;
		case '>': tp_strbuf_puts(out, "&gt;"); break;
		case '"': tp_strbuf_puts(out, "&quot;"); break;
		case '\'': tp_strbuf_puts(out, "&#39;"); break;
		default:
			/* XML 1.0 allows no other control characters */
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				tp_strbuf_putc(out, '?');
			else
				tp_strbuf_putc(out, (char)c);
		}
	}
}

/* flamegraph.pl's "hot" palette, from a hash of the function's name, so
 * that a function has the same colour wherever it appears. */
static void frame_colour(const char *label, char *buf, size_t size)
{
	uint32_t h = 2166136261u;
	for (const char *p = label; *p && *p != ' '; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	unsigned r = 205 + (h % 50), g = (h >> 8) % 230, b = (h >> 16) % 55;
	snprintf(buf, size, "rgb(%u,%u,%u)", r, g, b);
}

/* The text that fits in @width pixels: the label, or its start and "..". */
static void fitted_text(struct tp_strbuf *out, const char *label, double width)
{
	double n = (width - 6) / FLAME_CHAR_WIDTH;
	size_t len = strlen(label);
	if (n < 3)
		return;
	if ((double)len <= n) {
		tp_xml_escape(out, label);
		return;
	}
	size_t keep = (size_t)n - 2;
	/* do not cut a UTF-8 sequence */
	while (keep && ((unsigned char)label[keep] & 0xc0) == 0x80)
		keep--;
	struct tp_strbuf part = TP_STRBUF_INIT;
	tp_strbuf_append(&part, label, keep);
	tp_xml_escape(out, tp_strbuf_str(&part));
	tp_strbuf_deinit(&part);
	tp_strbuf_puts(out, "..");
}

struct layout {
	double scale;           /* pixels per sample */
	uint64_t total;
	size_t max_depth;
	struct tp_strbuf *out;
};

static void draw(const struct layout *L, const struct tp_fnode *n,
		 uint64_t offset, size_t depth)
{
	double x = FLAME_PAD + (double)offset * L->scale;
	double w = (double)n->total * L->scale;
	if (w < TP_FLAME_MIN_WIDTH)
		return;
	double y = FLAME_TOP + (double)(L->max_depth - depth) *
				       TP_FLAME_FRAME_HEIGHT;
	char fill[32];
	if (depth == 0)
		snprintf(fill, sizeof(fill), "rgb(240,240,220)");
	else
		frame_colour(n->label, fill, sizeof(fill));
	struct tp_strbuf *out = L->out;
	tp_strbuf_printf(out, "<g class=\"f\" data-x=\"%llu\" data-w=\"%llu\" data-d=\"%zu\" data-l=\"",
			 (unsigned long long)offset,
			 (unsigned long long)n->total, depth);
	tp_xml_escape(out, n->label);
	tp_strbuf_puts(out, "\"><title>");
	tp_xml_escape(out, n->label);
	tp_strbuf_printf(out, " (%llu sample%s, %.2f%%)</title>",
			 (unsigned long long)n->total, n->total == 1 ? "" : "s",
			 100.0 * (double)n->total / (double)L->total);
	tp_strbuf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" data-fill=\"%s\" rx=\"2\"/>",
			 x, y, w, TP_FLAME_FRAME_HEIGHT - 1, fill, fill);
	tp_strbuf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3,
			 y + TP_FLAME_FRAME_HEIGHT - 4.5);
	fitted_text(out, n->label, w);
	tp_strbuf_puts(out, "</text></g>\n");
	uint64_t o = offset;
	for (size_t i = 0; i < n->nkids; i++) {
		draw(L, n->kids[i], o, depth + 1);
		o += n->kids[i]->total;
	}
}

struct tp_error *tp_flame_svg(const struct tp_views *v, const char *title,
			      bool script, struct tp_strbuf *out)
{
	size_t max_depth;
	const struct tp_fnode *root = tp_views_root(v, &max_depth);
	int width = TP_FLAME_WIDTH;
	int height = FLAME_TOP + (int)(max_depth + 1) * TP_FLAME_FRAME_HEIGHT +
		     FLAME_BOTTOM;
	uint64_t total = root->total ? root->total : 1;
	tp_strbuf_printf(out, "<svg id=\"tripod-flame\" version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\" data-width=\"%d\" data-pad=\"%d\" data-total=\"%llu\">\n",
			 width, height, width, height, width, FLAME_PAD,
			 (unsigned long long)total);
	tp_strbuf_puts(out, "<style>#tripod-flame text { font-family: monospace; font-size: 12px; fill: #000; } #tripod-flame g.f { cursor: pointer; } #tripod-flame g.f:hover rect { stroke: #000; stroke-width: 0.5; } #tripod-flame g.parent rect { opacity: 0.5; } #tripod-flame .ctl { cursor: pointer; fill: #33a; }</style>\n");
	tp_strbuf_printf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f0\"/>\n",
			 width, height);
	tp_strbuf_printf(out, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" style=\"font-size: 16px\">",
			 width / 2);
	tp_xml_escape(out, title ? title : "Flame graph");
	tp_strbuf_puts(out, "</text>\n");
	tp_strbuf_printf(out, "<text id=\"tripod-reset\" class=\"ctl\" x=\"%d\" y=\"36\" style=\"display: none\">Reset zoom</text>\n",
			 FLAME_PAD);
	tp_strbuf_printf(out, "<text id=\"tripod-search\" class=\"ctl\" x=\"%d\" y=\"36\" text-anchor=\"end\">Search</text>\n",
			 width - FLAME_PAD);
	tp_strbuf_printf(out, "<text id=\"tripod-matched\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n",
			 width - FLAME_PAD, height - 10);
	tp_strbuf_printf(out, "<text id=\"tripod-details\" x=\"%d\" y=\"%d\"> </text>\n",
			 FLAME_PAD, height - 10);
	struct layout L = {
		.scale = (double)(width - 2 * FLAME_PAD) / (double)total,
		.total = total, .max_depth = max_depth, .out = out,
	};
	if (root->total)
		draw(&L, root, 0, 0);
	if (script) {
		tp_strbuf_puts(out, "<script type=\"text/ecmascript\"><![CDATA[\n");
		tp_strbuf_puts(out, tp_flame_js);
		tp_strbuf_puts(out, "]]></script>\n");
	}
	tp_strbuf_puts(out, "</svg>\n");
	return tp_strbuf_error(out);
}

struct tp_error *tp_views_svg(const struct tp_views *v, const char *title,
			      struct tp_strbuf *out)
{
	tp_strbuf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
	return tp_flame_svg(v, title, true, out);
}
