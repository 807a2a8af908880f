/* SPDX-License-Identifier: MIT */
/*
 * Python values as decoded from a target: a graph of tp_pyval nodes (shared
 * sub-objects and reference cycles are possible, exactly as in the target),
 * and the two renderings tripod needs: repr() as the target's interpreter
 * prints it, and pprint.PrettyPrinter's layout (Python 3.8+ rules).
 *
 * Nodes live in an arena and are freed all at once.  The decoder builds the
 * graph; the renderers never read target memory.
 */
#ifndef TRIPOD_PYTHON_PYVAL_H
#define TRIPOD_PYTHON_PYVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/strbuf.h"

enum tp_pyval_kind {
	TP_PV_NONE,
	TP_PV_BOOL,
	TP_PV_INT,        /* 2.7 int and long, 3.x int */
	TP_PV_FLOAT,
	TP_PV_STR,        /* 3.x str; 2.7 unicode */
	TP_PV_BYTES,      /* 3.x bytes; 2.7 str */
	TP_PV_BYTEARRAY,
	TP_PV_TUPLE,
	TP_PV_LIST,
	TP_PV_DICT,
	TP_PV_SET,
	TP_PV_FROZENSET,
	TP_PV_TEXT,       /* repr known as text (function, class, module, ...) */
	TP_PV_OBJECT,     /* no repr available: <TYPE object at 0xADDR> */
	TP_PV_UNREADABLE, /* memory unreadable: <unreadable TYPE at 0xADDR> */
	TP_PV_TOOLONG,    /* <TYPE object at 0xADDR (really long repr)> */
};

/* flags */
#define TP_PV_PY2   0x1u  /* Python 2 repr rules (u'..', '..' for str, set([..])) */
#define TP_PV_LONG  0x2u  /* 2.7 long: repr ends in L */

struct tp_pyval {
	enum tp_pyval_kind kind;
	unsigned flags;
	uint64_t addr;          /* address in the target (id()) */
	/*
	 * The type's name as object.__repr__ prints it: "int", "list",
	 * "collections.OrderedDict", "__main__.Foo".  Used for <... object at>
	 * texts and as str(type) when pprint's sort falls back to type names.
	 */
	const char *type_name;
	union {
		bool boolean;
		char *digits;                   /* INT: decimal, '-' if negative */
		double real;                    /* FLOAT */
		struct {
			uint32_t *cp;           /* code points */
			size_t len;
		} str;                          /* STR */
		struct {
			uint8_t *data;
			size_t len;
		} bytes;                        /* BYTES, BYTEARRAY */
		struct {
			struct tp_pyval **items;
			size_t len;
		} seq;                          /* TUPLE, LIST, SET, FROZENSET */
		struct {
			struct tp_pyval **keys;
			struct tp_pyval **values;
			size_t len;
		} dict;                         /* DICT, in iteration order */
		char *text;                     /* TEXT: the whole repr */
	} u;
};

struct tp_pyval_arena;

struct tp_error *tp_pyval_arena_create(struct tp_pyval_arena **ret);
void tp_pyval_arena_destroy(struct tp_pyval_arena *arena);
/** Allocate @size zeroed bytes that live as long as the arena (NULL on OOM). */
void *tp_pyval_arena_alloc(struct tp_pyval_arena *arena, size_t size);
/** Copy of @s in the arena (NULL on OOM). */
char *tp_pyval_arena_strdup(struct tp_pyval_arena *arena, const char *s);
/** A new zeroed node of @kind (NULL on OOM). */
struct tp_pyval *tp_pyval_new(struct tp_pyval_arena *arena,
			      enum tp_pyval_kind kind, uint64_t addr,
			      const char *type_name);

/** Options shared by the renderers. */
struct tp_pyval_opts {
	/*
	 * A repr longer than this many characters is replaced by
	 * "<TYPE object at 0xADDR (really long repr)>".  0 = no limit.
	 */
	size_t max_repr;
};

/**
 * Append repr(@v) to @sb as the target's interpreter prints it (UTF-8).
 * Cycles print as CPython does ([...], {...}, (...), set(...)).
 */
struct tp_error *tp_pyval_repr(const struct tp_pyval *v,
			       const struct tp_pyval_opts *opts,
			       struct tp_strbuf *sb);

/** pprint.PrettyPrinter(indent=, width=, depth=) parameters. */
struct tp_pprint_opts {
	int indent;      /* 1 for dogslow */
	int width;       /* 76 for dogslow */
	int depth;       /* 0 = unlimited */
};

/**
 * Append pprint.pformat(@v) to @sb following Python 3.8+'s pprint: dict
 * keys sorted, sets sorted when split, long str/bytes split into fragments,
 * recursion shown as <Recursion on TYPE with id=N>.  Scalars print with
 * their repr as tp_pyval_repr() gives it.
 */
struct tp_error *tp_pyval_pformat(const struct tp_pyval *v,
				  const struct tp_pprint_opts *popts,
				  const struct tp_pyval_opts *opts,
				  struct tp_strbuf *sb);

#endif /* TRIPOD_PYTHON_PYVAL_H */
