/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <elf.h>
#include <string.h>

#include "python/layout_table.h"

const char *tp_layout_machine_name(unsigned e_machine)
{
	switch (e_machine) {
	case EM_X86_64:
		return "x86_64";
	case EM_AARCH64:
		return "aarch64";
	case EM_386:
		return "i386";
	case EM_ARM:
		return "arm";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_RISCV:
		return "riscv";
	}
	return "";
}

const struct tp_layout_table *tp_layout_table_find(unsigned major,
						   unsigned minor)
{
	for (size_t i = 0; i < tp_layout_ntables; i++)
		if (tp_layout_tables[i].major == major &&
		    tp_layout_tables[i].minor == minor)
			return &tp_layout_tables[i];
	return NULL;
}

void tp_layout_table_load(const struct tp_layout_table *table,
			  struct tp_layout *ret)
{
	tp_layout_init(ret);
	for (size_t k = 0; k < table->nentries; k++) {
		const struct tp_layout_table_entry *e = &table->entries[k];
		for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
			if (!strcmp(tp_layout_descs[i].name, e->name)) {
				ret->v[i] = e->value;
				break;
			}
		}
	}
}

struct tp_error *tp_layout_table_lookup(unsigned major, unsigned minor,
					struct tp_layout *ret)
{
	const struct tp_layout_table *t = tp_layout_table_find(major, minor);
	if (!t)
		return tp_error_create(TP_ERR_UNSUPPORTED,
				       "no built-in layout for Python %u.%u",
				       major, minor);
	tp_layout_table_load(t, ret);
	return NULL;
}
