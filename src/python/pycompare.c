/* SPDX-License-Identifier: MIT */
/*
 * Python 3's comparison operators on decoded values, and CPython's
 * list.sort(), for pprint's sorted(..., key=_safe_key).
 *
 * Why a faithful sort: _safe_key's order is not always consistent.  Keys of
 * types Python cannot compare fall back to ordering by type name and id, so
 * with 3 < 5.0 (numeric), 5.0 < frozenset() ("float" < "frozenset") and
 * frozenset() < 3 ("frozenset" < "int") the order has a cycle; NaN compares
 * neither less nor greater than anything.  Any correct sort agrees with
 * CPython on a consistent order, but on such input the result depends on
 * which pairs the algorithm compares, so the algorithm below makes exactly
 * the decisions of Objects/listobject.c in CPython 3.12: count_run() with
 * strictly descending runs (or 3.13's, see count_run_313()), binary insertion up to minrun, galloping
 * merge_lo()/merge_hi() with the adaptive min_gallop, and the powersort
 * merge policy (found_new_run(), powerloop()).  It is written from the
 * algorithm's description (Objects/listsort.txt) with the same structure so
 * that the two can be checked against each other.
 *
 * Python's "<" here: bool/int/float numerically and exactly (an int is
 * compared with a float's exact value, as float_richcompare does); str by
 * code points; bytes and bytearray bytewise, with each other; tuple with
 * tuple and list with list lexicographically (items first compared with ==,
 * identity counting as equal); set/frozenset as proper subset; anything else
 * raises TypeError.  Nesting deeper than TP_PYVAL_MAX_DEPTH (RecursionError
 * in CPython) is treated as TypeError.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "python/pyrender.h"

struct cmp_ctx {
	unsigned depth;
	bool error;     /* too deep: the result is meaningless */
};

/* ---- numbers ----------------------------------------------------------- */

static bool is_number(const struct tp_pyval *v)
{
	return v->kind == TP_PV_BOOL || v->kind == TP_PV_INT ||
	       v->kind == TP_PV_FLOAT;
}

static const char *int_text(const struct tp_pyval *v)
{
	if (v->kind == TP_PV_BOOL)
		return v->u.boolean ? "1" : "0";
	return v->u.digits;
}

/* Sign (-1, 0, 1) and magnitude digits (no leading zeros) of int text. */
static int int_split(const char *s, const char **mag, size_t *len)
{
	int sign = 1;
	if (*s == '-') {
		sign = -1;
		s++;
	} else if (*s == '+') {
		s++;
	}
	while (*s == '0')
		s++;
	*mag = s;
	*len = strlen(s);
	return *len ? sign : 0;
}

static int cmp_int_int(const char *a, const char *b)
{
	const char *ma, *mb;
	size_t la, lb;
	int sa = int_split(a, &ma, &la);
	int sb = int_split(b, &mb, &lb);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (sa == 0)
		return 0;
	int c;
	if (la != lb)
		c = la < lb ? -1 : 1;
	else
		c = memcmp(ma, mb, la);
	c = c < 0 ? -1 : c > 0;
	return sa > 0 ? c : -c;
}

