/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/render.h"
#include "decoder_world.h"

static const unsigned versions[DW_VERSIONS][2] = {
	{ 3, 12 }, { 3, 11 }, { 2, 7 }, { 3, 10 },
};

struct synth *dw_world(unsigned sel)
{
	static struct synth *worlds[DW_VERSIONS];
	sel %= DW_VERSIONS;
	if (!worlds[sel]) {
		struct synth *s = calloc(1, sizeof(*s));
		if (!s || !synth_init(s, versions[sel][0], versions[sel][1],
				      4096))
			abort();
		worlds[sel] = s;
	}
	return worlds[sel];
}

static void render(const struct tp_rsnapshot *snap, bool show)
{
	struct tp_strbuf out = TP_STRBUF_INIT;
	struct tp_render_opts o = { .header = true, .locals = true,
				    .max_repr = 4096 };
	struct tp_error *err = tp_render_dogslow(snap, &o, NULL, &out);
	if (show)
		printf("%s\n", err ? tp_error_message(err) : tp_strbuf_str(&out));
	tp_error_destroy(err);
	tp_strbuf_deinit(&out);
	err = tp_render_json(snap, &o, &out);
	tp_error_destroy(err);
	tp_strbuf_deinit(&out);
}

void dw_run(const uint8_t *data, size_t size, bool show)
{
	if (size < DW_HEADER)
		return;
	struct synth *s = dw_world(data[0]);
	uint32_t frame_off, value_off;
	memcpy(&frame_off, data + 4, 4);
	memcpy(&value_off, data + 8, 4);
	synth_map_heap(s, data + DW_HEADER, size - DW_HEADER);
	synth_set_current_frame(s, SYNTH_HEAP_BASE + frame_off);

	struct tp_rsnapshot snap;
	memset(&snap, 0, sizeof(snap));
	snap.uid = snap.gid = -1;
	snap.freeze_us = -1;
	if (tp_pyval_arena_create(&snap.arena))
		abort();
	struct tp_error *err = tp_python_walk(s->py, &snap);
	if (!err)
		render(&snap, show);
	else if (show)
		printf("walk: %s\n", tp_error_message(err));
	tp_error_destroy(err);

	/* one object alone, as a local would be: repr and pprint */
	struct tp_pyval *v = NULL;
	err = py_value(s->py, SYNTH_HEAP_BASE + value_off, &v);
	if (!err && v) {
		struct tp_strbuf sb = TP_STRBUF_INIT;
		struct tp_pyval_opts vo = { .max_repr = 4096 };
		struct tp_pprint_opts po = { .indent = 1, .width = 76 };
		tp_error_destroy(tp_pyval_repr(v, &vo, &sb));
		if (show)
			printf("value: %s\n", tp_strbuf_str(&sb));
		tp_strbuf_deinit(&sb);
		tp_error_destroy(tp_pyval_pformat(v, &po, &vo, &sb));
		tp_strbuf_deinit(&sb);
	}
	tp_error_destroy(err);
	tp_pyval_arena_destroy(snap.arena);
	/* the next input is another heap: nothing of this one is kept */
	py_objects_reset(s->py, NULL);
}
