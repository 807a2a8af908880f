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
	/*
	 * A repr made of text and other values, as the repr of a standard
	 * library type writes it: "deque([1, 2], maxlen=3)",
	 * "Point(x=1, y=2)", "ValueError('bad', 3)".
	 */
	TP_PV_COMPOSITE,
};

/* One piece of a COMPOSITE repr: @text (if any), then repr(@value) (if any). */
struct tp_pyval_part {
	const char *text;
	struct tp_pyval *value;
};

/* flags */
#define TP_PV_PY2   0x1u  /* Python 2 repr rules (u'..', '..' for str, set([..])) */
#define TP_PV_LONG  0x2u  /* 2.7 long: repr ends in L */
/*
 * Not an object of the target but a container tripod made (a frame's
 * locals as a dict): it has no address, and max_repr never replaces it as
 * a whole -- only its items, each on its own.
 */
#define TP_PV_SYNTHETIC 0x4u
/*
 * A COMPOSITE dict view ("dict_keys(" LIST ")", likewise dict_values and
 * dict_items with (key, value) tuples) that pprint lays out as a dict:
 * items sorted, "{...}" past the depth limit (the target's pprint does,
 * 3.15+).  repr() is unchanged.
 */
#define TP_PV_DICTVIEW 0x8u
/*
 * A bytearray whose repr quotes its bytes as bytes.__repr__ does (3.15+);
 * without it, a single quote is escaped even inside double quotes, as
 * bytearray_repr() long did: bytearray(b"it\'s").
 */
#define TP_PV_BYTES_QUOTES 0x10u
/* A container whose pprint sort is list.sort() of 3.13+ (tp_sort_runs). */
#define TP_PV_SORT313 0x20u
/*
 * An OBJECT printed with its attributes (tripod-analyze --attributes):
 * "<TYPE object at 0xADDR {'name': value, ...}>", u.dict holding the
 * attribute names (str values) and values in order; met again inside its
 * own attributes: "<TYPE object at 0xADDR {...}>".  Unlike the other
 * placeholders it is a repr like any other: --max-repr applies to it.
 */
#define TP_PV_ATTRS 0x40u
/*
 * Bits 8-15: which characters a 3.x str's repr() prints as they are, i.e.
 * the target interpreter's Unicode database: an index in
 * tp_unicode_printables (unicode_tables.h), as
 * tp_unicode_printable_for_python() gives it.  0 is the newest database.
 */
#define TP_PV_UCD_SHIFT 8
#define TP_PV_UCD_MASK  0xff00u
#define TP_PV_UCD(table) (((unsigned)(table) << TP_PV_UCD_SHIFT) & TP_PV_UCD_MASK)

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
		} dict;                         /* DICT, in iteration order;
						   OBJECT with TP_PV_ATTRS */
		char *text;                     /* TEXT: the whole repr */
		struct {
			struct tp_pyval_part *parts;
			size_t len;
			/*
			 * Printed instead when the value is met again while
			 * its own repr is being written (reprlib's "...",
			 * Py_ReprEnter's "deque([...])"); NULL when the repr
			 * has no such guard: the parts then recurse until a
			 * guarded container stops them.
			 */
			const char *cycle;
		} comp;                         /* COMPOSITE */
	} u;
};

/*
 * Contract for the graph handed to the renderers:
 * - container kinds (TUPLE .. FROZENSET) are rendered as the exact builtin
 *   types; type_name is only used for the <...> texts, pprint's
 *   "<Recursion on NAME ...>" (text after the last '.') and pprint's sort
 *   fallback;
 * - type_name may be NULL: the builtin name of the kind is used ("int",
 *   "str", "dict", ... and "long"/"unicode" for TP_PV_PY2 values);
 * - u.str.cp holds code points (a 2.7 narrow build's surrogate pairs should
 *   be combined by the decoder; lone surrogates print as \udXXX);
 * - a node whose data pointer is NULL while its length is not 0 (or a NULL
 *   child, INT digits or TEXT text) breaks the contract: the renderers return
 *   TP_ERR_INVALID.
 * Nesting deeper than TP_PYVAL_MAX_DEPTH (where CPython would raise
 * RecursionError) renders the whole value passed in as
 * "<TYPE object at 0xADDR>".
 */
#define TP_PYVAL_MAX_DEPTH 1000

struct tp_pyval_arena;

struct tp_error *tp_pyval_arena_create(struct tp_pyval_arena **ret);
/** Free the arena and everything allocated in it; accepts NULL. */
void tp_pyval_arena_destroy(struct tp_pyval_arena *arena);
/** Allocate @size zeroed bytes that live as long as the arena (NULL on OOM). */
void *tp_pyval_arena_alloc(struct tp_pyval_arena *arena, size_t size);
/**
 * Allocate @n zeroed elements of @size bytes (NULL on OOM or when n * size
 * overflows).
 */
void *tp_pyval_arena_calloc(struct tp_pyval_arena *arena, size_t n,
			    size_t size);
/** Copy of the @size bytes at @p in the arena (NULL on OOM). */
void *tp_pyval_arena_memdup(struct tp_pyval_arena *arena, const void *p,
			    size_t size);
