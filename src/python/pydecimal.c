/* SPDX-License-Identifier: MIT */
/*
 * repr() of decimal.Decimal: "Decimal('%s')" of the number's scientific
 * string (the General Decimal Arithmetic's to-sci-string, which both
 * Lib/_pydecimal.py -- 2.7's decimal.py -- and libmpdec's mpd_to_sci
 * write), from 3.3's C module _decimal or 2.7's Python class.
 *
 * The exponent letter follows the current context's `capitals`; tripod
 * cannot see which context the repr would run in and prints the default,
 * "E".
 *
 * Where _decimal keeps a number.  _decimal is an extension module (no
 * DWARF in the layout record), and its object is
 *   PyDecObject = PyObject_HEAD; Py_hash_t hash; mpd_t dec; ...
 *   mpd_t       = uint8_t flags; mpd_ssize_t exp, digits, len, alloc;
 *                 mpd_uint_t *data;
 * (Modules/_decimal/_decimal.c and libmpdec's public mpdecimal.h, the
 * same from 3.3 on), so the fields follow from the size of PyObject.  The
 * coefficient is `len` words of MPD_RDIGITS (19) decimal digits, least
 * significant first.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pytypes.h"

/* PyDecObject and mpd_t, offsets after PyObject_HEAD (see above) */
#define DEC_FLAGS 8
#define DEC_EXP 16
#define DEC_DIGITS 24
#define DEC_LEN 32
#define DEC_DATA 48

/* mpd_t flags */
#define MPD_NEG 1
#define MPD_INF 2
#define MPD_NAN 4
#define MPD_SNAN 8

#define MPD_RDIGITS 19
#define MPD_RADIX 10000000000000000000ULL

/* Digits of a coefficient read (a repr longer than this is not printed). */
#define MAX_DEC_DIGITS (1u << 20)
/* 2.7 Decimal's exponent as text, at most */
#define MAX_EXP_TEXT 24

enum dec_kind { DEC_FINITE, DEC_INF, DEC_QNAN, DEC_SNAN };

/*
 * to-sci-string: @digits is the coefficient without leading zeros ("0"
 * for zero; a NaN's payload, "" when it has none), @exp the exponent of a
 * finite number.
 */
static void to_sci(struct tp_strbuf *sb, bool neg, enum dec_kind kind,
		   const char *digits, int64_t exp)
{
	if (neg)
		tp_strbuf_putc(sb, '-');
	if (kind == DEC_INF) {
		tp_strbuf_puts(sb, "Infinity");
		return;
	}
	if (kind == DEC_QNAN || kind == DEC_SNAN) {
		tp_strbuf_printf(sb, "%s%s", kind == DEC_SNAN ? "sNaN" : "NaN",
				 digits);
		return;
	}
	int64_t len = (int64_t)strlen(digits);
	int64_t left = exp + len, dot;
	if (exp <= 0 && left > -6)
		dot = left;
	else
		dot = 1;
	if (dot <= 0) {
		tp_strbuf_puts(sb, "0.");
		tp_strbuf_repeat(sb, '0', (size_t)-dot);
		tp_strbuf_puts(sb, digits);
	} else if (dot >= len) {
		tp_strbuf_puts(sb, digits);
		tp_strbuf_repeat(sb, '0', (size_t)(dot - len));
	} else {
		tp_strbuf_append(sb, digits, (size_t)dot);
		tp_strbuf_putc(sb, '.');
		tp_strbuf_puts(sb, digits + dot);
	}
	if (left != dot)
		tp_strbuf_printf(sb, "E%+" PRId64, left - dot);
}

static struct tp_error *finish(struct tp_python *py, struct dstate *st,
			       const struct py_obj *o, bool neg,
			       enum dec_kind kind, const char *digits,
			       int64_t exp, struct tp_pyval **ret)
{
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_puts(&sb, "Decimal('");
	to_sci(&sb, neg, kind, digits, exp);
	tp_strbuf_puts(&sb, "')");
	struct tp_error *err = tp_strbuf_error(&sb);
	if (!err)
		err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
	tp_strbuf_deinit(&sb);
	return err;
}

