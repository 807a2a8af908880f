/* SPDX-License-Identifier: MIT */
/*
 * Choosing the layout source (the order is in layout_source.h).
 *
 * A built-in table is refused, rather than used and trusted, for builds
 * that are known to lay out the objects differently from the reference
 * builds, which are x86-64 release builds with the GIL: another machine,
 * Py_TRACE_REFS (two extra pointers at the head of every object; its
 * exported _Py_PrintReferences gives it away), 2.7 with 2-byte Py_UNICODE
 * (its API is exported as PyUnicodeUCS2_*), and free-threaded 3.13 (its
 * _Py_DebugOffsets say so).  DWARF and _Py_DebugOffsets describe the build
 * itself and need no such guard.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "python/caps.h"
#include "python/layout_dwarf.h"
#include "python/layout_source.h"

bool tp_layout_pref_parse(const char *s, enum tp_layout_pref *ret)
{
	static const struct {
		const char *name;
		enum tp_layout_pref pref;
	} names[] = {
		{ "auto", TP_LAYOUT_AUTO },
		{ "dwarf", TP_LAYOUT_DWARF },
		{ "debug-offsets", TP_LAYOUT_DEBUG_OFFSETS },
		{ "table", TP_LAYOUT_TABLE },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*ret = names[i].pref;
			return true;
		}
	}
	return false;
}

/* The clauses of the "nothing available" message. */
struct reasons {
	char text[3][320];
	int n;
};

static void reason_add(struct reasons *r, const char *msg)
{
	if (r->n < 3)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s", msg);
}

