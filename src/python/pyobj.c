/* SPDX-License-Identifier: MIT */
/*
 * Decoding Python objects out of target memory into tp_pyval graphs.
 *
 * Everything read here is untrusted: a pointer may lead nowhere, a count may
 * be garbage, a container may contain itself.  The rules:
 *  - every read goes through the memory source and may fail; a failed read
 *    of an object gives an UNREADABLE node, never an error;
 *  - the work per top-level value is bounded by a budget derived from
 *    --max-repr: each node adds a lower bound of its repr length, and once
 *    the sum passes the limit the value's repr is certain to be too long, so
 *    decoding stops and the value becomes "really long repr";
 *  - nesting depth is capped, cycles are kept as cycles (the renderers know
 *    how CPython prints them), and an object met twice is decoded once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "python/internal.h"
#include "python/pydecode.h"
#include "python/unicode_tables.h"

#define MAX_DEPTH 200
#define MAX_STR_READ (1u << 24)   /* code points read for one str */
#define MAX_ITEMS (1u << 22)      /* items read for one container */
/* Hash tables are read no more than a page at once (table_chunk()). */
#define TABLE_PAGE 4096u

struct tp_error *py_read(struct tp_python *py, uint64_t addr, void *buf,
			 size_t len)
{
	if (addr < 4096)
		return tp_error_fault(addr, "invalid pointer 0x%llx",
				      (unsigned long long)addr);
	return tp_memsrc_read(py->mem, addr, buf, len);
}

struct tp_error *py_read_ptr(struct tp_python *py, uint64_t addr,
			     uint64_t *ret)
{
	return py_read(py, addr, ret, 8);
}

struct tp_error *py_read_i64(struct tp_python *py, uint64_t addr,
			     int64_t *ret)
{
	return py_read(py, addr, ret, 8);
}

struct tp_error *py_read_i32(struct tp_python *py, uint64_t addr,
			     int32_t *ret)
{
	return py_read(py, addr, ret, 4);
}

struct tp_error *py_read_u8(struct tp_python *py, uint64_t addr, uint8_t *ret)
{
	return py_read(py, addr, ret, 1);
}

struct tp_error *py_type_of(struct tp_python *py, uint64_t addr,
			    uint64_t *ret)
{
	return py_read_ptr(py, addr + (uint64_t)LOFF(py, OB_TYPE), ret);
}

static bool is_fault(struct tp_error *err)
{
	return err && err != &tp_error_nomem;
}

/* ---- facts of the version ----------------------------------------------- */

/* Which characters the version's repr() prints: its Unicode database. */
static unsigned py_unicode_table(const struct tp_python *py)
{
	return tp_unicode_printable_for_python(py->major, py->minor);
}

/* ---- memo ------------------------------------------------------------- */

void py_objects_reset(struct tp_python *py, struct tp_pyval_arena *arena)
{
	py->arena = arena;
	py->ucd_table = py_unicode_table(py);
	free(py->memo);
	py->memo = NULL;
	py->memo_cap = py->memo_n = 0;
	free(py->types);
	py->types = NULL;
	py->types_cap = py->types_n = 0;
}

static size_t hash_addr(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return (size_t)a;
}

static struct memo_entry *memo_find(struct tp_python *py, uint64_t addr)
{
	if (!py->memo_cap)
		return NULL;
	size_t mask = py->memo_cap - 1;
	for (size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
		struct memo_entry *e = &py->memo[i];
		if (e->addr == 0)
			return NULL;
		if (e->addr == addr)
			return e->val ? e : NULL;
	}
}

static bool memo_put(struct tp_python *py, uint64_t addr,
		     struct tp_pyval *val, size_t cost)
{
	if ((py->memo_n + 1) * 2 > py->memo_cap) {
		size_t cap = py->memo_cap ? py->memo_cap * 2 : 1024;
		struct memo_entry *m = calloc(cap, sizeof(*m));
		if (!m)
			return false;
		for (size_t i = 0; i < py->memo_cap; i++) {
			struct memo_entry *e = &py->memo[i];
			if (!e->addr || !e->val)
				continue;
			size_t j = hash_addr(e->addr) & (cap - 1);
			while (m[j].addr)
				j = (j + 1) & (cap - 1);
			m[j] = *e;
		}
		free(py->memo);
		py->memo = m;
		py->memo_cap = cap;
	}
	size_t mask = py->memo_cap - 1;
	for (size_t i = hash_addr(addr) & mask;; i = (i + 1) & mask) {
		struct memo_entry *e = &py->memo[i];
		if (e->addr == 0 || e->addr == addr) {
			if (e->addr == 0)
				py->memo_n++;
			e->addr = addr;
			e->val = val;
			e->cost = cost;
			e->toolong = false;
			return true;
		}
	}
}

/* ---- strings ------------------------------------------------------------ */

/*
 * A text too long to read whole is still checked against the snapshot: its
 * last byte must be readable.  A length the process scribbled on (2^40
 * characters) then makes the object unreadable, not "really long": it
 * cannot be there.  One read, whatever the length.
 */
static struct tp_error *probe_end(struct tp_python *py, uint64_t data,
				  uint64_t len, uint64_t width)
{
	if (!len)
		return NULL;
	if (len > UINT64_MAX / width || data + len * width < data)
		return tp_error_fault(data, "text extends past the address space");
	uint8_t b;
	return py_read_u8(py, data + len * width - 1, &b);
}

/*
 * Code points of a str object.  3.3+ (PEP 393): the kind, compact and ascii
 * bits of `state` say where the characters are and how wide; 2.7 unicode
 * objects keep Py_UNICODE units behind `str`.
 */
static struct tp_error *str_range_codepoints(struct tp_python *py,
					     uint64_t addr, int64_t start,
					     int64_t end, size_t max,
					     uint32_t **ret, size_t *ret_len,
					     bool *too_long)
{
	struct tp_error *err;
	int64_t len;
	uint64_t data;
	unsigned kind;
	*too_long = false;

	if (LHAS(py, UNI_STATE)) {
		uint32_t state;
		if ((err = py_read(py, addr + LOFF(py, UNI_STATE), &state, 4)) ||
		    (err = py_read_i64(py, addr + LOFF(py, UNI_LENGTH), &len)))
			return err;
		kind = (state >> LOFF(py, UNI_KIND_POS)) & 7;
		bool compact = (state >> LOFF(py, UNI_COMPACT_POS)) & 1;
		bool ascii = (state >> LOFF(py, UNI_ASCII_POS)) & 1;
		bool ready = !LHAS(py, UNI_READY_POS) ||
			     ((state >> LOFF(py, UNI_READY_POS)) & 1);
		if (!ready) {
			/* legacy string not yet "ready": wchar_t text */
			if ((err = py_read_ptr(py, addr + LOFF(py, UNI_WSTR),
					       &data)) ||
			    (err = py_read_i64(py,
					       addr + LOFF(py, UNI_WSTR_LENGTH),
					       &len)))
				return err;
			kind = 4;
		} else if (compact) {
			data = addr + (uint64_t)(ascii ? LOFF(py, SIZEOF_ASCII)
						       : LOFF(py, SIZEOF_COMPACT));
		} else if ((err = py_read_ptr(py, addr + LOFF(py, UNI_DATA),
					      &data))) {
			return err;
		}
		if (kind != 1 && kind != 2 && kind != 4)
			return tp_error_fault(addr, "bad str kind %u", kind);
	} else if (LHAS(py, UNI_STR)) {
		/* 2.7 unicode */
		if ((err = py_read_i64(py, addr + LOFF(py, UNI_PY2_LENGTH),
				       &len)) ||
		    (err = py_read_ptr(py, addr + LOFF(py, UNI_STR), &data)))
			return err;
		kind = (unsigned)LOFF(py, SIZEOF_PY_UNICODE);
		if (kind != 2 && kind != 4)
			return tp_error_fault(addr, "bad Py_UNICODE size");
	} else {
		return tp_error_create(TP_ERR_UNSUPPORTED, "no str layout");
	}
	if (len < 0)
		return tp_error_fault(addr, "negative str length");
	if (end >= 0) {
		/* only the code points [start, end) of a PEP 393 str */
		if (!LHAS(py, UNI_STATE) || start < 0 || start > end ||
		    end > len)
			return tp_error_fault(addr, "bad str slice");
		data += (uint64_t)start * kind;
		len = end - start;
	}
	if ((uint64_t)len > max || (uint64_t)len > MAX_STR_READ) {
		if ((err = probe_end(py, data, (uint64_t)len, kind)))
			return err;
		*too_long = true;
		*ret_len = (size_t)len;
		*ret = NULL;
		return NULL;
	}
	size_t n = (size_t)len;
	uint32_t *cp = tp_pyval_arena_alloc(py->arena,
					    (n ? n : 1) * sizeof(uint32_t));
	if (!cp)
		return &tp_error_nomem;
	if (n) {
		void *raw = malloc(n * kind);
		if (!raw)
			return &tp_error_nomem;
		err = py_read(py, data, raw, n * kind);
		if (err) {
			free(raw);
			return err;
		}
		for (size_t i = 0; i < n; i++) {
			if (kind == 1)
				cp[i] = ((uint8_t *)raw)[i];
			else if (kind == 2)
				cp[i] = ((uint16_t *)raw)[i];
			else
				cp[i] = ((uint32_t *)raw)[i];
		}
		free(raw);
		if (kind == 2 && !LHAS(py, UNI_STATE)) {
			/* 2.7 narrow build: join UTF-16 surrogate pairs */
			size_t o = 0;
			for (size_t i = 0; i < n; i++) {
				uint32_t c = cp[i];
				if (c >= 0xd800 && c < 0xdc00 && i + 1 < n &&
				    cp[i + 1] >= 0xdc00 && cp[i + 1] < 0xe000) {
					c = 0x10000 + ((c - 0xd800) << 10) +
					    (cp[i + 1] - 0xdc00);
					i++;
				}
				cp[o++] = c;
			}
			n = o;
		}
	}
	*ret = cp;
	*ret_len = n;
	return NULL;
}

