/* SPDX-License-Identifier: MIT */
/*
 * Error values.
 *
 * A function that can fail returns `struct tp_error *`: NULL means success.
 * The error describes what went wrong (a code, an errno, a path, a fault
 * address) and is owned by the caller, who either reports it with
 * tp_error_message() and frees it with tp_error_destroy(), or passes it up.
 * Library code never prints; only a program's main() does.
 *
 * Out-of-memory is a static error (&tp_error_nomem) so reporting it never
 * allocates; tp_error_destroy() ignores it.
 */
#ifndef TRIPOD_COMMON_ERROR_H
#define TRIPOD_COMMON_ERROR_H

#include <stdint.h>
#include <stdbool.h>

enum tp_error_code {
	TP_ERR_NOMEM = 1,   /* allocation failed */
	TP_ERR_OS,          /* a system call failed: see errnum (and path) */
	TP_ERR_FAULT,       /* target memory at `address` could not be read */
	TP_ERR_FORMAT,      /* malformed input (corrupt core, bad gzip, ...) */
	TP_ERR_UNSUPPORTED, /* valid input we cannot handle (e.g. Python 3.5) */
	TP_ERR_NODEBUG,     /* debug information is missing */
	TP_ERR_NOTPYTHON,   /* the target is not a CPython process */
	TP_ERR_INVALID,     /* invalid argument from the caller / user */
	TP_ERR_LIMIT,       /* a safety cap was hit (too many frames, ...) */
	TP_ERR_EXITED,      /* the target process went away */
	TP_ERR_OTHER,
};

struct tp_error {
	enum tp_error_code code;
	int errnum;        /* errno for TP_ERR_OS, else 0 */
	uint64_t address;  /* fault address for TP_ERR_FAULT */
	char *path;        /* file involved, or NULL */
	char *message;     /* full human-readable message, one line */
};

extern struct tp_error tp_error_nomem;

/** Create an error with a printf-style message. */
struct tp_error *tp_error_create(enum tp_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Create a TP_ERR_OS error from errno value @errnum; the message is
 * "<message>: <path>: <strerror>" (path part left out when NULL).
 */
struct tp_error *tp_error_os(int errnum, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Create a TP_ERR_FAULT error for @address. */
struct tp_error *tp_error_fault(uint64_t address, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Return a new error whose message is "<prefix>: <old message>", keeping the
 * code, errno, path and address of @err, and destroy @err.  Used to add
 * context while passing an error up.  Returns @err unchanged for nomem.
 */
struct tp_error *tp_error_wrap(struct tp_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** The message of @err (never NULL). */
const char *tp_error_message(const struct tp_error *err);

/** Free @err; accepts NULL and &tp_error_nomem. */
void tp_error_destroy(struct tp_error *err);

#endif /* TRIPOD_COMMON_ERROR_H */
