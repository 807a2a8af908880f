/* SPDX-License-Identifier: MIT */
/*
 * repr() of decoded values, as the target's interpreter prints them.
 *
 * The rules follow CPython's own repr functions: unicode_repr() (3.x str),
 * unicodeescape_string() (2.7 unicode), bytes_repr()/PyString_Repr(),
 * bytearray_repr(), float_repr() via PyOS_double_to_string('r'),
 * list_repr(), tuplerepr(), dict_repr(), set_repr().  Cycles are detected
 * like Py_ReprEnter(): a stack of the containers being printed.
 *
 * Lengths are counted in code points because max_repr and pprint's widths
 * are Python len() of the text; the text itself is UTF-8.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyrender.h"
#include "python/pyval.h"
#include "python/unicode_tables.h"

/* ---- output ------------------------------------------------------------ */

void tp_render_put(struct tp_render_out *o, const char *s, size_t len,
		   size_t cps)
{
	if (o->over)
		return;
	o->cps += cps;
	if (o->limit && o->cps > o->limit) {
		/* The text is going to be thrown away: stop growing it. */
		o->over = true;
		return;
	}
	tp_strbuf_append(o->sb, s, len);
}

void tp_render_puts(struct tp_render_out *o, const char *s)
{
	size_t len = strlen(s);
	tp_render_put(o, s, len, len);
}

void tp_render_spaces(struct tp_render_out *o, size_t n)
{
	static const char sp[] = "                                ";
	while (n && !o->over) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		tp_render_put(o, sp, k, k);
		n -= k;
	}
}

size_t tp_utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static void render_printf(struct tp_render_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void render_printf(struct tp_render_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->sb->failed = true;
		return;
	}
	tp_render_put(o, text, (size_t)n, tp_utf8_count(text, (size_t)n));
	free(text);
}

/* ---- names and placeholder texts --------------------------------------- */

const char *tp_pyval_short_type_name(const struct tp_pyval *v)
{
	const char *name = tp_pyval_type_name(v);
	const char *dot = strrchr(name, '.');
	return dot ? dot + 1 : name;
}

/*
 * The placeholder texts name the object's address; a node without one (a
 * container tripod made, TP_PV_SYNTHETIC) leaves " at 0x..." out rather
 * than print an address that is not one.
 */
void tp_render_object_text(struct tp_render_out *o, const struct tp_pyval *v)
{
	if (!v->addr)
		render_printf(o, "<%s object>", tp_pyval_type_name(v));
	else
		render_printf(o, "<%s object at 0x%" PRIx64 ">",
			      tp_pyval_type_name(v), v->addr);
}

void tp_render_toolong_text(struct tp_render_out *o,
			    const struct tp_pyval *v)
{
	if (!v->addr)
		render_printf(o, "<%s object (really long repr)>",
			      tp_pyval_type_name(v));
	else
		render_printf(o, "<%s object at 0x%" PRIx64 " (really long repr)>",
			      tp_pyval_type_name(v), v->addr);
}

static void render_unreadable_text(struct tp_render_out *o,
				   const struct tp_pyval *v)
{
	if (!v->addr)
		render_printf(o, "<unreadable %s>", tp_pyval_type_name(v));
	else
		render_printf(o, "<unreadable %s at 0x%" PRIx64 ">",
			      tp_pyval_type_name(v), v->addr);
}

bool tp_pyval_same(const struct tp_pyval *a, const struct tp_pyval *b)
{
	return a == b ||
	       (a->addr != 0 && a->addr == b->addr && a->kind == b->kind);
}

/* ---- node stacks ------------------------------------------------------- */

bool tp_node_stack_push(struct tp_node_stack *s, const struct tp_pyval *v)
{
	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		const struct tp_pyval **items =
			realloc(s->items, cap * sizeof(*items));
		if (!items)
			return false;
		s->items = items;
		s->cap = cap;
	}
	s->items[s->len++] = v;
	return true;
}

bool tp_node_stack_contains(const struct tp_node_stack *s,
			    const struct tp_pyval *v)
{
	/* Innermost first: a cycle usually closes on a near ancestor. */
	for (size_t i = s->len; i-- > 0;) {
		if (s->items[i] == v)
			return true;
	}
	return false;
}

