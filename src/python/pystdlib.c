/* SPDX-License-Identifier: MIT */
/*
 * Standard-library classes whose __repr__ is Python code: the text is
 * re-done from the object's state, as the Lib/ source of each version
 * writes it (the source line is quoted next to each renderer).
 *
 * A class is recognised by the class that defines type(obj).__repr__ (the
 * first of the MRO whose __dict__ has it), named as object.__repr__ names
 * it ("fractions.Fraction", "logging.Logger"), and the function found
 * there must be a Python function of that module: a subclass that keeps
 * the standard __repr__ prints like its base, one with its own __repr__
 * falls back to object.__repr__ (FORMAT.md).  Dataclasses are recognised
 * by their generated __repr__ (see dataclass_repr()).
 *
 * Everything read is checked for its type (a str where a str is expected,
 * an int...); anything else makes the repr unknown (TP_ERR_UNSUPPORTED:
 * the object prints as object.__repr__ does), never a guess.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pytypes.h"

/* Items (pairs, path segments, loggers up a hierarchy) one repr reads. */
#define MAX_PARTS 4096
/* Longest text read from a str that a repr prints as it is (%s). */
#define MAX_TEXT 65536


/* self.__class__.__name__ */
static struct tp_error *class_name(struct tp_python *py,
				   const struct py_obj *o, const char **ret)
{
	return py_type_short_name(py, o->type, ret);
}

/* An attribute that must be there: UNSUPPORTED when it is not. */
static struct tp_error *need_attr(struct tp_python *py, uint64_t obj,
				  const char *name, uint64_t *ret)
{
	struct tp_error *err = py_object_attr(py, obj, name, ret);
	if (!err && !*ret)
		err = tp_error_create(TP_ERR_UNSUPPORTED, "no attribute %s",
				      name);
	return err;
}

/* An attribute that is a str, as text. */
static struct tp_error *attr_text(struct tp_python *py, uint64_t obj,
				  const char *name, const char **ret)
{
	uint64_t v;
	struct tp_error *err = need_attr(py, obj, name, &v);
	return err ? err : py_str_text(py, v, MAX_TEXT, ret);
}

/* An attribute that is an int of 64 bits. */
static struct tp_error *attr_int(struct tp_python *py, uint64_t obj,
				 const char *name, int64_t *ret)
{
	uint64_t v;
	struct tp_error *err = need_attr(py, obj, name, &v);
	return err ? err : py_int64(py, v, ret);
}

/* bool(attr) for an attribute that is True or False. */
static struct tp_error *attr_bool(struct tp_python *py, uint64_t obj,
				  const char *name, bool *ret)
{
	uint64_t v;
	struct tp_error *err = need_attr(py, obj, name, &v);
	if (err)
		return err;
	if (v == py->target->sym[TP_SYM__Py_TrueStruct])
		*ret = true;
	else if (v == py->target->sym[TP_SYM__Py_FalseStruct] ||
		 (py->target->sym[TP_SYM__Py_ZeroStruct] &&
		  v == py->target->sym[TP_SYM__Py_ZeroStruct]))
		*ret = false;
	else
		return py_unsupported("not a bool");
	return NULL;
}

/* The str repr() of @text (ASCII-only texts; others: UNSUPPORTED). */
static struct tp_error *quote_ascii(struct tp_strbuf *sb, const char *text)
{
	bool sq = strchr(text, '\'') != NULL, dq = strchr(text, '"') != NULL;
	char q = sq && !dq ? '"' : '\'';
	tp_strbuf_putc(sb, q);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p >= 0x80)
			return py_unsupported("non-ASCII text");
		if (*p == q || *p == '\\')
			tp_strbuf_printf(sb, "\\%c", *p);
		else if (*p == '\n')
			tp_strbuf_puts(sb, "\\n");
		else if (*p == '\r')
			tp_strbuf_puts(sb, "\\r");
		else if (*p == '\t')
			tp_strbuf_puts(sb, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			tp_strbuf_printf(sb, "\\x%02x", *p);
		else
			tp_strbuf_putc(sb, (char)*p);
	}
	tp_strbuf_putc(sb, q);
	return NULL;
}

/* A TEXT node from a string buffer (freed here). */
/* ---- fractions.Fraction ------------------------------------------------ */

/*
 * 3.x: '%s(%s, %s)' % (self.__class__.__name__, self._numerator,
 *                      self._denominator)
 * 2.7: 'Fraction(%s, %s)' % (self._numerator, self._denominator)
 * %s of an int: its digits (a 2.7 long without the L).
 */
static struct tp_error *fraction_repr(struct tp_python *py, struct dstate *st,
				      const struct py_obj *o,
				      struct tp_pyval **ret)
{
	uint64_t num, den;
	const char *n, *d, *name = "Fraction";
	struct tp_error *err;
	if ((err = need_attr(py, o->addr, "_numerator", &num)) ||
	    (err = need_attr(py, o->addr, "_denominator", &den)) ||
	    (!py->caps->py2_objects && (err = class_name(py, o, &name))) ||
	    (err = py_int_digits(py, st, num, o->depth, &n)) || !n ||
	    (err = py_int_digits(py, st, den, o->depth, &d)) || !d)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "%s(%s, %s)", name, n, d);
	return py_strbuf_node(py, st, o, &sb, ret);
}

/* ---- uuid.UUID --------------------------------------------------------- */

/*
 * 3.x: '%s(%r)' % (self.__class__.__name__, str(self)); 2.7: 'UUID(%r)'
 * % str(self); str(): '%032x' % self.int cut 8-4-4-4-12.
 */
static struct tp_error *uuid_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, struct tp_pyval **ret)
{
	uint64_t iv;
	const char *digits, *name = "UUID";
	unsigned __int128 v;
	struct tp_error *err;
	if ((err = need_attr(py, o->addr, "int", &iv)) ||
	    (!py->caps->py2_objects && (err = class_name(py, o, &name))) ||
	    (err = py_int_digits(py, st, iv, o->depth, &digits)) || !digits)
		return err;
	if (!py_digits_u128(digits, &v))
		return py_unsupported("UUID int out of range");
	char hex[33];
	for (int i = 31; i >= 0; i--, v >>= 4)
		hex[i] = "0123456789abcdef"[(unsigned)(v & 15)];
	hex[32] = '\0';
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "%s('%.8s-%.4s-%.4s-%.4s-%.12s')", name, hex,
			 hex + 8, hex + 12, hex + 16, hex + 20);
	return py_strbuf_node(py, st, o, &sb, ret);
}