static struct tp_error *str_codepoints(struct tp_python *py, uint64_t addr,
				       size_t max, uint32_t **ret,
				       size_t *ret_len, bool *too_long)
{
	return str_range_codepoints(py, addr, 0, -1, max, ret, ret_len,
				    too_long);
}

/* 2.7 str / 3.x bytes: the bytes of the object. */
static struct tp_error *bytes_data(struct tp_python *py, uint64_t addr,
				   size_t max, uint8_t **ret, size_t *ret_len,
				   bool *too_long)
{
	int64_t len;
	struct tp_error *err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &len);
	*too_long = false;
	if (err)
		return err;
	if (len < 0)
		return tp_error_fault(addr, "negative bytes length");
	if ((uint64_t)len > max || (uint64_t)len > MAX_STR_READ) {
		if ((err = probe_end(py, addr + LOFF(py, BYTES_SVAL),
				     (uint64_t)len, 1)))
			return err;
		*too_long = true;
		*ret_len = (size_t)len;
		return NULL;
	}
	uint8_t *data = tp_pyval_arena_alloc(py->arena, (size_t)len + 1);
	if (!data)
		return &tp_error_nomem;
	if (len && (err = py_read(py, addr + LOFF(py, BYTES_SVAL), data,
				  (size_t)len)))
		return err;
	*ret = data;
	*ret_len = (size_t)len;
	return NULL;
}

struct tp_error *py_str_utf8(struct tp_python *py, uint64_t addr, size_t max,
			     const char **ret)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, addr, &type);
	if (err)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	bool too_long;
	if (type == py->target->sym[TP_SYM_PyString_Type] ||
	    (type == py->target->sym[TP_SYM_PyBytes_Type] && py->caps->py2_objects)) {
		uint8_t *data;
		size_t len;
		err = bytes_data(py, addr, max, &data, &len, &too_long);
		if (!err && !too_long)
			tp_strbuf_append(&sb, data, len);
	} else {
		uint32_t *cp;
		size_t len;
		err = str_codepoints(py, addr, max, &cp, &len, &too_long);
		if (!err && !too_long)
			for (size_t i = 0; i < len; i++)
				tp_strbuf_put_utf8(&sb, cp[i]);
	}
	if (!err && too_long)
		err = tp_error_create(TP_ERR_LIMIT, "string too long");
	if (err) {
		tp_strbuf_deinit(&sb);
		return err;
	}
	char *s = tp_pyval_arena_strdup(py->arena, tp_strbuf_str(&sb));
	bool failed = sb.failed;
	tp_strbuf_deinit(&sb);
	if (!s || failed)
		return &tp_error_nomem;
	*ret = s;
	return NULL;
}

/* Compare a str object (2.7: str or unicode) with an ASCII C string. */
static bool str_equals(struct tp_python *py, uint64_t addr, const char *s)
{
	size_t n = strlen(s);
	bool too_long;
	struct tp_error *err;
	uint64_t type;
	if (py->caps->py2_objects) {
		if ((err = py_type_of(py, addr, &type))) {
			tp_error_destroy(err);
			return false;
		}
		if (type == py->target->sym[TP_SYM_PyString_Type]) {
			uint8_t *data;
			size_t len;
			err = bytes_data(py, addr, n, &data, &len, &too_long);
			if (err || too_long) {
				tp_error_destroy(err);
				return false;
			}
			return len == n && !memcmp(data, s, n);
		}
	}
	uint32_t *cp;
	size_t len;
	err = str_codepoints(py, addr, n, &cp, &len, &too_long);
	if (err || too_long) {
		tp_error_destroy(err);
		return false;
	}
	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cp[i] != (unsigned char)s[i])
			return false;
	return true;
}

/* ---- ints ------------------------------------------------------------- */

/* Digits of a 3.x int (or 2.7 long): sign and magnitude. */
static struct tp_error *long_digits(struct tp_python *py, uint64_t addr,
				    size_t max_digits, uint32_t **ret,
				    size_t *ret_n, bool *negative,
				    bool *too_long)
{
	struct tp_error *err;
	uint64_t ndigits;
	*too_long = false;
	if (LHAS(py, LONG_LV_TAG)) {
		uint64_t tag;
		if ((err = py_read_ptr(py, addr + LOFF(py, LONG_LV_TAG), &tag)))
			return err;
		*negative = (tag & 3) == 2;
		ndigits = tag >> 3;
		if ((tag & 3) == 1)
			ndigits = 0;
	} else {
		int64_t size;
		if ((err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &size)))
			return err;
		*negative = size < 0;
		/* unsigned negation: -INT64_MIN is undefined in int64_t */
		ndigits = size < 0 ? 0 - (uint64_t)size : (uint64_t)size;
	}
	if (ndigits > max_digits) {
		*too_long = true;
		return NULL;
	}
	int64_t dsize = LOFF(py, SIZEOF_DIGIT);
	uint32_t *digits = tp_pyval_arena_alloc(
		py->arena, (ndigits ? ndigits : 1) * sizeof(uint32_t));
	if (!digits)
		return &tp_error_nomem;
	if (ndigits) {
		uint8_t *raw = malloc(ndigits * (size_t)dsize);
		if (!raw)
			return &tp_error_nomem;
		err = py_read(py, addr + LOFF(py, LONG_DIGIT), raw,
			      ndigits * (size_t)dsize);
		if (err) {
			free(raw);
			return err;
		}
		for (size_t i = 0; i < ndigits; i++)
			digits[i] = dsize == 4 ? ((uint32_t *)raw)[i]
					       : ((uint16_t *)raw)[i];
		free(raw);
	}
	*ret = digits;
	*ret_n = ndigits;
	return NULL;
}

struct tp_error *py_int_value(struct tp_python *py, uint64_t addr,
			      uint64_t *ret, bool *negative)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, addr, &type);
	if (err)
		return err;
	if (type == py->target->sym[TP_SYM_PyInt_Type] && LHAS(py, INT_IVAL)) {
		int64_t v;
		if ((err = py_read_i64(py, addr + LOFF(py, INT_IVAL), &v)))
			return err;
		*negative = v < 0;
		*ret = (uint64_t)v;
		return NULL;
	}
	uint32_t *digits;
	size_t n;
	bool too_long;
	int shift = py->digit_shift;
	/* 64 bits take at most ceil(64 / shift) digits: 3 of 30, 5 of 15 */
	size_t max_digits = (64 + (size_t)shift - 1) / (size_t)shift;
	if ((err = long_digits(py, addr, max_digits, &digits, &n, negative,
			       &too_long)))
		return err;
	if (too_long)
		return tp_error_create(TP_ERR_LIMIT, "int too big");
	uint64_t v = 0;
	uint32_t dmask = (1u << shift) - 1;
	for (size_t i = n; i-- > 0;) {
		/* the bits shifted out must be zero, else it needs > 64 */
		if (v >> (64 - shift))
			return tp_error_create(TP_ERR_LIMIT, "int too big");
		if (digits[i] & ~dmask)
			return tp_error_fault(addr, "bad int digit");
		v = (v << shift) | digits[i];
	}
	*ret = *negative ? 0 - v : v;
	return NULL;
}

/* ---- dicts ------------------------------------------------------------ */

/*
 * Dict layouts, newest first:
 *  3.11+: keys object with dk_log2_size / dk_log2_index_bytes / dk_kind;
 *         entries after the index table, 24 bytes (general) or 16 (all
 *         keys str); split dicts keep values apart, with the insertion order
 *         in the bytes just before the values array (3.11-3.12).
 *  3.6-3.10: dk_size; index width follows from dk_size; split dicts have
 *         dense values in entry order.
 *  2.7: one open-addressing table of (hash, key, value).
 */
static struct tp_error *dict_keys_entries(struct tp_python *py, uint64_t keys,
					  uint64_t *entries, int64_t *nentries,
					  uint64_t *esize, uint64_t *koff,
					  uint64_t *voff)
{
	struct tp_error *err;
	if (LHAS(py, DK_LOG2_SIZE)) {
		uint8_t log2_index_bytes, kind;
		if ((err = py_read_u8(py, keys + LOFF(py, DK_LOG2_INDEX_BYTES),
				      &log2_index_bytes)) ||
		    (err = py_read_u8(py, keys + LOFF(py, DK_KIND), &kind)) ||
		    (err = py_read_i64(py, keys + LOFF(py, DK_NENTRIES),
				       nentries)))
			return err;
		if (log2_index_bytes > 40)
			return tp_error_fault(keys, "bad dict keys");
		*entries = keys + LOFF(py, DK_INDICES) +
			   (1ULL << log2_index_bytes);
		if (kind == 0) {
			*esize = LOFF(py, SIZEOF_DICTKEYENTRY);
			*koff = LOFF(py, DKE_KEY);
			*voff = LOFF(py, DKE_VALUE);
		} else {
			*esize = LOFF(py, SIZEOF_DICTUNICODEENTRY);
			*koff = LOFF(py, DUE_KEY);
			*voff = LOFF(py, DUE_VALUE);
		}
		return NULL;
	}
	if (LHAS(py, DK_SIZE)) {
		int64_t size;
		if ((err = py_read_i64(py, keys + LOFF(py, DK_SIZE), &size)) ||
		    (err = py_read_i64(py, keys + LOFF(py, DK_NENTRIES),
				       nentries)))
			return err;
		if (size <= 0 || size > (1LL << 40))
			return tp_error_fault(keys, "bad dict keys size");
		int width = size <= 0xff ? 1 : size <= 0xffff ? 2
					 : size <= 0xffffffffLL ? 4 : 8;
		*entries = keys + LOFF(py, DK_INDICES) + (uint64_t)size * width;
		*esize = LOFF(py, SIZEOF_DICTKEYENTRY);
		*koff = LOFF(py, DKE_KEY);
		*voff = LOFF(py, DKE_VALUE);
		return NULL;
	}
	return tp_error_create(TP_ERR_UNSUPPORTED, "no dict layout");
}