void tp_node_stack_deinit(struct tp_node_stack *s)
{
	free(s->items);
	s->items = NULL;
	s->len = s->cap = 0;
}

/* ---- contract checks --------------------------------------------------- */

struct tp_error *tp_pyval_invalid(const struct tp_pyval *v, const char *what)
{
	if (!v)
		return tp_error_create(TP_ERR_INVALID, "NULL value node");
	return tp_error_create(TP_ERR_INVALID,
			       "invalid %s value node at 0x%" PRIx64 ": %s",
			       tp_pyval_type_name(v), v->addr, what);
}

struct tp_error *tp_pyval_check(const struct tp_pyval *v)
{
	if (!v)
		return tp_pyval_invalid(v, "NULL");
	switch (v->kind) {
	case TP_PV_OBJECT:
		if (!(v->flags & TP_PV_ATTRS) || !v->u.dict.len ||
		    (v->u.dict.keys && v->u.dict.values))
			return NULL;
		return tp_pyval_invalid(v, "no attributes");
	case TP_PV_NONE:
	case TP_PV_BOOL:
	case TP_PV_FLOAT:
	case TP_PV_UNREADABLE:
	case TP_PV_TOOLONG:
		return NULL;
	case TP_PV_INT:
		return v->u.digits ? NULL : tp_pyval_invalid(v, "no digits");
	case TP_PV_STR:
		return v->u.str.cp || !v->u.str.len ?
			       NULL : tp_pyval_invalid(v, "no code points");
	case TP_PV_BYTES:
	case TP_PV_BYTEARRAY:
		return v->u.bytes.data || !v->u.bytes.len ?
			       NULL : tp_pyval_invalid(v, "no data");
	case TP_PV_TUPLE:
	case TP_PV_LIST:
	case TP_PV_SET:
	case TP_PV_FROZENSET:
		return v->u.seq.items || !v->u.seq.len ?
			       NULL : tp_pyval_invalid(v, "no items");
	case TP_PV_DICT:
		return (v->u.dict.keys && v->u.dict.values) ||
				       !v->u.dict.len ?
			       NULL : tp_pyval_invalid(v, "no items");
	case TP_PV_TEXT:
		return v->u.text ? NULL : tp_pyval_invalid(v, "no text");
	case TP_PV_COMPOSITE:
		if (v->u.comp.len && !v->u.comp.parts)
			return tp_pyval_invalid(v, "no parts");
		for (size_t i = 0; i < v->u.comp.len; i++)
			if (!v->u.comp.parts[i].text &&
			    !v->u.comp.parts[i].value)
				return tp_pyval_invalid(v, "empty part");
		return NULL;
	}
	return tp_pyval_invalid(v, "unknown kind");
}

/* ---- float ------------------------------------------------------------- */

/*
 * Parse "%.Ne" output into its significant digits and decimal exponent
 * (value = d0.d1d2... * 10**exp).  Any radix character is skipped, so the
 * locale does not matter.
 */
static void parse_e(const char *s, char *digits, size_t *nd, int *exp)
{
	size_t n = 0;
	while (*s && *s != 'e') {
		if (*s >= '0' && *s <= '9')
			digits[n++] = *s;
		s++;
	}
	digits[n] = '\0';
	*nd = n;
	*exp = *s == 'e' ? atoi(s + 1) : 0;
}

/* Whether the decimal digits[0..nd) * 10**(exp - nd + 1) reads back as x. */
static bool round_trips(const char *digits, size_t nd, int exp, double x)
{
	char s[64];
	/* No radix character: strtod is then locale-independent. */
	snprintf(s, sizeof(s), "%.*se%d", (int)nd, digits, exp - (int)nd + 1);
	return strtod(s, NULL) == x;
}

/*
 * Shortest digits that read back as @x (> 0, finite), as David Gay's dtoa
 * mode 0 gives them to float_repr().  For each length the correctly rounded
 * digits are tried; when they miss, the next decimal up is tried too: just
 * above a power of two the rounding interval is twice as wide above x as
 * below, so the nearest decimal can fall outside while the one above is
 * inside (e.g. 2**-1019 = 7.120236347223045e-307, where %.15e misses).
 */
