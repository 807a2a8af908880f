/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the line-table decoders (src/python/linetable.c).  Input:
 * one byte format (modulo the formats), four bytes co_firstlineno, four
 * bytes the offset looked up, then the table.  Seeds:
 * fixtures/fuzz/linetable/, tables of real code objects of every version
 * (fuzz/gen_linetable_seeds.py).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "python/linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tp_linetable_format fmts[] = {
		TP_LINETABLE_LNOTAB_U8, TP_LINETABLE_LNOTAB_S8,
		TP_LINETABLE_PEP626, TP_LINETABLE_LOCATIONS,
	};
	if (size < 9)
		return 0;
	enum tp_linetable_format fmt = fmts[data[0] % 4];
	int32_t first, at;
	memcpy(&first, data + 1, 4);
	memcpy(&at, data + 5, 4);
	const uint8_t *table = data + 9;
	size_t len = size - 9;
	(void)tp_linetable_addr2line(fmt, table, len, first, at);
	(void)tp_linetable_addr2line(fmt, table, len, first, -1);
	(void)tp_linetable_addr2line(fmt, table, len, first, INT64_MAX);
	for (int64_t a = 0; a < 64; a += 2)
		(void)tp_linetable_addr2line(fmt, table, len, first,
					     tp_linetable_offset(fmt, a));
	return 0;
}