/* ---- ipaddress --------------------------------------------------------- */

/* _compress_hextets(): the longest run (> 1) of zero hextets becomes "::". */
static void ipv6_text(unsigned __int128 ip, struct tp_strbuf *sb)
{
	unsigned h[8];
	for (int i = 7; i >= 0; i--, ip >>= 16)
		h[i] = (unsigned)(ip & 0xffff);
	int best = -1, best_len = 0, start = -1, len = 0;
	for (int i = 0; i < 8; i++) {
		if (h[i] == 0) {
			if (start < 0)
				start = i;
			if (++len > best_len) {
				best_len = len;
				best = start;
			}
		} else {
			start = -1;
			len = 0;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			tp_strbuf_puts(sb, i == 0 ? "::" : ":");
			i += best_len - 1;
			if (i == 7)
				return;
			continue;
		}
		tp_strbuf_printf(sb, "%x%s", h[i], i < 7 ? ":" : "");
	}
}

static void ipv4_text(uint32_t ip, struct tp_strbuf *sb)
{
	tp_strbuf_printf(sb, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
			 (ip >> 8) & 255, ip & 255);
}

/*
 * str() of an IPv4Address or IPv6Address at @addr: _string_from_ip_int()
 * of _ip, for IPv6 (3.9+) "%" + _scope_id when it is set, and (3.13+)
 * "::ffff:d.d.d.d" for an IPv4-mapped address.
 */
static struct tp_error *ip_address_text(struct tp_python *py,
					struct dstate *st, uint64_t addr,
					int depth, struct tp_strbuf *sb)
{
	uint64_t ipobj, type, scope = 0;
	int64_t version;
	const char *digits;
	unsigned __int128 ip;
	uint64_t vobj;
	struct tp_error *err;
	/* the class's _version (3.14 names it version) */
	if ((err = py_type_of(py, addr, &type)) ||
	    (err = py_class_attr(py, type, "_version", &vobj)) ||
	    (!vobj && (err = py_class_attr(py, type, "version", &vobj))))
		return err;
	if (!vobj)
		return py_unsupported("no _version");
	if ((err = py_int64(py, vobj, &version)) ||
	    (err = need_attr(py, addr, "_ip", &ipobj)) ||
	    (err = py_int_digits(py, st, ipobj, depth, &digits)) || !digits)
		return err;
	if (!py_digits_u128(digits, &ip))
		return py_unsupported("address out of range");
	if (version == 4) {
		if (ip >> 32)
			return py_unsupported("IPv4 address out of range");
		ipv4_text((uint32_t)ip, sb);
		return NULL;
	}
	if (version != 6)
		return py_unsupported("unknown IP version");
	if (py->caps->ipv6_mapped_dotted && (ip >> 32) == 0xffff) {
		tp_strbuf_puts(sb, "::ffff:");
		ipv4_text((uint32_t)ip, sb);
	} else {
		ipv6_text(ip, sb);
	}
	if ((err = py_object_attr(py, addr, "_scope_id", &scope)))
		return err;
	if (scope && !py_is_none(py, scope)) {
		const char *s;
		if ((err = py_str_text(py, scope, MAX_TEXT, &s)))
			return err;
		if (*s)
			tp_strbuf_printf(sb, "%%%s", s);
	}
	return NULL;
}

/*
 * _BaseAddress.__repr__ and _BaseNetwork.__repr__: '%s(%r)' %
 * (self.__class__.__name__, str(self)).  str() of an address is above
 * (an IPv4Interface or IPv6Interface adds '/%d' % self._prefixlen); of a
 * network '%s/%d' % (self.network_address, self.prefixlen).
 */
static struct tp_error *ip_repr(struct tp_python *py, struct dstate *st,
				const struct py_obj *o, bool network,
				struct tp_pyval **ret)
{
	const char *name;
	uint64_t prefix = 0, naddr = o->addr;
	struct tp_error *err;
	struct tp_strbuf text = TP_STRBUF_INIT, sb = TP_STRBUF_INIT;
	if ((err = class_name(py, o, &name)) ||
	    (network && (err = need_attr(py, o->addr, "network_address",
					 &naddr))) ||
	    (err = py_object_attr(py, o->addr, "_prefixlen", &prefix)) ||
	    (err = ip_address_text(py, st, naddr, o->depth, &text)))
		goto out;
	if (network && !prefix) {
		err = py_unsupported("network without _prefixlen");
		goto out;
	}
	if (prefix) {
		int64_t p;
		if ((err = py_int64(py, prefix, &p)))
			goto out;
		tp_strbuf_printf(&text, "/%" PRId64, p);
	}
	if ((err = tp_strbuf_error(&text)))
		goto out;
	tp_strbuf_printf(&sb, "%s(", name);
	if ((err = quote_ascii(&sb, tp_strbuf_str(&text))))
		goto out;
	tp_strbuf_putc(&sb, ')');
	tp_strbuf_deinit(&text);
	return py_strbuf_node(py, st, o, &sb, ret);
out:
	tp_strbuf_deinit(&text);
	tp_strbuf_deinit(&sb);
	return err;
}

/* ---- pathlib ----------------------------------------------------------- */

/*
 * Whether a class named @name is in the MRO of @type: by object.__repr__'s
 * name when @name has a dot ("enum.Flag"), else by __name__.
 */
static struct tp_error *mro_has(struct tp_python *py, uint64_t type,
				const char *name, bool *ret)
{
	uint64_t *classes;
	size_t n;
	struct tp_error *err;
	*ret = false;
	if ((err = py_type_mro(py, type, &classes, &n)))
		return err;
	for (size_t i = 0; i < n && !*ret; i++) {
		const char *cn = py_type_name(py, classes[i]);
		if (!strchr(name, '.') &&
		    (err = py_type_short_name(py, classes[i], &cn)))
			return err;
		*ret = !strcmp(cn, name);
	}
	return NULL;
}

