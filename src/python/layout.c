/* SPDX-License-Identifier: MIT */
#include "config.h"

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
