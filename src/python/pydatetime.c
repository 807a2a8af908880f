/* SPDX-License-Identifier: MIT */
/*
 * repr() of datetime.date, datetime, time, timedelta, timezone (the C
 * module _datetime, 2.7's datetime) and zoneinfo.ZoneInfo (_zoneinfo,
 * 3.9+), as Modules/_datetimemodule.c and _zoneinfo.c write them.
 *
 * Where the fields are.  These objects live in extension modules, whose
 * DWARF the layout record does not read (it reads libpython's).  Their
 * structures are the public C API of Include/datetime.h, which extension
 * modules compile against, so they cannot move between builds of a
 * version, and they have not changed since 2.7 (3.6 added the fold byte
 * in what was padding):
 *
 *   _PyTZINFO_HEAD  = PyObject_HEAD; Py_hash_t hashcode; char hastzinfo;
 *   date            = _PyTZINFO_HEAD; unsigned char data[4];
 *   datetime        = _PyTZINFO_HEAD; unsigned char data[10];
 *                     unsigned char fold; PyObject *tzinfo;
 *   time            = _PyTZINFO_HEAD; unsigned char data[6];
 *                     unsigned char fold; PyObject *tzinfo;
 *   timedelta       = PyObject_HEAD; Py_hash_t hashcode; int days, seconds,
 *                     microseconds;
 *   tzinfo          = PyObject_HEAD (timezone and ZoneInfo follow it with
 *                     PyObject *offset, *name and PyObject *key)
 *
 * so every offset below follows from the size of PyObject, which the
 * layout record gives (a Py_TRACE_REFS build moves them all alike).  The
 * tzinfo pointer exists only when hastzinfo is set.  Every field is
 * checked against its range (a month is 1..12...): a value out of range
 * means the object is not what its type says, and it prints unreadable.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "python/pytypes.h"

/* Offsets after PyObject_HEAD, from the structures above. */
#define DT_HASTZINFO 8
#define DT_DATA 9
#define DT_DATETIME_FOLD (DT_DATA + 10)
#define DT_DATETIME_TZINFO 24
#define DT_TIME_FOLD (DT_DATA + 6)
#define DT_TIME_TZINFO 16
#define DT_DELTA_DAYS 8
#define DT_DELTA_SECONDS 12
#define DT_DELTA_US 16
#define DT_TZ_OFFSET 0
#define DT_TZ_NAME 8
#define ZI_KEY 0
#define ZI_FILE_REPR 8

/* timedelta's limits (Modules/_datetimemodule.c) */
#define MAX_DELTA_DAYS 999999999

static uint64_t head(const struct tp_python *py)
{
	return (uint64_t)LOFF(py, SIZEOF_PYOBJECT);
}

/* Py_TYPE(self)->tp_name, which these reprs print. */
static struct tp_error *tp_name(struct tp_python *py, const struct py_obj *o,
				const char **ret)
{
	return py_raw_tp_name(py, o->type, ret);
}

/*
 * The end of a datetime or time repr: ", fold=1" when fold is set (3.6+),
 * then ", tzinfo=%R" when there is a tzinfo that is not None.
 */
static struct tp_error *finish(struct tp_python *py, struct dstate *st,
			       const struct py_obj *o, const char *text,
			       uint64_t fold_off, uint64_t tz_off,
			       struct tp_pyval **ret)
{
	uint8_t hastz, fold = 0;
	uint64_t tz = 0;
	struct tp_error *err;
	if ((err = py_read_u8(py, o->addr + head(py) + DT_HASTZINFO, &hastz)) ||
	    (py->caps->datetime_fold &&
	     (err = py_read_u8(py, o->addr + head(py) + fold_off, &fold))) ||
	    (hastz && (err = py_read_ptr(py, o->addr + head(py) + tz_off,
					 &tz))))
		return err;
	if (fold > 1)
		return tp_error_fault(o->addr, "bad fold");
	char tail[16];
	snprintf(tail, sizeof(tail), "%s", fold ? ", fold=1" : "");
	if (!tz || py_is_none(py, tz)) {
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, "%s%s)", text, tail);
		struct tp_error *e = tp_strbuf_error(&sb);
		if (!e)
			e = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
		tp_strbuf_deinit(&sb);
		return e;
	}
	size_t cost = strlen(text) + 10;
	if (!py_charge(st, cost))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, cost))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, tz, o->depth, &v)) || !v)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "%s%s, tzinfo=", text, tail);
	size_t k = 0;
	bool ok = !sb.failed && py_part(py, c, &k, tp_strbuf_str(&sb), v) &&
		  py_part(py, c, &k, ")", NULL);
	tp_strbuf_deinit(&sb);
	if (!ok)
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