/* The str items of the list or tuple at @addr, as texts. */
static struct tp_error *str_items(struct tp_python *py, uint64_t addr,
				  const char ***ret, size_t *ret_n)
{
	uint64_t type, *ptrs;
	size_t n;
	struct tp_error *err;
	if ((err = py_type_of(py, addr, &type)))
		return err;
	enum tp_pyval_kind kind;
	if (type == py->target->sym[TP_SYM_PyList_Type])
		kind = TP_PV_LIST;
	else if (type == py->target->sym[TP_SYM_PyTuple_Type])
		kind = TP_PV_TUPLE;
	else
		return py_unsupported("not a list");
	if ((err = py_seq_ptrs(py, addr, kind, &ptrs, &n)))
		return err;
	if (n > MAX_PARTS)
		return py_unsupported("too many parts");
	const char **t = tp_pyval_arena_calloc(py->arena, n ? n : 1,
					       sizeof(*t));
	if (!t)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++)
		if ((err = py_str_text(py, ptrs[i], MAX_TEXT, &t[i])))
			return err;
	*ret = t;
	*ret_n = n;
	return NULL;
}

/*
 * A POSIX path's text from its segments (3.12+, before str() cached it):
 * os.path.join(*_raw_paths), then _parse_path(): splitroot ("/" or,
 * exactly two leading slashes, "//"), the parts that are neither empty nor
 * "."; str() = root + "/".join(parts), or "." when empty.
 */
static void posix_from_raw(const char **raw, size_t n, struct tp_strbuf *sb)
{
	struct tp_strbuf joined = TP_STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (raw[i][0] == '/')
			tp_strbuf_truncate(&joined, 0);
		else if (joined.len && tp_strbuf_str(&joined)[joined.len - 1] != '/')
			tp_strbuf_putc(&joined, '/');
		tp_strbuf_puts(&joined, raw[i]);
	}
	const char *p = tp_strbuf_str(&joined);
	const char *root = "";
	if (p[0] == '/') {
		root = p[1] == '/' && p[2] != '/' ? "//" : "/";
		while (*p == '/')
			p++;
	}
	size_t start = sb->len;
	tp_strbuf_puts(sb, root);
	bool first = true;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l && !(l == 1 && p[0] == '.')) {
			if (!first)
				tp_strbuf_putc(sb, '/');
			tp_strbuf_append(sb, p, l);
			first = false;
		}
		p += l;
		if (*p == '/')
			p++;
	}
	if (sb->len == start)
		tp_strbuf_putc(sb, '.');
	tp_strbuf_deinit(&joined);
}

/*
 * "{}({!r})".format(self.__class__.__name__, self.as_posix()) for the
 * POSIX and Windows flavours (PurePosixPath or PureWindowsPath in the
 * MRO); as_posix() is str() with '\\' made '/'.  str() is _str once
 * computed; else 3.6-3.11 _format_parsed_parts(_drv, _root, _parts):
 * drv + root + "/".join(parts[1:]) with a root, "/".join(parts) without;
 * 3.12+ from _drv/_root/_tail_cached when parsed, else _raw_paths (POSIX
 * only: a Windows path not parsed yet is unknown).
 */
static struct tp_error *path_repr(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o, struct tp_pyval **ret)
{
	const char *name, *s = NULL, **parts;
	uint64_t str_obj, parts_obj, tail_obj, raw_obj;
	size_t n;
	bool posix, windows = false;
	struct tp_error *err;
	struct tp_strbuf text = TP_STRBUF_INIT, sb = TP_STRBUF_INIT;
	if ((err = mro_has(py, o->type, "PurePosixPath", &posix)) ||
	    (!posix &&
	     (err = mro_has(py, o->type, "PureWindowsPath", &windows))) ||
	    (err = class_name(py, o, &name)))
		return err;
	if (!posix && !windows)
		return py_unsupported("a path of another flavour");
	if ((err = py_object_attr(py, o->addr, "_str", &str_obj)))
		return err;
	if (str_obj && (err = py_str_text(py, str_obj, MAX_TEXT, &s)))
		return err;
	if (s) {
		tp_strbuf_puts(&text, s);
	} else {
		const char *drv = "", *root = "";
		if ((err = py_object_attr(py, o->addr, "_parts", &parts_obj)) ||
		    (err = py_object_attr(py, o->addr, "_tail_cached",
					  &tail_obj)) ||
		    (err = py_object_attr(py, o->addr, "_raw_paths",
					  &raw_obj)))
			goto out;
		uint64_t list = parts_obj ? parts_obj : tail_obj;
		if (list && ((err = attr_text(py, o->addr, "_drv", &drv)) ||
			     (err = attr_text(py, o->addr, "_root", &root))))
			goto out;
		if (list) {
			if ((err = str_items(py, list, &parts, &n)))
				goto out;
			/* 3.6-3.11 parts start with drv + root when rooted */
			size_t first = parts_obj && (*drv || *root) ? 1 : 0;
			tp_strbuf_printf(&text, "%s%s", drv, root);
			for (size_t i = first; i < n; i++)
				tp_strbuf_printf(&text, "%s%s",
						 i > first ? "/" : "",
						 parts[i]);
			if (!text.len)
				tp_strbuf_putc(&text, '.');
		} else if (raw_obj && windows) {
			/* not parsed yet: ntpath's rules are not re-done */
			err = py_unsupported("Windows path not parsed yet");
			goto out;
		} else if (raw_obj) {
			if ((err = str_items(py, raw_obj, &parts, &n)))
				goto out;
			posix_from_raw(parts, n, &text);
		} else {
			err = py_unsupported("path without parts");
			goto out;
		}
	}
	if ((err = tp_strbuf_error(&text)))
		goto out;
	/* as_posix(): str() with the flavour's separator made '/' */
	for (size_t i = 0; windows && i < text.len; i++)
		if (text.str[i] == '\\')
			text.str[i] = '/';
	tp_strbuf_printf(&sb, "%s(", name);
	if ((err = quote_ascii(&sb, tp_strbuf_str(&text))))
		goto out;
	tp_strbuf_putc(&sb, ')');
	tp_strbuf_deinit(&text);
	return py_strbuf_node(py, st, o, &sb, ret);
out:
	tp_strbuf_deinit(&text);
	tp_strbuf_deinit(&sb);
	return err;
}

/* ---- logging ----------------------------------------------------------- */

struct int_key {
	struct tp_python *py;
	int64_t key;
	uint64_t found;
};