static void float_shortest(double x, char *digits, size_t *nd, int *exp)
{
	char s[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof(s), "%.*e", prec - 1, x);
		parse_e(s, digits, nd, exp);
		if (round_trips(digits, *nd, *exp, x))
			break;
		/* One unit up in the last place. */
		size_t i = *nd;
		while (i > 0 && digits[i - 1] == '9')
			digits[--i] = '0';
		if (i == 0) {
			digits[0] = '1';
			(*exp)++;
		} else {
			digits[i - 1]++;
		}
		if (round_trips(digits, *nd, *exp, x))
			break;
		if (prec == 17) {
			/* 17 digits always round-trip: not reached. */
			snprintf(s, sizeof(s), "%.16e", x);
			parse_e(s, digits, nd, exp);
		}
	}
	while (*nd > 1 && digits[*nd - 1] == '0')
		digits[--*nd] = '\0';
}

size_t tp_float_repr(double x, char *buf)
{
	if (isnan(x))
		return (size_t)snprintf(buf, TP_FLOAT_REPR_SIZE, "nan");
	if (isinf(x))
		return (size_t)snprintf(buf, TP_FLOAT_REPR_SIZE, "%s",
					x > 0 ? "inf" : "-inf");
	char digits[32];
	size_t nd;
	int exp;
	if (x == 0) {
		strcpy(digits, "0");
		nd = 1;
		exp = 0;
	} else {
		float_shortest(fabs(x), digits, &nd, &exp);
	}

	char *p = buf;
	if (signbit(x))
		*p++ = '-';
	if (exp < -4 || exp >= 16) {
		*p++ = digits[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, nd - 1);
			p += nd - 1;
		}
		p += sprintf(p, "e%+03d", exp);
	} else if (exp >= 0) {
		size_t ilen = (size_t)exp + 1;
		for (size_t i = 0; i < ilen; i++)
			*p++ = i < nd ? digits[i] : '0';
		*p++ = '.';
		if (nd > ilen) {
			memcpy(p, digits + ilen, nd - ilen);
			p += nd - ilen;
		} else {
			*p++ = '0';
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -exp - 1; i++)
			*p++ = '0';
		memcpy(p, digits, nd);
		p += nd;
	}
	*p = '\0';
	return (size_t)(p - buf);
}

/* ---- str and bytes ----------------------------------------------------- */

/*
 * All of CPython's str/bytes reprs pick the quote the same way: a single
 * quote, unless the text holds a single quote and no double quote.
 */
static char pick_quote_cp(const uint32_t *cp, size_t n)
{
	bool sq = false, dq = false;
	for (size_t i = 0; i < n; i++) {
		if (cp[i] == '\'')
			sq = true;
		else if (cp[i] == '"')
			dq = true;
	}
	return sq && !dq ? '"' : '\'';
}

static char pick_quote_bytes(const uint8_t *d, size_t n)
{
	bool sq = memchr(d, '\'', n) != NULL;
	bool dq = memchr(d, '"', n) != NULL;
	return sq && !dq ? '"' : '\'';
}

/* Code points repr() prints for @ch (3.x unicode_repr, 2.7 unicodeescape). */
static size_t str_char_len(uint32_t ch, uint32_t quote, bool py2,
			   unsigned ucd)
{
	if (ch == quote || ch == '\\')
		return 2;
	if (py2) {
		if (ch >= 0x10000)
			return 10;
		if (ch >= 0x100)
			return 6;
	}
	if (ch == '\t' || ch == '\n' || ch == '\r')
		return 2;
	if (ch < 0x20 || ch == 0x7f)
		return 4;
	if (ch < 0x7f)
		return 1;
	if (py2)
		return 4;       /* 0x80..0xff */
	if (tp_unicode_isprintable(ucd, ch))
		return 1;
	if (ch <= 0xff)
		return 4;
	if (ch <= 0xffff)
		return 6;
	return 10;
}

