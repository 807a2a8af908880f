/* SPDX-License-Identifier: MIT */
/*
 * tripod-analyze --dump-layout FILE: print the layout record that the DWARF
 * of FILE (a libpython or a python executable, or its separate debug file
 * found the standard way) gives, one "NAME VALUE" line per entry ("NAME
 * absent" when this build has no such field), after "# " comment lines that
 * name the file, its build-id and its ELF machine.  This is what
 * tools/gen-layout-tables.py makes the built-in layout tables from.
 */
#include "config.h"

#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/dumplayout.h"
#include "python/layout_dwarf.h"
#include "python/layout_table.h"

static char *debuginfo_default;

struct tp_error *tp_dump_layout(const char *path, const char *debuginfo_path,
				FILE *out)
{
	char *dpath = debuginfo_path ? strdup(debuginfo_path) : NULL;
	Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
		.debuginfo_path = dpath ? &dpath : &debuginfo_default,
	};
	Dwfl *dwfl = dwfl_begin(&cb);
	if (!dwfl) {
		free(dpath);
		return tp_error_create(TP_ERR_OTHER, "libdwfl: %s",
				       dwfl_errmsg(-1));
	}
	struct tp_error *err = NULL;
	dwfl_report_begin(dwfl);
	Dwfl_Module *mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		err = tp_error_create(TP_ERR_FORMAT, "%s: %s", path,
				      dwfl_errmsg(-1));
		goto out;
	}
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
	if (!dw) {
		err = tp_error_create(TP_ERR_NODEBUG, "%s: no debug info: %s",
				      path, dwfl_errmsg(-1));
		goto out;
	}
	struct tp_layout layout;
	if ((err = tp_layout_from_dwarf(dw, &layout)))
		goto out;
	fprintf(out, "# tripod layout from the DWARF of %s\n", path);
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	fprintf(out, "# build-id ");
	for (int i = 0; i < len; i++)
		fprintf(out, "%02x", bits[i]);
	fprintf(out, "%s\n", len > 0 ? "" : "unknown");
	GElf_Addr ebias;
	Elf *elf = dwfl_module_getelf(mod, &ebias);
	GElf_Ehdr ehdr;
	const char *machine = "";
	if (elf && gelf_getehdr(elf, &ehdr))
		machine = tp_layout_machine_name(ehdr.e_machine);
	fprintf(out, "# machine %s\n", *machine ? machine : "unknown");
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++) {
		if (layout.v[i] == TP_LAYOUT_ABSENT)
			fprintf(out, "%s absent\n", tp_layout_descs[i].name);
		else
			fprintf(out, "%s %" PRId64 "\n",
				tp_layout_descs[i].name, layout.v[i]);
	}
out:
	dwfl_end(dwfl);
	free(dpath);
	return err;
}