static bool int_key_cb(void *arg, uint64_t key, uint64_t value)
{
	struct int_key *k = arg;
	int64_t v;
	struct tp_error *err = py_int64(k->py, key, &v);
	if (err) {
		tp_error_destroy(err);
		return true;
	}
	if (v == k->key) {
		k->found = value;
		return false;
	}
	return true;
}

/* The value of int key @key in dict @dict (0: absent). */
static struct tp_error *dict_get_int(struct tp_python *py, uint64_t dict,
				     int64_t key, uint64_t *ret)
{
	struct int_key k = { py, key, 0 };
	struct tp_error *err = py_dict_iter(py, dict, int_key_cb, &k);
	*ret = k.found;
	return err;
}

/*
 * getLevelName(level): _levelToName.get(level) (the module's globals: the
 * ones of the __repr__ function), else (an int is no key of _nameToLevel)
 * "Level %s" % level.
 */
static struct tp_error *level_name(struct tp_python *py, uint64_t func,
				   int64_t level, struct tp_strbuf *sb)
{
	uint64_t globals, names, name = 0;
	const char *text;
	struct tp_error *err;
	if ((err = py_function_globals(py, func, &globals)))
		return err;
	if (!globals)
		return py_unsupported("no globals");
	if ((err = py_dict_get_str(py, globals, "_levelToName", &names)))
		return err;
	if (!names)
		return py_unsupported("no _levelToName");
	uint64_t type;
	if ((err = py_type_of(py, names, &type)))
		return err;
	if (type != py->target->sym[TP_SYM_PyDict_Type])
		return py_unsupported("_levelToName not a dict");
	if ((err = dict_get_int(py, names, level, &name)))
		return err;
	if (!name) {
		tp_strbuf_printf(sb, "Level %" PRId64, level);
		return NULL;
	}
	if ((err = py_str_text(py, name, MAX_TEXT, &text)))
		return err;
	tp_strbuf_puts(sb, text);
	return NULL;
}

/*
 * Logger.__repr__ (3.x): '<%s %s (%s)>' % (self.__class__.__name__,
 * self.name, getLevelName(self.getEffectiveLevel())); getEffectiveLevel()
 * walks .parent up to the first logger whose .level is not 0 (NOTSET).
 * Handler.__repr__: '<%s (%s)>' % (self.__class__.__name__,
 * getLevelName(self.level)).
 */
static struct tp_error *logger_repr(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o, uint64_t func,
				    bool handler, struct tp_pyval **ret)
{
	const char *name, *lname = NULL;
	int64_t level = 0;
	uint64_t logger = o->addr;
	struct tp_error *err;
	if ((err = class_name(py, o, &name)) ||
	    (!handler && (err = attr_text(py, o->addr, "name", &lname))))
		return err;
	for (int i = 0; logger && !py_is_none(py, logger); i++) {
		if (i == MAX_PARTS)
			return tp_error_fault(o->addr, "loggers in a loop");
		if ((err = attr_int(py, logger, "level", &level)))
			return err;
		if (level || handler)
			break;
		if ((err = need_attr(py, logger, "parent", &logger)))
			return err;
	}
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s%s%s (", name, lname ? " " : "",
			 lname ? lname : "");
	if ((err = level_name(py, func, level, &sb))) {
		tp_strbuf_deinit(&sb);
		return err;
	}
	tp_strbuf_puts(&sb, ")>");
	return py_strbuf_node(py, st, o, &sb, ret);
}

/* ---- threading --------------------------------------------------------- */

/* Whether the _thread.lock at @lock is held (its C struct's "locked"). */
static struct tp_error *lock_held(struct tp_python *py, uint64_t lock,
				  bool *ret)
{
	uint64_t type;
	uint8_t locked;
	struct tp_error *err;
	if ((err = py_type_of(py, lock, &type)))
		return err;
	const char *tn = py_type_name(py, type);
	if (strcmp(tn, "_thread.lock") && strcmp(tn, "thread.lock"))
		return py_unsupported("not a lock");
	if (LHAS(py, LOCK_LOCKED))
		err = py_read_u8(py, lock + LOFF(py, LOCK_LOCKED), &locked);
	else if (LHAS(py, LOCK_MUTEX))
		err = py_read_u8(py, lock + LOFF(py, LOCK_MUTEX), &locked);
	else
		return py_unsupported("no lock layout");
	if (err)
		return err;
	*ret = LHAS(py, LOCK_LOCKED) ? locked != 0 : (locked & 1) != 0;
	return NULL;
}

/*
 * Thread.__repr__: "<%s(%s, %s)>" % (self.__class__.__name__, self._name,
 * status), status "initial", "started" (self._started.is_set()) or
 * "stopped", then " daemon", then " %s" % self._ident.  Stopped: 2.7
 * self.__stopped; 3.6-3.12 self._is_stopped, or what is_alive() finds
 * first: a started thread whose _tstate_lock is no longer held.  3.13+
 * asks self._handle.is_done() (3.14+: self._os_thread_handle): the
 * _thread._ThreadHandle's C handle has
 * its thread_is_exiting event set (_PyEvent_IsSet: the byte is
 * _Py_LOCKED, 1).
 */
static struct tp_error *handle_done(struct tp_python *py, uint64_t thread,
				    bool *ret)
{
	uint64_t hobj, htype, handle;
	const char *tn;
	uint8_t ev;
	struct tp_error *err;
	if (!LHAS(py, THANDLE_HANDLE) || !LHAS(py, THANDLE_EXITING))
		return py_unsupported("no thread handle layout");
	const char *attr = py->caps->thread_handle_attr_os ? "_os_thread_handle"
							   : "_handle";
	if ((err = need_attr(py, thread, attr, &hobj)) ||
	    (err = py_type_of(py, hobj, &htype)) ||
	    (err = py_raw_tp_name(py, htype, &tn)))
		return err;
	if (strcmp(tn, "_thread._ThreadHandle"))
		return py_unsupported("not a _ThreadHandle");
	if ((err = py_read_ptr(py, hobj + LOFF(py, THANDLE_HANDLE),
			       &handle)))
		return err;
	if (!handle)
		return py_unsupported("_ThreadHandle without handle");
	if ((err = py_read_u8(py, handle + LOFF(py, THANDLE_EXITING), &ev)))
		return err;
	*ret = ev == 1;
	return NULL;
}