size_t tp_str_repr_len(const uint32_t *cp, size_t n, unsigned flags)
{
	bool py2 = flags & TP_PV_PY2;
	unsigned ucd = (flags & TP_PV_UCD_MASK) >> TP_PV_UCD_SHIFT;
	uint32_t quote = (uint32_t)pick_quote_cp(cp, n);
	size_t len = py2 ? 3 : 2;
	for (size_t i = 0; i < n; i++)
		len += str_char_len(cp[i], quote, py2, ucd);
	return len;
}

static const char hexdigits[] = "0123456789abcdef";

/* Text batched before it goes to the output. */
struct batch {
	char buf[1024];
	size_t len;
	size_t cps;
};

static void batch_flush(struct tp_render_out *o, struct batch *b)
{
	tp_render_put(o, b->buf, b->len, b->cps);
	b->len = b->cps = 0;
}

static void batch_hex(struct batch *b, char esc, uint32_t v, int ndig)
{
	b->buf[b->len++] = '\\';
	b->buf[b->len++] = esc;
	for (int i = ndig - 1; i >= 0; i--)
		b->buf[b->len++] = hexdigits[(v >> (4 * i)) & 0xf];
	b->cps += 2 + (size_t)ndig;
}

/* UTF-8 of a code point >= 0x80 (one code point of output). */
static void batch_utf8(struct batch *b, uint32_t ch)
{
	char *p = b->buf + b->len;
	if (ch < 0x800) {
		*p++ = (char)(0xc0 | (ch >> 6));
	} else if (ch < 0x10000) {
		*p++ = (char)(0xe0 | (ch >> 12));
		*p++ = (char)(0x80 | ((ch >> 6) & 0x3f));
	} else {
		*p++ = (char)(0xf0 | (ch >> 18));
		*p++ = (char)(0x80 | ((ch >> 12) & 0x3f));
		*p++ = (char)(0x80 | ((ch >> 6) & 0x3f));
	}
	*p++ = (char)(0x80 | (ch & 0x3f));
	b->len = (size_t)(p - b->buf);
}

static void batch_char(struct batch *b, char c)
{
	b->buf[b->len++] = c;
	b->cps++;
}

/* Escapes common to every repr: the quote, backslash, \t \n \r. */
static bool batch_simple_escape(struct batch *b, uint32_t ch, uint32_t quote)
{
	char e;
	if (ch == quote || ch == '\\')
		e = (char)ch;
	else if (ch == '\t')
		e = 't';
	else if (ch == '\n')
		e = 'n';
	else if (ch == '\r')
		e = 'r';
	else
		return false;
	batch_char(b, '\\');
	batch_char(b, e);
	return true;
}

void tp_str_repr(struct tp_render_out *o, const uint32_t *cp, size_t n,
		 unsigned flags)
{
	bool py2 = flags & TP_PV_PY2;
	unsigned ucd = (flags & TP_PV_UCD_MASK) >> TP_PV_UCD_SHIFT;
	uint32_t quote = (uint32_t)pick_quote_cp(cp, n);
	struct batch b = { .len = 0, .cps = 0 };
	if (py2)
		batch_char(&b, 'u');
	batch_char(&b, (char)quote);
	for (size_t i = 0; i < n; i++) {
		if (b.len > sizeof(b.buf) - 16) {
			batch_flush(o, &b);
			if (o->over)
				return;
		}
		uint32_t ch = cp[i];
		if (ch == quote || ch == '\\') {
			batch_simple_escape(&b, ch, quote);
		} else if (py2 && ch >= 0x10000) {
			batch_hex(&b, 'U', ch, 8);
		} else if (py2 && ch >= 0x100) {
			batch_hex(&b, 'u', ch, 4);
		} else if (batch_simple_escape(&b, ch, quote)) {
			/* \t \n \r */
		} else if (ch < 0x20 || ch == 0x7f || (py2 && ch >= 0x7f)) {
			batch_hex(&b, 'x', ch, 2);
		} else if (ch < 0x7f) {
			batch_char(&b, (char)ch);
		} else if (tp_unicode_isprintable(ucd, ch)) {
			/* UTF-8, one code point */
			batch_utf8(&b, ch);
			b.cps++;
		} else if (ch <= 0xff) {
			batch_hex(&b, 'x', ch, 2);
		} else if (ch <= 0xffff) {
			batch_hex(&b, 'u', ch, 4);
		} else {
			batch_hex(&b, 'U', ch, 8);
		}
	}
	batch_char(&b, (char)quote);
	batch_flush(o, &b);
}

