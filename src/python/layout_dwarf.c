/* SPDX-License-Identifier: MIT */
/*
 * Layout from DWARF.
 *
 * Every structure the decoder needs is a named C type in libpython's DWARF:
 * a struct tag ("_ts"), or a typedef ("PyCodeObject", "PyASCIIObject", which
 * in some versions names an anonymous struct).  Named types of a C program
 * are top-level children of their compile unit, so one pass over the top
 * level of every unit finds them without walking function bodies.  A header
 * type appears in hundreds of units; the first complete definition is kept
 * (CPython builds all units with the same headers, so they agree).  Types
 * defined in a single .c file (the dict keys object, PyModuleObject before
 * 3.10) are found the same way, just in fewer units.
 *
 * A typedef in one unit may point at a struct that is only declared there
 * ("typedef struct _ts PyThreadState;" with struct _ts complete elsewhere);
 * such a typedef is resolved by the struct's tag afterwards.
 */
#include "config.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "python/layout_dwarf.h"

#define MAX_NAMES 128

struct found {
	const char *name;   /* wanted name (points into tp_layout_descs) */
	size_t len;
	bool have;
	Dwarf_Die die;      /* complete struct/union/base type */
	char *tag;          /* typedef to a declared-only struct: its tag */
};

struct index {
	struct found v[MAX_NAMES];
	size_t n;
	size_t remaining;   /* wanted names not yet found */
};

/* Add every '|'-separated name of @types to the wanted set. */
static void index_want(struct index *ix, const char *types)
{
	const char *p = types;
	while (*p) {
		const char *end = strchr(p, '|');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool dup = false;
		for (size_t i = 0; i < ix->n; i++) {
			if (ix->v[i].len == len &&
			    !memcmp(ix->v[i].name, p, len)) {
				dup = true;
				break;
			}
		}
		if (!dup && ix->n < MAX_NAMES) {
			ix->v[ix->n].name = p;
			ix->v[ix->n].len = len;
			ix->n++;
			ix->remaining++;
		}
		p += len;
		if (*p == '|')
			p++;
	}
}

static struct found *index_lookup(struct index *ix, const char *name,
				  size_t len)
{
	for (size_t i = 0; i < ix->n; i++)
		if (ix->v[i].len == len && !memcmp(ix->v[i].name, name, len))
			return &ix->v[i];
	return NULL;
}

/* Strip typedefs and qualifiers. */
static bool peel(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Die cur = *die;
	for (int guard = 0; guard < 64; guard++) {
		int tag = dwarf_tag(&cur);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type &&
		    tag != DW_TAG_atomic_type) {
			*ret = cur;
			return true;
		}
		Dwarf_Attribute attr;
		if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, &cur))
			return false;
	}
	return false;
}

static bool is_declaration(Dwarf_Die *die)
{
	bool flag = false;
	Dwarf_Attribute attr;
	if (dwarf_attr(die, DW_AT_declaration, &attr))
		dwarf_formflag(&attr, &flag);
	return flag;
}

static void index_consider(struct index *ix, Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type &&
	    tag != DW_TAG_typedef && tag != DW_TAG_base_type)
		return;
	const char *name = dwarf_diename(die);
	if (!name)
		return;
	struct found *f = index_lookup(ix, name, strlen(name));
	if (!f || f->have)
		return;
	if (tag == DW_TAG_typedef) {
		Dwarf_Die target;
		if (!peel(die, &target))
			return;
		int ttag = dwarf_tag(&target);
		if ((ttag == DW_TAG_structure_type ||
		     ttag == DW_TAG_union_type) && is_declaration(&target)) {
			const char *tname = dwarf_diename(&target);
			if (tname && !f->tag)
				f->tag = strdup(tname);
			return;
		}
		f->die = target;
	} else {
		if (is_declaration(die))
			return;
		f->die = *die;
	}
	f->have = true;
	ix->remaining--;
}