static struct tp_error *thread_repr(struct tp_python *py, struct dstate *st,
				    const struct py_obj *o,
				    struct tp_pyval **ret)
{
	bool py2 = py->caps->py2_objects;
	const char *name, *tname;
	uint64_t started, ident;
	bool is_set, stopped, daemon;
	struct tp_error *err;
	bool handle = py->caps->thread_handle_state;
	if ((err = class_name(py, o, &name)) ||
	    (err = attr_text(py, o->addr, py2 ? "_Thread__name" : "_name",
			     &tname)) ||
	    (err = need_attr(py, o->addr, py2 ? "_Thread__started" : "_started",
			     &started)) ||
	    (err = attr_bool(py, started, py2 ? "_Event__flag" : "_flag",
			     &is_set)) ||
	    (err = handle ? handle_done(py, o->addr, &stopped)
			  : attr_bool(py, o->addr,
				      py2 ? "_Thread__stopped" : "_is_stopped",
				      &stopped)) ||
	    (err = attr_bool(py, o->addr,
			     py2 ? "_Thread__daemonic" : "_daemonic",
			     &daemon)) ||
	    (err = need_attr(py, o->addr, py2 ? "_Thread__ident" : "_ident",
			     &ident)))
		return err;
	if (!py2 && !handle && !stopped && is_set) {
		uint64_t lock;
		bool held = true;
		if ((err = py_object_attr(py, o->addr, "_tstate_lock", &lock)))
			return err;
		if (lock && !py_is_none(py, lock)) {
			if ((err = lock_held(py, lock, &held)))
				return err;
			stopped = !held;
		}
	}
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s(%s, %s%s", name, tname,
			 stopped ? "stopped" : is_set ? "started" : "initial",
			 daemon ? " daemon" : "");
	if (!py_is_none(py, ident)) {
		const char *digits;
		if ((err = py_int_digits(py, st, ident, o->depth, &digits)) ||
		    !digits) {
			tp_strbuf_deinit(&sb);
			return err;
		}
		tp_strbuf_printf(&sb, " %s", digits);
	}
	tp_strbuf_puts(&sb, ")>");
	return py_strbuf_node(py, st, o, &sb, ret);
}

/*
 * Event.__repr__ (3.11+): f"<{cls.__module__}.{cls.__qualname__} at
 * {id(self):#x}: {status}>", status 'set' or 'unset' from self._flag.
 */
static struct tp_error *event_repr(struct tp_python *py, struct dstate *st,
				   const struct py_obj *o,
				   struct tp_pyval **ret)
{
	bool flag;
	struct tp_error *err = attr_bool(py, o->addr, "_flag", &flag);
	if (err)
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s at 0x%" PRIx64 ": %s>", o->tname, o->addr,
			 flag ? "set" : "unset");
	return py_strbuf_node(py, st, o, &sb, ret);
}

/*
 * BaseEventLoop.__repr__ (asyncio/base_events.py, 3.6+):
 * '<%s running=%s closed=%s debug=%s>' % (self.__class__.__name__,
 * self.is_running(), self.is_closed(), self.get_debug()), which return
 * self._thread_id is not None, self._closed and self._debug; only while
 * the class keeps BaseEventLoop's three methods (@owner's).
 */
static struct tp_error *event_loop_repr(struct tp_python *py,
					struct dstate *st,
					const struct py_obj *o, uint64_t owner,
					struct tp_pyval **ret)
{
	static const char *const methods[] = { "is_running", "is_closed",
					       "get_debug" };
	uint64_t tid, dict, mine, theirs;
	bool closed, debug;
	const char *name;
	struct tp_error *err;
	if ((err = py_read_ptr(py, owner + LOFF(py, TP_DICT), &dict)))
		return err;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if ((err = py_class_attr(py, o->type, methods[i], &mine)) ||
		    (err = py_dict_get_str(py, dict, methods[i], &theirs)))
			return err;
		if (!mine || mine != theirs)
			return py_unsupported("event loop method overridden");
	}
	if ((err = need_attr(py, o->addr, "_thread_id", &tid)) ||
	    (err = attr_bool(py, o->addr, "_closed", &closed)) ||
	    (err = attr_bool(py, o->addr, "_debug", &debug)) ||
	    (err = class_name(py, o, &name)))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s running=%s closed=%s debug=%s>", name,
			 py_is_none(py, tid) ? "False" : "True",
			 closed ? "True" : "False", debug ? "True" : "False");
	return py_strbuf_node(py, st, o, &sb, ret);
}

/*
 * Condition.__repr__: "<Condition(%s, %d)>" % (self._lock,
 * len(self._waiters)) (2.7: the mangled self.__lock, self.__waiters); the
 * waiters are a deque (3.x) or a list (2.7): len() is their ob_size.
 */