/* int vs finite or infinite (not NaN) double, exactly. */
static int cmp_int_double(const char *i, double f)
{
	if (isinf(f))
		return f > 0 ? -1 : 1;
	/* trunc() without libm: from 2**52 up every double is integral. */
	double whole = fabs(f) >= 4503599627370496.0 ? f : (double)(int64_t)f;
	double frac = f - whole;
	/* glibc prints the exact decimal value of an integral double. */
	char buf[400];
	snprintf(buf, sizeof(buf), "%.0f", whole);
	int c = cmp_int_int(i, buf);
	if (c)
		return c;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

#define UNORDERED 2

static int cmp_number(const struct tp_pyval *a, const struct tp_pyval *b)
{
	bool fa = a->kind == TP_PV_FLOAT, fb = b->kind == TP_PV_FLOAT;
	if (fa && fb) {
		double x = a->u.real, y = b->u.real;
		if (isnan(x) || isnan(y))
			return UNORDERED;
		return x < y ? -1 : x > y;
	}
	if (fa) {
		if (isnan(a->u.real))
			return UNORDERED;
		return -cmp_int_double(int_text(b), a->u.real);
	}
	if (fb) {
		if (isnan(b->u.real))
			return UNORDERED;
		return cmp_int_double(int_text(a), b->u.real);
	}
	return cmp_int_int(int_text(a), int_text(b));
}

/* ---- == and < ---------------------------------------------------------- */

static bool is_bytes_like(const struct tp_pyval *v)
{
	return v->kind == TP_PV_BYTES || v->kind == TP_PV_BYTEARRAY;
}

static bool is_set_like(const struct tp_pyval *v)
{
	return v->kind == TP_PV_SET || v->kind == TP_PV_FROZENSET;
}

static bool py_eq(const struct tp_pyval *a, const struct tp_pyval *b,
		  struct cmp_ctx *c);

/* PyObject_RichCompareBool(a, b, Py_EQ): identity first. */
static bool eq_or_same(const struct tp_pyval *a, const struct tp_pyval *b,
		       struct cmp_ctx *c)
{
	return tp_pyval_same(a, b) || py_eq(a, b, c);
}

static bool set_contains(const struct tp_pyval *s, const struct tp_pyval *x,
			 struct cmp_ctx *c)
{
	for (size_t i = 0; i < s->u.seq.len && !c->error; i++) {
		if (eq_or_same(s->u.seq.items[i], x, c))
			return true;
	}
	return false;
}

static bool set_subset(const struct tp_pyval *a, const struct tp_pyval *b,
		       struct cmp_ctx *c)
{
	for (size_t i = 0; i < a->u.seq.len && !c->error; i++) {
		if (!set_contains(b, a->u.seq.items[i], c))
			return false;
	}
	return !c->error;
}

static bool enter(struct cmp_ctx *c)
{
	if (c->error || c->depth >= TP_PYVAL_MAX_DEPTH) {
		c->error = true;
		return false;
	}
	c->depth++;
	return true;
}

static bool data_ok(const struct tp_pyval *v)
{
	struct tp_error *err = tp_pyval_check(v);
	if (!err)
		return true;
	tp_error_destroy(err);
	return false;
}

static bool py_eq(const struct tp_pyval *a, const struct tp_pyval *b,
		  struct cmp_ctx *c)
{
	if (!a || !b || !data_ok(a) || !data_ok(b)) {
		c->error = true;
		return false;
	}
	if (tp_pyval_same(a, b))
		return true;
	if (is_number(a) && is_number(b))
		return cmp_number(a, b) == 0;
	if (a->kind == TP_PV_STR && b->kind == TP_PV_STR)
		return a->u.str.len == b->u.str.len &&
		       (!a->u.str.len ||
			!memcmp(a->u.str.cp, b->u.str.cp,
				a->u.str.len * sizeof(uint32_t)));
	if (is_bytes_like(a) && is_bytes_like(b))
		return a->u.bytes.len == b->u.bytes.len &&
		       (!a->u.bytes.len ||
			!memcmp(a->u.bytes.data, b->u.bytes.data,
				a->u.bytes.len));
	if (a->kind == TP_PV_NONE && b->kind == TP_PV_NONE)
		return true;    /* a singleton */
	bool r = false;
	if ((a->kind == TP_PV_TUPLE || a->kind == TP_PV_LIST) &&
	    a->kind == b->kind) {
		if (a->u.seq.len != b->u.seq.len)
			return false;
		if (!enter(c))
			return false;
		r = true;
		for (size_t i = 0; i < a->u.seq.len && r && !c->error; i++)
			r = eq_or_same(a->u.seq.items[i], b->u.seq.items[i], c);
		c->depth--;
	} else if (is_set_like(a) && is_set_like(b)) {
		if (a->u.seq.len != b->u.seq.len)
			return false;
		if (!enter(c))
			return false;
		r = set_subset(a, b, c);
		c->depth--;
	} else if (a->kind == TP_PV_DICT && b->kind == TP_PV_DICT) {
		if (a->u.dict.len != b->u.dict.len)
			return false;
		if (!enter(c))
			return false;
		r = true;
		for (size_t i = 0; i < a->u.dict.len && r && !c->error; i++) {
			const struct tp_pyval *k = a->u.dict.keys[i];
			size_t j;
			for (j = 0; j < b->u.dict.len && !c->error; j++) {
				if (eq_or_same(b->u.dict.keys[j], k, c))
					break;
			}
			r = j < b->u.dict.len &&
			    eq_or_same(a->u.dict.values[i],
				       b->u.dict.values[j], c);
		}
		c->depth--;
	}
	return r && !c->error;
}

#define TYPE_ERROR (-1)

/* a < b: 1, 0, or TYPE_ERROR. */
static int py_lt(const struct tp_pyval *a, const struct tp_pyval *b,
		 struct cmp_ctx *c)
{
	if (!a || !b || !data_ok(a) || !data_ok(b)) {
		c->error = true;
		return TYPE_ERROR;
	}
	if (is_number(a) && is_number(b))
		return cmp_number(a, b) == -1;
	if (a->kind == TP_PV_STR && b->kind == TP_PV_STR) {
		size_t n = a->u.str.len < b->u.str.len ? a->u.str.len :
							 b->u.str.len;
		for (size_t i = 0; i < n; i++) {
			if (a->u.str.cp[i] != b->u.str.cp[i])
				return a->u.str.cp[i] < b->u.str.cp[i];
		}
		return a->u.str.len < b->u.str.len;
	}
	if (is_bytes_like(a) && is_bytes_like(b)) {
		size_t n = a->u.bytes.len < b->u.bytes.len ? a->u.bytes.len :
							     b->u.bytes.len;
		int k = n ? memcmp(a->u.bytes.data, b->u.bytes.data, n) : 0;
		if (k)
			return k < 0;
		return a->u.bytes.len < b->u.bytes.len;
	}
	if ((a->kind == TP_PV_TUPLE || a->kind == TP_PV_LIST) &&
	    a->kind == b->kind) {
		if (!enter(c))
			return TYPE_ERROR;
		size_t la = a->u.seq.len, lb = b->u.seq.len;
		size_t n = la < lb ? la : lb, i;
		for (i = 0; i < n && !c->error; i++) {
			if (!eq_or_same(a->u.seq.items[i], b->u.seq.items[i],
					c))
				break;
		}
		int r;
		if (c->error)
			r = TYPE_ERROR;
		else if (i >= n)
			r = la < lb;
		else
			r = py_lt(a->u.seq.items[i], b->u.seq.items[i], c);
		c->depth--;
		return r;
	}
	if (is_set_like(a) && is_set_like(b)) {
		if (a->u.seq.len >= b->u.seq.len)
			return 0;
		if (!enter(c))
			return TYPE_ERROR;
		int r = set_subset(a, b, c);
		c->depth--;
		return c->error ? TYPE_ERROR : r;
	}
	return TYPE_ERROR;
}

/*
 * str(type(a)) < str(type(b)), i.e. "<class 'A'>" < "<class 'B'>": the
 * common prefix aside, compare A + "'>" with B + "'>" bytewise (UTF-8 byte
 * order is code point order).  Returns -1, 0 or 1.
 */
static int cmp_type_str(const struct tp_pyval *a, const struct tp_pyval *b)
{
	const char *na = tp_pyval_type_name(a), *nb = tp_pyval_type_name(b);
	size_t la = strlen(na), lb = strlen(nb);
	static const char tail[] = "'>";
	for (size_t i = 0;; i++) {
		int ca = i < la ? (unsigned char)na[i] :
			 i < la + 2 ? (unsigned char)tail[i - la] : -1;
		int cb = i < lb ? (unsigned char)nb[i] :
			 i < lb + 2 ? (unsigned char)tail[i - lb] : -1;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca < 0)
			return 0;
	}
}