static bool time_ok(const uint8_t *t)
{
	unsigned us = (unsigned)t[3] << 16 | (unsigned)t[4] << 8 | t[5];
	return t[0] < 24 && t[1] < 60 && t[2] < 60 && us < 1000000;
}

/*
 * date_repr: "%s(%d, %d, %d)"; datetime_repr: the same with hour and
 * minute, then second and microsecond only when not zero (microsecond
 * forces second); time_repr: "%s(%d, %d)" likewise.
 */
static struct tp_error *date_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, int kind,
				  struct tp_pyval **ret)
{
	uint8_t d[10];
	const char *name;
	struct tp_error *err;
	size_t len = kind == 0 ? 4 : kind == 1 ? 10 : 6;
	if ((err = py_read(py, o->addr + head(py) + DT_DATA, d, len)) ||
	    (err = tp_name(py, o, &name)))
		return err;
	char text[700];
	int n = snprintf(text, sizeof(text), "%s(", name);
	const uint8_t *t = d;
	if (kind <= 1) {
		unsigned year = (unsigned)d[0] << 8 | d[1];
		if (year < 1 || year > 9999 || d[2] < 1 || d[2] > 12 ||
		    d[3] < 1 || d[3] > 31)
			return tp_error_fault(o->addr, "bad date");
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%u, %u, %u",
			      year, d[2], d[3]);
		t = d + 4;
	}
	if (kind >= 1) {
		unsigned us = (unsigned)t[3] << 16 | (unsigned)t[4] << 8 | t[5];
		if (!time_ok(t))
			return tp_error_fault(o->addr, "bad time");
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%u, %u",
			      kind == 1 ? ", " : "", t[0], t[1]);
		if (us)
			snprintf(text + n, sizeof(text) - (size_t)n,
				 ", %u, %u", t[2], us);
		else if (t[2])
			snprintf(text + n, sizeof(text) - (size_t)n, ", %u",
				 t[2]);
	}
	if (kind == 0) {
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, "%s)", text);
		err = tp_strbuf_error(&sb);
		if (!err)
			err = py_text_node(py, st, o, tp_strbuf_str(&sb), ret);
		tp_strbuf_deinit(&sb);
		return err;
	}
	return finish(py, st, o, text, kind == 1 ? DT_DATETIME_FOLD
						 : DT_TIME_FOLD,
		      kind == 1 ? DT_DATETIME_TZINFO : DT_TIME_TZINFO, ret);
}

/*
 * delta_repr: 3.7+ "%s(days=%d, seconds=%d, microseconds=%d)" naming only
 * the fields that are not zero, "%s(0)" when all are; 2.7 and 3.6
 * "%s(%d, %d, %d)" dropping trailing zeros, "%s(%d)" at least.
 */
static void delta_text(const struct tp_python *py, const char *name,
		       int32_t d, int32_t s, int32_t us, char *out,
		       size_t size)
{
	int n = snprintf(out, size, "%s(", name);
	if (py->caps->timedelta_keyword_repr) {
		const char *sep = "";
		if (d) {
			n += snprintf(out + n, size - (size_t)n, "days=%d",
				      (int)d);
			sep = ", ";
		}
		if (s) {
			n += snprintf(out + n, size - (size_t)n,
				      "%sseconds=%d", sep, (int)s);
			sep = ", ";
		}
		if (us)
			n += snprintf(out + n, size - (size_t)n,
				      "%smicroseconds=%d", sep, (int)us);
		if (!d && !s && !us)
			n += snprintf(out + n, size - (size_t)n, "0");
	} else if (us) {
		n += snprintf(out + n, size - (size_t)n, "%d, %d, %d", (int)d,
			      (int)s, (int)us);
	} else if (s) {
		n += snprintf(out + n, size - (size_t)n, "%d, %d", (int)d,
			      (int)s);
	} else {
		n += snprintf(out + n, size - (size_t)n, "%d", (int)d);
	}
	snprintf(out + n, size - (size_t)n, ")");
}

static struct tp_error *delta_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	int32_t f[3];
	const char *name;
	struct tp_error *err;
	if ((err = py_read(py, o->addr + head(py) + DT_DELTA_DAYS, f,
			   sizeof(f))) ||
	    (err = tp_name(py, o, &name)))
		return err;
	if (f[0] < -MAX_DELTA_DAYS || f[0] > MAX_DELTA_DAYS || f[1] < 0 ||
	    f[1] >= 24 * 3600 || f[2] < 0 || f[2] >= 1000000)
		return tp_error_fault(o->addr, "bad timedelta");
	char text[700];
	delta_text(py, name, f[0], f[1], f[2], text, sizeof(text));
	return py_text_node(py, st, o, text, ret);
}