static struct tp_error *condition_repr(struct tp_python *py,
				       struct dstate *st,
				       const struct py_obj *o,
				       struct tp_pyval **ret)
{
	bool py2 = py->caps->py2_objects;
	uint64_t lock, waiters, wtype;
	int64_t n;
	struct tp_error *err;
	if ((err = need_attr(py, o->addr, py2 ? "_Condition__lock" : "_lock",
			     &lock)) ||
	    (err = need_attr(py, o->addr,
			     py2 ? "_Condition__waiters" : "_waiters",
			     &waiters)) ||
	    (err = py_type_of(py, waiters, &wtype)))
		return err;
	const char *wn = py_type_name(py, wtype);
	if (strcmp(wn, "collections.deque") && strcmp(wn, "list"))
		return py_unsupported("waiters neither a deque nor a list");
	if ((err = py_read_i64(py, waiters + LOFF(py, OB_SIZE), &n)))
		return err;
	if (n < 0 || n > (int64_t)PY_MAX_ITEMS)
		return tp_error_fault(waiters, "bad waiters");
	if (!py_charge(st, 17))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, 2, NULL), *v;
	if (!c || !py_remember(py, st, o->addr, c, 17))
		return &tp_error_nomem;
	if ((err = py_decode_child(py, st, lock, o->depth, &v)) || !v)
		return err;
	char tail[40];
	snprintf(tail, sizeof(tail), ", %" PRId64 ")>", n);
	size_t k = 0;
	if (!py_part(py, c, &k, "<Condition(", v) ||
	    !py_part(py, c, &k, tail, NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * 2.7 _RLock.__repr__: "<%s owner=%r count=%d>" % (self.__class__.__name__,
 * owner, self.__count), owner being _active[self.__owner].name when the
 * owner's ident is a key of threading._active, else self.__owner itself.
 */
static struct tp_error *rlock27_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o, uint64_t func,
				     struct tp_pyval **ret)
{
	uint64_t owner, globals, active, thread = 0;
	int64_t count;
	const char *name;
	struct tp_error *err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	if ((err = class_name(py, o, &name)) ||
	    (err = need_attr(py, o->addr, "_RLock__owner", &owner)) ||
	    (err = attr_int(py, o->addr, "_RLock__count", &count)))
		return err;
	tp_strbuf_printf(&sb, "<%s owner=", name);
	if (py_is_none(py, owner)) {
		tp_strbuf_puts(&sb, "None");
	} else {
		int64_t ident;
		const char *tname;
		if ((err = py_int64(py, owner, &ident)) ||
		    (err = py_function_globals(py, func, &globals)) ||
		    !globals ||
		    (err = py_dict_get_str(py, globals, "_active", &active)) ||
		    !active || (err = dict_get_int(py, active, ident, &thread)))
			goto fail;
		if (thread) {
			if ((err = attr_text(py, thread, "_Thread__name",
					     &tname)) ||
			    (err = quote_ascii(&sb, tname)))
				goto fail;
		} else {
			tp_strbuf_printf(&sb, "%" PRId64, ident);
		}
	}
	tp_strbuf_printf(&sb, " count=%" PRId64 ">", count);
	return py_strbuf_node(py, st, o, &sb, ret);
fail:
	tp_strbuf_deinit(&sb);
	return err ? err : py_unsupported("no threading._active");
}

/* ---- collections.Counter, ChainMap, 2.7 OrderedDict ------------------- */

/* Compare two decimal digit strings as integers. */
static int cmp_digits(const char *a, const char *b)
{
	bool na = *a == '-', nb = *b == '-';
	if (na != nb)
		return na ? -1 : 1;
	size_t la = strlen(a), lb = strlen(b);
	int c = la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
	return na ? -c : c;
}

/*
 * Counter.__repr__: '%s()' when empty; else the items of most_common():
 * sorted(self.items(), key=itemgetter(1), reverse=True), a stable sort
 * (equal counts keep the dict's order), written as a dict: 3.10+
 * f'{...}({dict(self.most_common())!r})', before '%s({%s})' with the
 * items '%r: %r' -- the same text.  Counts that are not all ints could
 * sort otherwise or raise: not done.
 */
static struct tp_error *counter_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	uint64_t *kv;
	size_t n;
	const char *name;
	struct tp_error *err;
	if ((err = py_dict_pairs(py, o->addr, &kv, &n)) ||
	    (err = class_name(py, o, &name)))
		return err;
	if (!n) {
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, "%s()", name);
		return py_strbuf_node(py, st, o, &sb, ret);
	}
	if (!py_charge(st, strlen(name) + 2 + 6 * n))
		return NULL;
	const char **counts = tp_pyval_arena_calloc(py->arena, n,
						    sizeof(*counts));
	size_t *order = tp_pyval_arena_calloc(py->arena, n, sizeof(*order));
	if (!counts || !order)
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		if ((err = py_int_digits(py, st, kv[2 * i + 1], o->depth,
					 &counts[i])) || !counts[i])
			return err;
		order[i] = i;
	}
	/* insertion sort: stable, descending */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 &&
		     cmp_digits(counts[order[j - 1]], counts[order[j]]) < 0;
		     j--) {
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	struct tp_pyval *c = py_composite(py, o, 2, NULL);
	struct tp_pyval *d = py_synthetic(py, TP_PV_DICT, n);
	if (!c || !d || !py_remember(py, st, o->addr, c, strlen(name) + 2))
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		size_t j = order[i];
		if ((err = py_decode_child(py, st, kv[2 * j], o->depth,
					   &d->u.dict.keys[i])) ||
		    !d->u.dict.keys[i] ||
		    (err = py_decode_child(py, st, kv[2 * j + 1], o->depth,
					   &d->u.dict.values[i])) ||
		    !d->u.dict.values[i])
			return err;
	}
	char open[600];
	snprintf(open, sizeof(open), "%s(", name);
	size_t k = 0;
	if (!py_part(py, c, &k, open, d) || !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * ChainMap.__repr__ (@recursive_repr()): '%s(%s)' %
 * (self.__class__.__name__, ', '.join(map(repr, self.maps))).
 */
static struct tp_error *chainmap_repr(struct tp_python *py, struct dstate *st,
				      const struct py_obj *o,
				      struct tp_pyval **ret)
{
	uint64_t maps, type, *ptrs;
	size_t n;
	const char *name;
	struct tp_error *err;
	if ((err = need_attr(py, o->addr, "maps", &maps)) ||
	    (err = py_type_of(py, maps, &type)) ||
	    (err = class_name(py, o, &name)))
		return err;
	if (type != py->target->sym[TP_SYM_PyList_Type])
		return py_unsupported("maps not a list");
	if ((err = py_seq_ptrs(py, maps, TP_PV_LIST, &ptrs, &n)))
		return err;
	if (!py_charge(st, strlen(name) + 2 + 4 * n))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, n + 1, "...");
	if (!c || !py_remember(py, st, o->addr, c, strlen(name) + 2 + 4 * n))
		return &tp_error_nomem;
	size_t k = 0;
	char open[600];
	snprintf(open, sizeof(open), "%s(", name);
	for (size_t i = 0; i < n; i++) {
		struct tp_pyval *v;
		if ((err = py_decode_child(py, st, ptrs[i], o->depth, &v)) || !v)
			return err;
		if (!py_part(py, c, &k, i ? ", " : open, v))
			return &tp_error_nomem;
	}
	if ((!n && !py_part(py, c, &k, open, NULL)) ||
	    !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/*
 * 2.7 OrderedDict.__repr__: '...' when met again; '%s()' when empty; else
 * '%s(%r)' % (self.__class__.__name__, self.items()), the items in the
 * order of the links self.__root = [PREV, NEXT, KEY] (each link a list of
 * three), values from the dict itself.
 */
static struct tp_error *odict27_repr(struct tp_python *py, struct dstate *st,
				     const struct py_obj *o,
				     struct tp_pyval **ret)
{
	uint64_t root, *kv, list = py->target->sym[TP_SYM_PyList_Type];
	size_t n;
	const char *name;
	struct tp_error *err;
	if ((err = need_attr(py, o->addr, "_OrderedDict__root", &root)) ||
	    (err = py_dict_pairs(py, o->addr, &kv, &n)) ||
	    (err = class_name(py, o, &name)))
		return err;
	if (!n) {
		struct tp_strbuf sb = TP_STRBUF_INIT;
		tp_strbuf_printf(&sb, "%s()", name);
		return py_strbuf_node(py, st, o, &sb, ret);
	}
	if (!py_charge(st, strlen(name) + 4 + 8 * n))
		return NULL;
	uint64_t *order = tp_pyval_arena_calloc(py->arena, n, 2 * 8);
	if (!order)
		return &tp_error_nomem;
	uint64_t link = root;
	size_t m = 0;
	for (;; m++) {
		uint64_t type, *f;
		size_t nf;
		if ((err = py_type_of(py, link, &type)))
			return err;
		if (type != list)
			return py_unsupported("link not a list");
		if ((err = py_seq_ptrs(py, link, TP_PV_LIST, &f, &nf)))
			return err;
		if (nf != 3)
			return tp_error_fault(link, "bad OrderedDict link");
		if (m > 0) {
			size_t j = 0;
			while (j < n && kv[2 * j] != f[2])
				j++;
			if (j == n || m > n)
				return tp_error_fault(o->addr,
						      "OrderedDict links != dict");
			order[2 * (m - 1)] = f[2];
			order[2 * (m - 1) + 1] = kv[2 * j + 1];
		}
		link = f[1];
		if (link == root)
			break;
	}
	if (m != n)
		return tp_error_fault(o->addr, "OrderedDict links != dict");
	struct tp_pyval *c = py_composite(py, o, 2, "...");
	struct tp_pyval *l = py_synthetic(py, TP_PV_LIST, n);
	if (!c || !l || !py_remember(py, st, o->addr, c, strlen(name) + 4 + 8 * n))
		return &tp_error_nomem;
	for (size_t i = 0; i < n; i++) {
		struct tp_pyval *pair = py_synthetic(py, TP_PV_TUPLE, 2);
		if (!pair)
			return &tp_error_nomem;
		if ((err = py_decode_child(py, st, order[2 * i], o->depth,
					   &pair->u.seq.items[0])) ||
		    !pair->u.seq.items[0] ||
		    (err = py_decode_child(py, st, order[2 * i + 1], o->depth,
					   &pair->u.seq.items[1])) ||
		    !pair->u.seq.items[1])
			return err;
		l->u.seq.items[i] = pair;
	}
	char open[600];
	snprintf(open, sizeof(open), "%s(", name);
	size_t k = 0;
	if (!py_part(py, c, &k, open, l) || !py_part(py, c, &k, ")", NULL))
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- dataclasses ------------------------------------------------------- */

/*
 * Whether @func is the __repr__ dataclasses generates: a function named
 * "wrapper" (the recursion guard: dataclasses._recursive_repr in
 * 3.7-3.12, reprlib.recursive_repr() from 3.13) made in that module, that
 * wraps a "__repr__" (its __wrapped__).
 */
static struct tp_error *is_dataclass_repr(struct tp_python *py, uint64_t func,
					  bool *ret)
{
	uint64_t globals, modname, code, co_name, fdict, wrapped = 0;
	const char *mod, *cname, *m2, *q2;
	struct tp_error *err;
	*ret = false;
	if (!LHAS(py, FUNC_CODE) || !LHAS(py, FUNC_DICT))
		return NULL;
	if ((err = py_function_globals(py, func, &globals)) || !globals ||
	    (err = py_dict_get_str(py, globals, "__name__", &modname)) ||
	    !modname || (err = py_str_text(py, modname, 64, &mod)))
		return err;
	if (strcmp(mod, "dataclasses") && strcmp(mod, "reprlib"))
		return NULL;
	if ((err = py_read_ptr(py, func + LOFF(py, FUNC_CODE), &code)) ||
	    (err = py_read_ptr(py, code + LOFF(py, CO_NAME), &co_name)) ||
	    (err = py_str_text(py, co_name, 64, &cname)))
		return err;
	if (strcmp(cname, "wrapper"))
		return NULL;
	if ((err = py_read_ptr(py, func + LOFF(py, FUNC_DICT), &fdict)) ||
	    !fdict ||
	    (err = py_dict_get_str(py, fdict, "__wrapped__", &wrapped)) ||
	    !wrapped || (err = py_function_names(py, wrapped, &m2, &q2)) || !q2)
		return err;
	size_t l = strlen(q2);
	*ret = l >= 8 && !strcmp(q2 + l - 8, "__repr__");
	return NULL;
}

/*
 * The generated __repr__: self.__class__.__qualname__ + "(" + ", ".join(
 * f"{f.name}={self.<name>!r}") + ")" over the fields of @owner's
 * __dataclass_fields__ that are fields (f._field_type is _FIELD, whose
 * name is "_FIELD") with f.repr true, in their order; "..." when met
 * again.
 */
static struct tp_error *dataclass_repr(struct tp_python *py, struct dstate *st,
				       const struct py_obj *o, uint64_t owner,
				       struct tp_pyval **ret)
{
	uint64_t odict, fields, *kv, q;
	size_t n;
	const char *qual;
	struct tp_error *err;
	if (!LHAS(py, HT_QUALNAME))
		return py_unsupported("no qualname");
	if ((err = py_read_ptr(py, owner + LOFF(py, TP_DICT), &odict)) ||
	    (err = py_dict_get_str(py, odict, "__dataclass_fields__",
				   &fields)))
		return err;
	if (!fields)
		return py_unsupported("no __dataclass_fields__");
	if ((err = py_dict_pairs(py, fields, &kv, &n)) ||
	    (err = py_read_ptr(py, o->type + LOFF(py, HT_QUALNAME), &q)) ||
	    (err = py_str_text(py, q, MAX_TEXT, &qual)))
		return err;
	if (n > MAX_PARTS)
		return py_unsupported("too many fields");
	const char **names = tp_pyval_arena_calloc(py->arena, n ? n : 1,
						   sizeof(*names));
	uint64_t *vals = tp_pyval_arena_calloc(py->arena, n ? n : 1, 8);
	if (!names || !vals)
		return &tp_error_nomem;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t f = kv[2 * i + 1], ftype;
		const char *fname, *tname;
		bool show;
		if ((err = attr_text(py, f, "name", &fname)) ||
		    (err = need_attr(py, f, "_field_type", &ftype)) ||
		    (err = attr_text(py, ftype, "name", &tname)))
			return err;
		if (strcmp(tname, "_FIELD"))
			continue;
		if ((err = attr_bool(py, f, "repr", &show)))
			return err;
		if (!show)
			continue;
		/* an unset attribute makes the repr raise */
		if ((err = need_attr(py, o->addr, fname, &vals[m])))
			return err;
		names[m++] = fname;
	}
	size_t cost = strlen(qual) + 2 + 4 * m;
	if (!py_charge(st, cost))
		return NULL;
	struct tp_pyval *c = py_composite(py, o, m + 1, "...");
	if (!c || !py_remember(py, st, o->addr, c, cost))
		return &tp_error_nomem;
	size_t k = 0;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	for (size_t i = 0; i < m; i++) {
		struct tp_pyval *v;
		if ((err = py_decode_child(py, st, vals[i], o->depth, &v)) ||
		    !v) {
			tp_strbuf_deinit(&sb);
			return err;
		}
		tp_strbuf_truncate(&sb, 0);
		tp_strbuf_printf(&sb, "%s%s%s=", i ? "" : qual, i ? ", " : "(",
				 names[i]);
		if (sb.failed || !py_part(py, c, &k, tp_strbuf_str(&sb), v)) {
			tp_strbuf_deinit(&sb);
			return &tp_error_nomem;
		}
	}
	tp_strbuf_truncate(&sb, 0);
	if (m)
		tp_strbuf_putc(&sb, ')');
	else
		tp_strbuf_printf(&sb, "%s()", qual);
	bool ok;
	ok = !sb.failed && py_part(py, c, &k, tp_strbuf_str(&sb), NULL);
	tp_strbuf_deinit(&sb);
	if (!ok)
		return &tp_error_nomem;
	c->u.comp.len = k;
	*ret = c;
	return NULL;
}

/* ---- enum classes -------------------------------------------------------- */

/*
 * EnumMeta.__repr__ (EnumType from 3.11): "<enum %r>" % cls.__name__;
 * 3.11+ "<flag %r>" for a subclass of enum.Flag.
 */
static struct tp_error *enum_class_repr(struct tp_python *py,
					struct dstate *st,
					const struct py_obj *o,
					struct tp_pyval **ret)
{
	const char *name;
	bool flag = false;
	struct tp_error *err;
	if ((err = py_type_short_name(py, o->addr, &name)) ||
	    (py->caps->enum_flag_class_repr &&
	     (err = mro_has(py, o->addr, "enum.Flag", &flag))))
		return err;
	struct tp_strbuf sb = TP_STRBUF_INIT;
	tp_strbuf_printf(&sb, "<%s ", flag ? "flag" : "enum");
	if ((err = quote_ascii(&sb, name))) {
		tp_strbuf_deinit(&sb);
		return err;
	}
	tp_strbuf_putc(&sb, '>');
	return py_strbuf_node(py, st, o, &sb, ret);
}

/* ---- dispatch ------------------------------------------------------------ */

struct tp_error *py_decode_stdlib(struct tp_python *py, struct dstate *st,
				  const struct py_obj *o,
				  struct tp_pyval **ret, bool *handled)
{
	uint64_t owner, func, ftype;
	struct tp_error *err;
	if (o->base_name || !(o->flags & TPF_HEAPTYPE) || !LHAS(py, TP_MRO))
		return NULL;
	if ((err = py_lookup_repr(py, o->type, &owner, &func)) || !func ||
	    (err = py_type_of(py, func, &ftype)))
		return err;
	if (ftype != py->target->sym[TP_SYM_PyFunction_Type])
		return NULL;
	const char *on = py_type_name(py, owner);
	bool py2 = py->caps->py2_objects;
	*handled = true;
	if (!strcmp(on, "fractions.Fraction"))
		return fraction_repr(py, st, o, ret);
	if (!strcmp(on, "uuid.UUID"))
		return uuid_repr(py, st, o, ret);
	if (!strcmp(on, "ipaddress._BaseAddress"))
		return ip_repr(py, st, o, false, ret);
	if (!strcmp(on, "ipaddress._BaseNetwork"))
		return ip_repr(py, st, o, true, ret);
	if (!strcmp(on, "pathlib.PurePath") ||
	    !strcmp(on, "pathlib._local.PurePath"))
		return path_repr(py, st, o, ret);
	if (!strcmp(on, "logging.Logger") && !py2)
		return logger_repr(py, st, o, func, false, ret);
	if (!strcmp(on, "logging.Handler") && !py2)
		return logger_repr(py, st, o, func, true, ret);
	if (!strcmp(on, "threading.Thread"))
		return thread_repr(py, st, o, ret);
	if (!strcmp(on, "asyncio.base_events.BaseEventLoop"))
		return event_loop_repr(py, st, o, owner, ret);
	if (!strcmp(on, "socket.socket") && !py2)
		return py_socket_repr(py, st, o, func, ret);
	if (!strcmp(on, "threading.Event"))
		return event_repr(py, st, o, ret);
	if (!strcmp(on, "threading.Condition") ||
	    !strcmp(on, "threading._Condition"))
		return condition_repr(py, st, o, ret);
	if (!strcmp(on, "threading._RLock") && py2)
		return rlock27_repr(py, st, o, func, ret);
	if (!strcmp(on, "collections.Counter"))
		return counter_repr(py, st, o, ret);
	if (!strcmp(on, "collections.ChainMap"))
		return chainmap_repr(py, st, o, ret);
	if (!strcmp(on, "collections.OrderedDict") && py2)
		return odict27_repr(py, st, o, ret);
	if (!strcmp(on, "enum.EnumMeta") || !strcmp(on, "enum.EnumType"))
		return enum_class_repr(py, st, o, ret);
	bool dc;
	*handled = false;
	if ((err = is_dataclass_repr(py, func, &dc)) || !dc)
		return err;
	*handled = true;
	return dataclass_repr(py, st, o, owner, ret);
}