bool tp_py_safe_key_lt(const struct tp_pyval *a, const struct tp_pyval *b)
{
	struct cmp_ctx c = { 0, false };
	int r = py_lt(a, b, &c);
	if (!c.error && r != TYPE_ERROR)
		return r;
	if (!a || !b)
		return false;
	int t = cmp_type_str(a, b);
	if (t)
		return t < 0;
	return a->addr < b->addr;
}

/* ---- list.sort() --------------------------------------------------------- */

#define MIN_GALLOP 7
#define MAX_MERGE_PENDING 85

typedef struct tp_sort_item item_t;

struct sort_run {
	item_t *base;
	ssize_t len;
	int power;
};

struct merge_state {
	item_t *list;           /* start of the array being sorted */
	ssize_t listlen;
	ssize_t min_gallop;
	item_t *tmp;            /* merge buffer */
	ssize_t tmpcap;
	int n;                  /* pending runs */
	struct sort_run pending[MAX_MERGE_PENDING];
};

#define LT(x, y) tp_py_safe_key_lt((x).key, (y).key)

static void reverse_items(item_t *lo, item_t *hi)
{
	for (hi--; lo < hi; lo++, hi--) {
		item_t t = *lo;
		*lo = *hi;
		*hi = t;
	}
}

/* Stable binary insertion of [start, hi) into the sorted [lo, start). */
static void binarysort(item_t *lo, item_t *hi, item_t *start)
{
	if (lo == start)
		start++;
	for (; start < hi; start++) {
		item_t *l = lo, *r = start;
		item_t pivot = *start;
		do {
			item_t *p = l + ((r - l) >> 1);
			if (LT(pivot, *p))
				r = p;
			else
				l = p + 1;
		} while (l < r);
		memmove(l + 1, l, (size_t)(start - l) * sizeof(*l));
		*l = pivot;
	}
}