/*
 * Values stored apart from the keys (split dicts, instance attributes),
 * with the insertion order kept as one byte per item:
 *  3.11-3.12: the order bytes are just before the values array
 *             ([-1] prefix size, [-2] count, [-3-i] the i-th index);
 *  3.13+:     PyDictValues {capacity, size, embedded, valid, values[]},
 *             the order bytes just after values[capacity].
 * @used_hint is the dict's ma_used, or -1 for the values' own count.
 */
static struct tp_error *values_iter(struct tp_python *py, uint64_t keys,
				    uint64_t values, int64_t used_hint,
				    py_dict_fn *fn, void *arg)
{
	uint64_t entries, esize, koff, voff;
	int64_t nentries;
	struct tp_error *err = dict_keys_entries(py, keys, &entries, &nentries,
						 &esize, &koff, &voff);
	if (err)
		return err;
	uint64_t slots = values + (uint64_t)(LHAS(py, DV_VALUES)
						     ? LOFF(py, DV_VALUES) : 0);
	uint8_t order[256];
	size_t count;
	if (!py->caps->split_order_before_values) {
		uint8_t cap, size;
		if ((err = py_read_u8(py, values + LOFF(py, DV_CAPACITY), &cap)) ||
		    (err = py_read_u8(py, values + LOFF(py, DV_SIZE), &size)))
			return err;
		count = used_hint >= 0 ? (size_t)used_hint : size;
		if (count > cap)
			return tp_error_fault(values, "bad dict values size");
		if (count && (err = py_read(py, slots + 8 * (uint64_t)cap,
					    order, count)))
			return err;
	} else {
		uint8_t hdr[2];
		if ((err = py_read(py, values - 2, hdr, 2)))
			return err;
		count = used_hint >= 0 ? (size_t)used_hint : hdr[0];
		if (count > 255)
			return tp_error_fault(values, "bad split dict size");
		uint8_t rev[256];
		if (count && (err = py_read(py, values - 2 - count, rev, count)))
			return err;
		/* the i-th index is at [-3-i] */
		for (size_t i = 0; i < count; i++)
			order[i] = rev[count - 1 - i];
	}
	for (size_t i = 0; i < count; i++) {
		uint8_t ix = order[i];
		if ((int64_t)ix >= nentries)
			continue;
		uint64_t key, value;
		if ((err = py_read_ptr(py, entries + ix * esize + koff, &key)) ||
		    (err = py_read_ptr(py, slots + ix * 8, &value)))
			return err;
		if (!key || !value)
			continue;
		if (!fn(arg, key, value))
			break;
	}
	return NULL;
}

/*
 * How many entries of @esize bytes to read at once from slot @i of a hash
 * table at @table with @slots slots: at most @max, and never past the end
 * of the page slot @i is in (at least one entry).  A small table inside
 * its object (a set's smalltable) may end just before memory the
 * snapshot lacks: the live items are found before that page is read.
 */
static size_t table_chunk(uint64_t table, size_t i, size_t slots,
			  uint64_t esize, size_t max)
{
	uint64_t at = table + i * esize;
	size_t k = (size_t)((TABLE_PAGE - (at % TABLE_PAGE)) / esize);
	if (!k)
		k = 1;
	if (k > max)
		k = max;
	return k < slots - i ? k : slots - i;
}

struct tp_error *py_dict_iter(struct tp_python *py, uint64_t dict,
			      py_dict_fn *fn, void *arg)
{
	struct tp_error *err;
	int64_t used;
	if ((err = py_read_i64(py, dict + LOFF(py, DICT_USED), &used)))
		return err;
	if (used < 0 || used > (int64_t)MAX_ITEMS * 4)
		return tp_error_fault(dict, "bad dict size");
	if (LHAS(py, DICT_TABLE)) {
		/* 2.7 */
		int64_t mask;
		uint64_t table;
		if ((err = py_read_i64(py, dict + LOFF(py, DICT_MASK), &mask)) ||
		    (err = py_read_ptr(py, dict + LOFF(py, DICT_TABLE), &table)))
			return err;
		if (mask < 0 || mask > (int64_t)MAX_ITEMS * 8 ||
		    ((uint64_t)mask & ((uint64_t)mask + 1)))
			return tp_error_fault(dict, "bad dict mask");
		/*
		 * The table is read a chunk at a time, and only until the
		 * `used` live items are found: a table left large by
		 * deletions costs what it holds, and a mask the target
		 * scribbled on ends at the first chunk not in the snapshot.
		 */
		uint64_t esize = LOFF(py, SIZEOF_DICTKEYENTRY);
		uint64_t koff = LOFF(py, DKE_KEY), voff = LOFF(py, DKE_VALUE);
		if (esize < koff + 8 || esize < voff + 8 || esize > 64)
			return tp_error_fault(dict, "bad dict entry size");
		uint8_t buf[4096];
		size_t per = sizeof(buf) / esize, slots = (size_t)mask + 1;
		int64_t live = 0;
		for (size_t i = 0, n; i < slots && live < used; i += n) {
			n = table_chunk(table, i, slots, esize, per);
			if ((err = py_read(py, table + i * esize, buf,
					   n * esize)))
				return err;
			for (size_t k = 0; k < n && live < used; k++) {
				uint64_t key, value;
				memcpy(&key, buf + k * esize + koff, 8);
				memcpy(&value, buf + k * esize + voff, 8);
				if (!value)
					continue;
				live++;
				if (!fn(arg, key, value))
					return NULL;
			}
		}
		return NULL;
	}
	uint64_t keys, values;
	if ((err = py_read_ptr(py, dict + LOFF(py, DICT_KEYS), &keys)) ||
	    (err = py_read_ptr(py, dict + LOFF(py, DICT_VALUES), &values)))
		return err;
	if (values && LHAS(py, DK_LOG2_SIZE))
		return values_iter(py, keys, values, used, fn, arg);

	uint64_t entries, esize, koff, voff;
	int64_t nentries;
	if ((err = dict_keys_entries(py, keys, &entries, &nentries, &esize,
				     &koff, &voff)))
		return err;
	if (nentries < 0 || nentries > (int64_t)MAX_ITEMS * 4)
		return tp_error_fault(keys, "bad dict entry count");
	if (values) {
		/* 3.6-3.10 split table: dense values */
		for (int64_t i = 0; i < used && i < nentries; i++) {
			uint64_t key, value;
			if ((err = py_read_ptr(py, entries + i * esize + koff,
					       &key)) ||
			    (err = py_read_ptr(py, values + i * 8, &value)))
				return err;
			if (key && value && !fn(arg, key, value))
				break;
		}
		return NULL;
	}
	/* combined table: read entries in chunks */
	uint8_t buf[4096];
	size_t per = sizeof(buf) / esize;
	for (int64_t i = 0; i < nentries;) {
		size_t n = (size_t)(nentries - i) < per ? (size_t)(nentries - i)
							: per;
		if ((err = py_read(py, entries + i * esize, buf, n * esize)))
			return err;
		for (size_t k = 0; k < n; k++) {
			uint64_t key, value;
			memcpy(&key, buf + k * esize + koff, 8);
			memcpy(&value, buf + k * esize + voff, 8);
			if (key && value && !fn(arg, key, value))
				return NULL;
		}
		i += (int64_t)n;
	}
	return NULL;
}

struct lookup_ctx {
	struct tp_python *py;
	const char *name;
	uint64_t found;
};

static bool lookup_cb(void *arg, uint64_t key, uint64_t value)
{
	struct lookup_ctx *c = arg;
	if (str_equals(c->py, key, c->name)) {
		c->found = value;
		return false;
	}
	return true;
}

struct tp_error *py_dict_get_str(struct tp_python *py, uint64_t dict,
				 const char *name, uint64_t *ret)
{
	struct lookup_ctx c = { py, name, 0 };
	struct tp_error *err = py_dict_iter(py, dict, lookup_cb, &c);
	*ret = c.found;
	return err;
}

static struct tp_error *type_flags(struct tp_python *py, uint64_t type,
				   uint64_t *flags)
{
	return py_read_ptr(py, type + LOFF(py, TP_FLAGS), flags);
}

/*
 * A negative tp_dictoffset counts from the end of a variable-size object
 * (instances of int and tuple subclasses): _PyObject_ComputedDictPointer
 * adds _PyObject_VAR_SIZE(type, |ob_size|), the basic size plus the items,
 * rounded up to a pointer.  3.12+ ints keep their digit count in lv_tag.
 */
