/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze --format html: one self-contained page (no network, no
 * other file).  The snapshots' JSON records (the very records of --format
 * json) are embedded as data; page.js draws the timeline and each
 * snapshot's stacks from them; the flame graph is flame.c's SVG inline,
 * driven by flame.js.
 */
#include "config.h"

#include <string.h>

#include "analyze/views_internal.h"

extern const char tp_page_js[], tp_page_css[];

/*
 * JSON Lines as one JSON array, safe inside a <script> element: a '<'
 * occurs in JSON text only inside strings, where "\u003c" means the same,
 * so no "</script" or "<!--" can end or change the element.
 */
static void records_array(struct tp_strbuf *out, const struct tp_strbuf *lines)
{
	const char *s = tp_strbuf_str(lines);
	bool first = true, fresh = true;
	tp_strbuf_putc(out, '[');
	for (; *s; s++) {
		if (*s == '\n') {
			/* raw line breaks only end records: strings escape theirs */
			if (!fresh)
				tp_strbuf_putc(out, '\n');
			fresh = true;
			continue;
		}
		if (fresh && !first)
			tp_strbuf_putc(out, ',');
		fresh = first = false;
		if (*s == '<')
			tp_strbuf_puts(out, "\\u003c");
		else
			tp_strbuf_putc(out, *s);
	}
	tp_strbuf_puts(out, "]");
}

struct tp_error *tp_views_html(const struct tp_views *v, const char *title,
			       struct tp_strbuf *out)
{
	const struct tp_views_opts *opts = tp_views_options(v);
	if (!title)
		title = "tripod";
	tp_strbuf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
	tp_xml_escape(out, title);
	tp_strbuf_puts(out, "</title>\n<style>\n");
	tp_strbuf_puts(out, tp_page_css);
	tp_strbuf_puts(out, "</style>\n</head>\n<body>\n<header><h1>");
	tp_xml_escape(out, title);
	tp_strbuf_printf(out, "</h1><span>%zu snapshot%s</span>", tp_views_count(v),
			 tp_views_count(v) == 1 ? "" : "s");
	tp_strbuf_puts(out, "<input id=\"search\" type=\"search\" placeholder=\"Search a function, a local's name or value\" aria-label=\"search\"><span id=\"search-count\"></span></header>\n");
	tp_strbuf_puts(out, "<h2>Timeline</h2>\n<div class=\"scroll\"><table id=\"timeline\"></table></div>\n");
	tp_strbuf_puts(out, "<h2>Flame graph of all the snapshots</h2>\n<div class=\"scroll\">\n");
	struct tp_error *err = tp_flame_svg(v, "", false, out);
	if (err)
		return err;
	tp_strbuf_puts(out, "</div>\n<h2 id=\"snapshot-title\">Snapshot</h2>\n<div id=\"snapshot\"></div>\n");
	tp_strbuf_puts(out, "<script type=\"application/json\" id=\"tripod-options\">{\"threads\": [");
	for (size_t i = 0; i < opts->nthreads; i++) {
		struct tp_strbuf s = TP_STRBUF_INIT;
		tp_json_string(&s, opts->threads[i]);
		for (const char *p = tp_strbuf_str(&s); *p; p++)
			if (*p == '<')
				tp_strbuf_puts(out, "\\u003c");
			else
				tp_strbuf_putc(out, *p);
		tp_strbuf_deinit(&s);
		if (i + 1 < opts->nthreads)
			tp_strbuf_puts(out, ", ");
	}
	tp_strbuf_puts(out, "]}</script>\n");
	tp_strbuf_puts(out, "<script type=\"application/json\" id=\"tripod-records\">");
	records_array(out, tp_views_records(v));
	tp_strbuf_puts(out, "</script>\n<script>\n");
	tp_strbuf_puts(out, tp_flame_js);
	tp_strbuf_puts(out, "</script>\n<script>\n");
	tp_strbuf_puts(out, tp_page_js);
	tp_strbuf_puts(out, "</script>\n</body>\n</html>\n");
	return tp_strbuf_error(out);
}