/*
 * Length of the run at lo: the longest non-descending prefix, or the
 * longest strictly descending one (*descending set).
 */
static ssize_t count_run(item_t *lo, item_t *hi, bool *descending)
{
	*descending = false;
	lo++;
	if (lo == hi)
		return 1;
	ssize_t n = 2;
	if (LT(lo[0], lo[-1])) {
		*descending = true;
		for (lo++; lo < hi; lo++, n++) {
			if (!LT(lo[0], lo[-1]))
				break;
		}
	} else {
		for (lo++; lo < hi; lo++, n++) {
			if (LT(lo[0], lo[-1]))
				break;
		}
	}
	return n;
}

/*
 * Where key goes in the sorted a[0..n): k with a[k-1] < key <= a[k]
 * (leftmost), searching outwards from a[hint] by doubling steps, then by
 * bisection.
 */
static ssize_t gallop_left(item_t key, item_t *a, ssize_t n, ssize_t hint)
{
	ssize_t ofs = 1, lastofs = 0;
	a += hint;
	if (LT(*a, key)) {
		/* a[hint] < key: a[hint + lastofs] < key <= a[hint + ofs] */
		ssize_t maxofs = n - hint;
		while (ofs < maxofs) {
			if (!LT(a[ofs], key))
				break;
			lastofs = ofs;
			ofs = (ofs << 1) + 1;
		}
		if (ofs > maxofs)
			ofs = maxofs;
		lastofs += hint;
		ofs += hint;
	} else {
		/* key <= a[hint]: a[hint - ofs] < key <= a[hint - lastofs] */
		ssize_t maxofs = hint + 1;
		while (ofs < maxofs) {
			if (LT(*(a - ofs), key))
				break;
			lastofs = ofs;
			ofs = (ofs << 1) + 1;
		}
		if (ofs > maxofs)
			ofs = maxofs;
		ssize_t k = lastofs;
		lastofs = hint - ofs;
		ofs = hint - k;
	}
	a -= hint;
	/* a[lastofs] < key <= a[ofs] */
	lastofs++;
	while (lastofs < ofs) {
		ssize_t m = lastofs + ((ofs - lastofs) >> 1);
		if (LT(a[m], key))
			lastofs = m + 1;
		else
			ofs = m;
	}
	return ofs;
}