static struct tp_error *var_dict_ptr(struct tp_python *py, uint64_t obj,
				     uint64_t type, uint64_t flags,
				     int64_t off, uint64_t *ret)
{
	int64_t basic, item, n;
	struct tp_error *err;
	if (!LHAS(py, TP_ITEMSIZE) || !LHAS(py, TP_BASICSIZE))
		return tp_error_create(TP_ERR_UNSUPPORTED, "no tp_itemsize");
	if ((err = py_read_i64(py, type + LOFF(py, TP_BASICSIZE), &basic)) ||
	    (err = py_read_i64(py, type + LOFF(py, TP_ITEMSIZE), &item)))
		return err;
	if (LHAS(py, LONG_LV_TAG) && (flags & TPF_LONG_SUBCLASS)) {
		uint64_t tag;
		if ((err = py_read_ptr(py, obj + LOFF(py, LONG_LV_TAG), &tag)))
			return err;
		n = (int64_t)(tag >> 3);
	} else if ((err = py_read_i64(py, obj + LOFF(py, OB_SIZE), &n))) {
		return err;
	}
	if (n < 0)
		n = -n;
	if (basic <= 0 || basic > (1 << 20) || item < 0 || item > 64 ||
	    n > (int64_t)MAX_ITEMS * 16)
		return tp_error_fault(obj, "bad variable-size object");
	uint64_t size = ((uint64_t)basic + (uint64_t)n * (uint64_t)item + 7) &
			~(uint64_t)7;
	*ret = obj + size + (uint64_t)off;
	return NULL;
}

struct tp_error *py_instance_dict_iter(struct tp_python *py, uint64_t obj,
				       py_dict_fn *fn, void *arg)
{
	uint64_t type, flags, dict = 0;
	struct tp_error *err;
	if ((err = py_type_of(py, obj, &type)) ||
	    (err = type_flags(py, type, &flags)))
		return err;
	enum tp_managed_dict md = py->caps->managed_dict;
	if (md != TP_MANAGED_DICT_NONE && (flags & TPF_MANAGED_DICT)) {
		/*
		 * Managed dicts live before the object (with the GC header):
		 * 3.11: dict pointer at -3 words, values pointer at -4;
		 * 3.12: one tagged word at -3 (odd: values pointer - 1);
		 * 3.13+: dict pointer at -3, values inline after the header
		 *       when the type has Py_TPFLAGS_INLINE_VALUES.
		 */
		uint64_t word, values = 0;
		if ((err = py_read_ptr(py, obj - 3 * 8, &word)))
			return err;
		if (md == TP_MANAGED_DICT_TWO_WORDS) {
			dict = word;
			if (!dict && (err = py_read_ptr(py, obj - 4 * 8, &values)))
				return err;
		} else if (md == TP_MANAGED_DICT_TAGGED_WORD) {
			if (word & 1)
				values = word + 1;
			else
				dict = word;
		} else {
			dict = word;
			if (!dict && (flags & TPF_INLINE_VALUES)) {
				/*
				 * _PyObject_InlineValues(): right after the
				 * type's basic size -- the object header for
				 * plain classes, more for subclasses of C
				 * types (asyncio's _GatheringFuture) or after
				 * a base's __slots__ (3.14)
				 */
				uint8_t valid;
				int64_t basic = LOFF(py, SIZEOF_PYOBJECT);
				if (LHAS(py, TP_BASICSIZE) &&
				    (err = py_read_i64(py, type + LOFF(py, TP_BASICSIZE),
						       &basic)))
					return err;
				if (basic < LOFF(py, SIZEOF_PYOBJECT) ||
				    basic > (1 << 20))
					return tp_error_fault(type, "bad tp_basicsize");
				values = obj + (uint64_t)basic;
				if ((err = py_read_u8(py, values + LOFF(py, DV_VALID),
						      &valid)))
					return err;
				if (!valid)
					values = 0;
			}
		}
		if (values) {
			uint64_t keys;
			if ((err = py_read_ptr(py, type + LOFF(py, HT_CACHED_KEYS),
					       &keys)))
				return err;
			return values_iter(py, keys, values, -1, fn, arg);
		}
	} else {
		int64_t off;
		if ((err = py_read_i64(py, type + LOFF(py, TP_DICTOFFSET), &off)))
			return err;
		if (off == 0)
			return NULL; /* no dict */
		uint64_t where = obj + (uint64_t)off;
		if (off < 0 && (err = var_dict_ptr(py, obj, type, flags, off,
						   &where)))
			return err;
		if ((err = py_read_ptr(py, where, &dict)))
			return err;
	}
	if (!dict)
		return NULL;
	return py_dict_iter(py, dict, fn, arg);
}

struct tp_error *py_instance_attr(struct tp_python *py, uint64_t obj,
				  const char *name, uint64_t *ret)
{
	struct lookup_ctx c = { py, name, 0 };
	struct tp_error *err = py_instance_dict_iter(py, obj, lookup_cb, &c);
	*ret = c.found;
	return err;
}

/* ---- type names --------------------------------------------------------- */

static const char *builtins_module(struct tp_python *py)
{
	return py->caps->py2_objects ? "__builtin__" : "builtins";
}

/* Read a NUL-terminated C string of at most @max bytes. */
static struct tp_error *read_cstr(struct tp_python *py, uint64_t addr,
				  size_t max, const char **ret)
{
	char buf[257];
	if (max > 256)
		max = 256;
	size_t n = 0;
	while (n < max) {
		/* read up to the end of the page to stay in mapped memory */
		size_t chunk = 4096 - ((addr + n) & 4095);
		if (chunk > max - n)
			chunk = max - n;
		struct tp_error *err = py_read(py, addr + n, buf + n, chunk);
		if (err)
			return err;
		void *nul = memchr(buf + n, 0, chunk);
		n += chunk;
		if (nul)
			break;
	}
	buf[n < max ? n : max] = '\0';
	char *s = tp_pyval_arena_strdup(py->arena, buf);
	if (!s)
		return &tp_error_nomem;
	*ret = s;
	return NULL;
}

static const char *compute_type_name(struct tp_python *py, uint64_t type)
{
	uint64_t flags, tp_name;
	const char *name = NULL;
	struct tp_error *ferr = type_flags(py, type, &flags);
	if (ferr) {
		/* a fault or out of memory: the type has no name we can give */
		tp_error_destroy(ferr);
		return NULL;
	}
	if (flags & TPF_HEAPTYPE) {
		uint64_t q = 0, dict = 0, mod = 0;
		const char *qual = NULL, *module = NULL;
		uint64_t qaddr = type + (uint64_t)(LHAS(py, HT_QUALNAME)
							   ? LOFF(py, HT_QUALNAME)
							   : LOFF(py, HT_NAME));
		struct tp_error *err = py_read_ptr(py, qaddr, &q);
		if (!err && q)
			err = py_str_utf8(py, q, 512, &qual);
		tp_error_destroy(err);
		err = py_read_ptr(py, type + LOFF(py, TP_DICT), &dict);
		if (!err && dict)
			err = py_dict_get_str(py, dict, "__module__", &mod);
		if (!err && mod)
			err = py_str_utf8(py, mod, 512, &module);
		tp_error_destroy(err);
		if (!qual)
			return NULL;
		if (!module || !strcmp(module, builtins_module(py)))
			return qual;
		size_t len = strlen(module) + strlen(qual) + 2;
		char *s = tp_pyval_arena_alloc(py->arena, len);
		if (!s)
			return NULL;
		snprintf(s, len, "%s.%s", module, qual);
		return s;
	}
	struct tp_error *err = py_read_ptr(py, type + LOFF(py, TP_NAME),
					   &tp_name);
	if (!err)
		err = read_cstr(py, tp_name, 256, &name);
	if (err) {
		tp_error_destroy(err);
		return NULL;
	}
	return name;
}

const char *py_type_name(struct tp_python *py, uint64_t type)
{
	for (size_t i = 0; i < py->types_n; i++)
		if (py->types[i].addr == type)
			return py->types[i].name;
	const char *name = compute_type_name(py, type);
	if (!name)
		return "object";
	if (py->types_n == py->types_cap) {
		size_t cap = py->types_cap ? py->types_cap * 2 : 32;
		struct type_entry *t = realloc(py->types, cap * sizeof(*t));
		if (!t)
			return name;
		py->types = t;
		py->types_cap = cap;
	}
	py->types[py->types_n].addr = type;
	py->types[py->types_n].name = name;
	py->types_n++;
	return name;
}

/* ---- values ------------------------------------------------------------- */

struct dstate {
	size_t cost;        /* lower bound of the repr length so far */
	size_t limit;       /* max_repr, or SIZE_MAX */
	bool overflow;      /* the value is certainly too long */
	unsigned attr_level; /* instances whose attributes are being read */
	/* memo entries made during this value, undone on overflow */
	uint64_t *made;
	size_t nmade, capmade;
};

static bool charge(struct dstate *st, size_t n)
{
	if (n > st->limit || st->cost + n > st->limit) {
		st->overflow = true;
		return false;
	}
	st->cost += n;
	return true;
}

/*
 * The least a container's repr adds around its @n items, each of which
 * charges its own repr: @base for the brackets ("[]", "{}"), and @per
 * characters per item minus the ", " the last item goes without (", "
 * for a list, ": " and ", " for a dict).  Charging an item's minimum here
 * as well would count it twice and call a repr too long that is not.
 */
static size_t sep_cost(size_t base, size_t per, size_t n)
{
	return base + (n ? per * n - 2 : 0);
}

static struct tp_error *decode(struct tp_python *py, struct dstate *st,
			       uint64_t addr, int depth,
			       struct tp_pyval **ret);