size_t tp_bytes_repr_len(const uint8_t *d, size_t n,
			 enum tp_bytes_style style)
{
	char quote = pick_quote_bytes(d, n);
	size_t len = style == TP_BYTES_STR2 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = d[i];
		if (c == (uint8_t)quote || c == '\\' || c == '\t' ||
		    c == '\n' || c == '\r' ||
		    (c == '\'' && style == TP_BYTES_BYTEARRAY))
			len += 2;
		else if (c < 0x20 || c >= 0x7f)
			len += 4;
		else
			len += 1;
	}
	return len;
}

void tp_bytes_repr(struct tp_render_out *o, const uint8_t *d, size_t n,
		   enum tp_bytes_style style)
{
	uint32_t quote = (uint32_t)pick_quote_bytes(d, n);
	struct batch b = { .len = 0, .cps = 0 };
	if (style != TP_BYTES_STR2)
		batch_char(&b, 'b');
	batch_char(&b, (char)quote);
	for (size_t i = 0; i < n; i++) {
		if (b.len > sizeof(b.buf) - 16) {
			batch_flush(o, &b);
			if (o->over)
				return;
		}
		uint8_t c = d[i];
		if (c == '\'' && style == TP_BYTES_BYTEARRAY) {
			batch_char(&b, '\\');
			batch_char(&b, '\'');
			continue;
		}
		if (batch_simple_escape(&b, c, quote))
			continue;
		if (c < 0x20 || c >= 0x7f)
			batch_hex(&b, 'x', c, 2);
		else
			batch_char(&b, (char)c);
	}
	batch_char(&b, (char)quote);
	batch_flush(o, &b);
}

/* ---- the repr engine --------------------------------------------------- */

static void repr_fail(struct tp_repr_ctx *c, struct tp_error *err)
{
	if (!c->err)
		c->err = err;
	else
		tp_error_destroy(err);
}

static void repr_seq(struct tp_repr_ctx *c, const struct tp_pyval *v,
		     unsigned depth)
{
	struct tp_render_out *o = c->out;
	bool py2 = v->flags & TP_PV_PY2;
	size_t n = v->u.seq.len;
	const char *open, *close, *cycle, *empty;
	switch (v->kind) {
	case TP_PV_LIST:
		open = "[";
		close = "]";
		cycle = "[...]";
		empty = "[]";
		break;
	case TP_PV_TUPLE:
		open = "(";
		close = n == 1 ? ",)" : ")";
		cycle = "(...)";
		empty = "()";
		break;
	case TP_PV_SET:
		open = py2 ? "set([" : "{";
		close = py2 ? "])" : "}";
		cycle = "set(...)";
		empty = py2 ? "set([])" : "set()";
		break;
	default:
		open = py2 ? "frozenset([" : "frozenset({";
		close = py2 ? "])" : "})";
		cycle = "frozenset(...)";
		empty = py2 ? "frozenset([])" : "frozenset()";
		break;
	}
	if (n == 0) {
		tp_render_puts(o, empty);
		return;
	}
	if (tp_node_stack_contains(&c->active, v)) {
		tp_render_puts(o, cycle);
		return;
	}
	if (!tp_node_stack_push(&c->active, v)) {
		repr_fail(c, &tp_error_nomem);
		return;
	}
	tp_render_puts(o, open);
	for (size_t i = 0; i < n && !tp_repr_ctx_stopped(c); i++) {
		if (i)
			tp_render_puts(o, ", ");
		tp_repr_node(c, v->u.seq.items[i], depth);
	}
	tp_render_puts(o, close);
	tp_node_stack_pop(&c->active);
}

