/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

struct tp_error tp_error_nomem = {
	.code = TP_ERR_NOMEM,
	.errnum = ENOMEM,
	.message = (char *)"out of memory",
};

static struct tp_error *error_vcreate(enum tp_error_code code, int errnum,
				      uint64_t address, const char *path,
				      const char *suffix, const char *fmt,
				      va_list ap)
{
	struct tp_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &tp_error_nomem;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0) {
		free(err);
		return &tp_error_nomem;
	}
	if (suffix) {
		char *full = NULL;
		if (asprintf(&full, "%s%s", msg, suffix) < 0) {
			free(msg);
			free(err);
			return &tp_error_nomem;
		}
		free(msg);
		msg = full;
	}
	err->code = code;
	err->errnum = errnum;
	err->address = address;
	err->message = msg;
	if (path) {
		err->path = strdup(path);
		if (!err->path) {
			free(msg);
			free(err);
			return &tp_error_nomem;
		}
	}
	return err;
}

struct tp_error *tp_error_create(enum tp_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct tp_error *err = error_vcreate(code, 0, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	return err;
}

struct tp_error *tp_error_os(int errnum, const char *path, const char *fmt, ...)
{
	char suffix[512];
	if (path)
		snprintf(suffix, sizeof(suffix), ": %s: %s", path,
			 strerror(errnum));
	else
		snprintf(suffix, sizeof(suffix), ": %s", strerror(errnum));
	va_list ap;
	va_start(ap, fmt);
	struct tp_error *err = error_vcreate(TP_ERR_OS, errnum, 0, path, suffix,
					     fmt, ap);
	va_end(ap);
	return err;
}

struct tp_error *tp_error_fault(uint64_t address, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct tp_error *err = error_vcreate(TP_ERR_FAULT, 0, address, NULL,
					     NULL, fmt, ap);
	va_end(ap);
	return err;
}

struct tp_error *tp_error_wrap(struct tp_error *err, const char *fmt, ...)
{
	if (!err || err == &tp_error_nomem)
		return err;
	char *prefix = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (r < 0)
		return err; /* keep the original: better than nothing */
	char *msg = NULL;
	if (asprintf(&msg, "%s: %s", prefix, err->message) < 0) {
		free(prefix);
		return err;
	}
	free(prefix);
	free(err->message);
	err->message = msg;
	return err;
}

const char *tp_error_message(const struct tp_error *err)
{
	if (!err)
		return "success";
	return err->message ? err->message : "unknown error";
}

void tp_error_destroy(struct tp_error *err)
{
	if (!err || err == &tp_error_nomem)
		return;
	free(err->message);
	free(err->path);
	free(err);
}