/* Like gallop_left, but k with a[k-1] <= key < a[k] (rightmost). */
static ssize_t gallop_right(item_t key, item_t *a, ssize_t n, ssize_t hint)
{
	ssize_t ofs = 1, lastofs = 0;
	a += hint;
	if (LT(key, *a)) {
		/* key < a[hint]: a[hint - ofs] <= key < a[hint - lastofs] */
		ssize_t maxofs = hint + 1;
		while (ofs < maxofs) {
			if (!LT(key, *(a - ofs)))
				break;
			lastofs = ofs;
			ofs = (ofs << 1) + 1;
		}
		if (ofs > maxofs)
			ofs = maxofs;
		ssize_t k = lastofs;
		lastofs = hint - ofs;
		ofs = hint - k;
	} else {
		/* a[hint] <= key: a[hint + lastofs] <= key < a[hint + ofs] */
		ssize_t maxofs = n - hint;
		while (ofs < maxofs) {
			if (LT(key, a[ofs]))
				break;
			lastofs = ofs;
			ofs = (ofs << 1) + 1;
		}
		if (ofs > maxofs)
			ofs = maxofs;
		lastofs += hint;
		ofs += hint;
	}
	a -= hint;
	lastofs++;
	while (lastofs < ofs) {
		ssize_t m = lastofs + ((ofs - lastofs) >> 1);
		if (LT(key, a[m]))
			ofs = m;
		else
			lastofs = m + 1;
	}
	return ofs;
}

static bool merge_getmem(struct merge_state *ms, ssize_t need)
{
	if (need <= ms->tmpcap)
		return true;
	free(ms->tmp);
	ms->tmp = malloc((size_t)need * sizeof(item_t));
	ms->tmpcap = ms->tmp ? need : 0;
	return ms->tmp != NULL;
}

static void move_items(item_t *dst, const item_t *src, ssize_t n)
{
	if (n > 0)
		memmove(dst, src, (size_t)n * sizeof(item_t));
}

/*
 * Merge the runs a[0..na) and b[0..nb) (b right after a), na <= nb, with a
 * copied out to the buffer; a[na-1] is known to belong at the very end.
 */
static bool merge_lo(struct merge_state *ms, item_t *pa, ssize_t na,
		     item_t *pb, ssize_t nb)
{
	if (!merge_getmem(ms, na))
		return false;
	move_items(ms->tmp, pa, na);
	item_t *dest = pa;
	pa = ms->tmp;

	*dest++ = *pb++;
	if (--nb == 0)
		goto succeed;
	if (na == 1)
		goto copy_b;

	ssize_t min_gallop = ms->min_gallop;
	for (;;) {
		ssize_t acount = 0, bcount = 0;
		/* One at a time until one run keeps winning. */
		for (;;) {
			if (LT(*pb, *pa)) {
				*dest++ = *pb++;
				bcount++;
				acount = 0;
				if (--nb == 0)
					goto succeed;
				if (bcount >= min_gallop)
					break;
			} else {
				*dest++ = *pa++;
				acount++;
				bcount = 0;
				if (--na == 1)
					goto copy_b;
				if (acount >= min_gallop)
					break;
			}
		}
		/* Gallop while a run keeps winning by MIN_GALLOP or more. */
		min_gallop++;
		do {
			min_gallop -= min_gallop > 1;
			ms->min_gallop = min_gallop;
			ssize_t k = gallop_right(*pb, pa, na, 0);
			acount = k;
			if (k) {
				move_items(dest, pa, k);
				dest += k;
				pa += k;
				na -= k;
				if (na == 1)
					goto copy_b;
				/* only with an inconsistent order */
				if (na == 0)
					goto succeed;
			}
			*dest++ = *pb++;
			if (--nb == 0)
				goto succeed;

			k = gallop_left(*pa, pb, nb, 0);
			bcount = k;
			if (k) {
				move_items(dest, pb, k);
				dest += k;
				pb += k;
				nb -= k;
				if (nb == 0)
					goto succeed;
			}
			*dest++ = *pa++;
			if (--na == 1)
				goto copy_b;
		} while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
		min_gallop++;   /* penalty for leaving galloping mode */
		ms->min_gallop = min_gallop;
	}
succeed:
	move_items(dest, pa, na);
	return true;
copy_b:
	/* The last item of a belongs after what is left of b. */
	move_items(dest, pb, nb);
	dest[nb] = *pa;
	return true;
}