static struct tp_pyval *new_node(struct tp_python *py,
				 enum tp_pyval_kind kind, uint64_t addr,
				 const char *type_name)
{
	struct tp_pyval *v = tp_pyval_new(py->arena, kind, addr, type_name);
	if (v && py->caps->py2_objects)
		v->flags |= TP_PV_PY2;
	else if (v)
		v->flags |= TP_PV_UCD(py->ucd_table);
	if (v && py->caps->listsort_runs_313)
		v->flags |= TP_PV_SORT313;
	return v;
}

static struct tp_error *text_node(struct tp_python *py, uint64_t addr,
				  const char *type_name, const char *text,
				  struct tp_pyval **ret)
{
	struct tp_pyval *v = new_node(py, TP_PV_TEXT, addr, type_name);
	if (!v || !(v->u.text = tp_pyval_arena_strdup(py->arena, text)))
		return &tp_error_nomem;
	*ret = v;
	return NULL;
}

/*
 * The memo key of @addr as decoded now.  With --attributes, how an object
 * prints depends on how many nested instances' attributes may still be
 * shown (an instance met at the top shows its attributes, the same
 * instance met at the depth limit does not), so that number is part of
 * the key: stored in the top byte, which no user-space address uses
 * (x86-64 keeps them below 2^47).  Without --attributes the key is the
 * address.
 */
static uint64_t memo_key(const struct tp_python *py, const struct dstate *st,
			 uint64_t addr)
{
	uint64_t left = py->opts.attributes > st->attr_level
				? py->opts.attributes - st->attr_level : 0;
	return addr ^ (left << 56);
}

static bool remember(struct tp_python *py, struct dstate *st, uint64_t addr,
		     struct tp_pyval *v, size_t cost)
{
	addr = memo_key(py, st, addr);
	if (st->nmade == st->capmade) {
		size_t cap = st->capmade ? st->capmade * 2 : 64;
		uint64_t *m = realloc(st->made, cap * sizeof(*m));
		if (!m)
			return false;
		st->made = m;
		st->capmade = cap;
	}
	st->made[st->nmade++] = addr;
	return memo_put(py, addr, v, cost);
}

/* Decode @n object pointers into @items. */
static struct tp_error *decode_items(struct tp_python *py, struct dstate *st,
				     const uint64_t *ptrs, size_t n, int depth,
				     struct tp_pyval **items)
{
	for (size_t i = 0; i < n; i++) {
		struct tp_error *err = decode(py, st, ptrs[i], depth + 1,
					      &items[i]);
		if (err || st->overflow)
			return err;
	}
	return NULL;
}

static struct tp_error *decode_seq(struct tp_python *py, struct dstate *st,
				   uint64_t addr, enum tp_pyval_kind kind,
				   const char *type_name, int depth,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	int64_t n;
	uint64_t items_addr;
	if ((err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &n)))
		return err;
	if (n < 0 || n > (int64_t)MAX_ITEMS)
		return tp_error_fault(addr, "bad size");
	size_t cost = sep_cost(2, 2, (size_t)n);
	if (!charge(st, cost))
		return NULL;
	if (kind == TP_PV_LIST) {
		if ((err = py_read_ptr(py, addr + LOFF(py, LIST_ITEM),
				       &items_addr)))
			return err;
	} else {
		items_addr = addr + LOFF(py, TUPLE_ITEM);
	}
	uint64_t *ptrs = malloc((n ? (size_t)n : 1) * 8);
	if (!ptrs)
		return &tp_error_nomem;
	if (n && (err = py_read(py, items_addr, ptrs, (size_t)n * 8))) {
		free(ptrs);
		return err;
	}
	struct tp_pyval *v = new_node(py, kind, addr, type_name);
	struct tp_pyval **items = tp_pyval_arena_alloc(
		py->arena, (n ? (size_t)n : 1) * sizeof(*items));
	if (!v || !items) {
		free(ptrs);
		return &tp_error_nomem;
	}
	v->u.seq.items = items;
	if (!remember(py, st, addr, v, cost)) {
		free(ptrs);
		return &tp_error_nomem;
	}
	err = decode_items(py, st, ptrs, (size_t)n, depth, items);
	free(ptrs);
	if (err || st->overflow)
		return err;
	v->u.seq.len = (size_t)n;
	*ret = v;
	return NULL;
}

struct collect {
	uint64_t *kv;
	size_t n, cap;
	bool nomem;
	size_t limit;
};

static bool collect_cb(void *arg, uint64_t key, uint64_t value)
{
	struct collect *c = arg;
	if (c->n >= c->limit)
		return false;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		uint64_t *kv = realloc(c->kv, cap * 2 * 8);
		if (!kv) {
			c->nomem = true;
			return false;
		}
		c->kv = kv;
		c->cap = cap;
	}
	c->kv[2 * c->n] = key;
	c->kv[2 * c->n + 1] = value;
	c->n++;
	return true;
}

/*
 * @own: the node is the object at @addr (remembered as it); false for the
 * dict part of an object whose own node is another (defaultdict(...)).
 */
static struct tp_error *decode_dict(struct tp_python *py, struct dstate *st,
				    uint64_t addr, const char *type_name,
				    int depth, bool own, struct tp_pyval **ret)
{
	struct tp_error *err;
	int64_t used;
	if ((err = py_read_i64(py, addr + LOFF(py, DICT_USED), &used)))
		return err;
	if (used < 0 || used > (int64_t)MAX_ITEMS)
		return tp_error_fault(addr, "bad dict size");
	/* "{k: v, ...}": ": " per item, ", " between them */
	size_t cost = sep_cost(2, 4, (size_t)used);
	if (!charge(st, cost))
		return NULL;
	struct collect c = { .limit = (size_t)used + 1 };
	err = py_dict_iter(py, addr, collect_cb, &c);
	if (!err && c.nomem)
		err = &tp_error_nomem;
	if (err) {
		free(c.kv);
		return err;
	}
	struct tp_pyval *v = new_node(py, TP_PV_DICT, addr, type_name);
	size_t n = c.n;
	struct tp_pyval **keys = tp_pyval_arena_alloc(py->arena,
						      (n ? n : 1) * sizeof(*keys));
	struct tp_pyval **vals = tp_pyval_arena_alloc(py->arena,
						      (n ? n : 1) * sizeof(*vals));
	if (!v || !keys || !vals ||
	    (own && !remember(py, st, addr, v, cost))) {
		free(c.kv);
		return &tp_error_nomem;
	}
	v->u.dict.keys = keys;
	v->u.dict.values = vals;
	for (size_t i = 0; i < n; i++) {
		if ((err = decode(py, st, c.kv[2 * i], depth + 1, &keys[i])) ||
		    st->overflow)
			break;
		if ((err = decode(py, st, c.kv[2 * i + 1], depth + 1,
				  &vals[i])) ||
		    st->overflow)
			break;
	}
	free(c.kv);
	if (err || st->overflow)
		return err;
	v->u.dict.len = n;
	*ret = v;
	return NULL;
}

/* 2.7 marks deleted set slots with a str object "<dummy key>". */
static bool is_py2_dummy(struct tp_python *py, uint64_t key)
{
	uint64_t type;
	struct tp_error *err = py_type_of(py, key, &type);
	if (err || type != py->target->sym[TP_SYM_PyString_Type]) {
		tp_error_destroy(err);
		return false;
	}
	uint8_t *data;
	size_t len;
	bool too_long;
	err = bytes_data(py, key, 16, &data, &len, &too_long);
	if (err || too_long) {
		tp_error_destroy(err);
		return false;
	}
	return len == 11 && !memcmp(data, "<dummy key>", 11);
}

/* Slots of a set's hash table read at once (bounds the buffer, not the work) */
#define SET_CHUNK 256

static struct tp_error *decode_set(struct tp_python *py, struct dstate *st,
				   uint64_t addr, enum tp_pyval_kind kind,
				   const char *type_name, int depth,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	int64_t mask, used;
	uint64_t table;
	if ((err = py_read_i64(py, addr + LOFF(py, SET_MASK), &mask)) ||
	    (err = py_read_i64(py, addr + LOFF(py, SET_USED), &used)) ||
	    (err = py_read_ptr(py, addr + LOFF(py, SET_TABLE), &table)))
		return err;
	if (mask < 0 || mask > (int64_t)MAX_ITEMS * 4 || used < 0 ||
	    used > mask + 1 || ((uint64_t)mask & ((uint64_t)mask + 1)))
		return tp_error_fault(addr, "bad set");
	/* "{a, b}"; an empty set prints "set()" */
	size_t cost = used ? sep_cost(2, 2, (size_t)used) : 5;
	if (!charge(st, cost))
		return NULL;
	/*
	 * The table may be far larger than the set (a set does not shrink
	 * when items are discarded), and its size is the target's word: only
	 * `used` pointers are kept, already charged to the budget, and the
	 * table is read a chunk at a time until they are all found.  A table
	 * that is not in the snapshot ends at its first chunk.
	 */
	uint64_t esize = LOFF(py, SIZEOF_SETENTRY);
	uint64_t koff = LOFF(py, SETENTRY_KEY);
	if (esize < koff + 8 || esize > 64)
		return tp_error_fault(addr, "bad set entry size");
	size_t slots = (size_t)mask + 1;
	uint8_t raw[SET_CHUNK * 64];
	uint64_t *ptrs = malloc((used ? (size_t)used : 1) * 8);
	if (!ptrs)
		return &tp_error_nomem;
	size_t n = 0;
	for (size_t i = 0, k; i < slots && n < (size_t)used; i += k) {
		k = table_chunk(table, i, slots, esize, SET_CHUNK);
		if ((err = py_read(py, table + i * esize, raw, k * esize))) {
			free(ptrs);
			return err;
		}
		for (size_t j = 0; j < k && n < (size_t)used; j++) {
			uint64_t key;
			memcpy(&key, raw + j * esize + koff, 8);
			if (!key || key == py->set_dummy)
				continue;
			if (!py->set_dummy && py->caps->py2_objects &&
			    is_py2_dummy(py, key)) {
				/* 2.7's dummy is a static str: remember it */
				py->set_dummy = key;
				continue;
			}
			ptrs[n++] = key;
		}
	}
	struct tp_pyval *v = new_node(py, kind, addr, type_name);
	struct tp_pyval **items = tp_pyval_arena_alloc(
		py->arena, (n ? n : 1) * sizeof(*items));
	if (!v || !items || !remember(py, st, addr, v, cost)) {
		free(ptrs);
		return &tp_error_nomem;
	}
	v->u.seq.items = items;
	err = decode_items(py, st, ptrs, n, depth, items);
	free(ptrs);
	if (err || st->overflow)
		return err;
	v->u.seq.len = n;
	*ret = v;
	return NULL;
}