static void repr_dict(struct tp_repr_ctx *c, const struct tp_pyval *v,
		      unsigned depth)
{
	struct tp_render_out *o = c->out;
	size_t n = v->u.dict.len;
	if (n == 0) {
		tp_render_puts(o, "{}");
		return;
	}
	if (tp_node_stack_contains(&c->active, v)) {
		tp_render_puts(o, "{...}");
		return;
	}
	if (!tp_node_stack_push(&c->active, v)) {
		repr_fail(c, &tp_error_nomem);
		return;
	}
	tp_render_puts(o, "{");
	for (size_t i = 0; i < n && !tp_repr_ctx_stopped(c); i++) {
		if (i)
			tp_render_puts(o, ", ");
		tp_repr_node(c, v->u.dict.keys[i], depth);
		tp_render_puts(o, ": ");
		tp_repr_node(c, v->u.dict.values[i], depth);
	}
	tp_render_puts(o, "}");
	tp_node_stack_pop(&c->active);
}

static void repr_composite(struct tp_repr_ctx *c, const struct tp_pyval *v,
			   unsigned depth)
{
	struct tp_render_out *o = c->out;
	bool guarded = v->u.comp.cycle != NULL;
	if (guarded) {
		if (tp_node_stack_contains(&c->active, v)) {
			tp_render_puts(o, v->u.comp.cycle);
			return;
		}
		if (!tp_node_stack_push(&c->active, v)) {
			repr_fail(c, &tp_error_nomem);
			return;
		}
	}
	for (size_t i = 0; i < v->u.comp.len && !tp_repr_ctx_stopped(c); i++) {
		const struct tp_pyval_part *p = &v->u.comp.parts[i];
		if (p->text) {
			size_t len = strlen(p->text);
			tp_render_put(o, p->text, len,
				      tp_utf8_count(p->text, len));
		}
		if (p->value)
			tp_repr_node(c, p->value, depth);
	}
	if (guarded)
		tp_node_stack_pop(&c->active);
}

/* "<TYPE object at 0xADDR {'name': value, ...}>" (TP_PV_ATTRS) */
static void repr_object_attrs(struct tp_repr_ctx *c, const struct tp_pyval *v,
			      unsigned depth)
{
	struct tp_render_out *o = c->out;
	render_printf(o, "<%s object at 0x%" PRIx64 " {",
		      tp_pyval_type_name(v), v->addr);
	if (tp_node_stack_contains(&c->active, v)) {
		tp_render_puts(o, "...}>");
		return;
	}
	if (!tp_node_stack_push(&c->active, v)) {
		repr_fail(c, &tp_error_nomem);
		return;
	}
	for (size_t i = 0; i < v->u.dict.len && !tp_repr_ctx_stopped(c); i++) {
		if (i)
			tp_render_puts(o, ", ");
		tp_repr_node(c, v->u.dict.keys[i], depth);
		tp_render_puts(o, ": ");
		tp_repr_node(c, v->u.dict.values[i], depth);
	}
	tp_render_puts(o, "}>");
	tp_node_stack_pop(&c->active);
}