/*
 * timezone_repr: "%s.utc" for the UTC singleton (timezone.__dict__['utc']),
 * else "%s(%R)" of the offset, "%s(%R, %R)" with a name.
 */
static struct tp_error *timezone_repr(struct tp_python *py, struct dstate *st,
				      const struct py_obj *o,
				      struct tp_pyval **ret)
{
	uint64_t off, name;
	const char *tn;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + head(py) + DT_TZ_OFFSET, &off)) ||
	    (err = py_read_ptr(py, o->addr + head(py) + DT_TZ_NAME, &name)) ||
	    (err = tp_name(py, o, &tn)))
		return err;
	/*
	 * The UTC singleton: new_timezone() returns it for every timezone
	 * without a name whose offset is zero, so that is the test (the
	 * type's __dict__ holding it is kept apart from 3.13's static
	 * types).
	 */
	bool zero = false;
	if (!name) {
		int32_t f[3];
		uint64_t ot;
		if ((err = py_type_of(py, off, &ot)) ||
		    (err = py_read(py, off + head(py) + DT_DELTA_DAYS, f,
				   sizeof(f))))
			return err;
		if (strcmp(py_type_name(py, ot), "datetime.timedelta"))
			return tp_error_fault(o->addr, "offset not a timedelta");
		zero = !f[0] && !f[1] && !f[2];
	}
	if (zero) {
		char text[600];
		snprintf(text, sizeof(text), "%s.utc", tn);
		return py_text_node(py, st, o, text, ret);
	}
	size_t cost = strlen(tn) + 2;
	if (!py_charge(st, cost))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 3, NULL), *v, *nv = NULL;
	if (!c || !py_remember(py, st, o->addr, c, cost))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, off, o->depth, &v)) || !v ||
	    (name && ((err = py_decode_child(py, st, name, o->depth, &nv)) ||
		      !nv)))
		return err;
	char open[600];
	snprintf(open, sizeof(open), "%s(", tn);
	size_t k = 0;
	if (!py_part(py, c, &k, open, v) ||
	    (nv && !py_part(py, c, &k, ", ", nv)) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * zoneinfo_repr: "%s(key=%R)" with the key; a zone made from a file (key
 * None) "%s.from_file(%U)" with the file_repr it kept.
 */
static struct tp_error *zoneinfo_repr(struct tp_python *py, struct dstate *st,
				      const struct py_obj *o,
				      struct tp_pyval **ret)
{
	uint64_t key, file_repr;
	const char *tn;
	struct tp_error *err;
	if ((err = py_read_ptr(py, o->addr + head(py) + ZI_KEY, &key)) ||
	    (err = py_read_ptr(py, o->addr + head(py) + ZI_FILE_REPR,
			       &file_repr)) ||
	    (err = tp_name(py, o, &tn)))
		return err;
	if (!key)
		return tp_error_fault(o->addr, "ZoneInfo without key");
	if (py_is_none(py, key)) {
		const char *fr;
		if (!file_repr || (err = py_str_text(py, file_repr, 4096, &fr)))
			return err ? err : tp_error_create(TP_ERR_UNSUPPORTED,
							   "no file_repr");
		char text[5000];
		snprintf(text, sizeof(text), "%s.from_file(%s)", tn, fr);
		return py_text_node(py, st, o, text, ret);
	}
	if (!py_is_str(py, key))
		return tp_error_create(TP_ERR_UNSUPPORTED, "key not a str");
	size_t cost = strlen(tn) + 7;
	if (!py_charge(st, cost))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, cost))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, key, o->depth, &v)) || !v)
		return err;
	char open[600];
	snprintf(open, sizeof(open), "%s(key=", tn);
	size_t k = 0;
	if (!py_part(py, c, &k, open, v) || !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

struct tp_error *py_decode_datetime(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret, bool *handled)
{
	const char *b = o->base_name;
	if (!b || strncmp(b, "datetime.", 9) ||
	    !LHAS(py, SIZEOF_PYOBJECT)) {
		if (b && !strcmp(b, "zoneinfo.ZoneInfo")) {
			*handled = true;
			return zoneinfo_repr(py, st, o, ret);
		}
		return NULL;
	}
	*handled = true;
	if (!strcmp(b, "datetime.date"))
		return date_repr(py, st, o, 0, ret);
	if (!strcmp(b, "datetime.datetime"))
		return date_repr(py, st, o, 1, ret);
	if (!strcmp(b, "datetime.time"))
		return date_repr(py, st, o, 2, ret);
	if (!strcmp(b, "datetime.timedelta"))
		return delta_repr(py, st, o, ret);
	if (!strcmp(b, "datetime.timezone"))
		return timezone_repr(py, st, o, ret);
	*handled = false;
	return NULL;
}