static void index_scan(struct index *ix, Dwarf *dw)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf_Die cudie, subdie;
	while (ix->remaining &&
	       dwarf_next_unit(dw, off, &next, &hsize, NULL, NULL, NULL, NULL,
			       NULL, NULL) == 0) {
		if (!dwarf_offdie(dw, off + hsize, &cudie)) {
			off = next;
			continue;
		}
		/* Skip type units and split units: plain C builds have none. */
		if (dwarf_child(&cudie, &subdie) == 0) {
			do {
				index_consider(ix, &subdie);
			} while (ix->remaining &&
				 dwarf_siblingof(&subdie, &subdie) == 0);
		}
		off = next;
	}
}

/* Typedefs left pointing at a tag: resolve through the tag's entry. */
static void index_resolve_tags(struct index *ix, Dwarf *dw)
{
	bool again = false;
	for (size_t i = 0; i < ix->n; i++) {
		struct found *f = &ix->v[i];
		if (f->have || !f->tag)
			continue;
		struct found *t = index_lookup(ix, f->tag, strlen(f->tag));
		if (t && t->have) {
			f->die = t->die;
			f->have = true;
		} else if (!t) {
			again = true;
		}
	}
	if (!again)
		return;
	/*
	 * A tag we were not looking for by its own name: scan once more for
	 * those tags.  Rare (every tag we need is listed), kept for safety.
	 */
	struct index extra = { .n = 0 };
	for (size_t i = 0; i < ix->n; i++) {
		struct found *f = &ix->v[i];
		if (!f->have && f->tag &&
		    !index_lookup(ix, f->tag, strlen(f->tag)))
			index_want(&extra, f->tag);
	}
	index_scan(&extra, dw);
	for (size_t i = 0; i < ix->n; i++) {
		struct found *f = &ix->v[i];
		if (f->have || !f->tag)
			continue;
		struct found *t = index_lookup(&extra, f->tag, strlen(f->tag));
		if (t && t->have) {
			f->die = t->die;
			f->have = true;
		}
	}
}

static bool member_offset(Dwarf_Die *member, Dwarf_Word *ret)
{
	Dwarf_Attribute attr;
	if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
		*ret = 0; /* union members */
		return true;
	}
	return dwarf_formudata(&attr, ret) == 0;
}

/*
 * Find member @name (length @len) in struct/union @type, looking through
 * anonymous members.  On success *@member is its DIE and *@offset is added
 * the byte offset of the member.
 */