void tp_repr_node(struct tp_repr_ctx *c, const struct tp_pyval *v,
		  unsigned depth)
{
	if (tp_repr_ctx_stopped(c))
		return;
	struct tp_error *err = tp_pyval_check(v);
	if (err) {
		repr_fail(c, err);
		return;
	}
	struct tp_render_out *o = c->out;
	bool py2 = v->flags & TP_PV_PY2;
	switch (v->kind) {
	case TP_PV_NONE:
		tp_render_puts(o, "None");
		return;
	case TP_PV_BOOL:
		tp_render_puts(o, v->u.boolean ? "True" : "False");
		return;
	case TP_PV_INT:
		tp_render_puts(o, v->u.digits);
		if (v->flags & TP_PV_LONG)
			tp_render_puts(o, "L");
		return;
	case TP_PV_FLOAT: {
		char buf[TP_FLOAT_REPR_SIZE];
		size_t len = tp_float_repr(v->u.real, buf);
		tp_render_put(o, buf, len, len);
		return;
	}
	case TP_PV_STR:
		tp_str_repr(o, v->u.str.cp, v->u.str.len, v->flags);
		return;
	case TP_PV_BYTES:
		tp_bytes_repr(o, v->u.bytes.data, v->u.bytes.len,
			      py2 ? TP_BYTES_STR2 : TP_BYTES_3);
		return;
	case TP_PV_BYTEARRAY:
		tp_render_puts(o, "bytearray(");
		tp_bytes_repr(o, v->u.bytes.data, v->u.bytes.len,
			      (v->flags & TP_PV_BYTES_QUOTES) ?
				      TP_BYTES_3 : TP_BYTES_BYTEARRAY);
		tp_render_puts(o, ")");
		return;
	case TP_PV_TEXT: {
		size_t len = strlen(v->u.text);
		tp_render_put(o, v->u.text, len, tp_utf8_count(v->u.text, len));
		return;
	}
	case TP_PV_OBJECT:
		if (v->flags & TP_PV_ATTRS)
			break;
		tp_render_object_text(o, v);
		return;
	case TP_PV_UNREADABLE:
		render_unreadable_text(o, v);
		return;
	case TP_PV_TOOLONG:
		tp_render_toolong_text(o, v);
		return;
	case TP_PV_TUPLE:
	case TP_PV_LIST:
	case TP_PV_SET:
	case TP_PV_FROZENSET:
	case TP_PV_DICT:
	case TP_PV_COMPOSITE:
		break;
	}
	/* CPython would raise RecursionError around here. */
	if (depth >= TP_PYVAL_MAX_DEPTH) {
		c->too_deep = true;
		return;
	}
	if (v->kind == TP_PV_OBJECT)
		repr_object_attrs(c, v, depth + 1);
	else if (v->kind == TP_PV_DICT)
		repr_dict(c, v, depth + 1);
	else if (v->kind == TP_PV_COMPOSITE)
		repr_composite(c, v, depth + 1);
	else
		repr_seq(c, v, depth + 1);
}

struct tp_error *tp_pyval_limited(struct tp_pyval_arena *arena,
				  struct tp_pyval *v,
				  const struct tp_pyval_opts *opts,
				  struct tp_pyval **ret)
{
	*ret = v;
	if (!opts || !opts->max_repr || !v)
		return NULL;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	struct tp_render_out o;
	tp_render_out_init(&o, &sb, opts->max_repr);
	struct tp_repr_ctx c = { .out = &o };
	tp_repr_node(&c, v, 0);
	tp_node_stack_deinit(&c.active);
	bool failed = sb.failed;
	tp_strbuf_deinit(&sb);
	if (c.err)
		return c.err;
	if (failed)
		return &tp_error_nomem;
	if (!o.over || tp_pyval_is_placeholder(v))
		return NULL;
	struct tp_pyval *t = tp_pyval_new(arena, TP_PV_TOOLONG, v->addr,
					  tp_pyval_type_name(v));
	if (!t)
		return &tp_error_nomem;
	t->flags = v->flags;
	*ret = t;
	return NULL;
}

struct tp_error *tp_pyval_repr(const struct tp_pyval *v,
			       const struct tp_pyval_opts *opts,
			       struct tp_strbuf *sb)
{
	if (sb->failed)
		return &tp_error_nomem;
	size_t start = sb->len;
	size_t limit = opts ? opts->max_repr : 0;
	/* The placeholder kinds are never replaced by another placeholder. */
	if (tp_pyval_is_placeholder(v))
		limit = 0;
	struct tp_render_out o;
	tp_render_out_init(&o, sb, limit);
	struct tp_repr_ctx c = { .out = &o };
	tp_repr_node(&c, v, 0);
	tp_node_stack_deinit(&c.active);
	if (c.err) {
		tp_strbuf_truncate(sb, start);
		return c.err;
	}
	if (c.too_deep || o.over) {
		tp_strbuf_truncate(sb, start);
		struct tp_render_out plain;
		tp_render_out_init(&plain, sb, 0);
		if (c.too_deep)
			tp_render_object_text(&plain, v);
		else
			tp_render_toolong_text(&plain, v);
	}
	return tp_strbuf_error(sb);
}
