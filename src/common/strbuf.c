/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

void tp_strbuf_init(struct tp_strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void tp_strbuf_deinit(struct tp_strbuf *sb)
{
	free(sb->str);
	tp_strbuf_init(sb);
}

void tp_strbuf_reset(struct tp_strbuf *sb)
{
	sb->len = 0;
	if (sb->str)
		sb->str[0] = '\0';
	sb->failed = false;
}

bool tp_strbuf_reserve(struct tp_strbuf *sb, size_t extra)
{
	if (sb->failed)
		return false;
	if (extra > SIZE_MAX - sb->len - 1) {
		sb->failed = true;
		return false;
	}
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	char *p = realloc(sb->str, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->str = p;
	sb->cap = cap;
	return true;
}

bool tp_strbuf_append(struct tp_strbuf *sb, const void *data, size_t len)
{
	if (!tp_strbuf_reserve(sb, len))
		return false;
	if (len)
		memcpy(sb->str + sb->len, data, len);
	sb->len += len;
	sb->str[sb->len] = '\0';
	return true;
}

bool tp_strbuf_puts(struct tp_strbuf *sb, const char *s)
{
	return tp_strbuf_append(sb, s, strlen(s));
}

bool tp_strbuf_putc(struct tp_strbuf *sb, char c)
{
	return tp_strbuf_append(sb, &c, 1);
}

bool tp_strbuf_printf(struct tp_strbuf *sb, const char *fmt, ...)
{
	if (sb->failed)
		return false;
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->failed = true;
		return false;
	}
	if ((size_t)n < sizeof(small))
		return tp_strbuf_append(sb, small, (size_t)n);
	if (!tp_strbuf_reserve(sb, (size_t)n))
		return false;
	va_start(ap, fmt);
	vsnprintf(sb->str + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return true;
}

bool tp_strbuf_repeat(struct tp_strbuf *sb, char c, size_t n)
{
	if (!tp_strbuf_reserve(sb, n))
		return false;
	memset(sb->str + sb->len, c, n);
	sb->len += n;
	sb->str[sb->len] = '\0';
	return true;
}

bool tp_strbuf_put_utf8(struct tp_strbuf *sb, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		if (cp > 0x10ffff)
			cp = 0xfffd;
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return tp_strbuf_append(sb, b, n);
}

void tp_strbuf_truncate(struct tp_strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->str[len] = '\0';
	}
}

struct tp_error *tp_strbuf_error(const struct tp_strbuf *sb)
{
	return sb->failed ? &tp_error_nomem : NULL;
}

char *tp_strbuf_steal(struct tp_strbuf *sb)
{
	char *s;
	if (sb->failed) {
		tp_strbuf_deinit(sb);
		return NULL;
	}
	s = sb->str ? sb->str : strdup("");
	tp_strbuf_init(sb);
	return s;
}