static bool find_member(Dwarf_Die *type, const char *name, size_t len,
			Dwarf_Die *member, Dwarf_Word *offset, int depth)
{
	Dwarf_Die st, child;
	if (depth > 8 || !peel(type, &st))
		return false;
	int tag = dwarf_tag(&st);
	if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
		return false;
	if (dwarf_child(&st, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *mname = dwarf_diename(&child);
		Dwarf_Word moff;
		if (!member_offset(&child, &moff))
			continue;
		if (mname) {
			if (strlen(mname) == len && !memcmp(mname, name, len)) {
				*member = child;
				*offset += moff;
				return true;
			}
			continue;
		}
		/* anonymous struct or union: search inside */
		Dwarf_Attribute attr;
		Dwarf_Die inner;
		if (!dwarf_attr_integrate(&child, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, &inner))
			continue;
		Dwarf_Word inner_off = *offset + moff;
		if (find_member(&inner, name, len, member, &inner_off,
				depth + 1)) {
			*offset = inner_off;
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool member_type(Dwarf_Die *member, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	return dwarf_attr_integrate(member, DW_AT_type, &attr) &&
	       dwarf_formref_die(&attr, ret);
}

/* Bit position of a bit-field member within the struct that holds it. */
static bool member_bitpos(Dwarf_Die *member, Dwarf_Word *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;
	if (dwarf_attr_integrate(member, DW_AT_data_bit_offset, &attr) &&
	    dwarf_formudata(&attr, &v) == 0) {
		*ret = v;
		return true;
	}
	/* DWARF 2/3: DW_AT_bit_offset counts from the storage unit's MSB. */
	Dwarf_Word boff, bsize, loc;
	if (!dwarf_attr_integrate(member, DW_AT_bit_offset, &attr) ||
	    dwarf_formudata(&attr, &boff) != 0)
		return false;
	if (!dwarf_attr_integrate(member, DW_AT_bit_size, &attr) ||
	    dwarf_formudata(&attr, &bsize) != 0)
		return false;
	Dwarf_Word unit = 0;
	if (dwarf_attr_integrate(member, DW_AT_byte_size, &attr))
		dwarf_formudata(&attr, &unit);
	else {
		Dwarf_Die t;
		Dwarf_Word sz;
		if (member_type(member, &t) && dwarf_aggregate_size(&t, &sz) == 0)
			unit = sz;
	}
	if (!member_offset(member, &loc))
		return false;
	*ret = loc * 8 + unit * 8 - boff - bsize;
	return true;
}

/*
 * Evaluate one member path ("a.b.c", length @len) in @type for @kind.
 * Bit positions are relative to the struct that directly holds the bit-field.
 */
static bool eval_path(Dwarf_Die *type, const char *path, size_t len,
		      enum tp_layout_kind kind, int64_t *ret)
{
	Dwarf_Die cur = *type, member;
	Dwarf_Word offset = 0;
	bool have_member = false;
	const char *p = path, *end = path + len;

	if (len == 0) {
		Dwarf_Word sz;
		if (kind != TP_LK_SIZE || dwarf_aggregate_size(&cur, &sz) != 0)
			return false;
		*ret = (int64_t)sz;
		return true;
	}
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (!find_member(&cur, p, n, &member, &offset, 0))
			return false;
		have_member = true;
		if (!member_type(&member, &cur))
			return false;
		p += n;
		if (p < end)
			p++;
	}
	if (!have_member)
		return false;

	Dwarf_Word v;
	Dwarf_Attribute attr;
	switch (kind) {
	case TP_LK_OFFSET:
		*ret = (int64_t)offset;
		return true;
	case TP_LK_SIZE:
		if (dwarf_aggregate_size(&cur, &v) != 0)
			return false;
		*ret = (int64_t)v;
		return true;
	case TP_LK_BITPOS:
		if (!member_bitpos(&member, &v))
			return false;
		*ret = (int64_t)v;
		return true;
	case TP_LK_BITSIZE:
		if (!dwarf_attr_integrate(&member, DW_AT_bit_size, &attr) ||
		    dwarf_formudata(&attr, &v) != 0)
			return false;
		*ret = (int64_t)v;
		return true;
	case TP_LK_ELEMSIZE: {
		Dwarf_Die arr, elem;
		if (!peel(&cur, &arr) || dwarf_tag(&arr) != DW_TAG_array_type ||
		    !member_type(&arr, &elem) ||
		    dwarf_aggregate_size(&elem, &v) != 0)
			return false;
		*ret = (int64_t)v;
		return true;
	}
	}
	return false;
}

struct tp_error *tp_layout_from_dwarf(Dwarf *dw, struct tp_layout *ret)
{
	struct index ix = { .n = 0 };
	tp_layout_init(ret);
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++)
		index_want(&ix, tp_layout_descs[i].types);
	index_scan(&ix, dw);
	Dwarf *alt = dwarf_getalt(dw);
	if (alt && ix.remaining)
		index_scan(&ix, alt);
	index_resolve_tags(&ix, dw);

	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		const struct tp_layout_desc *d = &tp_layout_descs[i];
		const char *t = d->types;
		bool done = false;
		while (*t && !done) {
			const char *tend = strchr(t, '|');
			size_t tlen = tend ? (size_t)(tend - t) : strlen(t);
			struct found *f = index_lookup(&ix, t, tlen);
			if (f && f->have) {
				const char *m = d->members;
				do {
					const char *mend = strchr(m, '|');
					size_t mlen = mend ? (size_t)(mend - m)
							   : strlen(m);
					int64_t v;
					if (eval_path(&f->die, m, mlen, d->kind,
						      &v)) {
						ret->v[i] = v;
						done = true;
						break;
					}
					m += mlen;
					if (*m == '|')
						m++;
				} while (*m);
			}
			t += tlen;
			if (*t == '|')
				t++;
		}
	}
	for (size_t i = 0; i < ix.n; i++)
		free(ix.v[i].tag);
	return NULL;
}