static struct tp_error *decode_int(struct tp_python *py, struct dstate *st,
				   uint64_t addr, const char *type_name,
				   struct tp_pyval **ret)
{
	struct tp_error *err;
	struct tp_pyval *v = new_node(py, TP_PV_INT, addr, type_name);
	if (!v)
		return &tp_error_nomem;
	if (py->target->sym[TP_SYM_PyInt_Type] &&
	    LHAS(py, INT_IVAL)) {
		uint64_t type;
		if ((err = py_type_of(py, addr, &type)))
			return err;
		if (type == py->target->sym[TP_SYM_PyInt_Type]) {
			int64_t iv;
			if ((err = py_read_i64(py, addr + LOFF(py, INT_IVAL),
					       &iv)))
				return err;
			char buf[32];
			snprintf(buf, sizeof(buf), "%lld", (long long)iv);
			charge(st, strlen(buf));
			v->u.digits = tp_pyval_arena_strdup(py->arena, buf);
			if (!v->u.digits)
				return &tp_error_nomem;
			*ret = v;
			return NULL;
		}
		v->flags |= TP_PV_LONG;
	}
	uint32_t *digits;
	size_t n;
	bool negative, too_long;
	/* each 30-bit digit gives a bit over 9 decimal digits */
	size_t max_digits = st->limit == SIZE_MAX ? MAX_ITEMS
			     : (st->limit - st->cost) / 4 + 1;
	if ((err = long_digits(py, addr, max_digits, &digits, &n, &negative,
			       &too_long)))
		return err;
	if (too_long) {
		st->overflow = true;
		return NULL;
	}
	err = tp_pyint_to_decimal(py->arena, digits, n,
				  (unsigned)py->digit_shift, negative,
				  &v->u.digits);
	if (err && err->code == TP_ERR_LIMIT) {
		tp_error_destroy(err);
		st->overflow = true;
		return NULL;
	}
	if (err)
		return err;
	charge(st, strlen(v->u.digits));
	*ret = v;
	return NULL;
}

/* repr of a module, as importlib's _module_repr prints it (3.4+). */
static struct tp_error *module_repr(struct tp_python *py, uint64_t addr,
				    struct tp_strbuf *sb, bool *ok)
{
	uint64_t dict, v;
	const char *name = NULL, *file = NULL;
	struct tp_error *err;
	*ok = false;
	if ((err = py_read_ptr(py, addr + LOFF(py, MODULE_DICT), &dict)) ||
	    !dict)
		return err;
	if (!py->caps->py2_objects) {
		uint64_t spec = 0, none = py->target->sym[TP_SYM__Py_NoneStruct];
		if ((err = py_dict_get_str(py, dict, "__spec__", &spec)))
			return err;
		if (spec && spec != none) {
			uint64_t sname = 0, origin = 0, setfile = 0;
			const char *sn = "?", *so = NULL;
			if ((err = py_instance_attr(py, spec, "name", &sname)) ||
			    (err = py_instance_attr(py, spec, "origin",
						    &origin)) ||
			    (err = py_instance_attr(py, spec, "_set_fileattr",
						    &setfile)))
				return err;
			if (sname && sname != none &&
			    (err = py_str_utf8(py, sname, 4096, &sn)))
				return err;
			if (!origin || origin == none) {
				/*
				 * Up to 3.8 the built-in and frozen modules'
				 * specs have no origin; their loaders'
				 * module_repr() gives the text.
				 */
				uint64_t loader = 0;
				if ((err = py_instance_attr(py, spec, "loader",
							    &loader)))
					return err;
				const char *kind = NULL;
				if (loader && loader != none) {
					const char *ln = py_type_name(py, loader);
					if (strstr(ln, "BuiltinImporter"))
						kind = "built-in";
					else if (strstr(ln, "FrozenImporter"))
						kind = "frozen";
				}
				if (!kind)
					return NULL;
				tp_strbuf_printf(sb, "<module '%s' (%s)>", sn,
						 kind);
				*ok = true;
				return NULL;
			}
			if ((err = py_str_utf8(py, origin, 4096, &so)))
				return err;
			tp_strbuf_printf(sb, "<module '%s' ", sn);
			if (setfile == py->target->sym[TP_SYM__Py_TrueStruct])
				tp_strbuf_printf(sb, "from '%s'>", so);
			else
				tp_strbuf_printf(sb, "(%s)>", so);
			*ok = true;
			return NULL;
		}
	}
	if ((err = py_dict_get_str(py, dict, "__name__", &v)))
		return err;
	if (v && (err = py_str_utf8(py, v, 4096, &name)))
		return err;
	if ((err = py_dict_get_str(py, dict, "__file__", &v)))
		return err;
	if (v && (err = py_str_utf8(py, v, 4096, &file)))
		return err;
	if (!name)
		return NULL;
	if (file)
		tp_strbuf_printf(sb, "<module '%s' from '%s'>", name, file);
	else if (py->caps->py2_objects)
		tp_strbuf_printf(sb, "<module '%s' (built-in)>", name);
	else
		return NULL;
	*ok = true;
	return NULL;
}

/*
 * Objects whose repr is a fixed pattern over a few fields: functions,
 * classes, modules, code objects.  *@ok is false when this is not such an
 * object or its fields cannot be read (the caller falls back to the
 * object.__repr__ form).
 */
/*
 * 2.7 classic classes: "M.C" from cl_dict['__module__'] (a str, else "?")
 * and cl_name.  *@has_repr tells whether the class or a base defines
 * __repr__ (then an instance prints what that method returns, which we
 * cannot run).
 */
static struct tp_error *classic_class(struct tp_python *py, uint64_t cls,
				      const char **module, const char **name,
				      bool *has_repr, int depth)
{
	uint64_t dict, nm, mod = 0, r = 0, bases;
	struct tp_error *err;
	if (depth > 32)
		return tp_error_fault(cls, "classic class bases too deep");
	if ((err = py_read_ptr(py, cls + LOFF(py, CLASS_DICT), &dict)) ||
	    (err = py_read_ptr(py, cls + LOFF(py, CLASS_NAME), &nm)) ||
	    (err = py_read_ptr(py, cls + LOFF(py, CLASS_BASES), &bases)))
		return err;
	if (name && (err = py_str_utf8(py, nm, 4096, name)))
		return err;
	if (module) {
		*module = "?";
		if ((err = py_dict_get_str(py, dict, "__module__", &mod)))
			return err;
		uint64_t type = 0;
		struct tp_error *terr = mod ? py_type_of(py, mod, &type) : NULL;
		if (terr == &tp_error_nomem)
			return terr;
		tp_error_destroy(terr);
		if (mod && !terr &&
		    type == py->target->sym[TP_SYM_PyString_Type] &&
		    (err = py_str_utf8(py, mod, 4096, module)))
			return err;
	}
	if ((err = py_dict_get_str(py, dict, "__repr__", &r)))
		return err;
	*has_repr = r != 0;
	int64_t n = 0;
	if (!*has_repr && bases &&
	    !(err = py_read_i64(py, bases + LOFF(py, OB_SIZE), &n))) {
		for (int64_t i = 0; i < n && i < 64 && !*has_repr; i++) {
			uint64_t b;
			if ((err = py_read_ptr(py, bases + LOFF(py, TUPLE_ITEM) +
							   8 * (uint64_t)i,
					       &b)) ||
			    (err = classic_class(py, b, NULL, NULL, has_repr,
						 depth + 1)))
				return err;
		}
	}
	return err;
}

