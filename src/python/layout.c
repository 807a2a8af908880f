/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>

#include "python/layout.h"

const struct tp_layout_desc tp_layout_descs[TP_LAYOUT_NFIELDS] = {
#define TP_LAYOUT_DESC(id, kind, types, members) \
	[TP_L_##id] = { #id, TP_LK_##kind, types, members },
	TP_LAYOUT_FIELDS(TP_LAYOUT_DESC)
#undef TP_LAYOUT_DESC
};

void tp_layout_init(struct tp_layout *layout)
{
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++)
		layout->v[i] = TP_LAYOUT_ABSENT;
}

void tp_layout_fill(struct tp_layout *dst, const struct tp_layout *src)
{
	for (int i = 0; i < TP_LAYOUT_NFIELDS; i++)
		if (dst->v[i] == TP_LAYOUT_ABSENT)
			dst->v[i] = src->v[i];
}

/*
 * 2.7 keeps _io in an extension module (lib-dynload/_io.so), out of
 * libpython's DWARF and the tables made from it; 2.7.18 is the last
 * release, so its structs are fixed (Modules/_io/textio.c, bufferedio.c
 * and fileio.c of 2.7; tests/python/test_layout.c checks them against the
 * DWARF of pyenv's 2.7.18 _io.so).  After PyObject_HEAD:
 *   textio   = int ok; int detached; Py_ssize_t chunk_size;
 *              PyObject *buffer; PyObject *encoding; ...
 *   buffered = PyObject *raw; ...
 *   fileio   = int fd; unsigned readable:1, writable:1, appending:1;
 *              signed seekable:2; unsigned closefd:1; ...
 * (3.x's fileio has "unsigned created:1" before readable.)  Bit positions
 * count from the start of the struct, least significant bit first, as
 * DWARF's do on the little-endian machines tripod reads.
 */
static const struct {
	enum tp_layout_id id;
	int64_t after_head;     /* bytes, or bits for a bit-field */
	bool bit;
} io27_fields[] = {
	{ TP_L_TEXTIO_BUFFER, 16, false },
	{ TP_L_TEXTIO_ENCODING, 24, false },
	{ TP_L_BUFFERED_RAW, 0, false },
	{ TP_L_FILEIO_FD, 0, false },
	{ TP_L_FILEIO_READABLE, 4 * 8 + 0, true },
	{ TP_L_FILEIO_WRITABLE, 4 * 8 + 1, true },
	{ TP_L_FILEIO_APPENDING, 4 * 8 + 2, true },
	{ TP_L_FILEIO_CLOSEFD, 4 * 8 + 5, true },
};

bool tp_layout_io27(enum tp_layout_id id, int64_t head, int64_t *ret)
{
	for (size_t i = 0; i < sizeof(io27_fields) / sizeof(io27_fields[0]);
	     i++) {
		if (io27_fields[i].id != id)
			continue;
		*ret = (io27_fields[i].bit ? 8 * head : head) +
		       io27_fields[i].after_head;
		return true;
	}
	return false;
}