/* "a", "a and b", "a, b, and c" into @out. */
static void reasons_join(const struct reasons *r, char *out, size_t outlen)
{
	out[0] = '\0';
	size_t o = 0;
	for (int i = 0; i < r->n && o < outlen; i++) {
		const char *sep = i == 0 ? "" : i + 1 < r->n ? ", "
				  : r->n > 2 ? ", and " : " and ";
		int w = snprintf(out + o, outlen - o, "%s%s", sep, r->text[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static struct tp_error *from_dwarf(struct tp_target *target,
				   struct tp_layout *ret, struct reasons *why)
{
	Dwarf *dw;
	struct tp_error *err = tp_target_dwarf(target, &dw, NULL);
	if (err) {
		char msg[320];
		snprintf(msg, sizeof(msg), "no debug info for %s (build-id %s)",
			 target->pymod_name,
			 target->pymod_build_id[0] ? target->pymod_build_id
						   : "unknown");
		reason_add(why, msg);
		return err;
	}
	if ((err = tp_layout_from_dwarf(dw, ret)))
		return err;
	/*
	 * The C asyncio Task is defined by the _asyncio module: built into
	 * some interpreters (then the DWARF above has it), an extension
	 * module with its own debug info in others.  Without it, asyncio
	 * tasks cannot be decoded; everything else can.
	 */
	if (!tp_layout_has(ret, TP_L_TASK_CORO)) {
		struct tp_layout extra;
		tp_layout_init(&extra);
		struct tp_error *e = tp_target_module_dwarf(target,
							    "_asyncio.", &dw);
		if (!e)
			e = tp_layout_from_dwarf(dw, &extra);
		if (e == &tp_error_nomem)
			return e;
		if (!e)
			tp_layout_fill(ret, &extra);
		tp_error_destroy(e);
	}
	return NULL;
}

static uint64_t runtime_address(struct tp_target *target)
{
	uint64_t rt = target->sym[TP_SYM__PyRuntime];
	if (!rt)
		rt = tp_target_section(target, ".PyRuntime");
	if (!rt)
		rt = tp_target_find_cookie(target, "xdebugpy");
	return rt;
}

static struct tp_error *from_debug_offsets(struct tp_target *target,
					   unsigned major, unsigned minor,
					   struct tp_layout *ret,
					   struct tp_debug_offsets_info *info,
					   struct reasons *why)
{
	struct tp_error *err;
	memset(info, 0, sizeof(*info));
	tp_layout_init(ret);
	const struct tp_python_caps *caps;
	struct tp_error *e = tp_python_caps_for(major, minor, &caps);
	bool has_block = !e && caps->debug_offsets;
	tp_error_destroy(e);
	if (!has_block) {
		err = tp_error_create(TP_ERR_UNSUPPORTED,
				      "no _Py_DebugOffsets before 3.13");
	} else {
		uint64_t rt = runtime_address(target);
		if (!rt)
			err = tp_error_create(TP_ERR_NODEBUG,
					      "no _Py_DebugOffsets (%s has neither a _PyRuntime symbol nor a .PyRuntime section)",
					      target->pymod_name);
		else
			err = tp_layout_read_debug_offsets(target->mem, rt,
							   info, ret);
		unsigned vmajor = (info->version >> 24) & 0xff;
		unsigned vminor = (info->version >> 16) & 0xff;
		if (!err && (vmajor != major || vminor != minor)) {
			err = tp_error_create(TP_ERR_FORMAT,
					      "the _Py_DebugOffsets are those of Python %u.%u, not %u.%u",
					      vmajor, vminor, major, minor);
			tp_layout_init(ret);
		}
	}
	if (err)
		reason_add(why, tp_error_message(err));
	return err;
}

/* @free_threaded: 1 yes, 0 no, -1 unknown */
static struct tp_error *from_table(struct tp_target *target, unsigned major,
				   unsigned minor, int free_threaded,
				   struct tp_layout *ret,
				   const struct tp_layout_table **table,
				   struct reasons *why)
{
	const struct tp_layout_table *t = tp_layout_table_find(major, minor);
	const char *machine = tp_layout_machine_name(tp_target_machine(target));
	char msg[320];
	msg[0] = '\0';
	if (!t)
		snprintf(msg, sizeof(msg), "no built-in layout for Python %u.%u",
			 major, minor);
	else if (*machine && strcmp(machine, t->machine))
		snprintf(msg, sizeof(msg),
			 "no built-in layout for Python %u.%u on %s (only %s)",
			 major, minor, machine, t->machine);
	else if (tp_target_lookup(target, "_Py_PrintReferences"))
		snprintf(msg, sizeof(msg),
			 "no built-in layout for Python %u.%u built with Py_TRACE_REFS",
			 major, minor);
	else if (major == 2 &&
		 tp_target_lookup(target, "PyUnicodeUCS2_FromString"))
		snprintf(msg, sizeof(msg),
			 "no built-in layout for Python %u.%u built with 2-byte Unicode (UCS2)",
			 major, minor);
	else if (free_threaded == 1)
		snprintf(msg, sizeof(msg),
			 "no built-in layout for free-threaded Python %u.%u",
			 major, minor);
	if (msg[0]) {
		reason_add(why, msg);
		return tp_error_create(TP_ERR_UNSUPPORTED, "%s", msg);
	}
	tp_layout_table_load(t, ret);
	*table = t;
	return NULL;
}

struct tp_error *tp_layout_choose(struct tp_target *target, unsigned major,
				  unsigned minor, enum tp_layout_pref pref,
				  struct tp_layout *ret,
				  struct tp_layout_choice *choice)
{
	struct reasons why = { .n = 0 };
	struct tp_layout rest;
	struct tp_error *err;
	memset(choice, 0, sizeof(*choice));
	tp_layout_init(ret);

	if (pref == TP_LAYOUT_AUTO || pref == TP_LAYOUT_DWARF) {
		err = from_dwarf(target, ret, &why);
		if (!err || pref == TP_LAYOUT_DWARF) {
			choice->source = "dwarf";
			return err;
		}
		tp_error_destroy(err);
	}

	if (pref == TP_LAYOUT_AUTO || pref == TP_LAYOUT_DEBUG_OFFSETS) {
		struct tp_debug_offsets_info *info = &choice->debug_offsets;
		err = from_debug_offsets(target, major, minor, ret, info, &why);
		if (!err) {
			choice->source = "debug-offsets";
			/* forced: DWARF fills the rest if there is any */
			if (pref == TP_LAYOUT_DEBUG_OFFSETS) {
				struct tp_error *e = from_dwarf(target, &rest,
								&why);
				if (!e) {
					tp_layout_fill(ret, &rest);
					choice->source = "debug-offsets+dwarf";
					return NULL;
				}
				tp_error_destroy(e);
			}
			struct tp_error *e = from_table(
				target, major, minor, info->free_threaded,
				&rest, &choice->table, &why);
			if (!e) {
				tp_layout_fill(ret, &rest);
				choice->source = "debug-offsets+table";
			}
			tp_error_destroy(e);
			reasons_join(&why, choice->skipped,
				     sizeof(choice->skipped));
			return NULL;
		}
		if (pref == TP_LAYOUT_DEBUG_OFFSETS)
			return tp_error_wrap(err, "no layout from _Py_DebugOffsets for Python %u.%u",
					     major, minor);
		tp_error_destroy(err);
	}

	/* the table alone; a 3.13+ block still tells a free-threaded build */
	int free_threaded = -1;
	const struct tp_python_caps *caps;
	struct tp_error *ce = tp_python_caps_for(major, minor, &caps);
	bool has_block = !ce && caps->debug_offsets;
	tp_error_destroy(ce);
	if (pref == TP_LAYOUT_TABLE && has_block) {
		struct reasons ignored = { .n = 0 };
		struct tp_debug_offsets_info info;
		struct tp_error *e = from_debug_offsets(target, major, minor,
							&rest, &info, &ignored);
		if (!e)
			free_threaded = info.free_threaded;
		tp_error_destroy(e);
	}
	err = from_table(target, major, minor, free_threaded, ret,
			 &choice->table, &why);
	if (!err) {
		choice->source = "table";
		reasons_join(&why, choice->skipped, sizeof(choice->skipped));
		return NULL;
	}
	if (pref == TP_LAYOUT_TABLE)
		return err;
	tp_error_destroy(err);

	char joined[1024];
	reasons_join(&why, joined, sizeof(joined));
	return tp_error_create(TP_ERR_NODEBUG,
			       "%s: install the debug symbols of this Python (e.g. python%u.%u-dbg or python3-debuginfo) or set DEBUGINFOD_URLS",
			       joined, major, minor);
}