/* _decimal's Decimal (see the top of the file). */
static struct tp_error *c_decimal(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o,
				  struct tp_pyval **ret)
{
	uint64_t base = o->addr + (uint64_t)LOFF(py, SIZEOF_PYOBJECT);
	uint8_t flags;
	int64_t exp, ndigits, len;
	uint64_t data;
	struct tp_error *err;
	if ((err = py_read_u8(py, base + DEC_FLAGS, &flags)) ||
	    (err = py_read_i64(py, base + DEC_EXP, &exp)) ||
	    (err = py_read_i64(py, base + DEC_DIGITS, &ndigits)) ||
	    (err = py_read_i64(py, base + DEC_LEN, &len)) ||
	    (err = py_read_ptr(py, base + DEC_DATA, &data)))
		return err;
	enum dec_kind kind = flags & MPD_INF ? DEC_INF
			     : flags & MPD_NAN ? DEC_QNAN
			     : flags & MPD_SNAN ? DEC_SNAN : DEC_FINITE;
	/* an infinity, a NaN without payload: no coefficient at all */
	if (kind != DEC_FINITE && len == 0)
		return finish(py, st, o, flags & MPD_NEG, kind, "", 0, ret);
	if (ndigits < 1 || len < 1 || ndigits > (int64_t)MAX_DEC_DIGITS ||
	    len != (ndigits + MPD_RDIGITS - 1) / MPD_RDIGITS)
		return tp_error_fault(o->addr, "bad decimal");
	/* the digits cost their length: charged before they are read */
	if (!py_charge(st, (size_t)ndigits + 11))
		return NULL;
	uint64_t *w = malloc((size_t)len * 8);
	char *digits = tp_pyval_arena_alloc(py->arena,
					    (size_t)len * MPD_RDIGITS + 1);
	if (!w || !digits) {
		free(w);
		return &tp_error_nomem;
	}
	if ((err = py_read(py, data, w, (size_t)len * 8))) {
		free(w);
		return err;
	}
	size_t n = 0;
	for (int64_t i = len - 1; i >= 0; i--) {
		if (w[i] >= MPD_RADIX) {
			free(w);
			return tp_error_fault(o->addr, "bad decimal word");
		}
		n += (size_t)sprintf(digits + n, i == len - 1 ? "%" PRIu64
							     : "%019" PRIu64,
				     w[i]);
	}
	free(w);
	if ((int64_t)n != ndigits)
		return tp_error_fault(o->addr, "bad decimal digits");
	/* a NaN's payload: printed when not zero */
	if (kind == DEC_QNAN || kind == DEC_SNAN) {
		if (!strcmp(digits, "0"))
			digits[0] = '\0';
	}
	if (kind == DEC_INF)
		digits[0] = '\0';
	return finish(py, st, o, flags & MPD_NEG, kind, digits, exp, ret);
}

/*
 * 2.7's Decimal (Lib/decimal.py), __slots__ _sign (0 or 1), _int (the
 * coefficient as a str), _exp (an int, or 'n', 'N', 'F' for NaN, sNaN and
 * Infinity), _is_special; __repr__ = "Decimal('%s')" % str(self).
 */
static struct tp_error *py_decimal(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	uint64_t sign_o, int_o, exp_o;
	int64_t sign, exp = 0;
	const char *digits, *exps = NULL;
	struct tp_error *err;
	if ((err = py_object_attr(py, o->addr, "_sign", &sign_o)) ||
	    (err = py_object_attr(py, o->addr, "_int", &int_o)) ||
	    (err = py_object_attr(py, o->addr, "_exp", &exp_o)))
		return err;
	if (!sign_o || !int_o || !exp_o)
		return tp_error_create(TP_ERR_UNSUPPORTED, "Decimal not set");
	if ((err = py_int64(py, sign_o, &sign)) ||
	    (err = py_str_text(py, int_o, MAX_DEC_DIGITS, &digits)))
		return err;
	if (py_is_str(py, exp_o)) {
		if ((err = py_str_text(py, exp_o, MAX_EXP_TEXT, &exps)))
			return err;
	} else if ((err = py_int64(py, exp_o, &exp))) {
		return err;
	}
	if (sign != 0 && sign != 1)
		return tp_error_create(TP_ERR_UNSUPPORTED, "bad _sign");
	for (const char *p = digits; *p; p++)
		if (*p < '0' || *p > '9')
			return tp_error_create(TP_ERR_UNSUPPORTED, "bad _int");
	enum dec_kind kind = DEC_FINITE;
	if (exps) {
		if (!strcmp(exps, "n"))
			kind = DEC_QNAN;
		else if (!strcmp(exps, "N"))
			kind = DEC_SNAN;
		else if (!strcmp(exps, "F"))
			kind = DEC_INF;
		else
			return tp_error_create(TP_ERR_UNSUPPORTED, "bad _exp");
	} else if (!*digits) {
		return tp_error_create(TP_ERR_UNSUPPORTED, "empty _int");
	}
	return finish(py, st, o, sign == 1, kind, digits, exp, ret);
}

struct tp_error *py_decode_decimal(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled)
{
	if (o->base_name) {
		if (strcmp(o->base_name, "decimal.Decimal") ||
		    !LHAS(py, SIZEOF_PYOBJECT))
			return NULL;
		*handled = true;
		return c_decimal(py, st, o, ret);
	}
	if (!py->caps->py2_objects || !(o->flags & TPF_HEAPTYPE))
		return NULL;
	uint64_t owner, func;
	struct tp_error *err = py_lookup_repr(py, o->type, &owner, &func);
	if (err || !func)
		return err;
	if (strcmp(py_type_name(py, owner), "decimal.Decimal"))
		return NULL;
	*handled = true;
	return py_decimal(py, st, o, ret);
}