/* Mirror image of merge_lo for na >= nb: b goes to the buffer. */
static bool merge_hi(struct merge_state *ms, item_t *pa, ssize_t na,
		     item_t *pb, ssize_t nb)
{
	if (!merge_getmem(ms, nb))
		return false;
	item_t *dest = pb + nb - 1;
	move_items(ms->tmp, pb, nb);
	item_t *basea = pa;
	item_t *baseb = ms->tmp;
	pb = ms->tmp + nb - 1;
	pa += na - 1;

	*dest-- = *pa--;
	if (--na == 0)
		goto succeed;
	if (nb == 1)
		goto copy_a;

	ssize_t min_gallop = ms->min_gallop;
	for (;;) {
		ssize_t acount = 0, bcount = 0;
		for (;;) {
			if (LT(*pb, *pa)) {
				*dest-- = *pa--;
				acount++;
				bcount = 0;
				if (--na == 0)
					goto succeed;
				if (acount >= min_gallop)
					break;
			} else {
				*dest-- = *pb--;
				bcount++;
				acount = 0;
				if (--nb == 1)
					goto copy_a;
				if (bcount >= min_gallop)
					break;
			}
		}
		min_gallop++;
		do {
			min_gallop -= min_gallop > 1;
			ms->min_gallop = min_gallop;
			ssize_t k = gallop_right(*pb, basea, na, na - 1);
			k = na - k;
			acount = k;
			if (k) {
				dest -= k;
				pa -= k;
				move_items(dest + 1, pa + 1, k);
				na -= k;
				if (na == 0)
					goto succeed;
			}
			*dest-- = *pb--;
			if (--nb == 1)
				goto copy_a;

			k = gallop_left(*pa, baseb, nb, nb - 1);
			k = nb - k;
			bcount = k;
			if (k) {
				dest -= k;
				pb -= k;
				move_items(dest + 1, pb + 1, k);
				nb -= k;
				if (nb == 1)
					goto copy_a;
				/* only with an inconsistent order */
				if (nb == 0)
					goto succeed;
			}
			*dest-- = *pa--;
			if (--na == 0)
				goto succeed;
		} while (acount >= MIN_GALLOP || bcount >= MIN_GALLOP);
		min_gallop++;
		ms->min_gallop = min_gallop;
	}
succeed:
	move_items(dest - (nb - 1), baseb, nb);
	return true;
copy_a:
	/* The first item of b belongs before what is left of a. */
	move_items(dest + 1 - na, pa + 1 - na, na);
	dest -= na;
	*dest = *pb;
	return true;
}

/* Merge pending runs i and i + 1. */
static bool merge_at(struct merge_state *ms, int i)
{
	item_t *pa = ms->pending[i].base;
	ssize_t na = ms->pending[i].len;
	item_t *pb = ms->pending[i + 1].base;
	ssize_t nb = ms->pending[i + 1].len;

	ms->pending[i].len = na + nb;
	if (i == ms->n - 3)
		ms->pending[i + 1] = ms->pending[i + 2];
	ms->n--;

	/* Items of a already in place before b's first item. */
	ssize_t k = gallop_right(*pb, pa, na, 0);
	pa += k;
	na -= k;
	if (na == 0)
		return true;
	/* Items of b already in place after a's last item. */
	nb = gallop_left(pa[na - 1], pb, nb, nb - 1);
	if (nb <= 0)
		return true;
	if (na <= nb)
		return merge_lo(ms, pa, na, pb, nb);
	return merge_hi(ms, pa, na, pb, nb);
}

/*
 * Powersort: the depth, in a conceptual binary merge tree over [0, n), of
 * the boundary between the adjacent runs [s1, s1+n1) and [s1+n1, s1+n1+n2):
 * the first bit where the binary expansions of their midpoints / n differ.
 */
static int powerloop(ssize_t s1, ssize_t n1, ssize_t n2, ssize_t n)
{
	int result = 0;
	ssize_t a = 2 * s1 + n1;        /* twice the midpoints */
	ssize_t b = a + n1 + n2;
	for (;;) {
		result++;
		if (a >= n) {
			a -= n;
			b -= n;
		} else if (b >= n) {
			break;
		}
		a <<= 1;
		b <<= 1;
	}
	return result;
}

