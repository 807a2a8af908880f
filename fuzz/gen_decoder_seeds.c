/* SPDX-License-Identifier: MIT */
/*
 * Seeds of fuzz_decoder (fixtures/fuzz/decoder/): for each version with
 * interpreter frames that synth.h builds (3.11, 3.12), a thread of a few
 * frames whose locals hold one value of each kind the builders make --
 * small and big ints, str, bytes, tuple, nested lists, a list that holds
 * itself, a set, a pointer into nothing -- written as decoder_world.h
 * describes.  Run: fuzz/gen_decoder_seeds DIR
 * (fuzz/gen_decoder_seeds --show FILE prints what the decoder makes of an
 * input: the Dogslow text and the object's repr.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_world.h"

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void write_seed(const char *dir, const char *name, unsigned sel,
		       struct synth *s, uint64_t frame, uint64_t value)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	uint8_t h[DW_HEADER] = { 0 };
	h[0] = (uint8_t)sel;
	put32(h + 4, (uint32_t)(frame - SYNTH_HEAP_BASE));
	put32(h + 8, (uint32_t)(value - SYNTH_HEAP_BASE));
	if (fwrite(h, 1, sizeof(h), f) != sizeof(h) ||
	    fwrite(s->heap, 1, s->heap_len, f) != s->heap_len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--show")) {
		FILE *f = fopen(argv[2], "rb");
		static uint8_t buf[1 << 22];
		size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
		if (!f) {
			perror(argv[2]);
			return 1;
		}
		fclose(f);
		dw_run(buf, n, true);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --show FILE\n", argv[0]);
		return 64;
	}
	static const struct { unsigned sel, major, minor; } v[] = {
		{ 0, 3, 12 }, { 1, 3, 11 },
	};
	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		struct synth s;
		if (!synth_init(&s, v[k].major, v[k].minor, 4096)) {
			fprintf(stderr, "no table for %u.%u\n", v[k].major,
				v[k].minor);
			return 1;
		}
		uint32_t big[] = { 5, 7, 3 };
		uint64_t small = synth_int(&s, 42), neg = synth_int(&s, -7);
		uint64_t bigint = synth_int_raw(&s, 3 << 3, big, 3);
		uint64_t str = synth_str(&s, "hello, world");
		uint64_t bytes = synth_bytes(&s, "\x00\x01zz'\"", 6);
		uint64_t t_items[] = { small, str, neg };
		uint64_t tuple = synth_tuple(&s, t_items, 3);
		uint64_t inner[] = { small, bigint };
		uint64_t l1 = synth_list(&s, inner, 2);
		uint64_t outer_items[] = { l1, tuple, bytes };
		uint64_t l2 = synth_list(&s, outer_items, 3);
		uint64_t selfref = synth_list(&s, &small, 1);
		synth_w64(&s, selfref + (uint64_t)SOFF(&s, LIST_ITEM), 0);
		uint64_t sr_items = synth_alloc(&s, 16);
		synth_w64(&s, sr_items, selfref);
		synth_w64(&s, sr_items + 8, small);
		synth_w64(&s, selfref + (uint64_t)SOFF(&s, OB_SIZE), 2);
		synth_w64(&s, selfref + (uint64_t)SOFF(&s, LIST_ITEM), sr_items);
		uint64_t keys[] = { small, str, neg };
		uint64_t set = synth_set(&s, 7, 3, 0, keys, 3);
		uint64_t nowhere = 0x7777000ULL;

		const char *n1[] = { "n", "label", "data" };
		uint64_t c1 = synth_code(&s, "inner", n1, 3, 2);
		uint64_t v1[] = { bigint, str, l2 };
		const char *n2[] = { "a", "b", "c", "d", "e" };
		uint64_t c2 = synth_code(&s, "outer", n2, 5, 1);
		uint64_t v2[] = { tuple, set, selfref, nowhere, 0 };
		const char *n3[] = { "x" };
		uint64_t c3 = synth_code(&s, "<module>", n3, 1, 0);
		uint64_t f3 = synth_iframe(&s, c3, &bytes, 1, 0);
		uint64_t f2 = synth_iframe(&s, c2, v2, 5, f3);
		uint64_t f1 = synth_iframe(&s, c1, v1, 3, f2);
		char name[64];
		snprintf(name, sizeof(name), "frames-%u.%u", v[k].major,
			 v[k].minor);
		write_seed(argv[1], name, v[k].sel, &s, f1, l2);
		snprintf(name, sizeof(name), "value-%u.%u", v[k].major,
			 v[k].minor);
		write_seed(argv[1], name, v[k].sel, &s, f3, selfref);
		synth_deinit(&s);
	}
	return 0;
}
