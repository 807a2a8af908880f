/* SPDX-License-Identifier: MIT */
/* repr() of numbers beyond int and float: complex (Objects/complexobject.c). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "python/pytypes.h"

/*
 * One part of a complex as PyOS_double_to_string(x, 'r', 0, flags) writes
 * it: float repr without the ".0" float_repr adds (Py_DTSF_ADD_DOT_0 is
 * not asked for), with a sign always when @sign (Py_DTSF_SIGN; NaN prints
 * "+nan" whatever its sign bit).
 */
static void complex_part(double x, bool sign, char *out)
{
	char buf[TP_FLOAT_REPR_SIZE];
	size_t n = tp_float_repr(x, buf);
	if (n >= 2 && !strcmp(buf + n - 2, ".0"))
		buf[n - 2] = '\0';
	if (isnan(x))
		strcpy(buf, "nan");
	if (sign && buf[0] != '-')
		*out++ = '+';
	strcpy(out, buf);
}

/*
 * complex_repr(): "1j" when the real part is +0 (no parentheses), else
 * "(re+imj)".  Same in 2.7.
 */
static struct tp_error *complex_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	double cval[2];
	struct tp_error *err = py_read(py, o->addr + LOFF(py, COMPLEX_CVAL),
				       cval, sizeof(cval));
	if (err)
		return err;
	char re[TP_FLOAT_REPR_SIZE + 2], im[TP_FLOAT_REPR_SIZE + 2];
	if (cval[0] == 0 && !signbit(cval[0])) {
		complex_part(cval[1], false, im);
		return py_text(py, st, o, ret, "%sj", im);
	}
	complex_part(cval[0], false, re);
	complex_part(cval[1], true, im);
	return py_text(py, st, o, ret, "(%s%sj)", re, im);
}

struct tp_error *py_decode_numbers(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret, bool *handled)
{
	if (!o->base_name || !LHAS(py, COMPLEX_CVAL))
		return NULL;
	if (!strcmp(o->base_name, "complex")) {
		*handled = true;
		return complex_repr(py, st, o, ret);
	}
	return NULL;
}
