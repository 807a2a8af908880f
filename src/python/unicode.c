/* SPDX-License-Identifier: MIT */
/* Picking the printable table of a target's Python version. */
#include "config.h"

#include "python/unicode_tables.h"

unsigned tp_unicode_printable_for_python(unsigned major, unsigned minor)
{
	/*
	 * tp_unicode_pythons is sorted oldest first: take the last entry not
	 * newer than major.minor, else the oldest.  A version above every
	 * measured one (a 3.14 target while no 3.14 interpreter was there to
	 * generate its table) thus gets the newest table: characters its
	 * newer Unicode database added print escaped, nothing else differs.
	 */
	unsigned table = tp_unicode_pythons_count ? tp_unicode_pythons[0].table
						  : 0;
	for (size_t i = 0; i < tp_unicode_pythons_count; i++) {
		const struct tp_unicode_python *p = &tp_unicode_pythons[i];
		if (p->major < major || (p->major == major && p->minor <= minor))
			table = p->table;
	}
	return table;
}
