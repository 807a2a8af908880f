/* SPDX-License-Identifier: MIT */
/*
 * A growable byte string, always NUL-terminated.
 *
 * Allocation failure is sticky: once an append fails, `failed` is set, later
 * appends do nothing, and tp_strbuf_error() returns &tp_error_nomem.  Callers
 * can therefore append freely and check once at the end.
 */
#ifndef TRIPOD_COMMON_STRBUF_H
#define TRIPOD_COMMON_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct tp_strbuf {
	char *str;     /* NUL-terminated contents, or NULL when empty */
	size_t len;
	size_t cap;
	bool failed;
};

#define TP_STRBUF_INIT { NULL, 0, 0, false }

void tp_strbuf_init(struct tp_strbuf *sb);
void tp_strbuf_deinit(struct tp_strbuf *sb);
/** Empty the buffer, keeping its memory (and clearing `failed`). */
void tp_strbuf_reset(struct tp_strbuf *sb);
bool tp_strbuf_reserve(struct tp_strbuf *sb, size_t extra);
bool tp_strbuf_append(struct tp_strbuf *sb, const void *data, size_t len);
bool tp_strbuf_puts(struct tp_strbuf *sb, const char *s);
bool tp_strbuf_putc(struct tp_strbuf *sb, char c);
bool tp_strbuf_printf(struct tp_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Append @n copies of @c. */
bool tp_strbuf_repeat(struct tp_strbuf *sb, char c, size_t n);
/** Append the UTF-8 encoding of code point @cp. */
bool tp_strbuf_put_utf8(struct tp_strbuf *sb, uint32_t cp);
/** Truncate to @len bytes (no-op if already shorter). */
void tp_strbuf_truncate(struct tp_strbuf *sb, size_t len);
/** NULL, or &tp_error_nomem if any append failed. */
struct tp_error *tp_strbuf_error(const struct tp_strbuf *sb);
/**
 * Hand the contents over to the caller (an empty string when nothing was
 * appended) and reinitialise @sb.  Returns NULL on allocation failure.
 */
char *tp_strbuf_steal(struct tp_strbuf *sb);
/** The contents (never NULL). */
static inline const char *tp_strbuf_str(const struct tp_strbuf *sb)
{
	return sb->str ? sb->str : "";
}

#endif /* TRIPOD_COMMON_STRBUF_H */
