/* SPDX-License-Identifier: MIT */
/*
 * CPython long -> decimal text.
 *
 * The magnitude arrives in base 2**shift (most significant digit last).  We
 * build it in base 10**9 by Horner's rule from the most significant digit:
 * for each digit d, out = out * 2**shift + d, carrying limb by limb.  With
 * out[j] < 10**9 and shift <= 30, out[j] << shift plus a carry below 2**30
 * stays below 2**60, and the new carry (that value / 10**9) stays below
 * 2**30, so 64-bit arithmetic never overflows.  This is the method of
 * CPython's long_to_decimal_string(): quadratic, but fast for the sizes
 * TP_PYINT_MAX_BITS allows (about 79000 decimal digits).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyval.h"

#define DEC_BASE 1000000000u
#define DEC_DIGITS 9

struct tp_error *tp_pyint_to_decimal(struct tp_pyval_arena *arena,
				     const uint32_t *digits, size_t ndigits,
				     unsigned shift, bool negative, char **ret)
{
	if (shift != 15 && shift != 30)
		return tp_error_create(TP_ERR_INVALID,
				       "int digit size of %u bits is not supported",
				       shift);
	/* Leading zero digits (not normalised memory) do not count. */
	while (ndigits && digits[ndigits - 1] == 0)
		ndigits--;
	if (ndigits > TP_PYINT_MAX_BITS / shift)
		return tp_error_create(TP_ERR_LIMIT,
				       "int of %zu digits is too big to convert (limit %u bits)",
				       ndigits, TP_PYINT_MAX_BITS);
	uint32_t mask = (UINT32_C(1) << shift) - 1;
	for (size_t i = 0; i < ndigits; i++) {
		if (digits[i] & ~mask)
			return tp_error_create(TP_ERR_FORMAT,
					       "int digit %zu (0x%x) does not fit in %u bits",
					       i, digits[i], shift);
	}
	if (ndigits == 0) {
		*ret = tp_pyval_arena_strdup(arena, "0");
		return *ret ? NULL : &tp_error_nomem;
	}

	/*
	 * Limbs needed: bits * log10(2) / 9 < bits / 29.89; one spare for the
	 * carry rounding.
	 */
	size_t bits = ndigits * shift;
	size_t cap = bits / 29 + 2;
	uint32_t *out = malloc(cap * sizeof(*out));
	if (!out)
		return &tp_error_nomem;
	size_t size = 0;
	for (size_t i = ndigits; i-- > 0;) {
		uint64_t carry = digits[i];
		for (size_t j = 0; j < size; j++) {
			uint64_t z = ((uint64_t)out[j] << shift) + carry;
			carry = z / DEC_BASE;
			out[j] = (uint32_t)(z - carry * DEC_BASE);
		}
		while (carry) {
			/* cap is an upper bound on the limbs; never exceeded */
			out[size++] = (uint32_t)(carry % DEC_BASE);
			carry /= DEC_BASE;
		}
	}

	size_t len = (negative ? 1 : 0) + size * DEC_DIGITS + 1;
	char *s = tp_pyval_arena_alloc(arena, len);
	if (!s) {
		free(out);
		return &tp_error_nomem;
	}
	char *p = s;
	if (negative)
		*p++ = '-';
	p += sprintf(p, "%u", out[size - 1]);
	for (size_t j = size - 1; j-- > 0;)
		p += sprintf(p, "%09u", out[j]);
	free(out);
	*ret = s;
	return NULL;
}