/** Copy of @s in the arena (NULL on OOM). */
char *tp_pyval_arena_strdup(struct tp_pyval_arena *arena, const char *s);
/**
 * A new zeroed node of @kind (NULL on OOM).  @type_name is stored as given
 * (not copied): it must live as long as the arena (static text, or a copy
 * made with tp_pyval_arena_strdup()); NULL means the kind's builtin name.
 */
struct tp_pyval *tp_pyval_new(struct tp_pyval_arena *arena,
			      enum tp_pyval_kind kind, uint64_t addr,
			      const char *type_name);

/**
 * Whether @v is a placeholder that no limit replaces: OBJECT (without
 * TP_PV_ATTRS), UNREADABLE, TOOLONG.
 */
bool tp_pyval_is_placeholder(const struct tp_pyval *v);

/**
 * The type name of @v as object.__repr__ prints it: v->type_name, or the
 * builtin name of its kind when that is NULL.
 */
const char *tp_pyval_type_name(const struct tp_pyval *v);

/** Largest int tp_pyint_to_decimal() converts (bits of magnitude). */
#define TP_PYINT_MAX_BITS (1u << 18)

/**
 * Decimal text of a CPython int: its magnitude is @ndigits digits of @shift
 * bits each (15 or 30, as PyLong_SHIFT), least significant first, given as
 * uint32_t values whatever the target's digit size; @negative gives the sign
 * (ignored for zero).  The text ("-" for negatives, no leading zeros, "0"
 * for zero) is allocated in @arena and returned through @ret.
 *
 * Errors: TP_ERR_INVALID for a shift other than 15 or 30;
 * TP_ERR_FORMAT when a digit does not fit in @shift bits (corrupt target
 * memory); TP_ERR_LIMIT past TP_PYINT_MAX_BITS (the conversion is
 * quadratic); nomem.
 */
struct tp_error *tp_pyint_to_decimal(struct tp_pyval_arena *arena,
				     const uint32_t *digits, size_t ndigits,
				     unsigned shift, bool negative, char **ret);

/** Room tp_float_repr() needs, NUL included. */
#define TP_FLOAT_REPR_SIZE 32

/**
 * repr(@x) as CPython (2.7 and 3.x) prints a float: the shortest digits that
 * read back as @x, exponent form iff the decimal exponent is < -4 or >= 16
 * ("1e-05", "1e+16"), else positional with ".0" when integral; "inf",
 * "-inf", "nan", "-0.0".  Writes into @buf (TP_FLOAT_REPR_SIZE bytes) and
 * returns the length.
 */
size_t tp_float_repr(double x, char *buf);

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
 *
 * @opts may be NULL (no limit).  When the text would pass opts->max_repr
 * code points the TOOLONG text of @v is appended instead; producing stops
 * early, so huge values cost about max_repr.  OBJECT, UNREADABLE and
 * TOOLONG values are never replaced (they are placeholders already).
 * Nesting deeper than TP_PYVAL_MAX_DEPTH gives "<TYPE object at 0xADDR>".
 * On error (TP_ERR_INVALID for a node that breaks the contract above,
 * nomem) nothing is left appended.
 */
struct tp_error *tp_pyval_repr(const struct tp_pyval *v,
			       const struct tp_pyval_opts *opts,
			       struct tp_strbuf *sb);

/**
 * @v, or when repr(@v) passes opts->max_repr, a new TOOLONG node for the
 * same object (in @arena): how a value that stands alone in a
 * TP_PV_SYNTHETIC container (a frame's local) gets its limit.  A value too
 * deep to print is left as it is (the renderers print it as an object).
 * Errors: TP_ERR_INVALID for a bad node, nomem.
 */
struct tp_error *tp_pyval_limited(struct tp_pyval_arena *arena,
				  struct tp_pyval *v,
				  const struct tp_pyval_opts *opts,
				  struct tp_pyval **ret);

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
 *
 * Sorting follows pprint's _safe_key with Python 3 comparison rules and
 * CPython's own list.sort(), so mixed-type keys order as in CPython.
 * Values flagged TP_PV_PY2 keep 2.7 reprs (u'..', 12L, set([1])) inside
 * the 3.8+ layout: a split set is written {...} / frozenset({...}) as
 * pprint writes it, a 2.7 str (BYTES) splits like bytes, in 4-byte
 * groups, and sorting compares values by Python 3 rules.
 *
 * @opts may be NULL.  opts->max_repr applies to each value whose repr
 * pprint computes (the value itself, items when a container is split, dict
 * keys): a value over the limit prints as its TOOLONG text and is not
 * split.  A TP_PV_SYNTHETIC container is the exception: never replaced as
 * a whole, it is printed on one line when that fits and laid out
 * otherwise; give its items their limit first (tp_pyval_limited()).  Width and lengths count code points.  Errors: TP_ERR_INVALID for
 * indent < 0, width == 0, depth < 0 or a bad node; nothing is left
 * appended on error.  If the layout itself nests deeper than
 * TP_PYVAL_MAX_DEPTH the whole result is "<TYPE object at 0xADDR>".
 */
struct tp_error *tp_pyval_pformat(const struct tp_pyval *v,
				  const struct tp_pprint_opts *popts,
				  const struct tp_pyval_opts *opts,
				  struct tp_strbuf *sb);

#endif /* TRIPOD_PYTHON_PYVAL_H */