static struct tp_error *special_repr(struct tp_python *py, uint64_t addr,
				     uint64_t type, uint64_t repr_fn,
				     struct tp_strbuf *sb, bool *ok)
{
	const uint64_t *sym = py->target->sym;
	struct tp_error *err = NULL;
	*ok = false;
	if (type == sym[TP_SYM_PyFunction_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.function)) {
		uint64_t q;
		const char *qual;
		int64_t off = LHAS(py, FUNC_QUALNAME) ? LOFF(py, FUNC_QUALNAME)
						      : LOFF(py, FUNC_NAME);
		if ((err = py_read_ptr(py, addr + off, &q)) ||
		    (err = py_str_utf8(py, q, 4096, &qual)))
			return err;
		tp_strbuf_printf(sb, "<function %s at 0x%llx>", qual,
				 (unsigned long long)addr);
		*ok = true;
		return NULL;
	}
	if (type == sym[TP_SYM_PyModule_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.module))
		return module_repr(py, addr, sb, ok);
	if (py->caps->py2_objects && LHAS(py, INST_CLASS) &&
	    (type == sym[TP_SYM_PyInstance_Type] ||
	     type == sym[TP_SYM_PyClass_Type])) {
		const char *module, *name;
		bool has_repr;
		uint64_t cls = addr;
		if (type == sym[TP_SYM_PyInstance_Type] &&
		    (err = py_read_ptr(py, addr + LOFF(py, INST_CLASS), &cls)))
			return err;
		if ((err = classic_class(py, cls, &module, &name, &has_repr, 0)))
			return err;
		if (type == sym[TP_SYM_PyClass_Type])
			tp_strbuf_printf(sb, "<class %s.%s at 0x%llx>", module,
					 name, (unsigned long long)addr);
		else if (!has_repr)
			tp_strbuf_printf(sb, "<%s.%s instance at 0x%llx>",
					 module, name, (unsigned long long)addr);
		else
			return NULL;
		*ok = true;
		return NULL;
	}
	if (type == sym[TP_SYM_PyCode_Type]) {
		uint64_t n, f;
		int32_t line;
		const char *name, *file;
		if ((err = py_read_ptr(py, addr + LOFF(py, CO_NAME), &n)) ||
		    (err = py_read_ptr(py, addr + LOFF(py, CO_FILENAME), &f)) ||
		    (err = py_read_i32(py, addr + LOFF(py, CO_FIRSTLINENO),
				       &line)) ||
		    (err = py_str_utf8(py, n, 4096, &name)) ||
		    (err = py_str_utf8(py, f, 4096, &file)))
			return err;
		tp_strbuf_printf(sb, "<code object %s at 0x%llx, file \"%s\", line %d>",
				 name, (unsigned long long)addr, file, line);
		*ok = true;
		return NULL;
	}
	uint64_t flags;
	if ((err = type_flags(py, type, &flags)))
		return err;
	if ((type == sym[TP_SYM_PyType_Type] || (flags & TPF_TYPE_SUBCLASS)) &&
	    (!repr_fn || repr_fn == py->repr_fn.type)) {
		/* a class: addr is itself a type object */
		const char *name = py_type_name(py, addr);
		uint64_t cflags;
		if ((err = type_flags(py, addr, &cflags)))
			return err;
		const char *word = "class";
		if (py->caps->py2_objects && !(cflags & TPF_HEAPTYPE))
			word = "type";
		tp_strbuf_printf(sb, "<%s '%s'>", word, name);
		*ok = true;
	}
	return NULL;
}

static struct tp_error *decode_float(struct tp_python *py, struct dstate *st,
				     uint64_t addr, const char *type_name,
				     struct tp_pyval **ret)
{
	struct tp_pyval *v = new_node(py, TP_PV_FLOAT, addr, type_name);
	if (!v)
		return &tp_error_nomem;
	struct tp_error *err = py_read(py, addr + LOFF(py, FLOAT_FVAL),
				       &v->u.real, 8);
	if (err)
		return err;
	charge(st, 3);
	*ret = v;
	return NULL;
}

static struct tp_error *decode_str(struct tp_python *py, struct dstate *st,
				   uint64_t addr, const char *type_name,
				   struct tp_pyval **ret)
{
	struct tp_pyval *v = new_node(py, TP_PV_STR, addr, type_name);
	if (!v)
		return &tp_error_nomem;
	size_t room = st->limit == SIZE_MAX ? MAX_STR_READ
					     : st->limit - st->cost;
	bool too_long;
	struct tp_error *err = str_codepoints(py, addr, room, &v->u.str.cp,
					      &v->u.str.len, &too_long);
	if (err)
		return err;
	if (too_long || !charge(st, v->u.str.len + 2)) {
		st->overflow = true;
		return NULL;
	}
	*ret = v;
	return NULL;
}

struct tp_error *py_slice_node(struct tp_python *py, uint64_t addr,
			       bool isbytes, int64_t start, int64_t end,
			       size_t max, struct tp_pyval **ret)
{
	const uint64_t *sym = py->target->sym;
	uint64_t type;
	bool too_long = false;
	struct tp_error *err = py_type_of(py, addr, &type);
	if (err)
		return err;
	if (py->caps->py2_objects)
		return tp_error_create(TP_ERR_UNSUPPORTED, "2.x slice");
	if (!isbytes) {
		if (type != sym[TP_SYM_PyUnicode_Type])
			return tp_error_create(TP_ERR_UNSUPPORTED,
					       "not an exact str");
		struct tp_pyval *v = new_node(py, TP_PV_STR, 0, "str");
		if (!v)
			return &tp_error_nomem;
		if ((err = str_range_codepoints(py, addr, start, end, max,
						&v->u.str.cp, &v->u.str.len,
						&too_long)))
			return err;
		if (too_long)
			return tp_error_create(TP_ERR_LIMIT, "slice too long");
		*ret = v;
		return NULL;
	}
	int64_t len;
	uint64_t data;
	if ((err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &len)))
		return err;
	if (type == sym[TP_SYM_PyBytes_Type])
		data = addr + (uint64_t)LOFF(py, BYTES_SVAL);
	else if (type == sym[TP_SYM_PyByteArray_Type])
		err = py_read_ptr(py, addr + LOFF(py, BYTEARRAY_START), &data);
	else
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "not bytes or bytearray");
	if (err)
		return err;
	if (start < 0 || start > end || end > len)
		return tp_error_fault(addr, "bad bytes slice");
	size_t n = (size_t)(end - start);
	if (n > max || n > MAX_STR_READ)
		return tp_error_create(TP_ERR_LIMIT, "slice too long");
	struct tp_pyval *v = new_node(py, TP_PV_BYTES, 0, "bytes");
	uint8_t *bytes = tp_pyval_arena_alloc(py->arena, n + 1);
	if (!v || !bytes)
		return &tp_error_nomem;
	if (n && (err = py_read(py, data + (uint64_t)start, bytes, n)))
		return err;
	v->u.bytes.data = bytes;
	v->u.bytes.len = n;
	*ret = v;
	return NULL;
}

static struct tp_error *decode_bytes(struct tp_python *py, struct dstate *st,
				     uint64_t addr, enum tp_pyval_kind kind,
				     const char *type_name,
				     struct tp_pyval **ret)
{
	struct tp_pyval *v = new_node(py, kind, addr, type_name);
	if (!v)
		return &tp_error_nomem;
	if (kind == TP_PV_BYTEARRAY && py->caps->bytearray_quotes_as_bytes)
		v->flags |= TP_PV_BYTES_QUOTES;
	size_t room = st->limit == SIZE_MAX ? MAX_STR_READ
					     : st->limit - st->cost;
	bool too_long = false;
	struct tp_error *err;
	if (kind == TP_PV_BYTES) {
		err = bytes_data(py, addr, room, &v->u.bytes.data,
				 &v->u.bytes.len, &too_long);
	} else {
		int64_t len;
		uint64_t data;
		if ((err = py_read_i64(py, addr + LOFF(py, OB_SIZE), &len)) ||
		    (err = py_read_ptr(py, addr + LOFF(py, BYTEARRAY_START),
				       &data)))
			return err;
		if (len < 0)
			return tp_error_fault(addr, "bad bytearray");
		if ((uint64_t)len > room || (uint64_t)len > MAX_STR_READ) {
			if ((err = probe_end(py, data, (uint64_t)len, 1)))
				return err;
			too_long = true;
		} else {
			v->u.bytes.len = (size_t)len;
			v->u.bytes.data = tp_pyval_arena_alloc(py->arena,
							       (size_t)len + 1);
			if (!v->u.bytes.data)
				return &tp_error_nomem;
			if (len && (err = py_read(py, data, v->u.bytes.data,
						  (size_t)len)))
				return err;
		}
	}
	if (err)
		return err;
	/* b'' around 3.x bytes, '' around a 2.7 str: a lower bound */
	size_t quotes = py->caps->py2_objects && kind == TP_PV_BYTES ? 2 : 3;
	if (too_long || !charge(st, v->u.bytes.len + quotes)) {
		st->overflow = true;
		return NULL;
	}
	*ret = v;
	return NULL;
}

static struct tp_error *decode_inner(struct tp_python *py, struct dstate *st,
				     uint64_t addr, int depth,
				     struct tp_pyval **ret)
{
	const uint64_t *sym = py->target->sym;
	struct tp_error *err;
	struct tp_pyval *v;

	if (addr == sym[TP_SYM__Py_NoneStruct]) {
		charge(st, 4);
		v = new_node(py, TP_PV_NONE, addr, "NoneType");
		*ret = v;
		return v ? NULL : &tp_error_nomem;
	}
	if (addr == sym[TP_SYM__Py_TrueStruct] ||
	    addr == sym[TP_SYM__Py_FalseStruct] ||
	    (sym[TP_SYM__Py_ZeroStruct] && addr == sym[TP_SYM__Py_ZeroStruct])) {
		charge(st, 5);
		v = new_node(py, TP_PV_BOOL, addr, "bool");
		if (v)
			v->u.boolean = addr == sym[TP_SYM__Py_TrueStruct];
		*ret = v;
		return v ? NULL : &tp_error_nomem;
	}
	if (sym[TP_SYM__Py_EllipsisObject] &&
	    addr == sym[TP_SYM__Py_EllipsisObject])
		return text_node(py, addr, "ellipsis", "Ellipsis", ret);
	if (sym[TP_SYM__Py_NotImplementedStruct] &&
	    addr == sym[TP_SYM__Py_NotImplementedStruct])
		return text_node(py, addr, "NotImplementedType",
				 "NotImplemented", ret);