static bool found_new_run(struct merge_state *ms, ssize_t n2)
{
	if (ms->n) {
		struct sort_run *p = ms->pending;
		ssize_t s1 = p[ms->n - 1].base - ms->list;
		ssize_t n1 = p[ms->n - 1].len;
		int power = powerloop(s1, n1, n2, ms->listlen);
		while (ms->n > 1 && p[ms->n - 2].power > power) {
			if (!merge_at(ms, ms->n - 2))
				return false;
		}
		p[ms->n - 1].power = power;
	}
	return true;
}

static bool merge_force_collapse(struct merge_state *ms)
{
	struct sort_run *p = ms->pending;
	while (ms->n > 1) {
		int i = ms->n - 2;
		if (i > 0 && p[i - 1].len < p[i + 1].len)
			i--;
		if (!merge_at(ms, i))
			return false;
	}
	return true;
}

static ssize_t compute_minrun(ssize_t n)
{
	ssize_t r = 0;
	while (n >= 64) {
		r |= n & 1;
		n >>= 1;
	}
	return n + r;
}

/*
 * count_run() as 3.13 rewrote it: the ascending run first; a run that turns
 * out descending may hold equal neighbours (not x < y, not y < x), each
 * such group reversed in place so that the final reversal of the whole run
 * restores their order (stability); the reversed run then extends with
 * whatever ascending suffix follows.  The run ends ascending.
 */
static ssize_t count_run_313(item_t *lo, ssize_t nremaining)
{
	ssize_t n;
	for (n = 1; n < nremaining; n++)
		if (LT(lo[n], lo[n - 1]))
			break;
	if (n == nremaining)
		return n;
	if (n > 1) {
		/* ascending unless the whole prefix is equal */
		if (LT(lo[0], lo[n - 1]))
			return n;
		reverse_items(lo, lo + n);
	}
	n++;
	ssize_t neq = 0;
	for (; n < nremaining; n++) {
		if (LT(lo[n], lo[n - 1])) {
			if (neq) {
				neq++;
				reverse_items(lo + n - neq, lo + n);
				neq = 0;
			}
		} else if (LT(lo[n - 1], lo[n])) {
			break;
		} else {
			neq++;
		}
	}
	if (neq) {
		neq++;
		reverse_items(lo + n - neq, lo + n);
	}
	reverse_items(lo, lo + n);
	for (; n < nremaining; n++)
		if (LT(lo[n], lo[n - 1]))
			break;
	return n;
}

struct tp_error *tp_py_sort(struct tp_sort_item *items, size_t n,
			    enum tp_sort_runs runs)
{
	if (n < 2)
		return NULL;
	if (n > (size_t)SSIZE_MAX / sizeof(item_t))
		return &tp_error_nomem;
	struct merge_state ms = {
		.list = items,
		.listlen = (ssize_t)n,
		.min_gallop = MIN_GALLOP,
	};
	bool ok = true;
	item_t *lo = items;
	ssize_t nremaining = (ssize_t)n;
	ssize_t minrun = compute_minrun(nremaining);
	do {
		ssize_t run;
		if (runs == TP_SORT_RUNS_313) {
			run = count_run_313(lo, nremaining);
		} else {
			bool descending;
			run = count_run(lo, lo + nremaining, &descending);
			if (descending)
				reverse_items(lo, lo + run);
		}
		if (run < minrun) {
			ssize_t force = nremaining <= minrun ? nremaining :
							       minrun;
			binarysort(lo, lo + force, lo + run);
			run = force;
		}
		ok = found_new_run(&ms, run);
		if (!ok)
			break;
		ms.pending[ms.n].base = lo;
		ms.pending[ms.n].len = run;
		ms.n++;
		lo += run;
		nremaining -= run;
	} while (nremaining);
	if (ok)
		ok = merge_force_collapse(&ms);
	free(ms.tmp);
	return ok ? NULL : &tp_error_nomem;
}