	uint64_t type, flags, repr_fn = 0;
	if ((err = py_type_of(py, addr, &type)) ||
	    (err = type_flags(py, type, &flags)))
		return err;
	if (LHAS(py, TP_REPR) &&
	    (err = py_read_ptr(py, type + LOFF(py, TP_REPR), &repr_fn)))
		return err;
	const char *tname = py_type_name(py, type);
	if (!strcmp(tname, "object") && type != sym[TP_SYM_PyBaseObject_Type]) {
		/* unreadable type object: the object is garbage */
		return tp_error_fault(addr, "bad type");
	}

	/*
	 * An object prints like a builtin type when its type's tp_repr is that
	 * type's and it is laid out like it (the subclass flag, or the exact
	 * type): subclasses that keep the builtin __repr__ print the same.
	 */
	if (repr_fn && repr_fn == py->repr_fn.long_ &&
	    (flags & TPF_LONG_SUBCLASS))
		return decode_int(py, st, addr, tname, ret);
	if (type == sym[TP_SYM_PyLong_Type] ||
	    (sym[TP_SYM_PyInt_Type] && type == sym[TP_SYM_PyInt_Type]) ||
	    (repr_fn && repr_fn == py->repr_fn.int_))
		return decode_int(py, st, addr, tname, ret);
	if (type == sym[TP_SYM_PyFloat_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.float_))
		return decode_float(py, st, addr, tname, ret);
	if (type == sym[TP_SYM_PyUnicode_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.unicode &&
	     (flags & TPF_UNICODE_SUBCLASS)))
		return decode_str(py, st, addr, tname, ret);
	if (type == sym[TP_SYM_PyBytes_Type] ||
	    (sym[TP_SYM_PyString_Type] && type == sym[TP_SYM_PyString_Type]) ||
	    (repr_fn && repr_fn == py->repr_fn.bytes &&
	     (flags & TPF_BYTES_SUBCLASS)))
		return decode_bytes(py, st, addr, TP_PV_BYTES, tname, ret);
	if (type == sym[TP_SYM_PyByteArray_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.bytearray))
		return decode_bytes(py, st, addr, TP_PV_BYTEARRAY, tname, ret);
	if (depth >= MAX_DEPTH) {
		st->overflow = true;
		return NULL;
	}
	if (type == sym[TP_SYM_PyTuple_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.tuple &&
	     (flags & TPF_TUPLE_SUBCLASS)))
		return decode_seq(py, st, addr, TP_PV_TUPLE, tname, depth, ret);
	if (type == sym[TP_SYM_PyList_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.list &&
	     (flags & TPF_LIST_SUBCLASS)))
		return decode_seq(py, st, addr, TP_PV_LIST, tname, depth, ret);
	if (type == sym[TP_SYM_PyDict_Type] ||
	    (repr_fn && repr_fn == py->repr_fn.dict &&
	     (flags & TPF_DICT_SUBCLASS)))
		return decode_dict(py, st, addr, tname, depth, true, ret);
	/* set subclasses print their type name: only the exact types here */
	if (type == sym[TP_SYM_PySet_Type])
		return decode_set(py, st, addr, TP_PV_SET, tname, depth, ret);
	if (type == sym[TP_SYM_PyFrozenSet_Type])
		return decode_set(py, st, addr, TP_PV_FROZENSET, tname, depth,
				  ret);

	/* standard-library types: pydecode.h */
	struct py_obj o = { addr, type, flags, repr_fn, tname, depth, 0, NULL,
			    st->cost };
	bool handled = false;
	err = py_decode_known(py, st, &o, ret, &handled);
	if (handled || err)
		return err;

	struct tp_strbuf sb = TP_STRBUF_INIT;
	bool ok;
	err = special_repr(py, addr, type, repr_fn, &sb, &ok);
	if (is_fault(err)) {
		tp_error_destroy(err);
		err = NULL;
		ok = false;
	}
	if (!err && ok) {
		if ((err = tp_strbuf_error(&sb)) == NULL) {
			charge(st, sb.len);
			err = text_node(py, addr, tname, tp_strbuf_str(&sb), ret);
		}
		tp_strbuf_deinit(&sb);
		return err;
	}
	tp_strbuf_deinit(&sb);
	if (err)
		return err;
	v = new_node(py, TP_PV_OBJECT, addr, tname);
	if (!v)
		return &tp_error_nomem;
	charge(st, strlen(tname) + 28);
	/* --attributes: pyattrs.c */
	if (st->attr_level < py->opts.attributes && (flags & TPF_HEAPTYPE) &&
	    !(flags & TPF_TYPE_SUBCLASS) && !st->overflow)
		return py_object_attributes(py, st, v, type, depth, ret);
	*ret = v;
	return NULL;
}

static struct tp_error *decode(struct tp_python *py, struct dstate *st,
			       uint64_t addr, int depth,
			       struct tp_pyval **ret)
{
	uint64_t key = memo_key(py, st, addr);
	struct memo_entry *e = memo_find(py, key);
	if (e && e->toolong) {
		st->overflow = true;
		return NULL;
	}
	if (e) {
		charge(st, e->cost);
		*ret = e->val;
		return NULL;
	}
	*ret = NULL;
	size_t before = st->cost;
	struct tp_error *err = decode_inner(py, st, addr, depth, ret);
	if (err == &tp_error_nomem)
		return err;
	if (st->overflow)
		return NULL;
	if (err) {
		/* a fault: the object (or what it holds) cannot be read */
		tp_error_destroy(err);
		uint64_t type = 0;
		const char *tname = "object";
		struct tp_error *terr = py_type_of(py, addr, &type);
		if (terr == &tp_error_nomem)
			return terr;
		if (!terr)
			tname = py_type_name(py, type);
		tp_error_destroy(terr);
		struct tp_pyval *v = new_node(py, TP_PV_UNREADABLE, addr,
					      tname);
		if (!v)
			return &tp_error_nomem;
		charge(st, strlen(tname) + 30);
		*ret = v;
		/* a node remembered before the fault is not the object's */
		struct memo_entry *stale = memo_find(py, key);
		if (stale)
			stale->val = v;
		return NULL;
	}
	/* containers were remembered before their items; others now */
	struct memo_entry *m = memo_find(py, key);
	if (m && *ret && m->val != *ret)
		m->val = *ret; /* a renderer gave up after remembering */
	if (*ret && !m && !remember(py, st, addr, *ret, st->cost - before))
		return &tp_error_nomem;
	return NULL;
}

/* ---- for the renderers of pydecode.h ------------------------------------ */

bool py_charge(struct dstate *st, size_t n)
{
	return charge(st, n);
}

bool py_charge_text(struct dstate *st, const struct py_obj *o, size_t n)
{
	/*
	 * What the reads charged was bounded by the limit when it was
	 * charged (an overflow among them stays an overflow); the value's
	 * text replaces it, so a short repr made from long reads (a Thread's
	 * ident, a frame's file name read twice) is not counted too long.
	 */
	if (!st->overflow && st->cost > o->cost0)
		st->cost = o->cost0;
	return charge(st, n);
}

bool py_overflowed(const struct dstate *st)
{
	return st->overflow;
}

void py_attr_enter(struct dstate *st)
{
	st->attr_level++;
}

void py_attr_leave(struct dstate *st)
{
	st->attr_level--;
}

struct tp_error *py_decode_child(struct tp_python *py, struct dstate *st,
				 uint64_t addr, int depth,
				 struct tp_pyval **ret)
{
	*ret = NULL;
	if (depth + 1 >= MAX_DEPTH) {
		st->overflow = true;
		return NULL;
	}
	struct tp_error *err = decode(py, st, addr, depth + 1, ret);
	if (st->overflow)
		*ret = NULL;
	return err;
}

struct tp_error *py_decode_dict_part(struct tp_python *py, struct dstate *st,
				     uint64_t addr, int depth,
				     struct tp_pyval **ret)
{
	*ret = NULL;
	if (depth + 1 >= MAX_DEPTH) {
		st->overflow = true;
		return NULL;
	}
	struct tp_error *err = decode_dict(py, st, addr, "dict", depth, false,
					   ret);
	if (st->overflow)
		*ret = NULL;
	return err;
}

struct tp_pyval *py_new_node(struct tp_python *py, enum tp_pyval_kind kind,
			     uint64_t addr, const char *type_name)
{
	return new_node(py, kind, addr, type_name);
}

bool py_remember(struct tp_python *py, struct dstate *st, uint64_t addr,
		 struct tp_pyval *v, size_t cost)
{
	return remember(py, st, addr, v, cost);
}

struct tp_error *py_value(struct tp_python *py, uint64_t addr,
			  struct tp_pyval **ret)
{
	struct dstate st = {
		.limit = py->opts.max_repr ? py->opts.max_repr : SIZE_MAX,
	};
	struct tp_error *err = decode(py, &st, addr, 0, ret);
	if (!err && st.overflow) {
		/* forget the partial containers of this value */
		for (size_t i = 0; i < st.nmade; i++) {
			struct memo_entry *e = memo_find(py, st.made[i]);
			if (e)
				e->val = NULL;
		}
		uint64_t type = 0;
		const char *tname = "object";
		struct tp_error *terr = py_type_of(py, addr, &type);
		if (!terr)
			tname = py_type_name(py, type);
		tp_error_destroy(terr);
		struct tp_pyval *v = new_node(py, TP_PV_TOOLONG, addr, tname);
		uint64_t key = memo_key(py, &st, addr);
		if (!v || !memo_put(py, key, v, 0))
			err = &tp_error_nomem;
		else
			memo_find(py, key)->toolong = true;
		*ret = v;
	}
	free(st.made);
	return err;
}
